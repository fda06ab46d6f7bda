import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QUEUES, TABLES, type KeyDefinition, type QueueDefinition, type TableDefinition } from '../../../lib/definitions';

export type TableName = keyof typeof TABLES;
export type QueueName = keyof typeof QUEUES;

export interface QueueResource {
  name: string;
  url: string;
  arn: string;
  dlqName: string;
  dlqUrl: string;
  dlqArn: string;
  /** The settings it was created with: the definition plus any override. */
  definition: QueueDefinition;
}

export interface LocalResources {
  /** Table names. */
  tables: Record<TableName, string>;
  queues: Record<QueueName, QueueResource>;
}

export interface ResourceOptions {
  /** Names become `<prefix>-<key>` (DLQs `<prefix>-<key>-dlq`), so runs and tests can share emulators. */
  prefix: string;
  /** For tests: e.g. a 1 s visibility timeout and maxReceiveCount 2 to see redrive quickly. */
  queueOverrides?: Partial<Record<QueueName, Partial<QueueDefinition>>>;
}

/**
 * Creates the tables and queues of lib/definitions.ts (the ones the CDK stack deploys).
 * Idempotent: existing tables are checked against their definition, existing queues updated.
 */
export async function createResources(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  options: ResourceOptions,
): Promise<LocalResources> {
  if (!/^[A-Za-z0-9_-]{1,60}$/.test(options.prefix)) throw new Error(`invalid resource prefix: ${options.prefix}`);
  const tableKeys = Object.keys(TABLES) as TableName[];
  const queueKeys = Object.keys(QUEUES) as QueueName[];
  const [tables, queues] = await Promise.all([
    Promise.all(tableKeys.map((key) => createTable(clients.dynamodb, `${options.prefix}-${key}`, TABLES[key]))),
    Promise.all(
      queueKeys.map((key) =>
        createQueue(clients.sqs, `${options.prefix}-${key}`, { ...QUEUES[key], ...options.queueOverrides?.[key] }),
      ),
    ),
  ]);
  return {
    tables: Object.fromEntries(tableKeys.map((key, i) => [key, tables[i]])) as Record<TableName, string>,
    queues: Object.fromEntries(queueKeys.map((key, i) => [key, queues[i]])) as Record<QueueName, QueueResource>,
  };
}

/** The functions' environment variables naming these resources (see functions/runtime/env.ts). */
export function resourceEnv(resources: LocalResources): Record<string, string> {
  return {
    CONFIG_TABLE_NAME: resources.tables.config,
    LEDGER_TABLE_NAME: resources.tables.ledger,
    ANOMALIES_QUEUE_URL: resources.queues.anomalies.url,
    NOTIFICATIONS_QUEUE_URL: resources.queues.notifications.url,
  };
}

async function createTable(dynamodb: DynamoDBClient, name: string, definition: TableDefinition): Promise<string> {
  const keySchema = toKeySchema(definition.partitionKey, definition.sortKey);
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributeDefinitions(definition),
        KeySchema: keySchema,
        ...(definition.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } } : {}),
        GlobalSecondaryIndexes: definition.globalSecondaryIndexes?.map((index) => ({
          IndexName: index.indexName,
          KeySchema: toKeySchema(index.partitionKey, index.sortKey),
          Projection: { ProjectionType: 'ALL' }, // the CDK default
        })),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (JSON.stringify(Table?.KeySchema) !== JSON.stringify(keySchema)) {
      throw new Error(`table ${name} exists with another key schema: delete it or use another prefix`);
    }
    // A table made before it had a stream (an older local run) gets one.
    if (definition.stream && !Table?.StreamSpecification?.StreamEnabled) {
      await dynamodb.send(new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream } }));
    }
  }
  if (definition.timeToLiveAttribute) {
    const { TimeToLiveDescription } = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
    // Enabling it twice is a ValidationException.
    if (TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
      await dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
        }),
      );
    }
  }
  return name;
}

function toKeySchema(partitionKey: KeyDefinition, sortKey?: KeyDefinition): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/** Every key attribute of the table and its indexes, once each. */
function attributeDefinitions(definition: TableDefinition): AttributeDefinition[] {
  const keys = [definition.partitionKey, definition.sortKey, ...(definition.globalSecondaryIndexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey])];
  const byName = new Map<string, AttributeDefinition>();
  for (const key of keys) if (key) byName.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  return [...byName.values()];
}

async function createQueue(sqs: SQSClient, name: string, definition: QueueDefinition): Promise<QueueResource> {
  // The DLQ first: the main queue's redrive policy names its ARN.
  const dlqName = `${name}-dlq`;
  const dlqUrl = await ensureQueue(sqs, dlqName, { MessageRetentionPeriod: String(definition.deadLetterRetentionSeconds) });
  const dlqArn = await queueArn(sqs, dlqUrl);
  const url = await ensureQueue(sqs, name, {
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(definition.retentionSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: definition.maxReceiveCount }),
  });
  return { name, url, arn: await queueArn(sqs, url), dlqName, dlqUrl, dlqArn, definition };
}

/** CreateQueue is idempotent only with identical attributes; otherwise update the existing queue. */
async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  try {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (QueueUrl) return QueueUrl;
  } catch (error) {
    if (!/QueueNameExists|QueueAlreadyExists/.test(`${(error as Error).name} ${(error as Error).message}`)) throw error;
  }
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`queue ${name} has no URL`);
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  return QueueUrl;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  if (!Attributes?.QueueArn) throw new Error(`queue ${url} has no ARN`);
  return Attributes.QueueArn;
}
