import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { mapLimit } from '../../runtime/map-limit';
import { backoffMs, IN_RUN_RETRY } from '../../runtime/retry-policy';
import { sleep as realSleep } from '../../runtime/time';

/** SQS takes at most ten messages, and 256 KiB, per batch. */
const MAX_BATCH = 10;
const MAX_BATCH_BYTES = 250 * 1024;
const BATCHES_IN_FLIGHT = 10;

export interface OutgoingMessage {
  /** Unique within one call; used to match failures. */
  id: string;
  body: unknown;
}

export interface MessagePublisher {
  /** Resolves only when every message is durably enqueued; otherwise throws, naming what failed. */
  publish(messages: OutgoingMessage[]): Promise<void>;
}

export class SqsPublisher implements MessagePublisher {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
  ) {}

  async publish(messages: OutgoingMessage[]): Promise<void> {
    // A burst's page is a thousand batches: several in flight, so the first people are acted on in seconds.
    await mapLimit(toBatches(messages), BATCHES_IN_FLIGHT, (batch) => this.sendBatch(batch));
  }

  private async sendBatch(batch: { Id: string; MessageBody: string }[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length; attempt++) {
      const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      const senderFaults = (out.Failed ?? []).filter((f) => f.SenderFault);
      if (senderFaults.length) {
        throw new Error(`SQS refused ${senderFaults.length} message(s): ${senderFaults.map((f) => `${f.Id}: ${f.Code}`).join(', ')}`);
      }
      pending = pending.filter((entry) => failed.has(entry.Id));
      if (pending.length && attempt >= IN_RUN_RETRY.sqsBatchAttempts) {
        throw new Error(`SQS did not accept ${pending.length} message(s) after ${attempt} attempts`);
      }
      if (pending.length) await this.sleep(backoffMs(attempt, IN_RUN_RETRY.sqsBatchBaseMs));
    }
  }
}

function toBatches(messages: OutgoingMessage[]): { Id: string; MessageBody: string }[][] {
  const batches: { Id: string; MessageBody: string }[][] = [];
  let current: { Id: string; MessageBody: string }[] = [];
  let bytes = 0;
  messages.forEach((message, index) => {
    const body = JSON.stringify(message.body);
    const size = Buffer.byteLength(body);
    if (current.length === MAX_BATCH || (current.length && bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    // Batch entry ids allow only [A-Za-z0-9_-]; keep the caller's id recognisable but safe.
    current.push({ Id: `${index}_${message.id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 60)}`, MessageBody: body });
    bytes += size;
  });
  if (current.length) batches.push(current);
  return batches;
}
