import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AllowList } from '../../domain/allow-list';
import { sleep as realSleep } from '../../runtime/time';
import { batchGet, batchWrite, type Sleep } from './dynamodb-helpers';
import { expiresAfter, LEDGER_KEYS, SEEN_PREFIX } from './keys';

export interface Checkpoint {
  /** Every entry with date_create ≤ this (unix seconds) was enqueued, up to late arrivals. */
  checkpoint?: number;
  /** A window whose pagination was interrupted: resume with the same bounds and cursor. */
  pending?: { oldest: number; latest: number; cursor: string };
  updatedAt?: number;
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
    return { checkpoint: item.checkpoint, pending: item.pending, updatedAt: item.updatedAt };
  }

  async saveCheckpoint(state: Checkpoint): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { ...LEDGER_KEYS.checkpoint(), ...state, updatedAt: this.now() } }));
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
