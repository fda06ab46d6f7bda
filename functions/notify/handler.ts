import { documentClient, secretsClient, sesClient, sqsClient } from '../shared/aws/clients';
import { Ledger } from '../shared/aws/ledger';
import { SesMailer } from '../shared/aws/mailer';
import { DynamoConfigSource } from '../shared/config/store';
import { loadEnv, notifyEnvSchema } from '../shared/env';
import { withObservability } from '../shared/lambda';
import { createObservability } from '../shared/observability';
import { SecretsManagerTokens } from '../shared/slack/tokens';
import { SlackWebApi } from '../shared/slack/web-api';
import { makeNotifyHandler } from './app';
import { DirectoryCache } from './recipients';

// Once per container: clients, the token cache, the config cache and the directory cache.
const env = loadEnv(notifyEnvSchema);
const { logger, metrics } = createObservability('notify');
const db = documentClient();
const sqs = sqsClient();
const slack = new SlackWebApi({ tokens: new SecretsManagerTokens(secretsClient(), env.SLACK_SECRET_ID), apiUrl: env.SLACK_API_URL });

export const handler = withObservability(
  makeNotifyHandler({
    deps: {
      config: new DynamoConfigSource(db, env.CONFIG_TABLE_NAME, env.CONFIG_CACHE_SECONDS * 1000),
      directory: new DirectoryCache(slack, env.DIRECTORY_CACHE_SECONDS * 1000),
      slack,
      mailer: new SesMailer(sesClient(), env.SENDER_EMAIL),
      ledger: new Ledger(db, env.LEDGER_TABLE_NAME, env.LEDGER_RETENTION_DAYS),
    },
    sqs,
    queueUrl: env.NOTIFICATIONS_QUEUE_URL,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
