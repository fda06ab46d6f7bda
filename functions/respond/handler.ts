import { documentClient, secretsClient, sqsClient } from '../shared/aws/clients';
import { Ledger } from '../shared/aws/ledger';
import { SqsPublisher } from '../shared/aws/queue';
import { DynamoConfigSource } from '../shared/config/store';
import { loadEnv, respondEnvSchema } from '../shared/env';
import { withObservability } from '../shared/lambda';
import { createObservability } from '../shared/observability';
import { SecretsManagerTokens } from '../shared/slack/tokens';
import { SlackWebApi } from '../shared/slack/web-api';
import { makeRespondHandler } from './app';
import { RespondDirectory } from './respond';

// Once per container: clients, the token cache, the config cache and the directory cache.
const env = loadEnv(respondEnvSchema);
const { logger, metrics } = createObservability('respond');
const db = documentClient();
const sqs = sqsClient();
const slack = new SlackWebApi({ tokens: new SecretsManagerTokens(secretsClient(), env.SLACK_SECRET_ID), apiUrl: env.SLACK_API_URL });

export const handler = withObservability(
  makeRespondHandler({
    deps: {
      config: new DynamoConfigSource(db, env.CONFIG_TABLE_NAME, env.CONFIG_CACHE_SECONDS * 1000),
      ledger: new Ledger(db, env.LEDGER_TABLE_NAME, env.LEDGER_RETENTION_DAYS),
      slack,
      directory: new RespondDirectory(slack, env.DIRECTORY_CACHE_SECONDS * 1000),
      notifications: new SqsPublisher(sqs, env.NOTIFICATIONS_QUEUE_URL),
    },
    sqs,
    queueUrl: env.ANOMALIES_QUEUE_URL,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
