import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { makeConfigChangesHandler } from '../../../functions/config-changes/app';
import { withObservability } from '../../../functions/runtime/sqs-batch-handler';
import { InMemoryLedger } from '../../support/in-memory-ledger';
import { RecordingPublisher } from '../../support/recording-publisher';
import { lambdaContext } from '../../support/sqs-event';

const record = (eventID: string, sequence: string, before: Record<string, unknown>, after: Record<string, unknown>) => ({
  eventID,
  eventName: 'MODIFY' as const,
  eventSource: 'aws:dynamodb',
  dynamodb: {
    ApproximateCreationDateTime: 1764757200,
    SequenceNumber: sequence,
    Keys: marshall({ id: after.id }),
    OldImage: marshall(before),
    NewImage: marshall(after),
    StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
  },
});

function setup() {
  const ledger = new InMemoryLedger();
  const notifications = new RecordingPublisher();
  const logger = new Logger({ serviceName: 'config-changes', logLevel: 'SILENT' });
  const metrics = new Metrics({ serviceName: 'config-changes', namespace: 'Test' });
  const counted: string[] = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation((name: string) => {
    counted.push(name);
    return metrics;
  });
  const handler = withObservability(makeConfigChangesHandler({ deps: { decisions: ledger, notifications }, logger, metrics }), logger, metrics);
  return { handler, ledger, notifications, counted };
}

describe('config-changes handler (DynamoDB stream batch)', () => {
  it('records each change in order and counts a weakening change', async () => {
    const t = setup();
    const event = {
      Records: [
        record('e1', '100', { id: 'event#tor', action: 'end_sessions' }, { id: 'event#tor', action: 'off' }),
        record('e2', '200', { id: 'safety', cooldownMinutes: 30 }, { id: 'safety', cooldownMinutes: 60 }),
      ],
    } as DynamoDBStreamEvent;
    await expect(t.handler(event, lambdaContext('config-changes'))).resolves.toEqual({ batchItemFailures: [] });
    expect([...t.ledger.decisions.keys()]).toEqual(['config-change-e1', 'config-change-e2']);
    expect(t.notifications.messages.map((m) => m.id)).toEqual(['config-change-e1', 'config-change-e2']);
    expect(t.counted.sort()).toEqual(['ConfigChanges', 'ConfigChanges', 'ConfigChangesWeakening']);
  });

  it('a record that cannot be recorded now is reported by its sequence number, so Lambda retries from it', async () => {
    const t = setup();
    t.notifications.failNext = 1;
    const event = { Records: [record('e3', '300', { id: 'safety', dryRun: false }, { id: 'safety', dryRun: true })] } as DynamoDBStreamEvent;
    await expect(t.handler(event, lambdaContext('config-changes'))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: '300' }] });
    // The retry queues the notification the first attempt could not; the change is recorded once.
    await expect(t.handler(event, lambdaContext('config-changes'))).resolves.toEqual({ batchItemFailures: [] });
    expect(t.notifications.messages).toHaveLength(1);
    expect(t.ledger.decisions.size).toBe(1);
  });
});
