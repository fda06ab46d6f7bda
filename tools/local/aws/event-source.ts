import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { EVENT_SOURCES, FUNCTIONS } from '../../../lib/definitions';
import { invokeWithTimeout, type LambdaHandler, type LambdaSettings } from './lambda-context';
import type { LocalResources } from './resources';
import { sleep } from '../../../functions/runtime/time';

const SHORT_POLL_INTERVAL_MS = 100;

export interface EventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  handler: LambdaHandler<SQSEvent>;
  functionName: string;
  timeoutSeconds: number;
  memoryMiB?: number;
  /** Records per invocation, at most. Default 10. */
  batchSize?: number;
  /** How long to gather records before invoking with a partial batch. Default 0. */
  maxBatchingWindowSeconds?: number;
  /** Concurrent invocations, at most (the event source's MaximumConcurrency). Default 1. */
  concurrency?: number;
  /**
   * Long-poll wait per ReceiveMessage; also bounds how long stop() waits for a poll (an aborted
   * poll could still take records off the queue). 0: short polls every 100 ms, which stop at once
   * and see records whose visibility expired sooner (fauxqs wakes long polls only for new ones):
   * the choice for tests. Default 1.
   */
  pollWaitSeconds?: number;
  onInvoke?: (report: InvocationReport) => void;
  /** Polling and deleting errors (the loop retries). Default: console.error. */
  onError?: (error: unknown) => void;
}

export type InvocationResult = 'success' | 'partial-failure' | 'error' | 'timeout' | 'invalid-response';

export interface InvocationReport {
  functionName: string;
  requestId: string;
  result: InvocationResult;
  messageIds: string[];
  /** Left in the queue: they come back after their visibility timeout (or go to the DLQ). */
  failedMessageIds: string[];
  error?: unknown;
  durationMs: number;
}

export interface EventSourceStats {
  invocations: number;
  records: number;
  /** Records deleted after a successful invocation (or not reported as failed). */
  succeeded: number;
  /** Records left for retry: reported in batchItemFailures, or all of a failed invocation. */
  failures: number;
  /** Invocations that threw, timed out or answered with an invalid batchItemFailures. */
  failedInvocations: number;
  timeouts: number;
}

export interface WaitOptions {
  /** Default 30 s; rejects after it. */
  timeoutMs?: number;
  intervalMs?: number;
}

export interface EventSource {
  readonly stats: Readonly<EventSourceStats>;
  /** Resolves when the queue is empty: nothing visible, delayed, in flight or waiting for a retry. */
  drained(options?: WaitOptions): Promise<void>;
  /** Resolves when nothing is to be done now: messages hidden for a later retry may remain. */
  idle(options?: WaitOptions): Promise<void>;
  /** Stops polling and waits for in-flight invocations; records received but not yet handed over are released. */
  stop(): Promise<void>;
}

/** Settings of one consumer as lib/definitions.ts declares them, for the resources created locally. */
export function eventSourceSettings(name: keyof typeof EVENT_SOURCES, resources: LocalResources) {
  const source = EVENT_SOURCES[name];
  const queue = resources.queues[source.queue];
  return {
    functionName: name,
    queueUrl: queue.url,
    queueArn: queue.arn,
    batchSize: source.batchSize,
    maxBatchingWindowSeconds: source.maxBatchingWindowSeconds,
    concurrency: source.maxConcurrency,
    timeoutSeconds: FUNCTIONS[name].timeoutSeconds,
    memoryMiB: FUNCTIONS[name].memoryMiB,
  };
}

/**
 * Polls an SQS queue and invokes a handler with the semantics of Lambda's SQS event source
 * (with ReportBatchItemFailures): records are deleted after a successful invocation except those
 * named in `batchItemFailures`; an error or a timeout deletes none. Undeleted records come back
 * after their visibility timeout (or earlier if the handler changed it) and the queue's redrive
 * policy moves them to the DLQ. A timed-out handler cannot be frozen as on Lambda: it runs on.
 */
export function startEventSource(options: EventSourceOptions): EventSource {
  const { sqs, queueUrl, queueArn, handler, functionName } = options;
  const batchSize = options.batchSize ?? 10;
  const windowMs = (options.maxBatchingWindowSeconds ?? 0) * 1000;
  const pollWaitSeconds = options.pollWaitSeconds ?? 1;
  const onError = options.onError ?? ((error: unknown) => console.error(`[${functionName} event source]`, error));
  const [, , , region = 'us-east-1', accountId] = queueArn.split(':');
  const lambda: LambdaSettings = { functionName, timeoutSeconds: options.timeoutSeconds, memoryMiB: options.memoryMiB, region, accountId };
  const stats: EventSourceStats = { invocations: 0, records: 0, succeeded: 0, failures: 0, failedInvocations: 0, timeouts: 0 };

  let stopped = false;
  const stopSignal = new AbortController();
  /** Batches received and not yet settled (invoked and acknowledged, or released). */
  let busy = 0;
  let receivedTotal = 0;
  const outstandingReceives = new Set<Promise<unknown>>();

  const receive = (max: number, waitSeconds: number): Promise<Message[]> => {
    const request = sqs
      .send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
      .then((out) => {
        const messages = out.Messages ?? [];
        receivedTotal += messages.length;
        return messages;
      });
    const tracked = request.catch(() => undefined).finally(() => outstandingReceives.delete(tracked));
    outstandingReceives.add(tracked);
    return request;
  };

  /** Lambda gathers records until the batch is full or the batching window has passed. */
  const fill = async (batch: Message[]) => {
    const deadline = Date.now() + windowMs;
    while (batch.length < batchSize && !stopped && Date.now() < deadline) {
      const waitSeconds = Math.min(pollWaitSeconds, Math.floor((deadline - Date.now()) / 1000));
      try {
        const more = await receive(batchSize - batch.length, waitSeconds);
        batch.push(...more);
        if (!more.length && waitSeconds === 0) await sleep(Math.min(SHORT_POLL_INTERVAL_MS, deadline - Date.now()), stopSignal.signal);
      } catch (error) {
        onError(error);
        return;
      }
    }
  };

  const invoke = async (messages: Message[]) => {
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, queueArn, region)) };
    const ids = event.Records.map((r) => r.messageId);
    const { context, outcome, durationMs } = await invokeWithTimeout(handler, event, lambda);
    let result: InvocationResult;
    let failedIds: string[];
    let error: unknown;
    if (outcome.kind === 'returned') {
      const response = batchItemFailures(outcome.value, new Set(ids));
      if ('invalid' in response) {
        result = 'invalid-response';
        failedIds = ids;
        error = new Error(response.invalid);
      } else {
        failedIds = response.failedIds;
        result = failedIds.length ? 'partial-failure' : 'success';
      }
    } else {
      result = outcome.kind === 'threw' ? 'error' : 'timeout';
      failedIds = ids;
      error = outcome.error;
    }
    const failed = new Set(failedIds);
    await deleteMessages(messages.filter((m) => !failed.has(m.MessageId!)));

    stats.invocations++;
    stats.records += ids.length;
    stats.succeeded += ids.length - failed.size;
    stats.failures += failed.size;
    if (result === 'error' || result === 'timeout' || result === 'invalid-response') stats.failedInvocations++;
    if (result === 'timeout') stats.timeouts++;
    try {
      options.onInvoke?.({ functionName, requestId: context.awsRequestId, result, messageIds: ids, failedMessageIds: [...failed], error, durationMs });
    } catch (hookError) {
      onError(hookError);
    }
  };

  const deleteMessages = async (messages: Message[]) => {
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! }));
      try {
        const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if (out.Failed?.length) onError(new Error(`DeleteMessageBatch failed for ${out.Failed.length} record(s): ${JSON.stringify(out.Failed)}`));
      } catch (error) {
        onError(error);
      }
    }
  };

  /** Hands records received during stop() straight back to the queue. */
  const release = async (messages: Message[]) => {
    for (let i = 0; i < messages.length; i += 10) {
      const entries = messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 }));
      await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })).catch(onError);
    }
  };

  const worker = async () => {
    while (!stopped) {
      let batch: Message[];
      try {
        batch = await receive(batchSize, pollWaitSeconds);
      } catch (error) {
        if (stopped) break;
        onError(error);
        await sleep(1000, stopSignal.signal);
        continue;
      }
      if (!batch.length) {
        if (pollWaitSeconds === 0) await sleep(SHORT_POLL_INTERVAL_MS, stopSignal.signal);
        continue;
      }
      busy++;
      try {
        await fill(batch);
        if (stopped) await release(batch);
        else await invoke(batch);
      } catch (error) {
        onError(error);
      } finally {
        busy--;
      }
    }
  };

  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => worker());

  const counts = async () => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      notVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  };

  const waitUntil = async (label: string, done: () => Promise<boolean>, { timeoutMs = 30_000, intervalMs = 100 }: WaitOptions = {}) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) {
        throw new Error(`${functionName} event source not ${label} after ${timeoutMs} ms: ${JSON.stringify({ ...(await counts()), busy })}`);
      }
      await sleep(intervalMs);
    }
  };

  return {
    stats,
    // Received-but-unsettled records stay NotVisible until deleted, so the counts alone cannot miss them.
    drained: (wait) =>
      waitUntil('drained', async () => {
        const c = await counts();
        return busy === 0 && c.visible + c.notVisible + c.delayed === 0;
      }, wait),
    // NotVisible cannot tell retry-pending records from ones a poll just took: let the polls in
    // flight at the time of the count return, and check that none brought anything.
    idle: (wait) =>
      waitUntil('idle', async () => {
        const before = receivedTotal;
        const c = await counts();
        if (busy > 0 || c.visible + c.delayed > 0) return false;
        await Promise.all([...outstandingReceives]);
        return busy === 0 && receivedTotal === before;
      }, wait),
    stop: async () => {
      stopped = true;
      stopSignal.abort();
      await Promise.all(workers);
    },
  };
}

/** The record Lambda builds from a received message. */
function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  const now = String(Date.now());
  const md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? now,
      SenderId: attributes.SenderId ?? 'AIDALOCALSENDER',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? now,
    } as SQSRecordAttributes,
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, toRecordAttribute(value)]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(md5OfMessageAttributes ? { md5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

function toRecordAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}

/**
 * Lambda's reading of a ReportBatchItemFailures response: no response, or no or an empty list,
 * is full success; an entry without a valid itemIdentifier of this batch fails the whole batch.
 */
function batchItemFailures(response: unknown, ids: Set<string>): { failedIds: string[] } | { invalid: string } {
  const list = (response as { batchItemFailures?: unknown } | null | undefined)?.batchItemFailures;
  if (list === undefined || list === null) return { failedIds: [] };
  if (!Array.isArray(list)) return { invalid: 'batchItemFailures is not a list' };
  const failed = new Set<string>();
  for (const entry of list) {
    const id = (entry as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return { invalid: `invalid itemIdentifier in batchItemFailures: ${JSON.stringify(entry)}` };
    failed.add(id);
  }
  return { failedIds: [...failed] };
}
