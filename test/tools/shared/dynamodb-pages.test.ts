import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { queryAll, scanAll } from '../../../tools/shared/dynamodb-pages';

const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

beforeEach(() => documents.reset());

describe('paged reads', () => {
  it('scanAll follows LastEvaluatedKey to the last page, keeping the caller’s input', async () => {
    documents
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ id: 'a' }], LastEvaluatedKey: { id: 'a' } })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { id: 'b' } })
      .resolvesOnce({ Items: [{ id: 'c' }] });
    await expect(scanAll(db, { TableName: 't', ProjectionExpression: 'id' })).resolves.toEqual([{ id: 'a' }, { id: 'c' }]);
    const inputs = documents.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(inputs.map((input) => input.ExclusiveStartKey)).toEqual([undefined, { id: 'a' }, { id: 'b' }]);
    expect(inputs.every((input) => input.TableName === 't' && input.ProjectionExpression === 'id')).toBe(true);
  });

  it('queryAll does the same for a Query', async () => {
    documents.on(QueryCommand).resolvesOnce({ Items: [{ n: 1 }], LastEvaluatedKey: { n: 1 } }).resolvesOnce({ Items: [{ n: 2 }] });
    await expect(queryAll(db, { TableName: 't', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'x' } })).resolves.toEqual([{ n: 1 }, { n: 2 }]);
    expect(documents.commandCalls(QueryCommand)).toHaveLength(2);
  });
});
