import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { QUEUES, TABLES, type TableDefinition } from '../../../lib/definitions';
import { createResources, resourceEnv } from '../../../tools/local/aws/resources';
import { uniquePrefix, useEmulators } from './helpers';

const aws = useEmulators();

async function queueAttributes(url: string): Promise<Record<string, string>> {
  const { Attributes } = await aws.clients().sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  return Attributes ?? {};
}

function keySchema(table: Pick<TableDefinition, 'partitionKey' | 'sortKey'>) {
  return [
    { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
    ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: 'RANGE' }] : []),
  ];
}

describe('createResources', () => {
  it('creates the tables and queues of lib/definitions.ts, idempotently', async () => {
    const prefix = uniquePrefix('res');
    const resources = await createResources(aws.clients(), { prefix });
    expect(resources.tables).toEqual({ config: `${prefix}-config`, ledger: `${prefix}-ledger` });

    for (const [key, definition] of Object.entries(TABLES) as [keyof typeof TABLES, TableDefinition][]) {
      const { Table } = await aws.clients().dynamodb.send(new DescribeTableCommand({ TableName: resources.tables[key] }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(Table?.KeySchema).toEqual(keySchema(definition));
      const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName, keys: i.KeySchema, projection: i.Projection?.ProjectionType }));
      expect(indexes.sort((a, b) => a.name!.localeCompare(b.name!))).toEqual(
        (definition.globalSecondaryIndexes ?? [])
          .map((i) => ({ name: i.indexName, keys: keySchema(i), projection: 'ALL' }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      );
      const { TimeToLiveDescription } = await aws.clients().dynamodb.send(new DescribeTimeToLiveCommand({ TableName: resources.tables[key] }));
      if (definition.timeToLiveAttribute) {
        expect(TimeToLiveDescription).toEqual({ AttributeName: definition.timeToLiveAttribute, TimeToLiveStatus: 'ENABLED' });
      } else {
        expect(TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
      }
    }

    for (const [key, definition] of Object.entries(QUEUES) as [keyof typeof QUEUES, (typeof QUEUES)[keyof typeof QUEUES]][]) {
      const queue = resources.queues[key];
      expect(queue.name).toBe(`${prefix}-${key}`);
      const main = await queueAttributes(queue.url);
      expect(main.QueueArn).toBe(queue.arn);
      expect(Number(main.VisibilityTimeout)).toBe(definition.visibilityTimeoutSeconds);
      expect(Number(main.MessageRetentionPeriod)).toBe(definition.retentionSeconds);
      const redrive = JSON.parse(main.RedrivePolicy ?? '{}') as { deadLetterTargetArn?: string; maxReceiveCount?: number | string };
      expect(redrive.deadLetterTargetArn).toBe(queue.dlqArn);
      expect(Number(redrive.maxReceiveCount)).toBe(definition.maxReceiveCount);
      const dlq = await queueAttributes(queue.dlqUrl);
      expect(dlq.QueueArn).toBe(queue.dlqArn);
      expect(Number(dlq.MessageRetentionPeriod)).toBe(definition.deadLetterRetentionSeconds);
      expect(dlq.RedrivePolicy).toBeUndefined();
    }

    expect(resourceEnv(resources)).toEqual({
      CONFIG_TABLE_NAME: resources.tables.config,
      LEDGER_TABLE_NAME: resources.tables.ledger,
      ANOMALIES_QUEUE_URL: resources.queues.anomalies.url,
      NOTIFICATIONS_QUEUE_URL: resources.queues.notifications.url,
    });

    // A second run (e.g. `npm start` twice against the same emulators) finds and keeps them.
    await expect(createResources(aws.clients(), { prefix })).resolves.toEqual(resources);
  });

  it('applies queue overrides, also to queues that already exist', async () => {
    const prefix = uniquePrefix('ovr');
    await createResources(aws.clients(), { prefix });
    const resources = await createResources(aws.clients(), {
      prefix,
      queueOverrides: { anomalies: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 } },
    });
    const anomalies = await queueAttributes(resources.queues.anomalies.url);
    expect(anomalies.VisibilityTimeout).toBe('1');
    expect(Number(JSON.parse(anomalies.RedrivePolicy!).maxReceiveCount)).toBe(2);
    expect(resources.queues.anomalies.definition).toMatchObject({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
    const notifications = await queueAttributes(resources.queues.notifications.url);
    expect(Number(notifications.VisibilityTimeout)).toBe(QUEUES.notifications.visibilityTimeoutSeconds);
  });

  it('rejects a prefix that would make invalid names', async () => {
    await expect(createResources(aws.clients(), { prefix: 'no spaces' })).rejects.toThrow(/invalid resource prefix/);
  });
});
