import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * The ledger table: everything the responder writes. Keys:
 *   poller / checkpoint                 poll checkpoint and an interrupted window's cursor
 *   seen#<entryId> / -                  the poller enqueued this entry (TTL > overlap window)
 *   entry#<entryId> / decision          the decision and outcome for one audit entry (the response log)
 *   entry#<entryId> / sent#<t>#<c>#<r>  one notification delivery (type, channel, recipient)
 *   user#<userId> / last-reset          loop protection
 *   breaker / <UTC hour>                circuit-breaker counter
 */

export interface Checkpoint {
  /** Every entry with date_create ≤ this (unix seconds) was enqueued, up to late arrivals. */
  checkpoint?: number;
  /** A window whose pagination was interrupted: resume with the same bounds and cursor. */
  pending?: { oldest: number; latest: number; cursor: string };
  updatedAt?: number;
}

export type DecisionStatus = 'in_progress' | 'done';

export interface DecisionRecord {
  entryId: string;
  status: DecisionStatus;
  /** The person the anomaly is about (absent for apps and unreadable entries). */
  userId?: string;
  entityType?: string;
  occurredAt?: number;
  events?: string[];
  otherReasons?: string[];
  /** ignore | notify_only | end_sessions | rejected */
  decision?: string;
  /** Why: e.g. rule_end_sessions, excluded, external_user, invalid_entry. */
  reason?: string;
  /** What happened: sessions_ended, notified, ignored, rejected, failed:<code>, unknown. */
  outcome?: string;
  detail?: string;
  /** Notification type queued for this entry, or none. */
  notification?: string;
  notificationQueued?: boolean;
  /** The notification job to (re-)enqueue if the first enqueue did not complete. */
  notificationJob?: Record<string, unknown>;
  decidedAt?: string;
  day?: string;
  leaseUntil?: number;
  expiresAt?: number;
}

export type ClaimResult =
  | { claimed: true; previous?: DecisionRecord }
  | { claimed: false; existing: DecisionRecord };

/** The answer to a reset reservation (loop protection), see Ledger.claimReset. */
export type ResetClaim =
  | {
      claimed: true;
      /** This entry's own reset already went through (a retry after a later step failed): do not reset again. */
      alreadyReset: boolean;
    }
  | {
      claimed: false;
      /** When the person's sessions were last ended (epoch ms), by another entry, within the cooldown. */
      lastResetAt: number;
      entryId?: string;
      /** The ledger's clock when it refused: judge the cooldown at this time. */
      checkedAt: number;
    };

export class LeaseHeldError extends Error {
  constructor(readonly key: string) {
    super(`${key} is being processed by another invocation; retry later`);
    this.name = 'LeaseHeldError';
  }
}

const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;

export class Ledger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays = 400,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  // ---------- poller ----------

  async getCheckpoint(): Promise<Checkpoint> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: 'poller', sk: 'checkpoint' }, ConsistentRead: true }));
    const item = out.Item ?? {};
    return { checkpoint: item.checkpoint, pending: item.pending, updatedAt: item.updatedAt };
  }

  async saveCheckpoint(state: Checkpoint): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'poller', sk: 'checkpoint', ...state, updatedAt: this.now() },
      }),
    );
  }

  /** The subset of `entryIds` not yet enqueued by any earlier poll. */
  async filterUnseen(entryIds: string[]): Promise<string[]> {
    const unique = [...new Set(entryIds)];
    const seen = new Set<string>();
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
      let keys: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_MAX).map((id) => ({ pk: `seen#${id}`, sk: '-' }));
      for (let attempt = 0; keys.length; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB left ${keys.length} seen-entry reads unprocessed`);
        if (attempt) await this.sleep(Math.min(2000, 50 * 2 ** attempt));
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'pk' } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) seen.add(String(item.pk).slice('seen#'.length));
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
    }
    return unique.filter((id) => !seen.has(id));
  }

  async markSeen(entryIds: string[], retainSeconds: number): Promise<void> {
    const expiresAt = Math.floor(this.now() / 1000) + retainSeconds;
    const puts = [...new Set(entryIds)].map((id) => ({ PutRequest: { Item: { pk: `seen#${id}`, sk: '-', expiresAt } } }));
    await this.batchWrite(puts);
  }

  // ---------- respond ----------

  /**
   * Take the decision record for an entry, exactly once. A finished record is returned as
   * `claimed: false`; one another invocation is working on (lease unexpired) throws
   * LeaseHeldError so the message is retried later; an abandoned one (lease expired) is taken
   * over and returned as `previous`.
   */
  async claimEntry(entryId: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.now();
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `entry#${entryId}`, sk: 'decision' },
          UpdateExpression: 'SET #status = :inProgress, leaseUntil = :lease, entryId = :id',
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :inProgress AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'in_progress', ':lease': now + leaseMs, ':now': now, ':id': entryId },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const previous = out.Attributes as DecisionRecord | undefined;
      return previous ? { claimed: true, previous } : { claimed: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const existing = unmarshallOld(error);
        if (existing?.status === 'in_progress') throw new LeaseHeldError(`entry#${entryId}`);
        if (existing) return { claimed: false, existing };
        // Condition failed but no old item came back: read it.
        const read = await this.getDecision(entryId);
        if (!read || read.status === 'in_progress') throw new LeaseHeldError(`entry#${entryId}`);
        return { claimed: false, existing: read };
      }
      throw error;
    }
  }

  async getDecision(entryId: string): Promise<DecisionRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `entry#${entryId}`, sk: 'decision' }, ConsistentRead: true }),
    );
    return out.Item as DecisionRecord | undefined;
  }

  /** Drop an unfinished claim so a retry of the message can decide afresh (nothing was done). */
  async releaseEntry(entryId: string): Promise<void> {
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `entry#${entryId}`, sk: 'decision' },
          ConditionExpression: '#status = :inProgress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'in_progress' },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** Write the final decision record (status done); searchable by user and by day. */
  async completeDecision(record: Omit<DecisionRecord, 'status' | 'decidedAt' | 'day' | 'expiresAt' | 'leaseUntil'>): Promise<DecisionRecord> {
    const decidedAt = new Date(this.now()).toISOString();
    const item: DecisionRecord & { pk: string; sk: string } = {
      ...record,
      pk: `entry#${record.entryId}`,
      sk: 'decision',
      status: 'done',
      decidedAt,
      day: decidedAt.slice(0, 10),
      expiresAt: Math.floor(this.now() / 1000) + this.retentionDays * 86400,
    };
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: item }));
    return item;
  }

  async markNotificationQueued(entryId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `entry#${entryId}`, sk: 'decision' },
        UpdateExpression: 'SET notificationQueued = :true',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  /**
   * Loop protection, decided atomically: reserve the next session reset of `userId` for this
   * entry. Granted when no reset of theirs is recorded within the cooldown, or when the one
   * recorded is this entry's own (a retry; `alreadyReset` says whether it went through).
   * Refused, with the time of that reset, when another entry holds it. So of two anomalies about
   * one person decided at the same moment (concurrent invocations), exactly one ends the sessions.
   * A granted reservation is confirmed by markResetDone or given up by releaseReset.
   */
  async claimReset(userId: string, entryId: string, cooldownMinutes: number): Promise<ResetClaim> {
    const now = this.now();
    const key = { pk: `user#${userId}`, sk: 'last-reset' };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, at: now, entryId, expiresAt: Math.floor(now / 1000) + Math.max(60, cooldownMinutes * 60) },
          ConditionExpression: 'attribute_not_exists(pk) OR #at <= :cutoff',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':cutoff': now - cooldownMinutes * 60_000 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, alreadyReset: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const held = (error.Item
        ? unmarshall(error.Item)
        : (await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item) as
        | { at?: number; entryId?: string; done?: boolean }
        | undefined;
      // Gone between the write and the read (released): nobody holds it now; the caller retries.
      if (!held) throw new LeaseHeldError(`user#${userId}/last-reset`);
      if (held.entryId === entryId) return { claimed: true, alreadyReset: held.done === true };
      return { claimed: false, lastResetAt: Number(held.at), entryId: held.entryId, checkedAt: now };
    }
  }

  /** The reserved reset went through: a retry of the same entry must not reset again. */
  async markResetDone(userId: string, entryId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `user#${userId}`, sk: 'last-reset' },
        UpdateExpression: 'SET done = :true, #at = :now',
        ConditionExpression: 'entryId = :entry',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: { ':true': true, ':now': this.now(), ':entry': entryId },
      }),
    );
  }

  /** Give up a reservation whose reset did not happen (held back, refused or failed), so it holds nobody back. */
  async releaseReset(userId: string, entryId: string): Promise<void> {
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `user#${userId}`, sk: 'last-reset' },
          ConditionExpression: 'entryId = :entry AND attribute_not_exists(done)',
          ExpressionAttributeValues: { ':entry': entryId },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** Take one reset from this hour's org-wide budget; false when it is spent. */
  async consumeResetBudget(maxPerHour: number): Promise<boolean> {
    const hour = new Date(this.now()).toISOString().slice(0, 13);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'breaker', sk: hour },
          UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':max': maxPerHour, ':expires': Math.floor(this.now() / 1000) + 2 * 3600 },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Give back a budget unit taken for a reset that did not happen. */
  async refundResetBudget(): Promise<void> {
    const hour = new Date(this.now()).toISOString().slice(0, 13);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: 'breaker', sk: hour },
        UpdateExpression: 'ADD #count :minusOne',
        ConditionExpression: 'attribute_exists(#count) AND #count > :zero',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
      }),
    ).catch(ignoreConditionFailure);
  }

  /** The response log of one person, oldest first. */
  async decisionsForUser(userId: string, limit = 50): Promise<DecisionRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byUser',
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
        Limit: limit,
      }),
    );
    return (out.Items ?? []) as DecisionRecord[];
  }

  /** Decisions made on one UTC day (YYYY-MM-DD), in time order. */
  async decisionsOnDay(day: string, limit = 200): Promise<DecisionRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byDay',
        KeyConditionExpression: '#day = :d',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':d': day },
        Limit: limit,
      }),
    );
    return (out.Items ?? []) as DecisionRecord[];
  }

  // ---------- notify ----------

  /**
   * Claim one delivery (entry × type × channel × recipient). Returns false when it was already
   * sent; throws LeaseHeldError while another invocation is sending it.
   */
  async claimDelivery(entryId: string, deliveryKey: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `entry#${entryId}`,
            sk: `sent#${deliveryKey}`,
            status: 'sending',
            leaseUntil: now + leaseMs,
            expiresAt: Math.floor(now / 1000) + this.retentionDays * 86400,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :sending AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':sending': 'sending', ':now': now },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const existing = unmarshallOld(error) as { status?: string } | undefined;
        if (existing?.status === 'sent') return false;
        throw new LeaseHeldError(`entry#${entryId}/sent#${deliveryKey}`);
      }
      throw error;
    }
  }

  async markDelivered(entryId: string, deliveryKey: string, detail?: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `entry#${entryId}`, sk: `sent#${deliveryKey}` },
        UpdateExpression: 'SET #status = :sent, sentAt = :now, detail = :detail REMOVE leaseUntil',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sent': 'sent', ':now': this.now(), ':detail': detail ?? '' },
      }),
    );
  }

  /** Let a failed delivery be retried at once, rather than after its lease runs out. */
  async releaseDelivery(entryId: string, deliveryKey: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `entry#${entryId}`, sk: `sent#${deliveryKey}` },
        UpdateExpression: 'SET leaseUntil = :zero',
        ConditionExpression: '#status = :sending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':zero': 0, ':sending': 'sending' },
      }),
    ).catch(ignoreConditionFailure);
  }

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
      let pending = requests.slice(i, i + BATCH_WRITE_MAX);
      for (let attempt = 0; pending.length; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB left ${pending.length} ledger writes unprocessed`);
        if (attempt) await this.sleep(Math.min(2000, 50 * 2 ** attempt));
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending as never } }));
        pending = (out.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined) ?? [];
      }
    }
  }
}

/** For writes whose condition failing means "nothing to do" (already released, already zero). */
function ignoreConditionFailure(error: unknown): void {
  if (!(error instanceof ConditionalCheckFailedException)) throw error;
}

function unmarshallOld(error: ConditionalCheckFailedException): DecisionRecord | undefined {
  const item = error.Item;
  if (!item) return undefined;
  // The document client does not unmarshall the item on a failed condition: do it here.
  return unmarshall(item) as DecisionRecord;
}
