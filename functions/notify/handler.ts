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
import { invocationTimeLeftMs } from '../runtime/invocation-time';
import { makeNotifyHandler } from './app';
import { DirectoryCache } from './recipients';
import { alertsSchema } from '../domain/config/schema';

// Once per container: clients, the token cache, the config cache and the directory cache.
const env = loadEnv(notifyEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.notify.serviceName);
const db = documentClient();
const sqs = sqsClient();
// Validated like the config item: a bad value stops the cold start with the field's name.
const alertDefaults = alertsSchema.parse({
  orgName: env.ALERT_ORG_NAME || undefined,
  senderName: env.ALERT_SENDER_NAME || undefined,
  replyTo: env.ALERT_REPLY_TO || undefined,
  securityContact: env.ALERT_SECURITY_CONTACT || undefined,
});
// Only the tokens notify uses: a read-only one for recipients, the bot's for messages; not the one that ends sessions.
const tokens = new SecretsManagerTokens(secretsClient(), { directory: env.SLACK_DIRECTORY_TOKEN_SECRET_ID, bot: env.SLACK_BOT_TOKEN_SECRET_ID });
// Every Slack call waits for its slot in the method's budget, shared with notify's other containers.
const slack = new SlackWebApi({ tokens, apiUrl: env.SLACK_API_URL, readToken: 'directory', pacer: new LedgerPacer(db, env.LEDGER_TABLE_NAME, FUNCTIONS.notify.serviceName),
  timeLeftMs: invocationTimeLeftMs,
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
      alertDefaults,
    },
    sqs,
    queueUrl: env.NOTIFICATIONS_QUEUE_URL,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
