import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { PollState } from '../../../functions/adapters/dynamodb/poll-state';

const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const TABLE = 'ledger';
const NOW = Date.parse('2026-11-24T10:00:00.750Z');

beforeEach(() => documents.reset());

describe('PollState', () => {
  it('keeps each seen record for the retention asked for: expiresAt = now + retainSeconds (epoch seconds)', async () => {
    documents.on(BatchWriteCommand).resolves({});
    const state = new PollState(db, TABLE, () => NOW, async () => undefined);
    await state.markSeen(['e1', 'e2', 'e1'], 7200);

    const [call] = documents.commandCalls(BatchWriteCommand);
    const items = (call.args[0].input.RequestItems?.[TABLE] ?? []).map((r) => r.PutRequest?.Item);
    expect(items).toEqual([
      { pk: 'seen#e1', sk: '-', expiresAt: Math.floor(NOW / 1000) + 7200 },
      { pk: 'seen#e2', sk: '-', expiresAt: Math.floor(NOW / 1000) + 7200 },
    ]);

    documents.reset();
    documents.on(BatchWriteCommand).resolves({});
    await state.markSeen(['e3'], 60);
    expect(documents.commandCalls(BatchWriteCommand)[0].args[0].input.RequestItems?.[TABLE]?.[0].PutRequest?.Item?.expiresAt).toBe(Math.floor(NOW / 1000) + 60);
  });

  it('re-sends seen records DynamoDB left unprocessed', async () => {
    documents
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: { pk: 'seen#e2', sk: '-', expiresAt: 1 } } }] } })
      .resolvesOnce({});
    const state = new PollState(db, TABLE, () => NOW, async () => undefined);
    await state.markSeen(['e1', 'e2'], 3600);
    expect(documents.commandCalls(BatchWriteCommand)).toHaveLength(2);
  });

  it('counts an entry as seen only when its record was read: unprocessed keys are asked for again', async () => {
    documents
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'seen#e1', sk: '-' }] } } })
      .resolvesOnce({ Responses: { [TABLE]: [{ pk: 'seen#e1' }] } });
    const state = new PollState(db, TABLE, () => NOW, async () => undefined);
    await expect(state.filterUnseen(['e1', 'e2'])).resolves.toEqual(['e2']);
  });
});
