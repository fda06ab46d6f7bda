import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../functions/adapters/dynamodb/deliveries';
import { PollState } from '../../functions/adapters/dynamodb/poll-state';
import { ResetGuard } from '../../functions/adapters/dynamodb/reset-guard';
import { LEDGER_KEYS, type LedgerKey } from '../../functions/adapters/dynamodb/keys';
import { LeaseHeldError } from '../../functions/domain/errors';

/** Which aggregates of the ledger table an implementation provides. */
export type LedgerPart = 'poll' | 'decisions' | 'resets' | 'deliveries';

/** The four aggregates' methods, as one object (their names do not overlap); a fake may provide only some parts. */
export type LedgerMethods = Partial<
  Pick<PollState, 'getCheckpoint' | 'saveCheckpoint' | 'filterUnseen' | 'markSeen' | 'acquireLease' | 'releaseLease'> &
    Pick<DecisionLog, 'claimEntry' | 'releaseEntry' | 'completeDecision' | 'recordIfNew' | 'markNotificationQueued'> &
    Pick<ResetGuard, 'claimReset' | 'markResetDone' | 'releaseReset' | 'consumeResetBudget' | 'takeResetBudget' | 'refundResetBudget' | 'recordExternalReset'> &
    Pick<Deliveries, 'claimDelivery' | 'markDelivered' | 'releaseDelivery'>
>;

export interface LedgerUnderTest {
  ledger: LedgerMethods;
  /** Set the ledger's clock (epoch ms). */
  setNow(ms: number): void;
  /** The item held under `key`, as DynamoDB would return it (undefined: none). */
  stored(key: LedgerKey): Promise<Record<string, unknown> | undefined>;
}

export interface LedgerOptions {
  /** DecisionLog's and Deliveries' retentionDays. */
  retentionDays: number;
}

/**
 * The four DynamoDB aggregates over one table, as the contract's one object, on a clock the test
 * sets: the same wiring whether the table is DynamoDB Local or the table double.
 */
export function dynamoDbLedger(documents: DynamoDBDocumentClient, table: string, retentionDays: number): Pick<LedgerUnderTest, 'ledger' | 'setNow'> {
  let now = 0;
  const clock = () => now;
  const poll = new PollState(documents, table, clock, async () => undefined);
  const decisions = new DecisionLog(documents, table, retentionDays, clock);
  const resets = new ResetGuard(documents, table, clock);
  const deliveries = new Deliveries(documents, table, retentionDays, clock);
  return {
    ledger: {
      getCheckpoint: poll.getCheckpoint.bind(poll),
      saveCheckpoint: poll.saveCheckpoint.bind(poll),
      filterUnseen: poll.filterUnseen.bind(poll),
      markSeen: poll.markSeen.bind(poll),
      acquireLease: poll.acquireLease.bind(poll),
      releaseLease: poll.releaseLease.bind(poll),
      claimEntry: decisions.claimEntry.bind(decisions),
      releaseEntry: decisions.releaseEntry.bind(decisions),
      completeDecision: decisions.completeDecision.bind(decisions),
      recordIfNew: decisions.recordIfNew.bind(decisions),
      markNotificationQueued: decisions.markNotificationQueued.bind(decisions),
      claimReset: resets.claimReset.bind(resets),
      markResetDone: resets.markResetDone.bind(resets),
      releaseReset: resets.releaseReset.bind(resets),
      consumeResetBudget: resets.consumeResetBudget.bind(resets),
      takeResetBudget: resets.takeResetBudget.bind(resets),
      refundResetBudget: resets.refundResetBudget.bind(resets),
      recordExternalReset: resets.recordExternalReset.bind(resets),
      claimDelivery: deliveries.claimDelivery.bind(deliveries),
      markDelivered: deliveries.markDelivered.bind(deliveries),
      releaseDelivery: deliveries.releaseDelivery.bind(deliveries),
    },
    setNow: (ms) => (now = ms),
  };
}

/** Epoch seconds, as DynamoDB TTL wants them. */
const seconds = (ms: number) => Math.floor(ms / 1000);
/** Half a second past a whole second: a TTL computed from milliseconds must round down. */
const T0 = Date.parse('2026-11-24T10:15:00.500Z');
const RETENTION_DAYS = 30;

let unique = 0;
let freshEpochs = 0;
/**
 * A start time later than any earlier such test's (ten days apart): the breaker window and the
 * poller lease are one item each, shared by every test on a real table, and what an earlier test
 * left in them must have run out.
 */
const freshEpoch = () => Date.parse('2031-01-01T10:00:00.000Z') + ++freshEpochs * 10 * 86400_000;
/** Ids unique in this process, so runs against one real table never meet each other's records. */
const id = (name: string) => `${name}-${process.pid}-${++unique}`;

/**
 * One contract for every implementation of the ledger table: the DynamoDB adapters (the
 * reference) and the in-memory fakes the unit tests use. Each `it` gets a fresh ledger from
 * `make` (a real one may share a table: ids are unique) and sets its own clock.
 */
export function describeLedgerContract(name: string, parts: readonly LedgerPart[], make: (options: LedgerOptions) => Promise<LedgerUnderTest> | LedgerUnderTest): void {
  // A part the implementation does not provide is left out (not skipped: nothing is pending).
  const describePart = (part: LedgerPart, title: string, body: () => void) => {
    if (parts.includes(part)) describe(title, body);
  };

  describe(`ledger contract: ${name}`, () => {
    let t: LedgerUnderTest;
    let l: Required<LedgerMethods>;
    let now: number;
    const at = (ms: number) => {
      now = ms;
      t.setNow(ms);
    };
    beforeEach(async () => {
      t = await make({ retentionDays: RETENTION_DAYS });
      l = t.ledger as Required<LedgerMethods>;
      at(T0);
    });

    describePart('poll', 'poll state', () => {
      it('tells unseen entries from seen ones and stores each seen record for now + retainSeconds', async () => {
        const [a, b, c] = [id('seen-a'), id('seen-b'), id('seen-c')];
        await l.markSeen([a, b, a], 7200);
        await expect(l.filterUnseen([a, c, b, c])).resolves.toEqual([c]);
        expect(await t.stored(LEDGER_KEYS.seen(a))).toEqual({ ...LEDGER_KEYS.seen(a), expiresAt: seconds(T0) + 7200 });
        expect(await t.stored(LEDGER_KEYS.seen(c))).toBeUndefined();
      });

      it('saves the checkpoint whole (a save without pending drops it) and stamps updatedAt', async () => {
        await l.saveCheckpoint({ checkpoint: 100, pending: { oldest: 1, latest: 99, cursor: 'abc' } });
        await expect(l.getCheckpoint()).resolves.toEqual({ checkpoint: 100, pending: { oldest: 1, latest: 99, cursor: 'abc' }, updatedAt: T0 });
        at(T0 + 5000);
        await l.saveCheckpoint({ checkpoint: 200 });
        await expect(l.getCheckpoint()).resolves.toEqual({ checkpoint: 200, pending: undefined, updatedAt: T0 + 5000 });
        expect(await t.stored(LEDGER_KEYS.checkpoint())).toEqual({ ...LEDGER_KEYS.checkpoint(), checkpoint: 200, updatedAt: T0 + 5000 });
      });
      it('grants the poller lease to one holder at a time until its time is up, again to the holder, and at once after a release', async () => {
        const [a, b] = [id('poll-a'), id('poll-b')];
        // Other tests may hold the one lease item on a shared table: start after any of theirs.
        at(freshEpoch());
        await expect(l.acquireLease(a, now + 60_000)).resolves.toBe(true);
        expect(await t.stored(LEDGER_KEYS.pollerLease())).toEqual({ ...LEDGER_KEYS.pollerLease(), holder: a, leaseUntil: now + 60_000, expiresAt: seconds(now + 60_000) + 3600 });
        await expect(l.acquireLease(b, now + 60_000)).resolves.toBe(false);
        await expect(l.acquireLease(a, now + 90_000)).resolves.toBe(true); // the holder may extend it
        const start = now;
        at(start + 90_000); // up to and including leaseUntil it is held
        await expect(l.acquireLease(b, now + 60_000)).resolves.toBe(false);
        at(start + 90_001); // a holder that died keeps it only until then
        await expect(l.acquireLease(b, now + 60_000)).resolves.toBe(true);
        await l.releaseLease(a); // not a's any more: nothing happens
        await expect(l.acquireLease(a, now + 60_000)).resolves.toBe(false);
        await l.releaseLease(b);
        await expect(l.acquireLease(a, now + 60_000)).resolves.toBe(true);
      });

      it('keeps a restarted window without a cursor, its page count, and the abandoned windows', async () => {
        const abandoned = [{ oldest: 1, latest: 50, reason: 'repeated_cursor' as const, at: T0 - 1000 }];
        await l.saveCheckpoint({ checkpoint: 60, pending: { oldest: 55, latest: 120, pages: 0, restarted: true }, abandoned });
        await expect(l.getCheckpoint()).resolves.toEqual({ checkpoint: 60, pending: { oldest: 55, latest: 120, pages: 0, restarted: true }, abandoned, updatedAt: T0 });
      });
    });

    describePart('decisions', 'decision log', () => {
      it('grants a claim exactly once: LeaseHeldError while leased (up to and including leaseUntil), taken over after', async () => {
        const entry = id('claim');
        await expect(l.claimEntry(entry, 1000)).resolves.toEqual({ claimed: true });
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toEqual({ ...LEDGER_KEYS.decision(entry), entryId: entry, status: 'in_progress', leaseUntil: T0 + 1000 });
        await expect(l.claimEntry(entry, 1000)).rejects.toBeInstanceOf(LeaseHeldError);
        at(T0 + 1000);
        await expect(l.claimEntry(entry, 1000)).rejects.toBeInstanceOf(LeaseHeldError);
        at(T0 + 1001);
        await expect(l.claimEntry(entry, 1000)).resolves.toEqual({ claimed: true });
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toMatchObject({ status: 'in_progress', leaseUntil: T0 + 2001 });
        await expect(l.claimEntry(entry, 1000)).rejects.toBeInstanceOf(LeaseHeldError);
      });

      it('records an entry that needs no claim in one write, once: a later one gets the record back, a held one waits', async () => {
        const entry = id('once');
        at(T0 + 2000);
        const fields = { entryId: entry, decision: 'ignore', reason: 'rules_off', outcome: 'ignored', notification: 'none' };
        await expect(l.recordIfNew(fields)).resolves.toEqual({ claimed: true });
        const final = { ...fields, status: 'done', decidedAt: new Date(T0 + 2000).toISOString(), day: new Date(T0 + 2000).toISOString().slice(0, 10), expiresAt: seconds(T0 + 2000) + RETENTION_DAYS * 86400 };
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toEqual({ ...LEDGER_KEYS.decision(entry), ...final });
        await expect(l.recordIfNew({ ...fields, reason: 'other' })).resolves.toMatchObject({ claimed: false, existing: final });
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toMatchObject({ reason: 'rules_off' });
        await expect(l.claimEntry(entry, 60_000)).resolves.toMatchObject({ claimed: false, existing: final });
        const held = id('held');
        await l.claimEntry(held, 60_000);
        await expect(l.recordIfNew({ ...fields, entryId: held })).rejects.toBeInstanceOf(LeaseHeldError);
      });

      it('writes the final record (no lease, day and decidedAt, TTL now + retentionDays) and returns it to every later claim', async () => {
        const entry = id('final');
        await l.claimEntry(entry, 60_000);
        at(T0 + 2000);
        const fields = { entryId: entry, userId: 'W0ANAXXX01', decision: 'end_sessions', reason: 'rule_end_sessions', outcome: 'sessions_ended', notification: 'sessions_ended' };
        const final = {
          ...fields,
          status: 'done',
          decidedAt: new Date(T0 + 2000).toISOString(),
          day: new Date(T0 + 2000).toISOString().slice(0, 10),
          expiresAt: seconds(T0 + 2000) + RETENTION_DAYS * 86400,
        };
        expect(await l.completeDecision(fields)).toMatchObject(final);
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toEqual({ ...LEDGER_KEYS.decision(entry), ...final });
        at(T0 + 3 * 3600_000);
        await expect(l.claimEntry(entry, 60_000)).resolves.toMatchObject({ claimed: false, existing: final });
        await l.releaseEntry(entry); // a finished record is never released
        await l.markNotificationQueued(entry);
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toEqual({ ...LEDGER_KEYS.decision(entry), ...final, notificationQueued: true });
      });

      it('releases an unfinished claim so a retry decides afresh at once', async () => {
        const entry = id('release');
        await l.claimEntry(entry, 60_000);
        await l.releaseEntry(entry);
        expect(await t.stored(LEDGER_KEYS.decision(entry))).toBeUndefined();
        await expect(l.claimEntry(entry, 60_000)).resolves.toEqual({ claimed: true });
      });
    });

    describePart('resets', 'reset guard', () => {
      it('reserves a person\u2019s next reset for one entry, stored until at least the end of the cooldown', async () => {
        const user = id('W0RES');
        await expect(l.claimReset(user, 'r-1', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
        const item = await t.stored(LEDGER_KEYS.lastReset(user));
        expect(item).toEqual({ ...LEDGER_KEYS.lastReset(user), entryId: 'r-1', at: T0, expiresAt: seconds(T0) + 30 * 60 });
        expect(item!.expiresAt).toBeGreaterThanOrEqual((T0 + 30 * 60_000) / 1000 - 1);
        // A cooldown of 0 still keeps the record a minute.
        const other = id('W0RES');
        await l.claimReset(other, 'r-0', 0);
        expect(await t.stored(LEDGER_KEYS.lastReset(other))).toMatchObject({ expiresAt: seconds(T0) + 60 });
      });

      it('records a reset someone else did (Slack\u2019s built-in response, an admin): it holds our next one back and says who', async () => {
        const user = id('W0EXT');
        await l.recordExternalReset!(user, T0 - 60_000, 'slack_anomaly_response', 'slack-entry-1', 30);
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toEqual({
          ...LEDGER_KEYS.lastReset(user),
          entryId: 'slack-entry-1',
          at: T0 - 60_000,
          done: true,
          by: 'slack_anomaly_response',
          expiresAt: seconds(T0 - 60_000) + 30 * 60,
        });
        await expect(l.claimReset(user, 'r-1', 30)).resolves.toEqual({
          claimed: false,
          lastResetAt: T0 - 60_000,
          entryId: 'slack-entry-1',
          lastResetBy: 'slack_anomaly_response',
          checkedAt: T0,
        });
        // An older one never replaces it; a later one does.
        await l.recordExternalReset!(user, T0 - 120_000, 'admin', 'admin-entry-0', 30);
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toMatchObject({ entryId: 'slack-entry-1' });
        await l.recordExternalReset!(user, T0 - 30_000, 'admin', 'admin-entry-2', 30);
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toMatchObject({ entryId: 'admin-entry-2', by: 'admin' });
        // Nor does it replace a reservation of ours still in flight.
        const ours = id('W0EXT');
        await l.claimReset(ours, 'r-9', 30);
        await l.recordExternalReset!(ours, T0 + 1, 'admin', 'admin-entry-3', 30);
        expect(await t.stored(LEDGER_KEYS.lastReset(ours))).toMatchObject({ entryId: 'r-9' });
      });

      it('tells the same entry whether its reset went through (alreadyReset), refuses others within the cooldown, and frees after it', async () => {
        const user = id('W0RES');
        await l.claimReset(user, 'r-1', 30);
        at(T0 + 1000);
        await expect(l.claimReset(user, 'r-1', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
        await expect(l.claimReset(user, 'r-2', 30)).resolves.toEqual({ claimed: false, lastResetAt: T0, entryId: 'r-1', checkedAt: T0 + 1000 });
        at(T0 + 2000);
        await l.markResetDone(user, 'r-1', 30);
        // The cooldown counts from the reset, so the record lives until then, not from the claim.
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toMatchObject({ entryId: 'r-1', at: T0 + 2000, done: true, expiresAt: seconds(T0 + 2000) + 30 * 60 });
        await expect(l.claimReset(user, 'r-1', 30)).resolves.toEqual({ claimed: true, alreadyReset: true });
        await l.releaseReset(user, 'r-1'); // a reset that went through is never released
        await expect(l.claimReset(user, 'r-2', 30)).resolves.toEqual({ claimed: false, lastResetAt: T0 + 2000, entryId: 'r-1', checkedAt: T0 + 2000 });
        at(T0 + 2000 + 30 * 60_000); // the cooldown counts from the reset itself; `at <= now - cooldown` frees it
        await expect(l.claimReset(user, 'r-2', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toEqual({ ...LEDGER_KEYS.lastReset(user), entryId: 'r-2', at: now, expiresAt: seconds(now) + 30 * 60 });
      });

      it('releases only an unfinished reservation, and only for the entry holding it', async () => {
        const user = id('W0RES');
        await l.claimReset(user, 'r-1', 30);
        await l.releaseReset(user, 'r-other');
        await expect(l.claimReset(user, 'r-2', 30)).resolves.toMatchObject({ claimed: false, entryId: 'r-1' });
        await l.releaseReset(user, 'r-1');
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toBeUndefined();
        await expect(l.claimReset(user, 'r-2', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
        await expect(l.markResetDone(user, 'r-1', 30)).rejects.toThrow(); // not held by r-1 any more
        await expect(l.markResetDone(id('W0NOBODY'), 'r-1', 30)).rejects.toThrow();
      });

      it('spends the budget up to the limit in any 60 minutes (a sliding window: no fresh budget at the top of the hour), and keeps the window about 2 h', async () => {
        const early = freshEpoch() + 59 * 60_000 + 30_000; // hh:59:30
        at(early);
        expect([await l.consumeResetBudget(2), await l.consumeResetBudget(2), await l.consumeResetBudget(2)]).toEqual([true, true, false]);
        expect(await t.stored(LEDGER_KEYS.breaker())).toEqual({ ...LEDGER_KEYS.breaker(), units: [early, early], version: 2, expiresAt: seconds(early) + 2 * 3600 });
        at(early + 60_000); // a minute later, in the next UTC clock hour: still the same window
        await expect(l.consumeResetBudget(2)).resolves.toBe(false);
        at(early + 3600_000 - 1);
        await expect(l.consumeResetBudget(2)).resolves.toBe(false);
        at(early + 3600_000); // an hour after they were taken, the units leave the window
        expect([await l.consumeResetBudget(2), await l.consumeResetBudget(2), await l.consumeResetBudget(2)]).toEqual([true, true, false]);
        const later = early + 3600_000;
        expect(await t.stored(LEDGER_KEYS.breaker())).toEqual({ ...LEDGER_KEYS.breaker(), units: [later, later], version: 4, expiresAt: seconds(later) + 2 * 3600 });
      });

      it('counts each unit for an hour from when it was taken', async () => {
        const start = freshEpoch();
        for (const minute of [0, 20, 40]) {
          at(start + minute * 60_000);
          await expect(l.consumeResetBudget(3)).resolves.toBe(true);
        }
        at(start + 59 * 60_000);
        await expect(l.consumeResetBudget(3)).resolves.toBe(false);
        at(start + 60 * 60_000); // the first unit left: one more
        await expect(l.consumeResetBudget(3)).resolves.toBe(true);
        await expect(l.consumeResetBudget(3)).resolves.toBe(false);
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [start + 20 * 60_000, start + 40 * 60_000, start + 60 * 60_000] });
      });

      it('takes a budget unit for a reservation once, notes it on the reservation (budgetTaken), and refuses one not held', async () => {
        const start = freshEpoch();
        at(start);
        const user = id('W0BUD');
        await l.claimReset(user, 'b-1', 30);
        await expect(l.consumeResetBudget(2, { userId: user, entryId: 'b-1' })).resolves.toBe(true);
        expect(await t.stored(LEDGER_KEYS.lastReset(user))).toMatchObject({ entryId: 'b-1', budgetAt: start });
        await expect(l.claimReset(user, 'b-1', 30)).resolves.toEqual({ claimed: true, alreadyReset: false, budgetTaken: true });
        await expect(l.consumeResetBudget(2, { userId: user, entryId: 'b-1' })).rejects.toBeInstanceOf(LeaseHeldError); // already carries its unit
        await expect(l.consumeResetBudget(2, { userId: user, entryId: 'b-other' })).rejects.toBeInstanceOf(LeaseHeldError); // not this entry's
        await expect(l.consumeResetBudget(2, { userId: id('W0NOBODY'), entryId: 'b-1' })).rejects.toBeInstanceOf(LeaseHeldError);
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [start] });
        await expect(l.consumeResetBudget(2)).resolves.toBe(true);
        const other = id('W0BUD');
        await l.claimReset(other, 'b-2', 30);
        await expect(l.consumeResetBudget(2, { userId: other, entryId: 'b-2' })).resolves.toBe(false); // spent: false, nothing noted
        expect(await t.stored(LEDGER_KEYS.lastReset(other))).not.toHaveProperty('budgetAt');
      });

      it('takes units for a batch of reservations in order while the budget lasts, each noted on its reservation; one not held is skipped, the others still taken', async () => {
        const start = freshEpoch();
        at(start);
        const [a, b, c, d, stranger] = [id('W0BA'), id('W0BB'), id('W0BC'), id('W0BD'), id('W0BE')];
        for (const [user, entry] of [[a, 'ba'], [b, 'bb'], [c, 'bc'], [d, 'bd']]) await l.claimReset(user, entry, 30);
        await expect(l.consumeResetBudget(4)).resolves.toBe(true); // one unit already spent by someone else
        const answers = await l.takeResetBudget(4, [
          { userId: a, entryId: 'ba' },
          { userId: stranger, entryId: 'be' }, // holds no reservation
          { userId: b, entryId: 'bb' },
          { userId: c, entryId: 'bc' },
          { userId: d, entryId: 'bd' },
        ]);
        expect(answers).toEqual(['taken', 'lost', 'taken', 'taken', 'spent']);
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [start, start, start, start] });
        for (const user of [a, b, c]) expect(await t.stored(LEDGER_KEYS.lastReset(user))).toMatchObject({ budgetAt: start });
        expect(await t.stored(LEDGER_KEYS.lastReset(d))).not.toHaveProperty('budgetAt');
        expect(await t.stored(LEDGER_KEYS.lastReset(stranger))).toBeUndefined();
        // A reservation that already carries its unit gets no second one.
        await expect(l.takeResetBudget(10, [{ userId: a, entryId: 'ba' }])).resolves.toEqual(['lost']);
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [start, start, start, start] });
      });

      it('takes units for more reservations than one transaction holds (DynamoDB: 100 actions)', async () => {
        const start = freshEpoch();
        at(start);
        const many = Array.from({ length: 150 }, (_, i) => ({ userId: id(`W0M${i}`), entryId: `m-${i}` }));
        for (const r of many) await l.claimReset(r.userId, r.entryId, 30);
        const answers = await l.takeResetBudget(1000, many);
        expect(answers.every((a) => a === 'taken')).toBe(true);
        expect(((await t.stored(LEDGER_KEYS.breaker()))?.units as number[]).length).toBe(150);
        expect(await t.stored(LEDGER_KEYS.lastReset(many[149].userId))).toMatchObject({ budgetAt: start });
      });

      it('two batches taking at once never take more than the limit between them', async () => {
        const start = freshEpoch();
        at(start);
        const batch = (prefix: string) => Array.from({ length: 40 }, (_, i) => ({ userId: id(`W0${prefix}${i}`), entryId: `${prefix}-${i}` }));
        const [first, second] = [batch('P'), batch('Q')];
        for (const r of [...first, ...second]) await l.claimReset(r.userId, r.entryId, 30);
        const answers = (await Promise.all([l.takeResetBudget(50, first), l.takeResetBudget(50, second)])).flat();
        expect(answers.filter((a) => a === 'taken')).toHaveLength(50);
        expect(answers.filter((a) => a === 'spent')).toHaveLength(30);
        expect(((await t.stored(LEDGER_KEYS.breaker()))?.units as number[]).length).toBe(50);
      });

      it('refunds several units in one go, the newest first, never below zero', async () => {
        const start = freshEpoch();
        for (const ms of [0, 1000, 2000]) {
          at(start + ms);
          await expect(l.consumeResetBudget(5)).resolves.toBe(true);
        }
        await l.refundResetBudget(2);
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [start] });
        await l.refundResetBudget(5);
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [] });
      });

      it('refunds the newest unit in the window, never below zero', async () => {
        const start = freshEpoch();
        at(start);
        const before = await t.stored(LEDGER_KEYS.breaker());
        await l.refundResetBudget(); // nothing in the window: nothing to give back, nothing written
        expect(await t.stored(LEDGER_KEYS.breaker())).toEqual(before);
        await l.consumeResetBudget(3);
        at(start + 1000);
        await l.consumeResetBudget(3);
        await l.refundResetBudget();
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [start] });
        await l.refundResetBudget();
        await l.refundResetBudget();
        expect(await t.stored(LEDGER_KEYS.breaker())).toMatchObject({ units: [] });
        expect([await l.consumeResetBudget(3), await l.consumeResetBudget(3), await l.consumeResetBudget(3), await l.consumeResetBudget(3)]).toEqual([true, true, true, false]);
        at(start + 1000 + 3600_000); // a refund after the units left the window gives nothing back
        await l.refundResetBudget();
        at(start + 1000 + 3600_000 - 1);
        await expect(l.consumeResetBudget(3)).resolves.toBe(false);
      });
    });

    describePart('deliveries', 'deliveries', () => {
      it('claims a delivery exactly once: LeaseHeldError while leased, taken over after, stored for now + retentionDays', async () => {
        const [entry, key] = [id('n'), 'sessions_ended#email#email:ana@x.example'];
        await expect(l.claimDelivery(entry, key, 1000)).resolves.toBe(true);
        expect(await t.stored(LEDGER_KEYS.delivery(entry, key))).toEqual({
          ...LEDGER_KEYS.delivery(entry, key),
          status: 'sending',
          leaseUntil: T0 + 1000,
          expiresAt: seconds(T0) + RETENTION_DAYS * 86400,
        });
        await expect(l.claimDelivery(entry, key, 1000)).rejects.toBeInstanceOf(LeaseHeldError);
        at(T0 + 1000);
        await expect(l.claimDelivery(entry, key, 1000)).rejects.toBeInstanceOf(LeaseHeldError);
        at(T0 + 1001);
        await expect(l.claimDelivery(entry, key, 1000)).resolves.toBe(true);
        expect(await t.stored(LEDGER_KEYS.delivery(entry, key))).toMatchObject({ leaseUntil: T0 + 2001, expiresAt: seconds(T0 + 1001) + RETENTION_DAYS * 86400 });
      });

      it('records a sent delivery (no lease, sentAt, detail, the claim\u2019s TTL) and never claims it again', async () => {
        const [entry, key] = [id('n'), 'sessions_ended#slack#slack-dm:W0ANAXXX01'];
        await l.claimDelivery(entry, key, 60_000);
        at(T0 + 500);
        await l.markDelivered(entry, key, 'slack:D0ANA');
        expect(await t.stored(LEDGER_KEYS.delivery(entry, key))).toEqual({
          ...LEDGER_KEYS.delivery(entry, key),
          status: 'sent',
          sentAt: T0 + 500,
          detail: 'slack:D0ANA',
          expiresAt: seconds(T0) + RETENTION_DAYS * 86400,
        });
        at(T0 + 3600_000);
        await expect(l.claimDelivery(entry, key, 60_000)).resolves.toBe(false);
        await l.releaseDelivery(entry, key); // a sent delivery stays sent
        await expect(l.claimDelivery(entry, key, 60_000)).resolves.toBe(false);
        const bare = id('n');
        await l.markDelivered(bare, key);
        expect(await t.stored(LEDGER_KEYS.delivery(bare, key))).toMatchObject({ status: 'sent', detail: '' });
      });

      it('frees a failed delivery for an immediate retry', async () => {
        const [entry, key] = [id('n'), 'action_failed#email#email:soc@x.example'];
        await l.claimDelivery(entry, key, 60_000);
        await l.releaseDelivery(entry, key);
        expect(await t.stored(LEDGER_KEYS.delivery(entry, key))).toMatchObject({ status: 'sending', leaseUntil: 0 });
        await expect(l.claimDelivery(entry, key, 60_000)).resolves.toBe(true);
      });
    });
  });
}
