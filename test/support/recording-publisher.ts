import type { MessagePublisher, OutgoingMessage } from '../../functions/adapters/sqs/queue';

/** Captures published messages; `failNext` makes the next publish throw (an SQS outage). */
export class RecordingPublisher implements MessagePublisher {
  readonly messages: OutgoingMessage[] = [];
  failNext = 0;

  async publish(messages: OutgoingMessage[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SQS unavailable');
    }
    this.messages.push(...structuredClone(messages));
  }

  bodies<T = unknown>(): T[] {
    return this.messages.map((m) => m.body as T);
  }
}
