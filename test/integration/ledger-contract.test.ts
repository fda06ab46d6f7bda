import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../functions/adapters/dynamodb/deliveries';
import { PollState } from '../../functions/adapters/dynamodb/poll-state';
import { ResetGuard } from '../../functions/adapters/dynamodb/reset-guard';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';
import { InMemoryLedger } from '../support/in-memory-ledger';
import { describeLedgerContract } from '../support/ledger-contract';
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
  let now = 0;
  const clock = () => now;
  const poll = new PollState(c.documents, t, clock, async () => undefined);
  const decisions = new DecisionLog(c.documents, t, retentionDays, clock);
  const resets = new ResetGuard(c.documents, t, clock);
  const deliveries = new Deliveries(c.documents, t, retentionDays, clock);
  return {
    ledger: {
      getCheckpoint: poll.getCheckpoint.bind(poll),
      saveCheckpoint: poll.saveCheckpoint.bind(poll),
      filterUnseen: poll.filterUnseen.bind(poll),
      markSeen: poll.markSeen.bind(poll),
      acquireLease: poll.acquireLease.bind(poll),
      releaseLease: poll.releaseLease.bind(poll),
      claimEntry: decisions.claimEntry.bind(decisions),
      releaseEntry: decisions.releaseEntry.bind(decisions),
      completeDecision: decisions.completeDecision.bind(decisions),
      recordIfNew: decisions.recordIfNew.bind(decisions),
      markNotificationQueued: decisions.markNotificationQueued.bind(decisions),
      claimReset: resets.claimReset.bind(resets),
      markResetDone: resets.markResetDone.bind(resets),
      releaseReset: resets.releaseReset.bind(resets),
      consumeResetBudget: resets.consumeResetBudget.bind(resets),
      refundResetBudget: resets.refundResetBudget.bind(resets),
      recordExternalReset: resets.recordExternalReset.bind(resets),
      claimDelivery: deliveries.claimDelivery.bind(deliveries),
      markDelivered: deliveries.markDelivered.bind(deliveries),
      releaseDelivery: deliveries.releaseDelivery.bind(deliveries),
    },
    setNow: (ms) => (now = ms),
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
