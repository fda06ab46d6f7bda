import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DecisionLog } from '../../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../../functions/adapters/dynamodb/deliveries';
import { ignoreConditionFailure, itemOfFailedCondition } from '../../../functions/adapters/dynamodb/dynamodb-helpers';
import { expiresAfter, LEDGER_KEYS, SEEN_PREFIX } from '../../../functions/adapters/dynamodb/keys';
import { PollState } from '../../../functions/adapters/dynamodb/poll-state';
import { ResetGuard } from '../../../functions/adapters/dynamodb/reset-guard';
import { LeaseHeldError } from '../../../functions/domain/errors';
import { TableDouble } from '../../support/table-double';

/**
 * How the ledger adapters read DynamoDB's answers that the ledger contract (and DynamoDB Local)
 * cannot produce on demand: a failed condition that returned no item, a record gone between a
 * write and its read, transactions cancelled for other reasons, throttling. The commands' meaning
 * (who wins a claim, the TTLs) is the contract's: test/unit/adapters/dynamodb-ledger-contract.test.ts.
 */
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const TABLE = 'ledger';
const NOW = Date.parse('2026-11-24T10:20:00.250Z');
const clock = () => NOW;

const conditionFailed = (old?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(old ? { Item: marshall(old) } : {}) });
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: codes.map((Code) => ({ Code })) });
const throttled = () => Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });

beforeEach(() => documents.reset());
afterAll(() => documents.restore());

describe('ledger keys', () => {
  it('gives every record kind its own key space, so an id chosen by an attacker never lands on another kind of record', () => {
    const id = 'X1';
    const keys = [
      LEDGER_KEYS.checkpoint(),
      LEDGER_KEYS.pollerLease(),
      LEDGER_KEYS.seen(id),
      LEDGER_KEYS.decision(id),
      LEDGER_KEYS.configChange(id),
      LEDGER_KEYS.delivery(id, 'sessions_ended#email#email:a@x.example'),
      LEDGER_KEYS.lastReset(id),
      LEDGER_KEYS.breaker(),
      LEDGER_KEYS.allowList(),
      LEDGER_KEYS.pollerPacer(id),
      LEDGER_KEYS.respondPacer(id),
      LEDGER_KEYS.notifyPacer(id),
      LEDGER_KEYS.digestCount(id),
      LEDGER_KEYS.digestMember(id, id),
    ];
    expect(new Set(keys.map((k) => JSON.stringify(k))).size).toBe(keys.length);
    expect(keys.every((k) => k.pk.length > 0 && k.sk.length > 0)).toBe(true); // DynamoDB refuses empty key strings
    // An entry's deliveries sit in a partition of their own (notify's, never respond's decision),
    // together, and apart from another entry's.
    expect(LEDGER_KEYS.delivery(id, 'k').pk).not.toBe(LEDGER_KEYS.decision(id).pk);
    expect(LEDGER_KEYS.delivery(id, 'a').pk).toBe(LEDGER_KEYS.delivery(id, 'b').pk);
    expect(LEDGER_KEYS.delivery('X2', 'a').pk).not.toBe(LEDGER_KEYS.delivery(id, 'a').pk);
    expect(LEDGER_KEYS.decision('X2').pk).not.toBe(LEDGER_KEYS.decision(id).pk);
    expect(LEDGER_KEYS.delivery(id, 'a').sk).not.toBe(LEDGER_KEYS.delivery(id, 'b').sk);
    expect(LEDGER_KEYS.delivery(id, 'decision').sk).not.toBe(LEDGER_KEYS.decision(id).sk);
    expect(LEDGER_KEYS.lastReset('W1').pk).not.toBe(LEDGER_KEYS.lastReset('W2').pk);
    expect(LEDGER_KEYS.seen('a').pk).not.toBe(LEDGER_KEYS.seen('b').pk);
  });

  it('reads an entry id back out of its seen key', () => {
    for (const id of ['plain', 'with#hash', '']) expect(LEDGER_KEYS.seen(id).pk.slice(SEEN_PREFIX.length)).toBe(id);
    expect(LEDGER_KEYS.seen('a').pk.startsWith(SEEN_PREFIX)).toBe(true);
  });

  it('computes TTLs in whole epoch seconds', () => {
    expect(expiresAfter(Date.parse('2026-12-02T14:00:00.999Z'), 60)).toBe(Date.parse('2026-12-02T14:01:00Z') / 1000);
  });
});

describe('dynamodb helpers', () => {
  it('treats only a failed condition as "nothing to do"', () => {
    expect(() => ignoreConditionFailure(conditionFailed())).not.toThrow();
    const other = throttled();
    expect(() => ignoreConditionFailure(other)).toThrow(other);
  });

  it('unmarshals the item a failed condition returned, and says when it returned none', () => {
    expect(itemOfFailedCondition(conditionFailed({ status: 'sent', n: 2, tags: ['a'] }))).toEqual({ status: 'sent', n: 2, tags: ['a'] });
    expect(itemOfFailedCondition(conditionFailed())).toBeUndefined();
  });
});

describe('DecisionLog answers', () => {
  const log = () => new DecisionLog(db, TABLE, 400, clock);

  it('uses the record a failed claim returned, without reading it again', async () => {
    documents.on(UpdateCommand).rejects(conditionFailed({ pk: 'entry#E1', sk: 'decision', entryId: 'E1', status: 'done', outcome: 'notified' }));
    await expect(log().claimEntry('E1', 1000)).resolves.toEqual({ claimed: false, existing: expect.objectContaining({ status: 'done', outcome: 'notified' }) });
    expect(documents.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reads the record (strongly consistent) when a failed claim returned none, and obeys what it finds', async () => {
    documents.on(UpdateCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({ Item: { pk: 'entry#E1', sk: 'decision', entryId: 'E1', status: 'done', outcome: 'ignored' } });
    await expect(log().claimEntry('E1', 1000)).resolves.toEqual({ claimed: false, existing: expect.objectContaining({ outcome: 'ignored' }) });
    const [read] = documents.commandCalls(GetCommand);
    expect(read.args[0].input).toEqual({ TableName: TABLE, Key: LEDGER_KEYS.decision('E1'), ConsistentRead: true });

    documents.on(GetCommand).resolves({ Item: { pk: 'entry#E1', sk: 'decision', entryId: 'E1', status: 'in_progress', leaseUntil: NOW + 5 } });
    await expect(log().claimEntry('E1', 1000)).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('E1') }));
  });

  it('reads the record when a failed write of a final record (recordIfNew) returned none; one still held, or gone, names the entry', async () => {
    const fields = { entryId: 'E1', decision: 'ignore', reason: 'rules_off', outcome: 'ignored', notification: 'none' } as const;
    documents.on(PutCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({ Item: { pk: 'entry#E1', sk: 'decision', entryId: 'E1', status: 'done', outcome: 'notified' } });
    await expect(log().recordIfNew(fields)).resolves.toEqual({ claimed: false, existing: expect.objectContaining({ status: 'done', outcome: 'notified' }) });

    documents.on(GetCommand).resolves({ Item: { pk: 'entry#E1', sk: 'decision', entryId: 'E1', status: 'in_progress', leaseUntil: NOW + 5 } });
    await expect(log().recordIfNew(fields)).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('E1') }));
    documents.on(GetCommand).resolves({});
    await expect(log().recordIfNew(fields)).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('E1') }));
  });

  it('asks for a retry when the record vanished between the failed claim and the read (released meanwhile)', async () => {
    documents.on(UpdateCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({});
    await expect(log().claimEntry('E1', 1000)).rejects.toBeInstanceOf(LeaseHeldError);
  });

  it('lets every other failure through, claim and release alike', async () => {
    documents.on(UpdateCommand).rejects(throttled());
    documents.on(DeleteCommand).rejects(throttled());
    await expect(log().claimEntry('E1', 1000)).rejects.toThrow(/throughput/);
    await expect(log().releaseEntry('E1')).rejects.toThrow(/throughput/);
    expect(documents.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reads a missing decision as undefined, strongly consistent', async () => {
    documents.on(GetCommand).resolves({});
    await expect(log().getDecision('E9')).resolves.toBeUndefined();
    expect(documents.commandCalls(GetCommand)[0].args[0].input.ConsistentRead).toBe(true);
  });

  it('finds a person\u2019s decisions and a day\u2019s decisions in time order, through the table\u2019s indexes', async () => {
    const table = new TableDouble(TABLE);
    table.wire(documents);
    let now = Date.parse('2026-11-24T23:59:58Z');
    const at = new DecisionLog(db, TABLE, 400, () => now);
    for (const [entryId, userId] of [['q-0', 'W0A'], ['q-1', 'W0B'], ['q-2', 'W0A'], ['q-3', 'W0A']] as const) {
      now += 1000; // q-2 and q-3 fall on the next UTC day
      await at.completeDecision({ entryId, userId, decision: 'end_sessions', outcome: 'sessions_ended' });
    }
    await at.claimEntry('q-open', 60_000); // unfinished: no user, no day, in neither index
    expect((await at.decisionsForUser('W0A')).map((d) => d.entryId)).toEqual(['q-0', 'q-2', 'q-3']);
    expect((await at.decisionsForUser('W0A', 2)).map((d) => d.entryId)).toEqual(['q-0', 'q-2']);
    expect(await at.decisionsForUser('W0NOBODY')).toEqual([]);
    expect((await at.decisionsOnDay('2026-11-24')).map((d) => d.entryId)).toEqual(['q-0']);
    expect((await at.decisionsOnDay('2026-11-25')).map((d) => d.entryId)).toEqual(['q-1', 'q-2', 'q-3']);
    expect((await at.decisionsOnDay('2026-11-25', 1)).map((d) => d.entryId)).toEqual(['q-1']);
  });

  it('finds a day\u2019s config changes among its decisions, in time order, across every page of the answer', async () => {
    const table = new TableDouble(TABLE, 2); // two items a page: the day's six records span three pages
    table.wire(documents);
    let now = Date.parse('2026-11-25T08:00:00Z');
    const decisions = new DecisionLog(db, TABLE, 400, () => now);
    const changes = new DecisionLog(db, TABLE, 400, () => now, LEDGER_KEYS.configChange);
    const written: string[] = [];
    for (const [entryId, kind] of [['d-0', 'decision'], ['c-0', 'change'], ['d-1', 'decision'], ['d-2', 'decision'], ['c-1', 'change'], ['d-3', 'decision']] as const) {
      now += 1000;
      if (kind === 'change') {
        await changes.completeDecision({ entryId, decision: 'recorded', reason: 'config_changed', outcome: 'changed' });
        written.push(entryId);
      } else {
        await decisions.completeDecision({ entryId, userId: 'W0A', decision: 'notify_only', reason: 'rule_notify_only', outcome: 'notified' });
      }
    }
    now = Date.parse('2026-11-26T08:00:00Z');
    await changes.completeDecision({ entryId: 'c-next-day', decision: 'recorded', reason: 'config_changed', outcome: 'changed' });
    expect((await decisions.configChangesOnDay('2026-11-25')).map((d) => d.entryId)).toEqual(written);
    expect((await decisions.configChangesOnDay('2026-11-26')).map((d) => d.entryId)).toEqual(['c-next-day']);
    expect(await decisions.configChangesOnDay('2026-11-27')).toEqual([]);
    expect(documents.commandCalls(QueryCommand).length).toBeGreaterThan(3); // it did read past the first page
  });

  it('bounds a history query by default (50 per person, 200 per day), and reads an answer without Items as none', async () => {
    documents.on(QueryCommand).resolves({});
    await expect(log().decisionsForUser('W0A')).resolves.toEqual([]);
    await expect(log().decisionsOnDay('2026-11-24')).resolves.toEqual([]);
    expect(documents.commandCalls(QueryCommand).map((c) => c.args[0].input.Limit)).toEqual([50, 200]);
  });
});

describe('Deliveries answers', () => {
  const deliveries = () => new Deliveries(db, TABLE, 400, clock);

  it('reads a failed claim by what it returned: sent means done, anything else (or nothing) means someone is sending', async () => {
    documents.on(PutCommand).rejectsOnce(conditionFailed({ status: 'sent' })).rejectsOnce(conditionFailed({ status: 'sending', leaseUntil: NOW + 9 })).rejectsOnce(conditionFailed());
    await expect(deliveries().claimDelivery('E1', 'k#email#a', 1000)).resolves.toBe(false);
    await expect(deliveries().claimDelivery('E1', 'k#email#a', 1000)).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('E1') }));
    await expect(deliveries().claimDelivery('E1', 'k#email#a', 1000)).rejects.toBeInstanceOf(LeaseHeldError);
  });

  it('lets every other failure through, claim and release alike', async () => {
    documents.on(PutCommand).rejects(throttled());
    documents.on(UpdateCommand).rejects(throttled());
    await expect(deliveries().claimDelivery('E1', 'k', 1000)).rejects.toThrow(/throughput/);
    await expect(deliveries().releaseDelivery('E1', 'k')).rejects.toThrow(/throughput/);
  });

  it('treats releasing a delivery that is no longer being sent as done', async () => {
    documents.on(UpdateCommand).rejects(conditionFailed());
    await expect(deliveries().releaseDelivery('E1', 'k')).resolves.toBeUndefined();
  });
});

describe('ResetGuard answers', () => {
  const guard = () => new ResetGuard(db, TABLE, clock);
  const held = { pk: 'user#W0A', sk: 'last-reset', at: NOW - 60_000, entryId: 'other' };

  it('uses the reservation a failed claim returned, without reading it again, and judges the cooldown at its own clock', async () => {
    documents.on(PutCommand).rejects(conditionFailed(held));
    await expect(guard().claimReset('W0A', 'mine', 30)).resolves.toEqual({ claimed: false, lastResetAt: NOW - 60_000, entryId: 'other', checkedAt: NOW });
    expect(documents.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reads the reservation (strongly consistent) when a failed claim returned none', async () => {
    documents.on(PutCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({ Item: { ...held, entryId: 'mine', done: true, budgetAt: NOW - 1000 } });
    await expect(guard().claimReset('W0A', 'mine', 30)).resolves.toEqual({ claimed: true, alreadyReset: true, budgetTaken: true });
    expect(documents.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLE, Key: LEDGER_KEYS.lastReset('W0A'), ConsistentRead: true });
  });

  it('asks for a retry when the reservation vanished between the failed claim and the read', async () => {
    documents.on(PutCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({});
    await expect(guard().claimReset('W0A', 'mine', 30)).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('W0A') }));
  });

  it('lets every other failure through: claim, release, budget and refund', async () => {
    for (const command of [PutCommand, DeleteCommand, UpdateCommand, TransactWriteCommand] as const) documents.on(command as never).rejects(throttled());
    documents.on(GetCommand).resolves({ Item: { ...LEDGER_KEYS.breaker(), units: [NOW - 1000], version: 3 } }); // a unit to refund
    await expect(guard().claimReset('W0A', 'mine', 30)).rejects.toThrow(/throughput/);
    await expect(guard().releaseReset('W0A', 'mine')).rejects.toThrow(/throughput/);
    await expect(guard().consumeResetBudget(5)).rejects.toThrow(/throughput/);
    await expect(guard().consumeResetBudget(5, { userId: 'W0A', entryId: 'mine' })).rejects.toThrow(/throughput/);
    await expect(guard().refundResetBudget()).rejects.toThrow(/throughput/);
  });

  it('reads a cancelled budget transaction by its reasons: window moved → read again; reservation not ours → retry later; anything else → the error', async () => {
    const take = () => guard().consumeResetBudget(5, { userId: 'W0A', entryId: 'mine' });
    documents.on(GetCommand).resolves({ Item: { ...LEDGER_KEYS.breaker(), units: [], version: 1 } });
    documents.on(TransactWriteCommand).rejectsOnce(cancelled('ConditionalCheckFailed', 'None')).rejectsOnce(cancelled('TransactionConflict', 'None')).resolves({});
    await expect(take()).resolves.toBe(true);
    expect(documents.commandCalls(TransactWriteCommand)).toHaveLength(3);
    expect(documents.commandCalls(GetCommand)).toHaveLength(3); // each try on a fresh read

    documents.on(TransactWriteCommand).rejects(cancelled('None', 'ConditionalCheckFailed'));
    await expect(take()).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('W0A') }));
    const throttledItem = cancelled('ThrottlingError', 'None');
    documents.on(TransactWriteCommand).rejects(throttledItem);
    await expect(take()).rejects.toBe(throttledItem);
    const noReasons = new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {} });
    documents.on(TransactWriteCommand).rejects(noReasons);
    await expect(take()).rejects.toBe(noReasons);

    documents.reset();
    documents.on(GetCommand).resolves({ Item: { ...LEDGER_KEYS.breaker(), units: [], version: 1 } });
    documents.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    await expect(take()).rejects.toEqual(expect.objectContaining({ name: 'LeaseHeldError', key: expect.stringContaining('breaker') })); // bounded, never a loop forever
    expect(documents.commandCalls(TransactWriteCommand).length).toBeLessThan(20);
  });
});

describe('PollState answers', () => {
  it('reads a missing checkpoint as "never polled"', async () => {
    documents.on(GetCommand).resolves({});
    await expect(new PollState(db, TABLE, clock, async () => undefined).getCheckpoint()).resolves.toEqual({ checkpoint: undefined, pending: undefined, updatedAt: undefined });
    expect(documents.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: TABLE, Key: LEDGER_KEYS.checkpoint(), ConsistentRead: true });
  });

  it('throws a failure to take the poller lease other than "held by another" (a throttled write is no answer)', async () => {
    documents.on(PutCommand).rejects(throttled());
    await expect(new PollState(db, TABLE, clock, async () => undefined).acquireLease('run-1', NOW + 60_000)).rejects.toThrow(/throughput/);
  });

  it('keeps the allow-list last written to Slack, read back strongly consistent; none before the first write', async () => {
    const table = new TableDouble(TABLE);
    table.wire(documents);
    const state = new PollState(db, TABLE, clock, async () => undefined);
    await expect(state.lastWrittenAllowList()).resolves.toBeUndefined();
    await state.saveWrittenAllowList({ cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500] });
    await expect(state.lastWrittenAllowList()).resolves.toEqual({ cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500] });
    expect(table.stored({ ...LEDGER_KEYS.allowList() })).toMatchObject({ writtenAt: NOW });
    expect(documents.commandCalls(GetCommand).every((call) => call.args[0].input.ConsistentRead === true)).toBe(true);
  });

  it('reads a hand-edited allow-list record: sets as lists, a missing list as empty', async () => {
    documents.on(GetCommand).resolves({ Item: { ...LEDGER_KEYS.allowList(), cidrs: new Set(['198.51.100.0/24']) } });
    const state = new PollState(db, TABLE, clock, async () => undefined);
    await expect(state.lastWrittenAllowList()).resolves.toEqual({ cidrs: ['198.51.100.0/24'], asns: [] });
    documents.on(GetCommand).resolves({ Item: { ...LEDGER_KEYS.allowList(), asns: new Set([64500]) } });
    await expect(state.lastWrittenAllowList()).resolves.toEqual({ cidrs: [], asns: [64500] });
  });
});
