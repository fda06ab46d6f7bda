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
/** Reservations noted per write of the window: DynamoDB takes 100 actions a transaction, one is the window. */
const RESERVATIONS_PER_WRITE = 99;

/** A person's reset reservation (claimReset), held by one entry. */
type Reservation = { userId: string; entryId: string };

/** What taking a unit of the budget for a reservation came to (ResetGuard.takeResetBudget). */
export type BudgetAnswer = 'taken' | 'spent' | 'lost' | 'busy';

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
   * take a second one. Throws LeaseHeldError when the reservation is not (or no longer) this
   * entry's or already carries its unit, or when the window stayed too busy to write.
   */
  async consumeResetBudget(maxPerHour: number, forReservation?: Reservation): Promise<boolean> {
    const [answer] = await this.takeUnits(maxPerHour, [forReservation]);
    if (answer === 'lost') throw new LeaseHeldError(`user#${forReservation!.userId}/last-reset`);
    if (answer === 'busy') throw new LeaseHeldError(`${LEDGER_KEYS.breaker().pk}/${LEDGER_KEYS.breaker().sk}`);
    return answer === 'taken';
  }

  /**
   * consumeResetBudget for many reservations at once (a batch's sign-outs): one write of the
   * window per up to RESERVATIONS_PER_WRITE of them, instead of one each, which concurrent takers
   * of the one window item would keep invalidating for each other. In order, while the budget
   * lasts. Answers per reservation, in the order given: `taken`, `spent` (the budget is),
   * `lost` (not this entry's reservation, or it already carries a unit: nothing taken), or `busy`
   * (the window stayed too busy to write: nothing taken, try again later).
   */
  async takeResetBudget(maxPerHour: number, reservations: readonly Reservation[]): Promise<BudgetAnswer[]> {
    return this.takeUnits(maxPerHour, reservations);
  }

  /**
   * The window is one item holding the times of the units taken within the last hour, written
   * only if its `version` is still the one read (optimistic: concurrent takers re-read and try
   * again, so no two can take the last unit). Each write takes the units of the next few
   * wanted (`undefined`: a unit noted on no reservation) and notes each on its reservation, in
   * one transaction.
   */
  private async takeUnits(maxPerHour: number, wanted: readonly (Reservation | undefined)[]): Promise<BudgetAnswer[]> {
    const answers = new Array<BudgetAnswer>(wanted.length);
    let queue = wanted.map((_, i) => i);
    let attempt = 0;
    while (queue.length) {
      const now = this.now();
      const window = await this.readWindow(now);
      const room = Math.max(0, maxPerHour - window.units.length);
      if (room === 0) {
        for (const i of queue) answers[i] = 'spent';
        break;
      }
      const chunk = queue.slice(0, Math.min(room, RESERVATIONS_PER_WRITE));
      const units = [...window.units, ...chunk.map(() => now)];
      const notes = chunk.flatMap((i) => {
        const reservation = wanted[i];
        return reservation ? [{ i, update: this.noteUnit(reservation, now) }] : [];
      });
      try {
        if (!notes.length) await this.db.send(new PutCommand(this.windowPut(window.version, units, now)));
        else await this.db.send(new TransactWriteCommand({ TransactItems: [{ Put: this.windowPut(window.version, units, now) }, ...notes.map((n) => ({ Update: n.update }))] }));
        for (const i of chunk) answers[i] = 'taken';
        queue = queue.slice(chunk.length);
        attempt = 0;
      } catch (error) {
        const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []).map((reason) => reason.Code) : [];
        const lost = notes.filter((_, k) => reasons[k + 1] === 'ConditionalCheckFailed').map((n) => n.i);
        // Those reservations are no longer this entry's, or already carry a unit: nothing taken
        // for them; the others try again at once (the transaction failed only because of them).
        if (lost.length) {
          for (const i of lost) answers[i] = 'lost';
          queue = queue.filter((i) => !lost.includes(i));
          continue;
        }
        const windowMoved = error instanceof TransactionCanceledException ? MOVED.has(reasons[0] ?? '') : isMoved(error);
        if (!windowMoved) throw error;
        // Another invocation took or gave back units since we read: read again, within reason.
        if (++attempt >= WINDOW_WRITE_ATTEMPTS) {
          for (const i of queue) answers[i] = 'busy';
          break;
        }
      }
    }
    return answers;
  }

  /** The note on a reservation that it carries its unit of the budget (only if it is still this entry's and carries none). */
  private noteUnit(reservation: Reservation, now: number) {
    return {
      TableName: this.tableName,
      Key: LEDGER_KEYS.lastReset(reservation.userId),
      UpdateExpression: 'SET budgetAt = :now',
      ConditionExpression: 'entryId = :entry AND attribute_not_exists(budgetAt)',
      ExpressionAttributeValues: { ':now': now, ':entry': reservation.entryId },
    };
  }

  /**
   * Give back `count` units taken for resets that did not happen (never below zero), in one
   * write. It gives back the newest units in the window: a refund follows its own take within
   * the same invocation, so those are these resets' units, or ones taken moments after them.
   */
  async refundResetBudget(count = 1): Promise<void> {
    if (count <= 0) return;
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      const window = await this.readWindow(now);
      if (!window.units.length) return;
      // Sorted oldest first (readWindow): the newest are at the end.
      const units = window.units.slice(0, Math.max(0, window.units.length - count));
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
