import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { QueueDefinition } from '../../../lib/definitions';
import { startEventSource, type EventSource, type EventSourceOptions, type InvocationReport } from '../../../tools/local/aws/event-source';
import { createResources, type QueueResource } from '../../../tools/local/aws/resources';
import { sendBodies, sleep, uniquePrefix, useEmulators } from './helpers';

const aws = useEmulators();
let running: EventSource[] = [];

afterEach(async () => {
  await Promise.all(running.map((source) => source.stop()));
  running = [];
});

/** A fresh anomalies queue (with its DLQ) as createResources makes it, with test-sized settings. */
async function freshQueue(overrides: Partial<QueueDefinition> = {}): Promise<QueueResource> {
  const resources = await createResources(aws.clients(), { prefix: uniquePrefix('es'), queueOverrides: { anomalies: overrides } });
  return resources.queues.anomalies;
}

function start(queue: QueueResource, options: Partial<EventSourceOptions> & Pick<EventSourceOptions, 'handler'>) {
  const reports: InvocationReport[] = [];
  const source = startEventSource({
    sqs: aws.clients().sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    functionName: 'respond',
    timeoutSeconds: 5,
    batchSize: 10,
    pollWaitSeconds: 0, // short polls: quick stops and retries
    onInvoke: (report) => reports.push(report),
    ...options,
  });
  running.push(source);
  return { source, reports };
}

async function queueCounts(url: string) {
  const { Attributes = {} } = await aws.clients().sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes.ApproximateNumberOfMessages), notVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
}

async function drainDlq(queue: QueueResource): Promise<string[]> {
  const { Messages = [] } = await aws.clients().sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, MaxNumberOfMessages: 10 }));
  return Messages.map((m) => m.Body!);
}

const receiveCount = (record: SQSRecord) => Number(record.attributes.ApproximateReceiveCount);

describe('startEventSource', () => {
  it('delivers real SQSEvent batches of at most batchSize with a Lambda context, and deletes what succeeded', async () => {
    const queue = await freshQueue();
    const bodies = Array.from({ length: 23 }, (_, i) => JSON.stringify({ n: i }));
    const sentIds = await sendBodies(aws.clients().sqs, queue.url, bodies);
    const withAttributes = await aws.clients().sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'with attributes',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'test' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('bytes') },
        },
      }),
    );
    const events: { event: SQSEvent; context: Context; remainingMs: number }[] = [];
    const { source } = start(queue, {
      batchSize: 4,
      concurrency: 2,
      pollWaitSeconds: 1, // the default long polling, as local mode runs it
      timeoutSeconds: 7,
      memoryMiB: 256,
      handler: async (event: SQSEvent, context: Context) => {
        events.push({ event, context, remainingMs: context.getRemainingTimeInMillis() });
      },
    });
    await source.drained({ timeoutMs: 10_000 });

    const records = events.flatMap((e) => e.event.Records);
    expect(Math.max(...events.map((e) => e.event.Records.length))).toBeLessThanOrEqual(4);
    expect(records.map((r) => r.messageId).sort()).toEqual([...sentIds, withAttributes.MessageId!].sort());
    for (const record of records) {
      expect(record).toEqual({
        messageId: expect.any(String),
        receiptHandle: expect.any(String),
        body: expect.any(String),
        attributes: expect.objectContaining({
          ApproximateReceiveCount: '1',
          SentTimestamp: expect.stringMatching(/^\d{13}$/),
          SenderId: expect.any(String),
          ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
        }),
        messageAttributes: expect.any(Object),
        md5OfBody: createHash('md5').update(record.body).digest('hex'),
        ...(record.md5OfMessageAttributes ? { md5OfMessageAttributes: expect.any(String) } : {}),
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: 'us-east-1',
      });
    }
    expect(records.find((r) => r.messageId === withAttributes.MessageId)?.messageAttributes).toEqual({
      kind: { stringValue: 'test', stringListValues: [], binaryListValues: [], dataType: 'String' },
      blob: { binaryValue: Buffer.from('bytes').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    for (const { context, remainingMs } of events) {
      expect(context).toMatchObject({
        functionName: 'respond',
        functionVersion: '$LATEST',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:respond',
        memoryLimitInMB: '256',
        logGroupName: '/aws/lambda/respond',
        awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(remainingMs).toBeGreaterThan(6000);
      expect(remainingMs).toBeLessThanOrEqual(7000);
    }
    expect(new Set(events.map((e) => e.context.awsRequestId)).size).toBe(events.length);
    expect(source.stats).toMatchObject({ invocations: events.length, records: 24, succeeded: 24, failures: 0, failedInvocations: 0 });
    expect(await queueCounts(queue.url)).toEqual({ visible: 0, notVisible: 0 });
  });

  it('deletes all but the batchItemFailures, which come back and land in the DLQ after maxReceiveCount', async () => {
    const queue = await freshQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
    await sendBodies(aws.clients().sqs, queue.url, ['ok-1', 'bad', 'ok-2']);
    const deliveries: { body: string; receiveCount: number }[] = [];
    const { source, reports } = start(queue, {
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        deliveries.push(...event.Records.map((r) => ({ body: r.body, receiveCount: receiveCount(r) })));
        return { batchItemFailures: event.Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    await source.drained({ timeoutMs: 10_000 });

    expect(deliveries.filter((d) => d.body === 'bad').map((d) => d.receiveCount)).toEqual([1, 2]);
    expect(deliveries.filter((d) => d.body !== 'bad').map((d) => d.body).sort()).toEqual(['ok-1', 'ok-2']);
    expect(reports.map((r) => r.result)).toContain('partial-failure');
    expect(source.stats).toMatchObject({ records: 4, succeeded: 2, failures: 2, failedInvocations: 0 });
    expect(await drainDlq(queue)).toEqual(['bad']);
  });

  it('deletes nothing when the handler throws or times out: the whole batch comes back', async () => {
    const queue = await freshQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
    await sendBodies(aws.clients().sqs, queue.url, ['a', 'b']);
    const attempts = new Map<string, number[]>();
    const { source, reports } = start(queue, {
      timeoutSeconds: 0.4,
      handler: async (event: SQSEvent) => {
        for (const r of event.Records) attempts.set(r.body, [...(attempts.get(r.body) ?? []), receiveCount(r)]);
        const count = Math.max(...event.Records.map(receiveCount));
        if (count === 1) throw new Error('first attempt fails');
        if (count === 2) await sleep(800); // beyond the 0.4 s timeout
      },
    });
    await source.drained({ timeoutMs: 10_000 });

    expect(Object.fromEntries(attempts)).toEqual({ a: [1, 2, 3], b: [1, 2, 3] });
    expect(reports.map((r) => r.result)).toEqual(expect.arrayContaining(['error', 'timeout', 'success']));
    const timedOut = reports.find((r) => r.result === 'timeout')!;
    expect(String(timedOut.error)).toMatch(/Task timed out after 0.40 seconds/);
    expect(timedOut.durationMs).toBeLessThan(800);
    expect(source.stats).toMatchObject({ succeeded: 2, timeouts: timedOut.messageIds.length ? 1 : 0 });
    expect(source.stats.failedInvocations).toBeGreaterThanOrEqual(2);
    expect(await drainDlq(queue)).toEqual([]);
  });

  it('fails the whole batch when batchItemFailures names a record that is not in it', async () => {
    const queue = await freshQueue({ visibilityTimeoutSeconds: 1 });
    await sendBodies(aws.clients().sqs, queue.url, ['x', 'y']);
    const counts: number[] = [];
    const { source, reports } = start(queue, {
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        counts.push(...event.Records.map(receiveCount));
        return event.Records.some((r) => receiveCount(r) === 1) ? { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] } : { batchItemFailures: [] };
      },
    });
    await source.drained({ timeoutMs: 10_000 });
    expect(counts.sort()).toEqual([1, 1, 2, 2]);
    expect(reports[0]).toMatchObject({ result: 'invalid-response', failedMessageIds: expect.arrayContaining(reports[0].messageIds) });
  });

  it('keeps a failed record whose visibility the handler changed, and it comes back when the handler said', async () => {
    const queue = await freshQueue({ visibilityTimeoutSeconds: 30 });
    await sendBodies(aws.clients().sqs, queue.url, ['retry-me']);
    const seenAt: number[] = [];
    const { source } = start(queue, {
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        seenAt.push(Date.now());
        const record = event.Records[0];
        if (receiveCount(record) > 1) return { batchItemFailures: [] };
        // What a handler does to retry sooner than the queue's 30 s: shorten the record's visibility.
        await aws.clients().sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 1 }));
        return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
      },
    });
    await source.drained({ timeoutMs: 8000 });
    expect(seenAt).toHaveLength(2);
    expect(seenAt[1] - seenAt[0]).toBeGreaterThanOrEqual(900);
  });

  it('drained() waits for records pending a retry, idle() does not', async () => {
    const queue = await freshQueue({ visibilityTimeoutSeconds: 30 });
    await sendBodies(aws.clients().sqs, queue.url, ['always-fails']);
    const { source } = start(queue, {
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => ({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) }),
    });
    await source.idle({ timeoutMs: 5000 });
    expect(source.stats).toMatchObject({ invocations: 1, failures: 1 });
    await expect(source.drained({ timeoutMs: 500 })).rejects.toThrow(/not drained after 500 ms.*"notVisible":1/);
  });

  it('gathers records for up to maxBatchingWindowSeconds before invoking', async () => {
    const queue = await freshQueue();
    const sizes: number[] = [];
    const { source } = start(queue, {
      maxBatchingWindowSeconds: 1,
      handler: async (event: SQSEvent) => {
        sizes.push(event.Records.length);
      },
    });
    await sendBodies(aws.clients().sqs, queue.url, ['first']);
    await sleep(300);
    await sendBodies(aws.clients().sqs, queue.url, ['second', 'third']);
    await source.drained({ timeoutMs: 5000 });
    expect(sizes).toEqual([3]);
  });

  it('runs at most `concurrency` invocations at once', async () => {
    const queue = await freshQueue();
    await sendBodies(aws.clients().sqs, queue.url, ['1', '2', '3', '4', '5', '6']);
    let active = 0;
    let most = 0;
    const { source } = start(queue, {
      batchSize: 1,
      concurrency: 2,
      handler: async () => {
        most = Math.max(most, ++active);
        await sleep(150);
        active--;
      },
    });
    await source.drained({ timeoutMs: 5000 });
    expect(most).toBe(2);
    expect(source.stats.invocations).toBe(6);
  });

  it('stop() waits for the invocation in flight, which still gets its records deleted', async () => {
    const queue = await freshQueue();
    await sendBodies(aws.clients().sqs, queue.url, ['slow']);
    let started!: () => void;
    const invoked = new Promise<void>((resolve) => (started = resolve));
    let finished = false;
    const { source } = start(queue, {
      handler: async () => {
        started();
        await sleep(400);
        finished = true;
      },
    });
    await invoked;
    await source.stop();
    expect(finished).toBe(true);
    expect(source.stats).toMatchObject({ invocations: 1, succeeded: 1 });
    expect(await queueCounts(queue.url)).toEqual({ visible: 0, notVisible: 0 });
  });
});
