import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';
import { InMemoryLedger } from '../support/in-memory-ledger';
import { describeLedgerContract, dynamoDbLedger } from '../support/ledger-contract';
import { FakeLedger } from '../unit/notify/fakes';

/**
 * The same ledger contract, run against the reference (the four DynamoDB aggregates on DynamoDB
 * Local) and against the fakes the unit tests trust: the in-memory ledger (poll and respond) and
 * notify's FakeLedger (deliveries only). A fake that drifts from DynamoDB fails here.
 */
let clients: LocalClients | undefined;
let table: string | undefined;

async function realTable(): Promise<{ clients: LocalClients; table: string }> {
  if (!clients || !table) {
    clients = createLocalClients(endpointsFromEnv());
    const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `ledger-contract-${Date.now().toString(36)}` });
    table = resources.tables.ledger;
  }
  return { clients, table };
}
afterAll(() => clients?.destroy());

describeLedgerContract('DynamoDB aggregates on DynamoDB Local (the reference)', ['poll', 'decisions', 'resets', 'deliveries'], async ({ retentionDays }) => {
  const { clients: c, table: t } = await realTable();
  return {
    ...dynamoDbLedger(c.documents, t, retentionDays),
    stored: async (key) => (await c.documents.send(new GetCommand({ TableName: t, Key: key, ConsistentRead: true }))).Item,
  };
});

describeLedgerContract('InMemoryLedger (poll and respond unit tests)', ['poll', 'decisions', 'resets'], ({ retentionDays }) => {
  let now = 0;
  const ledger = new InMemoryLedger(() => now, retentionDays);
  return { ledger, setNow: (ms) => (now = ms), stored: async (key) => ledger.stored(key) };
});

describeLedgerContract("notify's FakeLedger (deliveries)", ['deliveries'], ({ retentionDays }) => {
  const ledger = new FakeLedger(retentionDays);
  return { ledger, setNow: (ms) => (ledger.now = ms), stored: async (key) => ledger.stored(key) };
});
