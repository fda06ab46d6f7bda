import { documentClient, secretsClient, sqsClient } from '../adapters/aws-clients';
import { PollState } from '../adapters/dynamodb/poll-state';
import { SqsPublisher } from '../adapters/sqs/queue';
import { loadEnv, pollerEnvSchema } from '../runtime/env';
import { withObservability } from '../runtime/sqs-batch-handler';
import { createObservability } from '../runtime/observability';
import { FUNCTIONS } from '../../lib/definitions';
import { AuditLogsClient } from '../adapters/slack/audit-logs-client';
import { SecretsManagerTokens } from '../adapters/slack/tokens';
import { IN_RUN_RETRY } from '../runtime/retry-policy';
import { DynamoConfigSource } from '../adapters/dynamodb/config-table';
import { SlackWebApi } from '../adapters/slack/web-api';
import { makePollHandler } from './app';

// Everything below runs once per container: clients and caches are reused across invocations.
const env = loadEnv(pollerEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.pollAuditLogs.serviceName);
// The audit token reads the audit log; the admin token keeps Slack's anomaly allow-list in sync.
const tokens = new SecretsManagerTokens(secretsClient(), { audit: env.SLACK_AUDIT_TOKEN_SECRET_ID, admin: env.SLACK_ADMIN_TOKEN_SECRET_ID });
const pollState = new PollState(documentClient(), env.LEDGER_TABLE_NAME);

export const handler = withObservability(
  makePollHandler({
    deps: {
      audit: new AuditLogsClient({ tokens, baseUrl: env.SLACK_AUDIT_API_URL }),
      ledger: pollState,
      publisher: new SqsPublisher(sqsClient(), env.ANOMALIES_QUEUE_URL),
      settings: {
        overlapSeconds: env.POLL_OVERLAP_SECONDS,
        initialLookbackSeconds: env.POLL_INITIAL_LOOKBACK_SECONDS,
        pageLimit: env.POLL_PAGE_LIMIT,
        seenRetentionSeconds: env.SEEN_RETENTION_HOURS * 3600,
        safetyMarginMs: 10_000,
        transientRetries: IN_RUN_RETRY.pollTransientRetries,
      },
    },
    lease: pollState,
    allowList: {
      config: new DynamoConfigSource(documentClient(), env.CONFIG_TABLE_NAME),
      slack: new SlackWebApi({ tokens, apiUrl: env.SLACK_API_URL }),
      state: pollState,
    },
    rounds: env.POLL_ROUNDS,
    intervalMs: env.POLL_INTERVAL_SECONDS * 1000,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
