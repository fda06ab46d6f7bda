import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { z } from 'zod';
import { configChangesEnvSchema, notifyEnvSchema, pollerEnvSchema, respondEnvSchema } from '../../functions/runtime/env';
import { METRIC } from '../../functions/runtime/observability';
import { CONFIG_STREAM, EVENT_SOURCES, FUNCTIONS, LAMBDA_BUNDLING, LOG_GROUP_PREFIX, METRICS_NAMESPACE, QUEUES, SCHEDULE, TABLES } from '../../lib/definitions';
import type { ResponderFunction } from '../../lib/constructs/responder-function';
import { buildResponderApp, logicalId } from './responder-app';

const built = buildResponderApp({ senderEmail: 'security-alerts@corp.example', alarmEmail: 'oncall@corp.example' });
let stateful: Template;
let stateless: Template;

beforeAll(() => {
  stateful = Template.fromStack(built.stateful);
  stateless = Template.fromStack(built.stateless);
});

type FunctionKey = keyof typeof FUNCTIONS;
const functionsByKey = (): Record<FunctionKey, ResponderFunction> => ({
  pollAuditLogs: built.stateless.poller,
  respond: built.stateless.respond,
  notify: built.stateless.notify,
  configChanges: built.stateless.configChanges,
});

function functionProperties(fn: ResponderFunction): Record<string, any> {
  return stateless.toJSON().Resources[logicalId(fn.function)].Properties;
}

describe('stateful stack', () => {
  test('one customer-managed KMS key with rotation, retained', () => {
    stateful.resourceCountIs('AWS::KMS::Key', 1);
    stateful.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
  });

  test.each([
    ['config', () => built.stateful.configTable, TABLES.config],
    ['ledger', () => built.stateful.ledgerTable, TABLES.ledger],
  ] as const)('%s table: keys from definitions, PITR, KMS SSE with the key, deletion protection, retained', (_name, table, definition) => {
    const resource = stateful.toJSON().Resources[logicalId(table())];
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    const props = resource.Properties;
    expect(props.KeySchema).toEqual([
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      ...('sortKey' in definition ? [{ AttributeName: definition.sortKey.name, KeyType: 'RANGE' }] : []),
    ]);
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.DeletionProtectionEnabled).toBe(true);
    expect(props.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: { 'Fn::GetAtt': [logicalId(built.stateful.key), 'Arn'] },
    });
  });

  test('ledger table: TTL on expiresAt and the GSIs from definitions', () => {
    const props = stateful.toJSON().Resources[logicalId(built.stateful.ledgerTable)].Properties;
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(props.GlobalSecondaryIndexes.map((index: any) => [index.IndexName, index.KeySchema.map((key: any) => key.AttributeName)])).toEqual(
      TABLES.ledger.globalSecondaryIndexes.map((index) => [index.indexName, [index.partitionKey.name, index.sortKey.name]]),
    );
  });

  test('config table has no TTL: nobody wants their configuration to expire', () => {
    const props = stateful.toJSON().Resources[logicalId(built.stateful.configTable)].Properties;
    expect(props.TimeToLiveSpecification).toBeUndefined();
  });

  test('one secret per Slack token, KMS-encrypted with the key, retained, each saying what it holds and who reads it', () => {
    stateful.resourceCountIs('AWS::SecretsManager::Secret', 4);
    const readers = { audit: 'poller', admin: 'respond', directory: 'notify', bot: 'notify' };
    for (const [name, secret] of Object.entries(built.stateful.tokenSecrets)) {
      const resource = stateful.toJSON().Resources[logicalId(secret)];
      expect(resource.DeletionPolicy).toBe('Retain');
      expect(resource.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalId(built.stateful.key), 'Arn'] });
      expect(resource.Properties.Description).toMatch(new RegExp(`read by ${readers[name as keyof typeof readers]}.*put-secret-value`));
    }
  });

  test('CloudWatch Logs may use the key for the functions\u2019 log groups only', () => {
    const statements = stateful.toJSON().Resources[logicalId(built.stateful.key)].Properties.KeyPolicy.Statement;
    const logs = statements.filter((statement: any) => JSON.stringify(statement.Principal).includes('logs.'));
    expect(logs).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:log-group:${LOG_GROUP_PREFIX}*`]],
            },
          },
        },
      }),
    ]);
  });

  test('CloudWatch alarms may use the key, to publish to the encrypted alarm topic', () => {
    const statements = stateful.toJSON().Resources[logicalId(built.stateful.key)].Properties.KeyPolicy.Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
  });

  test('the stateful stack is termination-protected', () => {
    expect(built.stateful.terminationProtection).toBe(true);
  });
});

describe('queues', () => {
  test.each(Object.keys(QUEUES) as (keyof typeof QUEUES)[])('%s queue and its DLQ: KMS, redrive, retention and visibility from definitions', (name) => {
    const definition = QUEUES[name];
    const { queue, deadLetterQueue } = built.stateless[name];
    const resources = stateless.toJSON().Resources;
    const keyArn = { 'Fn::ImportValue': expect.stringMatching(/^SlackAnomalyResponderStateful:.*Key/) };
    expect(resources[logicalId(queue)].Properties).toEqual({
      KmsMasterKeyId: keyArn,
      VisibilityTimeout: definition.visibilityTimeoutSeconds,
      MessageRetentionPeriod: definition.retentionSeconds,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(deadLetterQueue), 'Arn'] }, maxReceiveCount: definition.maxReceiveCount },
    });
    expect(resources[logicalId(deadLetterQueue)].Properties).toEqual({
      KmsMasterKeyId: keyArn,
      MessageRetentionPeriod: definition.deadLetterRetentionSeconds,
    });
  });

  test('every queue has a policy denying requests without TLS', () => {
    const queues = [built.stateless.anomalies, built.stateless.notifications].flatMap(({ queue, deadLetterQueue }) => [queue, deadLetterQueue]);
    for (const queue of queues) {
      stateless.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
    // And the config stream's on-failure destination.
    stateless.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(built.stateless.configChangesDeadLetters) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    stateless.resourceCountIs('AWS::SQS::Queue', 5);
  });
});

describe('functions', () => {
  test.each(Object.keys(FUNCTIONS) as FunctionKey[])('%s: ARM64, Node 24, timeout and memory from definitions, own log group, JSON logs', (key) => {
    const fn = functionsByKey()[key];
    const props = functionProperties(fn);
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Runtime).toBe('nodejs24.x');
    expect(props.Timeout).toBe(FUNCTIONS[key].timeoutSeconds);
    expect(props.MemorySize).toBe(FUNCTIONS[key].memoryMiB);
    expect(props.Handler).toBe('index.handler');
    expect(props.LoggingConfig).toEqual(expect.objectContaining({ LogFormat: 'JSON', LogGroup: { Ref: logicalId(fn.logGroup) } }));
    expect(stateless.toJSON().Resources[logicalId(fn.logGroup)].Properties).toEqual({
      LogGroupName: `${LOG_GROUP_PREFIX}${FUNCTIONS[key].serviceName}`,
      RetentionInDays: 90,
      // They hold e-mail and IP addresses: encrypted with the project key.
      KmsKeyId: { 'Fn::ImportValue': expect.stringMatching(/^SlackAnomalyResponderStateful:.*Key.*Arn/) },
    });
    expect(props.Environment.Variables).toEqual(expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }));
    // The handlers pass service name and namespace to Powertools themselves (which overrides
    // these variables): set here too, they would be a second source that does nothing.
    expect(props.Environment.Variables).not.toHaveProperty('POWERTOOLS_SERVICE_NAME');
    expect(props.Environment.Variables).not.toHaveProperty('POWERTOOLS_METRICS_NAMESPACE');
    expect(fn.serviceName).toBe(FUNCTIONS[key].serviceName);
  });

  test.each(Object.keys(FUNCTIONS) as FunctionKey[])('%s: bundled for the runtime it runs on', (key) => {
    expect(LAMBDA_BUNDLING.target).toBe(functionProperties(functionsByKey()[key]).Runtime.replace(/^nodejs(\d+)\.x$/, 'node$1'));
  });

  test.each(Object.keys(FUNCTIONS) as FunctionKey[])('%s: the handler names the Powertools service and namespace the alarms select on', (key) => {
    const variables: Record<string, unknown> = functionProperties(functionsByKey()[key]).Environment.Variables;
    const created: { args: unknown[]; emf: unknown }[] = [];
    const saved = process.env;
    // The handler validates its environment at import: give it the one the stack deploys.
    process.env = { ...saved, ...Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : 'resolved-at-deploy'])) };
    try {
      jest.isolateModules(() => {
        const observability = jest.requireActual<typeof import('../../functions/runtime/observability')>('../../functions/runtime/observability');
        jest.doMock('../../functions/runtime/observability', () => ({
          ...observability,
          createObservability: (...args: Parameters<typeof observability.createObservability>) => {
            const made = observability.createObservability(...args);
            made.metrics.addMetric('Probe', observability.MetricUnit.Count, 1);
            created.push({ args, emf: made.metrics.serializeMetrics() });
            made.metrics.clearMetrics();
            return made;
          },
        }));
        require(`../../${FUNCTIONS[key].entry}`);
      });
    } finally {
      process.env = saved;
      jest.dontMock('../../functions/runtime/observability');
    }
    expect(created).toEqual([
      {
        args: [FUNCTIONS[key].serviceName],
        emf: expect.objectContaining({
          service: FUNCTIONS[key].serviceName,
          _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: METRICS_NAMESPACE, Dimensions: [['service']] })] }),
        }),
      },
    ]);
  });

  const schemas: Record<FunctionKey, z.ZodType> = {
    pollAuditLogs: pollerEnvSchema,
    respond: respondEnvSchema,
    notify: notifyEnvSchema,
    configChanges: configChangesEnvSchema,
  };
  test.each(Object.keys(FUNCTIONS) as FunctionKey[])('%s: its environment satisfies the schema the handler validates at start-up', (key) => {
    const variables: Record<string, unknown> = functionProperties(functionsByKey()[key]).Environment.Variables;
    // Deploy-time values (queue URLs, table names) are CloudFormation expressions here.
    const asDeployed = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : 'resolved-at-deploy']));
    const parsed = schemas[key].safeParse(asDeployed);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  test('functions get queue URLs of the right queues', () => {
    const env = (fn: ResponderFunction) => functionProperties(fn).Environment.Variables;
    const url = (queue: IConstruct) => ({ Ref: logicalId(queue) });
    expect(env(built.stateless.poller).ANOMALIES_QUEUE_URL).toEqual(url(built.stateless.anomalies.queue));
    expect(env(built.stateless.respond).ANOMALIES_QUEUE_URL).toEqual(url(built.stateless.anomalies.queue));
    expect(env(built.stateless.respond).NOTIFICATIONS_QUEUE_URL).toEqual(url(built.stateless.notifications.queue));
    expect(env(built.stateless.configChanges).NOTIFICATIONS_QUEUE_URL).toEqual(url(built.stateless.notifications.queue));
    expect(env(built.stateless.notify).NOTIFICATIONS_QUEUE_URL).toEqual(url(built.stateless.notifications.queue));
    expect(env(built.stateless.notify).SENDER_EMAIL).toBe('security-alerts@corp.example');
  });

  test('no function reserves concurrency (a new account\u2019s quota cannot spare it), and a failed run is not retried later', () => {
    for (const fn of [built.stateless.poller, built.stateless.respond, built.stateless.notify]) {
      expect(functionProperties(fn).ReservedConcurrentExecutions).toBeUndefined();
    }
    stateless.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(built.stateless.poller.function) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  test.each([true, 'true'])('-c pollerReservedConcurrency=%p reserves one execution for the poller only', (flag) => {
    const withFlag = buildResponderApp({ senderEmail: 'security-alerts@corp.example', pollerReservedConcurrency: flag });
    const props = (fn: ResponderFunction) => Template.fromStack(withFlag.stateless).toJSON().Resources[logicalId(fn.function)].Properties;
    expect(props(withFlag.stateless.poller).ReservedConcurrentExecutions).toBe(1);
    expect(props(withFlag.stateless.respond).ReservedConcurrentExecutions).toBeUndefined();
  });

  test('a pollerReservedConcurrency that is not a boolean fails the synth, naming it', () => {
    expect(() => buildResponderApp({ pollerReservedConcurrency: 'yes' })).toThrow(/pollerReservedConcurrency must be true or false/);
  });

  test.each(Object.keys(EVENT_SOURCES) as (keyof typeof EVENT_SOURCES)[])('%s consumes its queue with partial-batch failures and the settings from definitions', (key) => {
    const settings = EVENT_SOURCES[key];
    const fn = functionsByKey()[key];
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(fn.function) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(built.stateless[settings.queue].queue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: settings.batchSize,
      MaximumBatchingWindowInSeconds: settings.maxBatchingWindowSeconds,
      ScalingConfig: { MaximumConcurrency: settings.maxConcurrency },
    });
  });

  test('exactly three event source mappings: the two queues and the config stream; the poller is scheduled, not queue-driven', () => {
    stateless.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
  });

  test('config-changes reads the config table\u2019s stream in order: bisect on error, retried, then its dead-letter queue', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    const mapping = Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping')).find(
      (resource) => JSON.stringify(resource.Properties.FunctionName).includes(logicalId(built.stateless.configChanges.function)),
    );
    expect(mapping?.Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: CONFIG_STREAM.batchSize,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: CONFIG_STREAM.retryAttempts,
      MaximumRecordAgeInSeconds: CONFIG_STREAM.maxRecordAgeHours * 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(built.stateless.configChangesDeadLetters), 'Arn'] } } },
    });
    expect(JSON.stringify(mapping?.Properties.EventSourceArn)).toContain('StreamArn');
  });
});

describe('schedule', () => {
  test('EventBridge Scheduler invokes the poller at the configured rate, with a short retry policy', () => {
    stateless.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const minutes = SCHEDULE.pollEveryMinutes;
    stateless.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: `rate(${minutes} minute${minutes === 1 ? '' : 's'})`,
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(built.stateless.poller.function), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
      },
    });
  });
});

describe('alarms', () => {
  const topicRef = () => ({ Ref: logicalId(built.stateless.monitoring.topic) });
  const alarms = () => Object.values(stateless.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);
  const customAlarm = (metricName: string, service: string) =>
    alarms().filter(
      (alarm) => alarm.Namespace === METRICS_NAMESPACE && alarm.MetricName === metricName && JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'service', Value: service }]),
    );

  test('every alarm notifies the topic on ALARM and on OK', () => {
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([topicRef()]);
      expect(alarm.OKActions).toEqual([topicRef()]);
    }
  });

  test('alarm topic: KMS-encrypted, TLS enforced, CloudWatch may publish, e-mail subscription from context', () => {
    stateless.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::ImportValue': Match.stringLikeRegexp('Key') } });
    stateless.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef()],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // The topic's own policy replaces SNS's default one, so alarms need an explicit allow.
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    stateless.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@corp.example', TopicArn: topicRef() });
  });

  test.each(['anomalies', 'notifications'] as const)('%s dead-letter queue depth above zero', (name) => {
    const dlq = built.stateless[name].deadLetterQueue;
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(dlq), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  test.each(Object.keys(FUNCTIONS) as FunctionKey[])('%s errors', (key) => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(functionsByKey()[key].function) } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  test('poller checkpoint older than 15 minutes, and silence counts as breaching', () => {
    const [alarm, ...others] = customAlarm(METRIC.checkpointAgeSeconds, 'poll-audit-logs');
    expect(others).toEqual([]);
    expect(alarm).toEqual(
      expect.objectContaining({ Statistic: 'Maximum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 900, TreatMissingData: 'breaching' }),
    );
  });

  test('an audit-log window the poller gave up (its cursor looped twice)', () => {
    expect(customAlarm(METRIC.auditWindowsAbandoned, 'poll-audit-logs')).toEqual([
      expect.objectContaining({ Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' }),
    ]);
  });

  test('invalid configuration seen by respond', () => {
    expect(customAlarm(METRIC.configInvalid, 'respond')).toEqual([
      expect.objectContaining({ Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' }),
    ]);
  });

  test.each([METRIC.allowListDrift, METRIC.allowListSyncFailures])('%s of Slack\u2019s anomaly allow-list, seen by the poller', (metric) => {
    expect(customAlarm(metric, 'poll-audit-logs')).toEqual([
      expect.objectContaining({ Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' }),
    ]);
  });

  // config-changes holds no Slack token.
  test.each([FUNCTIONS.pollAuditLogs, FUNCTIONS.respond, FUNCTIONS.notify].map((fn) => fn.serviceName))('Slack auth failures in %s', (service) => {
    expect(customAlarm(METRIC.slackAuthFailures, service)).toEqual([
      expect.objectContaining({ Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 }),
    ]);
  });

  test('a weakened configuration and unrecorded config changes alarm', () => {
    expect(customAlarm(METRIC.configChangesWeakening, FUNCTIONS.configChanges.serviceName)).toEqual([
      expect.objectContaining({ Statistic: 'Sum', ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 }),
    ]);
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(built.stateless.configChangesDeadLetters), 'QueueName'] } }],
    });
  });

  test('a dashboard', () => {
    stateless.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('cross-stack references', () => {
  // Strong references (CloudFormation exports and Fn::ImportValue): CloudFormation refuses to
  // change or delete an export another stack imports, so a stateful resource can never be
  // replaced or removed under the functions (with weak Fn::GetStackOutput references they would
  // keep the old name until their own stack's next update). README: "Changing a stateful resource".
  const imports = () => [...JSON.stringify(stateless.toJSON()).matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((match) => match[1]);

  test('cdk.json asks for strong references, and the stateless stack reads the stateful one only through imports', () => {
    expect(built.app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences')).toBe('strong');
    expect(JSON.stringify(stateless.toJSON())).not.toContain('Fn::GetStackOutput');
    expect(JSON.stringify(stateless.toJSON())).not.toMatch(/Fn::GetAtt":\["(Key|ConfigTable|LedgerTable)/);
    expect(imports().length).toBeGreaterThan(0);
  });

  test('every import is an export of the stateful stack, and every such export is imported', () => {
    const exported = Object.values(stateful.toJSON().Outputs as Record<string, { Export?: { Name: string } }>)
      .map((output) => output.Export?.Name)
      .filter((name): name is string => name !== undefined);
    expect([...new Set(imports())].sort()).toEqual(exported.sort());
  });

  test('the functions are wired to the stateful stack\u2019s tables and token secrets by import', () => {
    const exportOf = (construct: IConstruct, attribute: 'Ref' | 'Arn') =>
      expect.stringMatching(new RegExp(`^SlackAnomalyResponderStateful:ExportsOutput${attribute === 'Ref' ? 'Ref' : 'FnGetAtt'}${logicalId(construct)}`));
    const env = (fn: ResponderFunction) => functionProperties(fn).Environment.Variables;
    for (const fn of Object.values(functionsByKey())) {
      // config-changes reads the config table's stream, not the table: no CONFIG_TABLE_NAME.
      if (fn === built.stateless.configChanges) expect(env(fn).CONFIG_TABLE_NAME).toBeUndefined();
      else expect(env(fn).CONFIG_TABLE_NAME).toEqual({ 'Fn::ImportValue': exportOf(built.stateful.configTable, 'Ref') });
      expect(env(fn).LEDGER_TABLE_NAME).toEqual({ 'Fn::ImportValue': exportOf(built.stateful.ledgerTable, 'Ref') });
    }
    const secret = (name: keyof typeof built.stateful.tokenSecrets) => ({ 'Fn::ImportValue': exportOf(built.stateful.tokenSecrets[name], 'Ref') });
    expect(env(built.stateless.poller).SLACK_AUDIT_TOKEN_SECRET_ID).toEqual(secret('audit'));
    expect(env(built.stateless.respond).SLACK_ADMIN_TOKEN_SECRET_ID).toEqual(secret('admin'));
    expect(env(built.stateless.notify).SLACK_DIRECTORY_TOKEN_SECRET_ID).toEqual(secret('directory'));
    expect(env(built.stateless.notify).SLACK_BOT_TOKEN_SECRET_ID).toEqual(secret('bot'));
  });

  test('the stateless stack is deployed after the stateful one', () => {
    expect(built.stateless.dependencies).toEqual([built.stateful]);
  });
});

describe('context', () => {
  test('without senderEmail: placeholder sender and a warning; without alarmEmail: no subscription', () => {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const bare = buildResponderApp();
    const template = Template.fromStack(bare.stateless);
    expect(printed.mock.calls.flat().join('\n')).toContain('No senderEmail context');
    printed.mockRestore();
    const notifyEnv = template.toJSON().Resources[logicalId(bare.stateless.notify.function)].Properties.Environment.Variables;
    expect(notifyEnv.SENDER_EMAIL).toBe('alerts@example.com');
    const warnings = bare.stateless.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning').map((entry) => String(entry.data));
    expect(warnings).toEqual([expect.stringContaining('-c senderEmail=')]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('with senderEmail: no warning', () => {
    expect(built.stateless.node.metadata.filter((entry) => entry.type === 'aws:cdk:warning')).toEqual([]);
  });

  test('a malformed e-mail in context is refused at synth', () => {
    expect(() => buildResponderApp({ senderEmail: 'not-an-address' })).toThrow(/senderEmail must be an e-mail address/);
  });
});
