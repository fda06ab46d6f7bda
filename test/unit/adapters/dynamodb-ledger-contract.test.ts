import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describeLedgerContract, dynamoDbLedger } from '../../support/ledger-contract';
import { TableDouble } from '../../support/table-double';

/**
 * The ledger contract DynamoDB Local holds the adapters to (test/integration/ledger-contract.test.ts),
 * run here without emulators: the same four adapters, their commands answered by a strict
 * in-memory table that evaluates their keys, conditions and updates (test/support/table-double.ts).
 * Fast enough for mutation testing (`npm run mutate`), which leaves out the emulator suites.
 */
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

beforeEach(() => documents.reset());
afterAll(() => documents.restore());

describeLedgerContract('DynamoDB aggregates on the table double (aws-sdk-client-mock)', ['poll', 'decisions', 'resets', 'deliveries'], ({ retentionDays }) => {
  const table = new TableDouble('ledger');
  table.wire(documents);
  return {
    ...dynamoDbLedger(db, 'ledger', retentionDays),
    stored: async (key) => table.stored({ ...key }),
  };
});
