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
});
