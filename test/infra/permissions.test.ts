import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { ResponderFunction } from '../../lib/constructs/responder-function';
import { buildResponderApp, logicalId } from './responder-app';

/**
 * Each role's permissions, read back from the synthesized template as { target: actions }, so
 * any permission added to or missing from a function fails here.
 */
const built = buildResponderApp({ senderEmail: 'security-alerts@corp.example' });
let resources: Record<string, any>;

beforeAll(() => {
  resources = Template.fromStack(built.stateless).toJSON().Resources;
});

const LEDGER_READ_WRITE = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];
const TABLE_READ = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:Query',
  'dynamodb:Scan',
];
const KEY_USE = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];
const SECRET_READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
const QUEUE_SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
const QUEUE_CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
const LOG_WRITE = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const SES_SEND = ['ses:SendEmail', 'ses:SendRawEmail'];

/** Names a statement's resource by the logical id its ARN expression mentions (local, or an output of the stateful stack). */
function targetOf(resource: unknown): string {
  const json = JSON.stringify(resource);
  const sesIdentity = /:identity\/([^"]+)"/.exec(json);
  if (sesIdentity) return `ses identity ${sesIdentity[1]}`;
  const named: [string, IConstruct][] = [
    ['ledger table', built.stateful.ledgerTable],
    ['config table', built.stateful.configTable],
    ['key', built.stateful.key],
    ['slack secret', built.stateful.slackSecret],
    ['anomalies queue', built.stateless.anomalies.queue],
    ['anomalies DLQ', built.stateless.anomalies.deadLetterQueue],
    ['notifications queue', built.stateless.notifications.queue],
    ['notifications DLQ', built.stateless.notifications.deadLetterQueue],
    ['poller logs', built.stateless.poller.logGroup],
    ['respond logs', built.stateless.respond.logGroup],
    ['notify logs', built.stateless.notify.logGroup],
    ['config-changes logs', built.stateless.configChanges.logGroup],
    ['config-changes DLQ', built.stateless.configChangesDeadLetters],
    ['poller function', built.stateless.poller.function],
  ];
  if (json.includes(logicalId(built.stateful.configTable)) && json.includes('StreamArn')) return 'config table stream';
  const match = named.find(([, construct]) => json.includes(logicalId(construct)));
  if (!match) throw new Error(`Unrecognised resource in a policy: ${json}`);
  const suffix = /"(\/index\/\*|:\*)"/.exec(json)?.[1] ?? '';
  return match[0] + suffix;
}

/** { target: sorted actions } over every policy attached to the role. */
function permissionsOf(roleLogicalId: string): Record<string, string[]> {
  const permissions: Record<string, Set<string>> = {};
  const policies = Object.values(resources).filter(
    (resource) => resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: roleLogicalId }]),
  );
  expect(policies.length).toBeGreaterThan(0);
  for (const statement of policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)) {
    expect(statement.Effect).toBe('Allow');
    expect(statement.Condition).toBeUndefined();
    for (const resource of [statement.Resource].flat()) {
      // The one action that takes no resource: the stream event source's ListStreams (it lists ARNs, no data).
      if (resource === '*') {
        expect(statement.Action).toBe('dynamodb:ListStreams');
        (permissions['*'] ??= new Set()).add(statement.Action);
        continue;
      }
      const actions = (permissions[targetOf(resource)] ??= new Set());
      for (const action of [statement.Action].flat()) actions.add(action);
    }
  }
  return Object.fromEntries(Object.entries(permissions).map(([target, actions]) => [target, [...actions].sort()]));
}

function functionPermissions(fn: ResponderFunction): Record<string, string[]> {
  return permissionsOf(logicalId(fn.role));
}

test('function roles are assumable by Lambda only, with no managed or inline policies', () => {
  for (const fn of [built.stateless.poller, built.stateless.respond, built.stateless.notify, built.stateless.configChanges]) {
    const role = resources[logicalId(fn.role)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  }
});

// The ledger's GSIs are for operators; no function queries them, so none may.
test('poller: its log group, the ledger, reading the config (trusted networks to sync), the Slack secret, and sending to the anomalies queue — nothing else', () => {
  expect(functionPermissions(built.stateless.poller)).toEqual({
    'poller logs': LOG_WRITE,
    'config table': TABLE_READ,
    'ledger table': LEDGER_READ_WRITE,
    key: KEY_USE,
    'slack secret': SECRET_READ,
    'anomalies queue': QUEUE_SEND,
  });
});

test('respond: reads config, writes the ledger, consumes anomalies, sends notification jobs — no e-mail', () => {
  expect(functionPermissions(built.stateless.respond)).toEqual({
    'respond logs': LOG_WRITE,
    'config table': TABLE_READ,
    'ledger table': LEDGER_READ_WRITE,
    key: KEY_USE,
    'slack secret': SECRET_READ,
    // Consuming includes ChangeMessageVisibility: a Slack 429 gives the message back with a delay.
    'anomalies queue': QUEUE_CONSUME,
    'notifications queue': QUEUE_SEND,
  });
});

test('notify: reads config, writes the ledger, consumes notifications, sends e-mail as the sender only', () => {
  expect(functionPermissions(built.stateless.notify)).toEqual({
    'notify logs': LOG_WRITE,
    'config table': TABLE_READ,
    'ledger table': LEDGER_READ_WRITE,
    key: KEY_USE,
    'slack secret': SECRET_READ,
    'notifications queue': QUEUE_CONSUME,
    'ses identity security-alerts@corp.example': SES_SEND,
    'ses identity corp.example': SES_SEND,
  });
});

test('config-changes: reads the config stream, writes the ledger, sends notification jobs and to its DLQ — no config read, no Slack secret, no e-mail', () => {
  expect(functionPermissions(built.stateless.configChanges)).toEqual({
    'config-changes logs': LOG_WRITE,
    'config table stream': ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
    '*': ['dynamodb:ListStreams'],
    'ledger table': LEDGER_READ_WRITE,
    key: KEY_USE,
    'notifications queue': QUEUE_SEND,
    'config-changes DLQ': QUEUE_SEND,
  });
});

test('the scheduler role can only invoke the poller', () => {
  const schedule = Object.values(resources).find((resource) => resource.Type === 'AWS::Scheduler::Schedule');
  const roleLogicalId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0];
  expect(permissionsOf(roleLogicalId)).toEqual({
    'poller function': ['lambda:InvokeFunction'],
    'poller function:*': ['lambda:InvokeFunction'],
  });
});

test('no other role or policy in the stateless stack', () => {
  const roles = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::IAM::Role');
  const expected = [built.stateless.poller, built.stateless.respond, built.stateless.notify, built.stateless.configChanges].map((fn) => logicalId(fn.role));
  const schedule = Object.values(resources).find((resource) => resource.Type === 'AWS::Scheduler::Schedule');
  expect(roles.sort()).toEqual([...expected, schedule.Properties.Target.RoleArn['Fn::GetAtt'][0]].sort());
});

describe('the config editor policy (for the security team)', () => {
  const stateful = Template.fromStack(built.stateful).toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const policy = stateful[logicalId(built.stateful.configEditorPolicy)];

  test('is a managed policy attached to nobody by the stack (the security team attaches it)', () => {
    expect(policy.Type).toBe('AWS::IAM::ManagedPolicy');
    expect(policy.Properties.Roles ?? policy.Properties.Groups ?? policy.Properties.Users).toBeUndefined();
  });

  test('edits the config table\u2019s items, uses the key only through DynamoDB, and can find the table — nothing else', () => {
    const statements = (policy.Properties.PolicyDocument.Statement as Record<string, any>[]).map((statement) => ({
      sid: statement.Sid,
      effect: statement.Effect,
      actions: [statement.Action].flat().sort(),
      resource: statement.Resource === '*' ? '*' : targetOf(statement.Resource),
      condition: statement.Condition,
    }));
    expect(statements).toEqual([
      {
        sid: 'EditResponseConfiguration',
        effect: 'Allow',
        actions: [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:DeleteItem',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:Scan',
          'dynamodb:UpdateItem',
        ],
        resource: 'config table',
        condition: undefined,
      },
      {
        sid: 'UseTheKeyThroughDynamoDBOnly',
        effect: 'Allow',
        actions: KEY_USE,
        resource: 'key',
        condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
      { sid: 'FindTheTableInTheConsole', effect: 'Allow', actions: ['dynamodb:ListTables'], resource: '*', condition: undefined },
    ]);
  });

  test('is a stack output, next to the config table\u2019s name', () => {
    const outputs = Template.fromStack(built.stateful).toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ConfigEditorPolicyArn.Value).toEqual({ Ref: logicalId(built.stateful.configEditorPolicy) });
  });
});
