import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DecisionLog } from '../../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../../functions/adapters/dynamodb/deliveries';
import { Digests } from '../../../functions/adapters/dynamodb/digests';
import { LedgerPacer } from '../../../functions/adapters/dynamodb/pacer';
import { LEDGER_KEYS, LEDGER_RECORDS, ledgerPartitionsOf, PACER_KEYS, type LedgerWriter, type SlackCaller } from '../../../functions/adapters/dynamodb/keys';
import { PollState } from '../../../functions/adapters/dynamodb/poll-state';
import { ResetGuard } from '../../../functions/adapters/dynamodb/reset-guard';

/**
 * IAM holds each function to the partition keys of its own records (dynamodb:LeadingKeys,
 * lib/stateless-stack.ts, from LEDGER_RECORDS). DynamoDB Local does not enforce IAM, so this
 * checks here that every key each adapter touches is one its function's role may touch, and
 * that no other function's role may.
 */
const WRITERS: LedgerWriter[] = ['poll-audit-logs', 'respond', 'notify', 'config-changes'];

/** IAM StringLike: `*` matches any run of characters, `?` any one. */
function stringLike(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}
const mayTouch = (writer: LedgerWriter, pk: string) => ledgerPartitionsOf(writer).some((pattern) => stringLike(pattern, pk));

describe('ledger records and their owners', () => {
  // Attacker-influenced ids (audit entry ids, user ids) end up in keys: none may reach another owner's partitions.
  const hostileIds = ['E1', 'poller', 'breaker', '*', 'seen#x', 'delivery#x', 'config-change#x', '../entry#', '', '#'];

  test.each(Object.keys(LEDGER_KEYS) as (keyof typeof LEDGER_KEYS)[])('%s records: under their owner\u2019s partitions only, whatever the id', (kind) => {
    const { writer } = LEDGER_RECORDS[kind];
    for (const id of hostileIds) {
      const { pk } = (LEDGER_KEYS[kind] as (...args: string[]) => { pk: string })(id, id);
      expect(WRITERS.filter((candidate) => mayTouch(candidate, pk))).toEqual([writer]);
    }
  });

  test.each(WRITERS)('%s: each partition pattern once, in sorted order (the synthesized policy does not change with the order records are declared in)', (writer) => {
    const partitions = ledgerPartitionsOf(writer);
    expect(partitions).toEqual([...new Set(partitions)].sort());
  });
});

describe('every key an adapter touches belongs to the function that uses it', () => {
  const documents = mockClient(DynamoDBDocumentClient);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const noSleep = async () => undefined;

  beforeEach(() => {
    documents.reset();
    documents.onAnyCommand().resolves({});
  });

  /** The partition key of every item any command sent named, through Key, Item, batches and transactions. */
  function touchedPartitions(): string[] {
    const pks: string[] = [];
    const visit = (value: unknown, parentKey?: string): void => {
      if (Array.isArray(value)) return value.forEach((item) => visit(item, parentKey));
      if (!value || typeof value !== 'object') return;
      const record = value as Record<string, unknown>;
      if ((parentKey === 'Key' || parentKey === 'Item' || parentKey === 'Keys') && typeof record.pk === 'string') pks.push(record.pk);
      for (const [key, child] of Object.entries(record)) visit(child, key);
    };
    for (const call of documents.calls()) visit((call.args[0] as { input: unknown }).input);
    return pks;
  }

  const expectOwnedBy = (writer: LedgerWriter) => {
    const pks = touchedPartitions();
    // Every kind of record the adapter writes shows up (batch keys and transaction items included).
    expect(pks.length).toBeGreaterThan(0);
    for (const pk of pks) expect({ pk, writers: WRITERS.filter((candidate) => mayTouch(candidate, pk)) }).toEqual({ pk, writers: [writer] });
  };

  test('PollState (the poller)', async () => {
    const state = new PollState(db, 'ledger', () => 0, noSleep);
    await state.getCheckpoint();
    await state.saveCheckpoint({ checkpoint: 1 });
    await state.acquireLease('run-1', 90_000);
    await state.releaseLease('run-1');
    await state.filterUnseen(['E1', 'E2']);
    await state.markSeen(['E1'], 3600);
    expectOwnedBy('poll-audit-logs');
  });

  test('DecisionLog and ResetGuard (respond)', async () => {
    const decisions = new DecisionLog(db, 'ledger', 400, () => 0);
    await decisions.claimEntry('E1', 1000);
    await decisions.getDecision('E1');
    await decisions.completeDecision({ entryId: 'E1' });
    await decisions.markNotificationQueued('E1');
    await decisions.releaseEntry('E1');
    const resets = new ResetGuard(db, 'ledger', () => 0);
    await resets.claimReset('U1', 'E1', 30);
    await resets.markResetDone('U1', 'E1', 30);
    await resets.releaseReset('U1', 'E1');
    await resets.consumeResetBudget(25);
    await resets.consumeResetBudget(25, { userId: 'U1', entryId: 'E1' });
    await resets.refundResetBudget();
    expectOwnedBy('respond');
  });

  test('DecisionLog over config-change# (config-changes)', async () => {
    const changes = new DecisionLog(db, 'ledger', 400, () => 0, LEDGER_KEYS.configChange);
    await changes.claimEntry('config-change-e1', 1000);
    await changes.getDecision('config-change-e1');
    await changes.completeDecision({ entryId: 'config-change-e1' });
    await changes.markNotificationQueued('config-change-e1');
    await changes.releaseEntry('config-change-e1');
    expectOwnedBy('config-changes');
  });

  test('Deliveries (notify)', async () => {
    const deliveries = new Deliveries(db, 'ledger', 400, () => 0);
    await deliveries.claimDelivery('E1', 'sessions_ended#email#email:a@example.com', 1000);
    await deliveries.markDelivered('E1', 'sessions_ended#email#email:a@example.com', 'ses:1');
    await deliveries.releaseDelivery('E1', 'sessions_ended#email#email:a@example.com');
    const digests = new Digests(db, 'ledger', () => 0);
    await digests.enter('sessions_ended#0', 'E1', { entryId: 'E1' }, 5);
    await digests.claimFlush('sessions_ended#0');
    await digests.releaseFlush('sessions_ended#0');
    await digests.members('sessions_ended#0');
    expectOwnedBy('notify');
  });

  test.each(Object.keys(PACER_KEYS) as SlackCaller[])('LedgerPacer (%s): its schedules are its own', async (writer) => {
    const pacer = new LedgerPacer(db, 'ledger', writer, () => 0, noSleep);
    await pacer.acquire('chat.postMessage C0ALERTS', { limit: 1, windowMs: 60_000 }, 60_000);
    expectOwnedBy(writer);
  });
});
