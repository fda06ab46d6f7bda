import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AllowList } from '../../domain/allow-list';
import { sleep as realSleep } from '../../runtime/time';
import { batchGet, batchWrite, ignoreConditionFailure, type Sleep } from './dynamodb-helpers';
import { expiresAfter, LEDGER_KEYS, SEEN_PREFIX } from './keys';

export interface Checkpoint {
  /** Every entry with date_create ≤ this (unix seconds) was enqueued, up to late arrivals. */
  checkpoint?: number;
  /**
   * A window whose pagination was interrupted: resume with the same bounds and cursor (none: from
   * its first page). `pages` read so far across runs; `restarted` once after a cursor loop.
   */
  pending?: { oldest: number; latest: number; cursor?: string; pages?: number; restarted?: boolean };
  /**
   * Windows given up after Slack's cursor looped even after a restart (newest last, at most
   * ten): entries in them may not have been read. Alarmed when it happens; kept for the operator.
   */
  abandoned?: AbandonedWindow[];
  updatedAt?: number;
}

export interface AbandonedWindow {
  oldest: number;
  latest: number;
  /** Why: Slack returned a cursor it had returned before, or the window passed the page cap. */
  reason: 'repeated_cursor' | 'page_cap';
  /** When it was given up (epoch ms). */
  at: number;
}

/** The poller's state in the ledger: where it has read up to, and which entries it has enqueued. */
export class PollState {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
    private readonly sleep: Sleep = realSleep,
  ) {}

  async getCheckpoint(): Promise<Checkpoint> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: LEDGER_KEYS.checkpoint(), ConsistentRead: true }));
    const item = out.Item ?? {};
    return { checkpoint: item.checkpoint, pending: item.pending, ...(item.abandoned ? { abandoned: item.abandoned } : {}), updatedAt: item.updatedAt };
  }

  async saveCheckpoint(state: Checkpoint): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...LEDGER_KEYS.checkpoint(), ...state, updatedAt: this.now() } }));
  }

  /**
   * Take the poller lease for `holder` (an invocation id) until `untilMs`: granted when nobody
   * holds it, its holder's time is up, or `holder` holds it already. Two polls at once would race
   * on the checkpoint; this keeps one at a time without reserved concurrency (which a new
   * account's concurrency quota may not allow). A holder that dies keeps it until `untilMs`,
   * which is its invocation's deadline.
   */
  async acquireLease(holder: string, untilMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...LEDGER_KEYS.pollerLease(), holder, leaseUntil: untilMs, expiresAt: expiresAfter(untilMs, 3600) },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': now, ':holder': holder },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Give the lease up at once (only if `holder` still holds it), so the next run need not wait for it to run out. */
  async releaseLease(holder: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.pollerLease(),
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':zero': 0, ':holder': holder },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** The subset of `entryIds` not yet enqueued by any earlier poll. */
  async filterUnseen(entryIds: string[]): Promise<string[]> {
    const unique = [...new Set(entryIds)];
    const found = await batchGet(this.db, this.tableName, unique.map(LEDGER_KEYS.seen) as unknown as Record<string, unknown>[], 'pk', this.sleep);
    const seen = new Set(found.map((item) => String(item.pk).slice(SEEN_PREFIX.length)));
    return unique.filter((id) => !seen.has(id));
  }

  /** The anomaly allow-list this deployment last wrote to Slack, if it ever did. */
  async lastWrittenAllowList(): Promise<AllowList | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: LEDGER_KEYS.allowList(), ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { cidrs: [...(out.Item.cidrs ?? [])].map(String), asns: [...(out.Item.asns ?? [])].map(Number) };
  }

  async saveWrittenAllowList(list: AllowList): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...LEDGER_KEYS.allowList(), cidrs: list.cidrs, asns: list.asns, writtenAt: this.now() } }));
  }

  async markSeen(entryIds: string[], retainSeconds: number): Promise<void> {
    const expiresAt = expiresAfter(this.now(), retainSeconds);
    const puts = [...new Set(entryIds)].map((id) => ({ PutRequest: { Item: { ...LEDGER_KEYS.seen(id), expiresAt } } }));
    await batchWrite(this.db, this.tableName, puts, this.sleep);
  }
}
