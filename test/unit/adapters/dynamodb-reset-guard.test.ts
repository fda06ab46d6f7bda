import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ResetGuard } from '../../../functions/adapters/dynamodb/reset-guard';

// The refund floor against a real condition evaluator is in test/integration/ledger.test.ts.
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const NOW = Date.parse('2026-11-24T10:20:00Z');

beforeEach(() => documents.reset());

describe('ResetGuard.refundResetBudget', () => {
  it('refunds this hour\u2019s counter only while it is above zero, and treats "already zero" as done', async () => {
    documents.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    await expect(new ResetGuard(db, 'ledger', () => NOW).refundResetBudget()).resolves.toBeUndefined();
    const [call] = documents.commandCalls(UpdateCommand);
    const input = call.args[0].input;
    expect(input.Key).toEqual({ pk: 'breaker', sk: '2026-11-24T10' });
    expect(input.ExpressionAttributeValues).toMatchObject({ ':minusOne': -1 });
    expect(input.ConditionExpression).toBeDefined();
  });

  it('lets any other failure through', async () => {
    documents.on(UpdateCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(new ResetGuard(db, 'ledger', () => NOW).refundResetBudget()).rejects.toThrow('ProvisionedThroughputExceeded');
  });
});
