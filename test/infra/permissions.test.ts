import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { ResponderFunction } from '../../lib/constructs/responder-function';
import { LEDGER_KEYS, ledgerPartitionsOf, type LedgerWriter } from '../../functions/adapters/dynamodb/keys';
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

const LEDGER_ITEMS = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];
const SECRET_READ = ['secretsmanager:GetSecretValue'];
/** The config editor policy (people, through the console): the key as DynamoDB asks for it. */
const EDITOR_KEY_USE = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];
const QUEUE_SEND = ['sqs:SendMessage'];
const QUEUE_CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
/** Consuming, plus sending to the same queue: a message waiting for Slack's budget is sent again with a delay. */
const QUEUE_CONSUME_AND_RESEND = [...QUEUE_CONSUME, 'sqs:SendMessage'].sort();
const LOG_WRITE = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** A statement's condition with `${Region}` standing for the deploy-time region. */
type Condition = Record<string, Record<string, unknown>>;
const viaServices = (...services: string[]): Condition => ({ StringEquals: { 'kms:ViaService': services.map((service) => `${service}.\${Region}.amazonaws.com`) } });
const ownRecords = (...partitions: string[]): Condition => ({
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions },
  Null: { 'dynamodb:LeadingKeys': 'false' },
});

/** Names a statement's resource by the logical id its ARN expression mentions (local, or an export of the stateful stack). */
function targetOf(resource: unknown): string {
  const json = JSON.stringify(resource);
  const sesIdentity = /identity\/([^"]+)"/.exec(json);
  if (sesIdentity) return `ses identity ${sesIdentity[1]}`;
  const named: [string, IConstruct][] = [
    ['ledger table', built.stateful.ledgerTable],
    ['config table', built.stateful.configTable],
    ['key', built.stateful.key],
    ...Object.entries(built.stateful.tokenSecrets).map(([name, secret]): [string, IConstruct] => [`${name} token`, secret]),
    ['anomalies queue', built.stateless.anomalies.queue],
    ['anomalies DLQ', built.stateless.anomalies.deadLetterQueue],
    ['notifications queue', built.stateless.notifications.queue],
    ['notifications DLQ', built.stateless.notifications.deadLetterQueue],
    ['poller logs', built.stateless.poller.logGroup],
    ['respond logs', built.stateless.respond.logGroup],
    ['notify logs', built.stateless.notify.logGroup],
    ['poller function', built.stateless.poller.function],
  ];
  const match = named.find(([, construct]) => json.includes(logicalId(construct)));
  if (!match) throw new Error(`Unrecognised resource in a policy: ${json}`);
  const suffix = /"(\/index\/\*|:\*)"/.exec(json)?.[1] ?? '';
  return match[0] + suffix;
}

/** A condition as written, with the region expression shown as `${Region}`. */
function readableCondition(condition: unknown): Condition | undefined {
  if (condition === undefined) return undefined;
  const region = JSON.stringify({ Ref: 'AWS::Region' });
  return JSON.parse(
    JSON.stringify(condition).replace(/\{"Fn::Join":\["",\[("[^"]*"),\{"Ref":"AWS::Region"\},("[^"]*")\]\]\}/g, (_all, before: string, after: string) =>
      JSON.stringify(`${JSON.parse(before)}\${Region}${JSON.parse(after)}`),
    ).replaceAll(region, '"${Region}"'),
  );
}

/**
 * { target: sorted actions } over every policy attached to the role; a conditioned statement is
 * listed as `target if <condition>`, so a condition dropped or changed fails as surely as an action.
 */
function permissionsOf(roleLogicalId: string): Record<string, string[]> {
  const permissions: Record<string, Set<string>> = {};
  const policies = Object.values(resources).filter(
    (resource) => resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: roleLogicalId }]),
  );
  expect(policies.length).toBeGreaterThan(0);
  for (const statement of policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)) {
    expect(statement.Effect).toBe('Allow');
    const condition = readableCondition(statement.Condition);
    for (const resource of [statement.Resource].flat()) {
      expect(resource).not.toBe('*');
      const target = targetOf(resource) + (condition ? ` if ${JSON.stringify(condition)}` : '');
      const actions = (permissions[target] ??= new Set());
      for (const action of [statement.Action].flat()) actions.add(action);
    }
  }
  return Object.fromEntries(Object.entries(permissions).map(([target, actions]) => [target, [...actions].sort()]));
}

const when = (target: string, condition: Condition) => `${target} if ${JSON.stringify(condition)}`;

function functionPermissions(fn: ResponderFunction): Record<string, string[]> {
  return permissionsOf(logicalId(fn.role));
}

/** Every statement of the role that allows `action`, with its resource names and condition. */
function statementsAllowing(fn: ResponderFunction, action: string): { targets: string[]; condition?: Condition }[] {
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: logicalId(fn.role) }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .filter((statement) => [statement.Action].flat().some((allowed: string) => allowed === action || (allowed.endsWith('*') && action.startsWith(allowed.slice(0, -1)))))
    .map((statement) => ({ targets: [statement.Resource].flat().map(targetOf), condition: readableCondition(statement.Condition) }));
}

test('function roles are assumable by Lambda only, with no managed or inline policies', () => {
  for (const fn of [built.stateless.poller, built.stateless.respond, built.stateless.notify]) {
    const role = resources[logicalId(fn.role)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  }
});

// No function lists the ledger or reads its GSIs (they are for operators): item access only, to
// its own records (keys.ts LEDGER_RECORDS); decryption only through the services that hold data.
test('poller: its log group, its own ledger records, scanning the config (trusted networks to sync), the audit and admin tokens, and sending to the anomalies queue — nothing else', () => {
  expect(functionPermissions(built.stateless.poller)).toEqual({
    'poller logs': LOG_WRITE,
    // Read to sync trusted networks and to enqueue the entries that may end sessions first.
    'config table': ['dynamodb:Scan'],
    // Its own pacer schedules (audit.logs, the allow-list methods) beside its checkpoint and seen markers.
    [when('ledger table', ownRecords('allow-list', 'pacer#poll-audit-logs#*', 'poller', 'seen#*'))]: LEDGER_ITEMS,
    // The admin token keeps Slack's anomaly allow-list in sync (trustedNetworks.syncToSlack).
    'audit token': SECRET_READ,
    'admin token': SECRET_READ,
    [when('key', viaServices('dynamodb', 'secretsmanager', 'sqs'))]: ['kms:Decrypt'],
    [when('key', viaServices('sqs'))]: ['kms:GenerateDataKey'],
    'anomalies queue': QUEUE_SEND,
  });
});

test('respond: scans config, its own ledger records, the admin token, consumes anomalies, sends notification jobs — no e-mail', () => {
  expect(functionPermissions(built.stateless.respond)).toEqual({
    'respond logs': LOG_WRITE,
    'config table': ['dynamodb:Scan'],
    [when('ledger table', ownRecords('breaker', 'entry#*', 'pacer#respond#*', 'user#*'))]: LEDGER_ITEMS,
    'admin token': SECRET_READ,
    [when('key', viaServices('dynamodb', 'secretsmanager', 'sqs'))]: ['kms:Decrypt'],
    [when('key', viaServices('sqs'))]: ['kms:GenerateDataKey'],
    // Consuming includes ChangeMessageVisibility (a failure comes back with a delay); sending: a wait for Slack's budget is sent again.
    'anomalies queue': QUEUE_CONSUME_AND_RESEND,
    'notifications queue': QUEUE_SEND,
  });
});

test('notify: scans config, its own delivery records, the directory and bot tokens, consumes notifications, e-mails as the sender only', () => {
  const fromSender = { StringEquals: { 'ses:FromAddress': 'security-alerts@corp.example' } };
  expect(functionPermissions(built.stateless.notify)).toEqual({
    'notify logs': LOG_WRITE,
    'config table': ['dynamodb:Scan'],
    [when('ledger table', ownRecords('delivery#*', 'digest#*', 'pacer#notify#*'))]: LEDGER_ITEMS,
    // A digest's people, read back from the digest's own partition.
    [when('ledger table', ownRecords('digest#*'))]: ['dynamodb:Query'],
    'directory token': SECRET_READ,
    'bot token': SECRET_READ,
    [when('key', viaServices('dynamodb', 'secretsmanager', 'sqs'))]: ['kms:Decrypt'],
    [when('key', viaServices('sqs'))]: ['kms:GenerateDataKey'],
    // Sending too: a wait for Slack's budget is sent again with a delay, and a digest waits there for its period's end.
    'notifications queue': QUEUE_CONSUME_AND_RESEND,
    [when('ses identity security-alerts@corp.example', fromSender)]: ['ses:SendEmail'],
    [when('ses identity corp.example', fromSender)]: ['ses:SendEmail'],
  });
});

describe('what each role cannot do', () => {
  const fns = () => ({ poller: built.stateless.poller, respond: built.stateless.respond, notify: built.stateless.notify });

  test('each token is readable by the functions that use it and no other', () => {
    const readers = (token: string) =>
      Object.entries(fns())
        .filter(([, fn]) => statementsAllowing(fn, 'secretsmanager:GetSecretValue').some((statement) => statement.targets.includes(`${token} token`)))
        .map(([name]) => name);
    expect({ audit: readers('audit'), admin: readers('admin'), directory: readers('directory'), bot: readers('bot') }).toEqual({
      audit: ['poller'],
      // respond ends sessions with it; the poller writes Slack's anomaly allow-list with it.
      admin: ['poller', 'respond'],
      // notify renders attacker-influenced text: it holds neither the org owner's audit token nor the token that ends sessions.
      directory: ['notify'],
      bot: ['notify'],
    });
  });

  test.each(LEDGER_ITEMS)('every statement allowing %s on the ledger carries a LeadingKeys condition of its own records', (action) => {
    for (const fn of Object.values(fns())) {
      const onLedger = statementsAllowing(fn, action).filter((statement) => statement.targets.some((target) => target.startsWith('ledger table')));
      expect(onLedger).toEqual([{ targets: ['ledger table'], condition: ownRecords(...ledgerPartitionsOf(fn.serviceName as LedgerWriter)) }]);
    }
  });

  test('the respond role may put items under breaker, entry#…, user#…, its own pacer schedules only: not the checkpoint, seen markers, deliveries, digests or another function’s pacer', () => {
    const [statement] = statementsAllowing(built.stateless.respond, 'dynamodb:PutItem');
    const allowed = statement.condition!['ForAllValues:StringLike']['dynamodb:LeadingKeys'] as string[];
    const matches = (pk: string) => allowed.some((pattern) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`).test(pk));
    const own = [LEDGER_KEYS.decision('E1'), LEDGER_KEYS.lastReset('U1'), LEDGER_KEYS.breaker(), LEDGER_KEYS.respondPacer('admin.users.session.resetBulk')];
    expect(own.map((key) => matches(key.pk))).toEqual([true, true, true, true]);
    // Nor another function's pacer schedules: one role cannot fill another's slots and hold its calls back.
    const others = [
      LEDGER_KEYS.checkpoint(),
      LEDGER_KEYS.seen('E1'),
      LEDGER_KEYS.delivery('E1', 'x'),
      LEDGER_KEYS.notifyPacer('admin.users.session.resetBulk'),
      LEDGER_KEYS.pollerPacer('audit.logs'),
      LEDGER_KEYS.digestCount('sessions_ended#0'),
    ];
    expect(others.map((key) => matches(key.pk))).toEqual([false, false, false, false, false, false]);
  });

  test('only notify may Query the ledger, and only its digest partitions', () => {
    expect(statementsAllowing(built.stateless.poller, 'dynamodb:Query')).toEqual([]);
    expect(statementsAllowing(built.stateless.respond, 'dynamodb:Query')).toEqual([]);
    expect(statementsAllowing(built.stateless.notify, 'dynamodb:Query')).toEqual([{ targets: ['ledger table'], condition: ownRecords('digest#*') }]);
  });

  test.each(['dynamodb:Scan', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream'])('no role may %s the ledger', (action) => {
    for (const fn of Object.values(fns())) {
      expect(statementsAllowing(fn, action).filter((statement) => statement.targets.some((target) => target.startsWith('ledger table')))).toEqual([]);
    }
  });

  test.each(['kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:Encrypt', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:CreateGrant'])('no role may %s with the key', (action) => {
    for (const fn of Object.values(fns())) expect(statementsAllowing(fn, action)).toEqual([]);
  });

  test('no role may decrypt with the key directly, only through DynamoDB, Secrets Manager and SQS', () => {
    for (const fn of Object.values(fns())) {
      expect(statementsAllowing(fn, 'kms:Decrypt')).toEqual([{ targets: ['key'], condition: viaServices('dynamodb', 'secretsmanager', 'sqs') }]);
    }
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
  const expected = [built.stateless.poller, built.stateless.respond, built.stateless.notify].map((fn) => logicalId(fn.role));
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
        actions: EDITOR_KEY_USE,
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
