import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResetBy } from '../../domain/audit-entry';
import { LeaseHeldError } from '../../domain/errors';
import { ignoreConditionFailure, itemOfFailedCondition } from './dynamodb-helpers';
import { expiresAfter, hourOf, LEDGER_KEYS } from './keys';

/** The answer to a reset reservation (loop protection), see ResetGuard.claimReset. */
export type ResetClaim =
  | {
      claimed: true;
      /** This entry's own reset already went through (a retry after a later step failed): do not reset again. */
      alreadyReset: boolean;
      /** An earlier attempt of this entry already took its unit of the hourly budget (it died before acting): do not take another. */
      budgetTaken?: boolean;
    }
  | {
      claimed: false;
      /** When the person's sessions were last ended (epoch ms), by another entry, within the cooldown. */
      lastResetAt: number;
      entryId?: string;
      /** Who ended them, when it was not this responder (an audit entry told us: recordExternalReset). */
      lastResetBy?: ResetBy;
      /** The ledger's clock when it refused: judge the cooldown at this time. */
      checkedAt: number;
    };

/**
 * The two safety nets as atomic writes: loop protection (one reset of a person per cooldown)
 * and the circuit breaker (an org-wide budget of resets per hour). The rules themselves are
 * decided in the domain (applySafety); these writes make a decision stick across concurrent
 * invocations.
 */
export class ResetGuard {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reserve the next session reset of `userId` for this entry. Granted when no reset of theirs is
   * recorded within the cooldown, or when the one recorded is this entry's own (a retry;
   * `alreadyReset` says whether it went through). Refused, with the time of that reset, when
   * another entry holds it. So of two anomalies about one person decided at the same moment
   * (concurrent invocations), exactly one ends the sessions. A granted reservation is confirmed
   * by markResetDone or given up by releaseReset.
   */
  async claimReset(userId: string, entryId: string, cooldownMinutes: number): Promise<ResetClaim> {
    const now = this.now();
    const key = LEDGER_KEYS.lastReset(userId);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, at: now, entryId, expiresAt: expiresAfter(now, Math.max(60, cooldownMinutes * 60)) },
          ConditionExpression: 'attribute_not_exists(pk) OR #at <= :cutoff',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':cutoff': now - cooldownMinutes * 60_000 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, alreadyReset: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      type Held = { at?: number; entryId?: string; done?: boolean; budgetHour?: string; by?: ResetBy };
      const held =
        itemOfFailedCondition<Held>(error) ??
        ((await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item as Held | undefined);
      // Gone between the write and the read (released): nobody holds it now; the caller retries.
      if (!held) throw new LeaseHeldError(`user#${userId}/last-reset`);
      if (held.entryId === entryId) return { claimed: true, alreadyReset: held.done === true, ...(held.budgetHour ? { budgetTaken: true } : {}) };
      return { claimed: false, lastResetAt: Number(held.at), entryId: held.entryId, ...(held.by ? { lastResetBy: held.by } : {}), checkedAt: now };
    }
  }

  /**
   * Someone else ended the person's sessions at `at` (epoch ms; an audit entry `entryId` says so):
   * Slack's built-in anomaly response, or an admin. Recorded as the person's last reset, so the
   * cooldown holds our next one back and the response log says who did it. It never replaces a
   * later reset, nor a reservation of ours still in flight (that one ends the sessions anyway).
   */
  async recordExternalReset(userId: string, at: number, by: ResetBy, entryId: string, cooldownMinutes: number): Promise<void> {
    await this.db
      .send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...LEDGER_KEYS.lastReset(userId), at, entryId, done: true, by, expiresAt: expiresAfter(at, Math.max(60, cooldownMinutes * 60)) },
          ConditionExpression: 'attribute_not_exists(pk) OR (#at < :at AND attribute_exists(done))',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': at },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /**
   * The reserved reset went through: a retry of the same entry must not reset again. The cooldown
   * counts from now, so the record must live that long from now too (not from the claim).
   */
  async markResetDone(userId: string, entryId: string, cooldownMinutes: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: LEDGER_KEYS.lastReset(userId),
        UpdateExpression: 'SET done = :true, #at = :now, expiresAt = :expires',
        ConditionExpression: 'entryId = :entry',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: { ':true': true, ':now': this.now(), ':entry': entryId, ':expires': expiresAfter(this.now(), Math.max(60, cooldownMinutes * 60)) },
      }),
    );
  }

  /** Give up a reservation whose reset did not happen (held back, refused or failed), so it holds nobody back. */
  async releaseReset(userId: string, entryId: string): Promise<void> {
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.lastReset(userId),
          ConditionExpression: 'entryId = :entry AND attribute_not_exists(done)',
          ExpressionAttributeValues: { ':entry': entryId },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /**
   * Take one reset from this hour's org-wide budget; false when it is spent. With `forReservation`,
   * the unit is noted on that reservation in the same transaction, so an invocation taking over
   * the entry after a crash learns from claimReset (`budgetTaken`) not to take a second one.
   */
  async consumeResetBudget(maxPerHour: number, forReservation?: { userId: string; entryId: string }): Promise<boolean> {
    if (forReservation) return this.consumeForReservation(maxPerHour, forReservation);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.breaker(hourOf(this.now())),
          UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':max': maxPerHour, ':expires': expiresAfter(this.now(), 2 * 3600) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async consumeForReservation(maxPerHour: number, { userId, entryId }: { userId: string; entryId: string }): Promise<boolean> {
    const hour = hourOf(this.now());
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: LEDGER_KEYS.breaker(hour),
                UpdateExpression: 'ADD #count :one SET expiresAt = :expires',
                ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':one': 1, ':max': maxPerHour, ':expires': expiresAfter(this.now(), 2 * 3600) },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: LEDGER_KEYS.lastReset(userId),
                UpdateExpression: 'SET budgetHour = :hour',
                ConditionExpression: 'entryId = :entry AND attribute_not_exists(budgetHour)',
                ExpressionAttributeValues: { ':hour': hour, ':entry': entryId },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [budget, reservation] = (error.CancellationReasons ?? []).map((reason) => reason.Code === 'ConditionalCheckFailed');
      if (budget) return false;
      // The reservation is no longer this entry's, or already carries its unit: nothing taken now.
      if (reservation) throw new LeaseHeldError(`user#${userId}/last-reset`);
      throw error;
    }
  }

  /** Give back a budget unit taken for a reset that did not happen (never below zero). */
  async refundResetBudget(): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.breaker(hourOf(this.now())),
          UpdateExpression: 'ADD #count :minusOne',
          ConditionExpression: 'attribute_exists(#count) AND #count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      )
      .catch(ignoreConditionFailure);
  }
}
