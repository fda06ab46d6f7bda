import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../functions/adapters/dynamodb/deliveries';
import { PollState } from '../../functions/adapters/dynamodb/poll-state';
import { ResetGuard } from '../../functions/adapters/dynamodb/reset-guard';
import { LeaseHeldError } from '../../functions/domain/errors';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';

/** The ledger's conditional writes against DynamoDB Local: the guarantees the use cases rest on. */
let clients: LocalClients;
let table: string;
let now = Date.parse('2026-11-24T10:00:00Z');
/** The four aggregates of the ledger table, over one clock, as one object (their method names do not overlap). */
function ledger() {
  const clock = () => now;
  const parts = [
    new PollState(clients.documents, table, clock, async () => undefined),
    new DecisionLog(clients.documents, table, 400, clock),
    new ResetGuard(clients.documents, table, clock),
    new Deliveries(clients.documents, table, 400, clock),
  ] as const;
  const [poll, decisions, resets, deliveries] = parts;
  return {
    getCheckpoint: poll.getCheckpoint.bind(poll),
    saveCheckpoint: poll.saveCheckpoint.bind(poll),
    filterUnseen: poll.filterUnseen.bind(poll),
    markSeen: poll.markSeen.bind(poll),
    claimEntry: decisions.claimEntry.bind(decisions),
    getDecision: decisions.getDecision.bind(decisions),
    releaseEntry: decisions.releaseEntry.bind(decisions),
    completeDecision: decisions.completeDecision.bind(decisions),
    decisionsForUser: decisions.decisionsForUser.bind(decisions),
    decisionsOnDay: decisions.decisionsOnDay.bind(decisions),
    claimReset: resets.claimReset.bind(resets),
    markResetDone: resets.markResetDone.bind(resets),
    releaseReset: resets.releaseReset.bind(resets),
    consumeResetBudget: resets.consumeResetBudget.bind(resets),
    refundResetBudget: resets.refundResetBudget.bind(resets),
    claimDelivery: deliveries.claimDelivery.bind(deliveries),
    markDelivered: deliveries.markDelivered.bind(deliveries),
    releaseDelivery: deliveries.releaseDelivery.bind(deliveries),
  };
}

beforeAll(async () => {
  clients = createLocalClients(endpointsFromEnv());
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `ledger-${Date.now().toString(36)}` });
  table = resources.tables.ledger;
});
afterAll(() => clients.destroy());

describe('the ledger table\'s aggregates on DynamoDB Local', () => {
  it('lets exactly one of many concurrent claims of an entry win', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => ledger().claimEntry('race-1', 60_000)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof LeaseHeldError)).toBe(true);
  });

  it('returns a finished decision to later claims, and lets an abandoned claim be taken over after its lease', async () => {
    const l = ledger();
    await l.claimEntry('done-1', 60_000);
    await l.completeDecision({ entryId: 'done-1', userId: 'W0ANAXXX01', decision: 'end_sessions', outcome: 'sessions_ended', notification: 'none' });
    await expect(l.claimEntry('done-1', 60_000)).resolves.toMatchObject({ claimed: false, existing: { outcome: 'sessions_ended', status: 'done' } });

    await l.claimEntry('abandoned-1', 1_000);
    await expect(l.claimEntry('abandoned-1', 1_000)).rejects.toBeInstanceOf(LeaseHeldError);
    now += 2_000;
    await expect(l.claimEntry('abandoned-1', 1_000)).resolves.toEqual({ claimed: true });
    await l.releaseEntry('abandoned-1');
    await expect(l.getDecision('abandoned-1')).resolves.toBeUndefined();
  });

  it('finds decisions by user and by day, in time order', async () => {
    const l = ledger();
    for (const [i, user] of ['W0USERA001', 'W0USERB001', 'W0USERA001'].entries()) {
      now += 1000;
      await l.claimEntry(`q-${i}`, 60_000);
      await l.completeDecision({ entryId: `q-${i}`, userId: user, decision: 'end_sessions', outcome: 'sessions_ended', notification: 'none' });
    }
    expect((await l.decisionsForUser('W0USERA001')).map((d) => d.entryId)).toEqual(['q-0', 'q-2']);
    const day = new Date(now).toISOString().slice(0, 10);
    const onDay = (await l.decisionsOnDay(day)).map((d) => d.entryId);
    expect(onDay.indexOf('q-0')).toBeLessThan(onDay.indexOf('q-1'));
    expect(onDay).toEqual(expect.arrayContaining(['q-0', 'q-1', 'q-2']));
  });

  it('claims each delivery once, even concurrently, and frees a failed one for an immediate retry', async () => {
    const l = ledger();
    const claims = await Promise.allSettled(Array.from({ length: 5 }, () => l.claimDelivery('n-1', 'sessions_ended#email#email:ana@x.example', 60_000)));
    expect(claims.filter((c) => c.status === 'fulfilled' && c.value === true)).toHaveLength(1);
    await l.markDelivered('n-1', 'sessions_ended#email#email:ana@x.example', 'ses:1');
    await expect(l.claimDelivery('n-1', 'sessions_ended#email#email:ana@x.example', 60_000)).resolves.toBe(false);

    await l.claimDelivery('n-1', 'sessions_ended#slack#slack-dm:W0ANAXXX01', 60_000);
    await l.releaseDelivery('n-1', 'sessions_ended#slack#slack-dm:W0ANAXXX01');
    await expect(l.claimDelivery('n-1', 'sessions_ended#slack#slack-dm:W0ANAXXX01', 60_000)).resolves.toBe(true);
  });

  it('spends the hourly reset budget atomically and refunds it', async () => {
    now = Date.parse('2026-11-24T11:00:00Z');
    const l = ledger();
    const spent = await Promise.all(Array.from({ length: 6 }, () => l.consumeResetBudget(4)));
    expect(spent.filter(Boolean)).toHaveLength(4);
    await l.refundResetBudget();
    await expect(l.consumeResetBudget(4)).resolves.toBe(true);
    await expect(l.consumeResetBudget(4)).resolves.toBe(false);
    now += 3600_000; // a new hour, a new budget
    await expect(l.consumeResetBudget(4)).resolves.toBe(true);
  });

  it('never refunds the reset budget below zero: refunds with nothing spent do not raise the hour\u2019s limit', async () => {
    now = Date.parse('2026-11-24T13:00:00Z');
    const l = ledger();
    await l.refundResetBudget(); // nothing in the window yet
    await expect(l.consumeResetBudget(1)).resolves.toBe(true);
    await l.refundResetBudget();
    await l.refundResetBudget(); // one more than was spent
    await l.refundResetBudget();
    await expect(l.consumeResetBudget(1)).resolves.toBe(true);
    await expect(l.consumeResetBudget(1)).resolves.toBe(false);
  });

  it('reserves a person\u2019s next reset for exactly one of many concurrent entries (loop protection)', async () => {
    const l = ledger();
    const claims = await Promise.all(['a', 'b', 'c', 'd'].map((entry) => l.claimReset('W0LOOPXX01', `loop-${entry}`, 30)));
    const winners = claims.filter((c) => c.claimed);
    expect(winners).toHaveLength(1);
    expect(claims.filter((c) => !c.claimed).every((c) => !c.claimed && c.lastResetAt === now)).toBe(true);
  });

  it('tells a retry of the same entry whether its reset went through, frees a reservation that did not, and expires with the cooldown', async () => {
    const l = ledger();
    await expect(l.claimReset('W0COOLXX01', 'c-1', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
    await l.markResetDone('W0COOLXX01', 'c-1', 30);
    await expect(l.claimReset('W0COOLXX01', 'c-1', 30)).resolves.toEqual({ claimed: true, alreadyReset: true });
    await expect(l.claimReset('W0COOLXX01', 'c-2', 30)).resolves.toMatchObject({ claimed: false, entryId: 'c-1' });
    await l.releaseReset('W0COOLXX01', 'c-1'); // a done reset is never released
    await expect(l.claimReset('W0COOLXX01', 'c-2', 30)).resolves.toMatchObject({ claimed: false });
    now += 31 * 60_000;
    await expect(l.claimReset('W0COOLXX01', 'c-2', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
    await l.releaseReset('W0COOLXX01', 'c-2');
    await expect(l.claimReset('W0COOLXX01', 'c-3', 30)).resolves.toEqual({ claimed: true, alreadyReset: false });
  });

  it('tells unseen entries from seen ones, in batches larger than one request', async () => {
    const l = ledger();
    const ids = Array.from({ length: 130 }, (_, i) => `seen-${i}`);
    await l.markSeen(ids.slice(0, 60), 3600);
    const unseen = await l.filterUnseen([...ids, 'seen-0']);
    expect(unseen).toEqual(ids.slice(60));
  });

  it('keeps a seen record for the retention asked for (its TTL is now + retainSeconds)', async () => {
    now = Date.parse('2026-11-24T14:00:00.500Z');
    const l = ledger();
    await l.markSeen(['ttl-1'], 5400);
    const out = await clients.documents.send(new GetCommand({ TableName: table, Key: { pk: 'seen#ttl-1', sk: '-' }, ConsistentRead: true }));
    expect(out.Item?.expiresAt).toBe(Math.floor(now / 1000) + 5400);
  });

  it('saves and resumes the checkpoint with its pending window', async () => {
    const l = ledger();
    await l.saveCheckpoint({ checkpoint: 100, pending: { oldest: 1, latest: 99, cursor: 'abc' } });
    await expect(l.getCheckpoint()).resolves.toMatchObject({ checkpoint: 100, pending: { oldest: 1, latest: 99, cursor: 'abc' } });
    await l.saveCheckpoint({ checkpoint: 200 });
    await expect(l.getCheckpoint()).resolves.toEqual({ checkpoint: 200, pending: undefined, updatedAt: now });
  });
});
