import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DecisionLog } from '../../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../../functions/adapters/dynamodb/deliveries';
import { PollState } from '../../../functions/adapters/dynamodb/poll-state';
import { ResetGuard } from '../../../functions/adapters/dynamodb/reset-guard';
import { describeLedgerContract } from '../../support/ledger-contract';
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
  let now = 0;
  const clock = () => now;
  const poll = new PollState(db, 'ledger', clock, async () => undefined);
  const decisions = new DecisionLog(db, 'ledger', retentionDays, clock);
  const resets = new ResetGuard(db, 'ledger', clock);
  const deliveries = new Deliveries(db, 'ledger', retentionDays, clock);
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
    stored: async (key) => table.stored({ ...key }),
  };
});
