import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResetBy } from '../../domain/audit-entry';
import { LeaseHeldError } from '../../domain/errors';
import { ignoreConditionFailure, itemOfFailedCondition } from './dynamodb-helpers';
import { expiresAfter, LEDGER_KEYS } from './keys';

/** The circuit breaker's window: a unit of the budget counts this long after it was taken. */
export const BUDGET_WINDOW_MS = 3600_000;
/** Optimistic writes of the window item tried before giving up (the message is retried later). */
const WINDOW_WRITE_ATTEMPTS = 10;

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
 * and the circuit breaker (an org-wide budget of resets in any 60 minutes). The rules themselves are
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
      type Held = { at?: number; entryId?: string; done?: boolean; budgetAt?: number; by?: ResetBy };
      const held =
        itemOfFailedCondition<Held>(error) ??
        ((await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item as Held | undefined);
      // Gone between the write and the read (released): nobody holds it now; the caller retries.
      if (!held) throw new LeaseHeldError(`user#${userId}/last-reset`);
      if (held.entryId === entryId) return { claimed: true, alreadyReset: held.done === true, ...(held.budgetAt !== undefined ? { budgetTaken: true } : {}) };
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
   * Take one reset from the org-wide budget: at most `maxPerHour` in any 60 minutes (a sliding
   * window, so the limit holds across a clock hour too); false when it is spent. With
   * `forReservation`, the unit is noted on that reservation in the same transaction, so an
   * invocation taking over the entry after a crash learns from claimReset (`budgetTaken`) not to
   * take a second one.
   *
   * The window is one item holding the times of the units taken within the last hour, written
   * only if its `version` is still the one read (optimistic: concurrent takers re-read and try
   * again, so no two can take the last unit).
   */
  async consumeResetBudget(maxPerHour: number, forReservation?: { userId: string; entryId: string }): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const window = await this.readWindow(now);
      if (window.units.length >= maxPerHour) return false;
      const units = [...window.units, now];
      try {
        if (!forReservation) {
          await this.db.send(new PutCommand(this.windowPut(window.version, units, now)));
        } else {
          await this.db.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: this.windowPut(window.version, units, now) },
                {
                  Update: {
                    TableName: this.tableName,
                    Key: LEDGER_KEYS.lastReset(forReservation.userId),
                    UpdateExpression: 'SET budgetAt = :now',
                    ConditionExpression: 'entryId = :entry AND attribute_not_exists(budgetAt)',
                    ExpressionAttributeValues: { ':now': now, ':entry': forReservation.entryId },
                  },
                },
              ],
            }),
          );
        }
        return true;
      } catch (error) {
        const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []).map((reason) => reason.Code) : [];
        const windowMoved = error instanceof TransactionCanceledException ? MOVED.has(reasons[0] ?? '') : isMoved(error);
        const reservationLost = reasons[1] === 'ConditionalCheckFailed';
        // The reservation is no longer this entry's, or already carries its unit: nothing taken now.
        if (reservationLost) throw new LeaseHeldError(`user#${forReservation!.userId}/last-reset`);
        if (!windowMoved) throw error;
        // Another invocation took or gave back a unit since we read: read again, within reason.
        if (attempt >= WINDOW_WRITE_ATTEMPTS) throw new LeaseHeldError(`${LEDGER_KEYS.breaker().pk}/${LEDGER_KEYS.breaker().sk}`);
      }
    }
  }

  /**
   * Give back a unit taken for a reset that did not happen (never below zero). It gives back the
   * newest unit in the window: the refund follows its own take within the same invocation, so
   * that is this reset's unit, or one taken moments after it.
   */
  async refundResetBudget(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const window = await this.readWindow(now);
      if (!window.units.length) return;
      const units = [...window.units];
      units.splice(units.lastIndexOf(Math.max(...units)), 1);
      try {
        await this.db.send(new PutCommand(this.windowPut(window.version, units, now)));
        return;
      } catch (error) {
        if (!isMoved(error) || attempt >= WINDOW_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** The units still inside the window at `now` (a unit counts for one hour after it was taken), and the item's version. */
  private async readWindow(now: number): Promise<{ units: number[]; version: number | undefined }> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: LEDGER_KEYS.breaker(), ConsistentRead: true }));
    const item = out.Item as { units?: number[]; version?: number } | undefined;
    return { units: (item?.units ?? []).map(Number).filter((at) => at > now - BUDGET_WINDOW_MS).sort((a, b) => a - b), version: item?.version };
  }

  /** The window item, written only over the version read (or where there was none). */
  private windowPut(version: number | undefined, units: number[], now: number) {
    return {
      TableName: this.tableName,
      Item: { ...LEDGER_KEYS.breaker(), units, version: (version ?? 0) + 1, expiresAt: expiresAfter(now, 2 * 3600) },
      ConditionExpression: version === undefined ? 'attribute_not_exists(pk)' : 'version = :version',
      ...(version === undefined ? {} : { ExpressionAttributeValues: { ':version': version } }),
    };
  }
}

/** Why a conditional write of the window item failed when someone else wrote it first. */
const MOVED = new Set(['ConditionalCheckFailed', 'TransactionConflict']);
function isMoved(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string } | undefined)?.name === 'TransactionConflictException';
}
