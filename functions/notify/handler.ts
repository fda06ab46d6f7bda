import { documentClient, secretsClient, sesClient, sqsClient } from '../adapters/aws-clients';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Deliveries } from '../adapters/dynamodb/deliveries';
import { Digests } from '../adapters/dynamodb/digests';
import { SesMailer } from '../adapters/ses/mailer';
import { DynamoConfigSource } from '../adapters/dynamodb/config-table';
import { loadEnv, notifyEnvSchema } from '../runtime/env';
import { withObservability } from '../runtime/sqs-batch-handler';
import { createObservability } from '../runtime/observability';
import { FUNCTIONS } from '../../lib/definitions';
import { SecretsManagerTokens } from '../adapters/slack/tokens';
import { SlackWebApi } from '../adapters/slack/web-api';
import { LedgerPacer } from '../adapters/dynamodb/pacer';
import { makeNotifyHandler } from './app';
import { DirectoryCache } from './recipients';

// Once per container: clients, the token cache, the config cache and the directory cache.
const env = loadEnv(notifyEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.notify.serviceName);
const db = documentClient();
const sqs = sqsClient();
// Every Slack call waits for its slot in the method's budget, shared with every other container.
const slack = new SlackWebApi({
  tokens: new SecretsManagerTokens(secretsClient(), env.SLACK_SECRET_ID),
  apiUrl: env.SLACK_API_URL,
  pacer: new LedgerPacer(db, env.LEDGER_TABLE_NAME),
});

export const handler = withObservability(
  makeNotifyHandler({
    deps: {
      config: new DynamoConfigSource(db, env.CONFIG_TABLE_NAME, env.CONFIG_CACHE_SECONDS * 1000),
      directory: new DirectoryCache(slack, env.DIRECTORY_CACHE_SECONDS * 1000),
      slack,
      mailer: new SesMailer(sesClient(), env.SENDER_EMAIL),
      ledger: new Deliveries(db, env.LEDGER_TABLE_NAME, env.LEDGER_RETENTION_DAYS),
      digest: {
        ledger: new Digests(db, env.LEDGER_TABLE_NAME),
        settings: { sendAlone: env.DIGEST_SEND_ALONE, periodSeconds: env.DIGEST_PERIOD_SECONDS },
        // The digest message waits in the queue itself until its period is over (SQS delays up to 15 minutes).
        schedule: async (flush, delaySeconds) => {
          await sqs.send(new SendMessageCommand({ QueueUrl: env.NOTIFICATIONS_QUEUE_URL, MessageBody: JSON.stringify(flush), DelaySeconds: Math.min(900, delaySeconds) }));
        },
      },
    },
    sqs,
    queueUrl: env.NOTIFICATIONS_QUEUE_URL,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
