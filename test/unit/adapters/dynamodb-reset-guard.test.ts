import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ResetGuard } from '../../../functions/adapters/dynamodb/reset-guard';
import { LeaseHeldError } from '../../../functions/domain/errors';

// The window's semantics against a real condition evaluator are in the ledger contract
// (test/support/ledger-contract.ts, run on DynamoDB Local) and test/integration/ledger.test.ts.
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const NOW = Date.parse('2026-11-24T10:20:00Z');
const moved = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

beforeEach(() => documents.reset());

describe('ResetGuard budget window writes', () => {
  it('refunds the newest unit, written only over the version it read', async () => {
    documents.on(GetCommand).resolves({ Item: { pk: 'breaker', sk: 'window', units: [NOW - 7200_000, NOW - 60_000, NOW - 1000], version: 7 } });
    documents.on(PutCommand).resolves({});
    await new ResetGuard(db, 'ledger', () => NOW).refundResetBudget();
    const [put] = documents.commandCalls(PutCommand).map((c) => c.args[0].input);
    // The unit older than an hour is dropped; the newest is the one given back.
    expect(put.Item).toMatchObject({ pk: 'breaker', sk: 'window', units: [NOW - 60_000], version: 8 });
    expect(put).toMatchObject({ ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': 7 } });
  });

  it('gives back nothing for a refund of no units: the window is not written (a write would make concurrent takers read again)', async () => {
    documents.on(GetCommand).resolves({ Item: { pk: 'breaker', sk: 'window', units: [NOW - 60_000, NOW - 1000], version: 7 } });
    documents.on(PutCommand).resolves({});
    await new ResetGuard(db, 'ledger', () => NOW).refundResetBudget(0);
    expect(documents.commandCalls(PutCommand)).toEqual([]);
  });

  it('reads again when another invocation wrote the window first, and takes the last unit only once', async () => {
    documents
      .on(GetCommand)
      .resolvesOnce({ Item: { pk: 'breaker', sk: 'window', units: [NOW - 1000], version: 1 } })
      .resolves({ Item: { pk: 'breaker', sk: 'window', units: [NOW - 1000, NOW - 500], version: 2 } });
    documents.on(PutCommand).rejectsOnce(moved()).resolves({});
    // Limit 2: the first read sees room, but someone else took it; the re-read sees it spent.
    await expect(new ResetGuard(db, 'ledger', () => NOW).consumeResetBudget(2)).resolves.toBe(false);
    expect(documents.commandCalls(PutCommand)).toHaveLength(1);
  });

  it('gives up after repeated conflicts with LeaseHeldError (the message is retried later), and lets other failures through', async () => {
    documents.on(GetCommand).resolves({});
    documents.on(PutCommand).rejects(moved());
    await expect(new ResetGuard(db, 'ledger', () => NOW).consumeResetBudget(5)).rejects.toBeInstanceOf(LeaseHeldError);
    expect(documents.commandCalls(PutCommand)[0].args[0].input).toMatchObject({ ConditionExpression: 'attribute_not_exists(pk)' });
    documents.reset();
    documents.on(GetCommand).resolves({ Item: { units: [NOW], version: 1 } });
    documents.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(new ResetGuard(db, 'ledger', () => NOW).refundResetBudget()).rejects.toThrow('ProvisionedThroughputExceeded');
  });

  const windowItem = (units: number[], version: number) => ({ Item: { pk: 'breaker', sk: 'window', units, version } });
  const conflict = () => Object.assign(new Error('Transaction is ongoing for the item'), { name: 'TransactionConflictException' });

  it('counts a unit for exactly one hour: one taken an hour ago no longer counts, one taken a millisecond later still does', async () => {
    documents.on(PutCommand).resolves({});
    documents.on(GetCommand).resolves(windowItem([NOW - 3600_000], 4));
    await expect(new ResetGuard(db, 'ledger', () => NOW).consumeResetBudget(1)).resolves.toBe(true);
    documents.on(GetCommand).resolves(windowItem([NOW - 3599_999], 4));
    await expect(new ResetGuard(db, 'ledger', () => NOW).consumeResetBudget(1)).resolves.toBe(false);
    expect(documents.commandCalls(PutCommand)).toHaveLength(1); // only the first took a unit
  });

  it('writes the window it took from: the units still counting plus this one, in time order, a new version, kept two hours', async () => {
    documents.on(GetCommand).resolves(windowItem([NOW - 1000, NOW - 7200_000, NOW - 60_000], 4));
    documents.on(PutCommand).resolves({});
    await expect(new ResetGuard(db, 'ledger', () => NOW).consumeResetBudget(5)).resolves.toBe(true);
    const [put] = documents.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(put.Item).toEqual({ pk: 'breaker', sk: 'window', units: [NOW - 60_000, NOW - 1000, NOW], version: 5, expiresAt: Math.floor(NOW / 1000) + 2 * 3600 });
    expect(put).toMatchObject({ TableName: 'ledger', ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': 4 } });
    // Read strongly consistent: a stale window would let two invocations take the last unit.
    expect(documents.commandCalls(GetCommand)[0].args[0].input).toEqual({ TableName: 'ledger', Key: { pk: 'breaker', sk: 'window' }, ConsistentRead: true });
  });

  it('reads again when a concurrent transaction holds the window (TransactionConflict), like a lost condition', async () => {
    documents.on(GetCommand).resolvesOnce(windowItem([], 1)).resolves(windowItem([NOW - 500], 2));
    documents.on(PutCommand).rejectsOnce(conflict()).resolves({});
    await expect(new ResetGuard(db, 'ledger', () => NOW).consumeResetBudget(5)).resolves.toBe(true);
    const puts = documents.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts[1]).toMatchObject({ Item: { units: [NOW - 500, NOW], version: 3 }, ExpressionAttributeValues: { ':version': 2 } });
  });

  it('refunds on a fresh read when another invocation wrote the window first, giving back one unit only', async () => {
    documents.on(GetCommand).resolvesOnce(windowItem([NOW - 2000], 1)).resolves(windowItem([NOW - 2000, NOW - 1000, NOW - 1000], 2));
    documents.on(PutCommand).rejectsOnce(moved()).resolves({});
    await new ResetGuard(db, 'ledger', () => NOW).refundResetBudget();
    const puts = documents.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    // Of two units taken at the same moment, one is given back.
    expect(puts[1]).toMatchObject({ Item: { units: [NOW - 2000, NOW - 1000], version: 3 }, ExpressionAttributeValues: { ':version': 2 } });
  });

  it('writes nothing to refund from an empty window, and gives up a refund after repeated conflicts with the conflict itself', async () => {
    documents.on(GetCommand).resolves(windowItem([NOW - 7200_000], 3)); // only a unit no longer counting
    await new ResetGuard(db, 'ledger', () => NOW).refundResetBudget();
    expect(documents.commandCalls(PutCommand)).toHaveLength(0);

    documents.on(GetCommand).resolves(windowItem([NOW - 1000], 3));
    const lost = moved();
    documents.on(PutCommand).rejects(lost);
    await expect(new ResetGuard(db, 'ledger', () => NOW).refundResetBudget()).rejects.toBe(lost);
    // Bounded: a handful of tries, each on a fresh read, never a loop forever.
    const tries = documents.commandCalls(PutCommand).length;
    expect(tries).toBeGreaterThan(1);
    expect(tries).toBeLessThan(20);
    expect(documents.commandCalls(GetCommand)).toHaveLength(tries + 1);
  });
});
