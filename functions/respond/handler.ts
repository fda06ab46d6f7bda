import { documentClient, secretsClient, sqsClient } from '../adapters/aws-clients';
import { DecisionLog } from '../adapters/dynamodb/decision-log';
import { ResetGuard } from '../adapters/dynamodb/reset-guard';
import { SqsPublisher } from '../adapters/sqs/queue';
import { DynamoConfigSource } from '../adapters/dynamodb/config-table';
import { loadEnv, respondEnvSchema } from '../runtime/env';
import { withObservability } from '../runtime/sqs-batch-handler';
import { createObservability } from '../runtime/observability';
import { FUNCTIONS } from '../../lib/definitions';
import { SecretsManagerTokens } from '../adapters/slack/tokens';
import { SlackWebApi } from '../adapters/slack/web-api';
import { LedgerPacer } from '../adapters/dynamodb/pacer';
import { invocationTimeLeftMs } from '../runtime/invocation-time';
import { makeRespondHandler } from './app';
import { RespondDirectory } from './respond';

// Once per container: clients, the token cache, the config cache and the directory cache.
const env = loadEnv(respondEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.respond.serviceName);
const db = documentClient();
const sqs = sqsClient();
// Every Slack call waits for its slot in the method's budget, shared with respond's other containers.
const slack = new SlackWebApi({
  tokens: new SecretsManagerTokens(secretsClient(), { admin: env.SLACK_ADMIN_TOKEN_SECRET_ID }),
  apiUrl: env.SLACK_API_URL,
  pacer: new LedgerPacer(db, env.LEDGER_TABLE_NAME, FUNCTIONS.respond.serviceName),
  timeLeftMs: invocationTimeLeftMs,
});

export const handler = withObservability(
  makeRespondHandler({
    deps: {
      config: new DynamoConfigSource(db, env.CONFIG_TABLE_NAME, env.CONFIG_CACHE_SECONDS * 1000),
      decisions: new DecisionLog(db, env.LEDGER_TABLE_NAME, env.LEDGER_RETENTION_DAYS),
      resets: new ResetGuard(db, env.LEDGER_TABLE_NAME),
      slack,
      directory: new RespondDirectory(slack, env.DIRECTORY_CACHE_SECONDS * 1000),
      notifications: new SqsPublisher(sqs, env.NOTIFICATIONS_QUEUE_URL),
      timeLeftMs: invocationTimeLeftMs,
    },
    sqs,
    queueUrl: env.ANOMALIES_QUEUE_URL,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
