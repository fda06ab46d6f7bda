import type { MessagePublisher, OutgoingMessage } from '../../functions/adapters/sqs/queue';

/** SQS's message size limit (256 KiB), which SqsPublisher's callers must stay under. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Captures published messages; `failNext` makes the next publish throw (an SQS outage). Like SQS
 * it refuses a message body over its size limit (MessageTooLong), and then takes none of the call.
 */
export class RecordingPublisher implements MessagePublisher {
  readonly messages: OutgoingMessage[] = [];
  failNext = 0;

  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SQS unavailable');
    }
    const tooLong = messages.filter((m) => Buffer.byteLength(JSON.stringify(m.body)) > SQS_MAX_MESSAGE_BYTES);
    if (tooLong.length) throw new Error(`SQS refused ${tooLong.length} message(s): ${tooLong.map((m) => `${m.id}: MessageTooLong`).join(', ')}`);
    this.messages.push(...structuredClone(messages));
  }

  bodies<T = unknown>(): T[] {
    return this.messages.map((m) => m.body as T);
  }
}
