import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { batchGet, batchWrite } from '../../../functions/adapters/dynamodb/dynamodb-helpers';

/** What DynamoDB leaves unprocessed (throttling, the 16 MB limit) must be sent again, and never silently dropped. */
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const TABLE = 'ledger';
const noSleep = jest.fn(async () => undefined);

const put = (id: string) => ({ PutRequest: { Item: { pk: `seen#${id}`, sk: '-' } } });
const key = (id: string) => ({ pk: `seen#${id}`, sk: '-' });

beforeEach(() => {
  documents.reset();
  noSleep.mockClear();
});

describe('batchWrite', () => {
  it('re-sends exactly the writes DynamoDB left unprocessed, until none is left', async () => {
    documents
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [put('b'), put('c')] } })
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [put('c')] } })
      .resolvesOnce({ UnprocessedItems: {} });
    await batchWrite(db, TABLE, [put('a'), put('b'), put('c')], noSleep);

    const sent = documents.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]);
    expect(sent).toEqual([[put('a'), put('b'), put('c')], [put('b'), put('c')], [put('c')]]);
    expect(noSleep).toHaveBeenCalledTimes(2); // a backoff before each re-send
  });

  it('fails, naming what was left, when DynamoDB keeps leaving writes unprocessed past the retry limit', async () => {
    documents.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [put('x')] } });
    await expect(batchWrite(db, TABLE, [put('x'), put('y')], noSleep)).rejects.toThrow(/1 ledger writes unprocessed/);
    const calls = documents.commandCalls(BatchWriteCommand).length;
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(20); // bounded, not a loop forever
  });

  it('retries unprocessed writes 8 times (the documented bound) before it fails', async () => {
    const leftover = { UnprocessedItems: { [TABLE]: [put('x')] } };
    const eightTimes = documents.on(BatchWriteCommand);
    for (let i = 0; i < 8; i++) eightTimes.resolvesOnce(leftover);
    eightTimes.resolves({});
    await expect(batchWrite(db, TABLE, [put('x')], noSleep)).resolves.toBeUndefined();
    expect(documents.commandCalls(BatchWriteCommand)).toHaveLength(9);

    documents.reset();
    documents.on(BatchWriteCommand).resolves(leftover);
    await expect(batchWrite(db, TABLE, [put('x')], noSleep)).rejects.toThrow(/unprocessed/);
    expect(documents.commandCalls(BatchWriteCommand)).toHaveLength(9);
  });

  it('writes in chunks of 25', async () => {
    documents.on(BatchWriteCommand).resolves({});
    await batchWrite(db, TABLE, Array.from({ length: 30 }, (_, i) => put(`n${i}`)), noSleep);
    expect(documents.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]?.length)).toEqual([25, 5]);
  });
});

describe('batchGet', () => {
  it('re-asks for exactly the keys DynamoDB left unprocessed, and returns the items of every round', async () => {
    documents
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [{ pk: 'seen#a' }] }, UnprocessedKeys: { [TABLE]: { Keys: [key('b'), key('c')] } } })
      .resolvesOnce({ Responses: { [TABLE]: [{ pk: 'seen#c' }] }, UnprocessedKeys: {} });
    const found = await batchGet(db, TABLE, [key('a'), key('b'), key('c')], 'pk', noSleep);

    expect(found).toEqual([{ pk: 'seen#a' }, { pk: 'seen#c' }]);
    const asked = documents.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]);
    expect(asked.map((request) => request?.Keys)).toEqual([[key('a'), key('b'), key('c')], [key('b'), key('c')]]);
    expect(asked.every((request) => request?.ConsistentRead === true && request.ProjectionExpression === 'pk')).toBe(true);
    expect(noSleep).toHaveBeenCalledTimes(1);
  });

  it('retries unprocessed keys 8 times (the documented bound) before it fails', async () => {
    const leftover = { Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [key('a')] } } };
    const eightTimes = documents.on(BatchGetCommand);
    for (let i = 0; i < 8; i++) eightTimes.resolvesOnce(leftover);
    eightTimes.resolves({ Responses: { [TABLE]: [{ pk: 'seen#a' }] } });
    await expect(batchGet(db, TABLE, [key('a')], 'pk', noSleep)).resolves.toEqual([{ pk: 'seen#a' }]);
    expect(documents.commandCalls(BatchGetCommand)).toHaveLength(9);
  });

  it('reads in chunks of 100 (DynamoDB refuses more keys per request)', async () => {
    documents.on(BatchGetCommand).callsFake(async (input) => ({ Responses: { [TABLE]: input.RequestItems[TABLE].Keys.map((k: { pk: string }) => ({ pk: k.pk })) } }));
    const keys = Array.from({ length: 130 }, (_, i) => key(`n${i}`));
    const found = await batchGet(db, TABLE, keys, 'pk', noSleep);
    expect(documents.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems?.[TABLE]?.Keys)).toEqual([keys.slice(0, 100), keys.slice(100)]);
    expect(found.map((item) => item.pk)).toEqual(keys.map((k) => k.pk));
  });

  it('fails when DynamoDB keeps leaving keys unprocessed past the retry limit (an unread key is not "unseen")', async () => {
    documents.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [key('a')] } } });
    await expect(batchGet(db, TABLE, [key('a')], 'pk', noSleep)).rejects.toThrow(/1 ledger reads unprocessed/);
    const calls = documents.commandCalls(BatchGetCommand).length;
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(20);
  });
});
