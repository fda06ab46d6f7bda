import { documentClient, sqsClient } from '../adapters/aws-clients';
import { DecisionLog } from '../adapters/dynamodb/decision-log';
import { LEDGER_KEYS } from '../adapters/dynamodb/keys';
import { SqsPublisher } from '../adapters/sqs/queue';
import { configChangesEnvSchema, loadEnv } from '../runtime/env';
import { withObservability } from '../runtime/sqs-batch-handler';
import { createObservability } from '../runtime/observability';
import { FUNCTIONS } from '../../lib/definitions';
import { makeConfigChangesHandler } from './app';

// Once per container: clients only (this function reads no config and holds no Slack token).
// Its records live under config-change#, the partition its role may write (keys.ts LEDGER_RECORDS).
const env = loadEnv(configChangesEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.configChanges.serviceName);

export const handler = withObservability(
  makeConfigChangesHandler({
    deps: {
      decisions: new DecisionLog(documentClient(), env.LEDGER_TABLE_NAME, env.LEDGER_RETENTION_DAYS, Date.now, LEDGER_KEYS.configChange),
      notifications: new SqsPublisher(sqsClient(), env.NOTIFICATIONS_QUEUE_URL),
    },
    logger,
    metrics,
  }),
  logger,
  metrics,
);
