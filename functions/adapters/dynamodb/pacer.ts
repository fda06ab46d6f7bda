import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { nextSlot, withSlot, type PaceGrant, type Pacer, type PaceRule } from '../../runtime/pacing';
import { backoffMs } from '../../runtime/retry-policy';
import { sleep as realSleep } from '../../runtime/time';
import { expiresAfter, PACER_KEYS, type LedgerWriter } from './keys';

/** Concurrent reservations on one schedule retry this many times (each a fresh read). */
const MAX_CONTENTION_RETRIES = 12;

/**
 * Slack's per-method budgets, shared by every container of one function: one ledger item per
 * method (and per channel for chat.postMessage) holding the slots handed out in the last window,
 * under that function's own partition (keys.ts says why the functions do not share one). A reservation
 * is read → compute the next slot (runtime/pacing.ts) → write, conditional on the item being
 * unchanged (`version`), so two containers never take the same slot.
 */
export class LedgerPacer implements Pacer {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** The function whose calls this paces: its schedules are records only its role may write. */
    private readonly owner: LedgerWriter,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = realSleep,
  ) {}

  async acquire(key: string, rule: PaceRule, maxWaitMs: number): Promise<PaceGrant> {
    const itemKey = PACER_KEYS[this.owner](key);
    for (let attempt = 0; ; attempt++) {
      const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }));
      const item = out.Item as { slots?: number[]; version?: number } | undefined;
      const now = this.now();
      const slots = item?.slots ?? [];
      const slot = nextSlot(slots, now, rule);
      if (slot - now > maxWaitMs) return { waitMs: slot - now, reserved: false };
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...itemKey,
              slots: withSlot(slots, slot, now, rule),
              version: (item?.version ?? 0) + 1,
              expiresAt: expiresAfter(slot, Math.ceil(rule.windowMs / 1000) + 60),
            },
            ...(item
              ? { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': item.version ?? 0 } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return { waitMs: slot - now, reserved: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= MAX_CONTENTION_RETRIES) throw error;
        // Another container took a slot first: read again, after a short jittered pause.
        await this.sleep(Math.random() * backoffMs(Math.min(attempt, 4), 10));
      }
    }
  }
}
