import { documentClient, secretsClient, sqsClient } from '../adapters/aws-clients';
import { PollState } from '../adapters/dynamodb/poll-state';
import { SqsPublisher } from '../adapters/sqs/queue';
import { loadEnv, pollerEnvSchema } from '../runtime/env';
import { withObservability } from '../runtime/sqs-batch-handler';
import { createObservability } from '../runtime/observability';
import { FUNCTIONS } from '../../lib/definitions';
import { AuditLogsClient } from '../adapters/slack/audit-logs-client';
import { LedgerPacer } from '../adapters/dynamodb/pacer';
import { DynamoConfigSource } from '../adapters/dynamodb/config-table';
import { SecretsManagerTokens } from '../adapters/slack/tokens';
import { IN_RUN_RETRY } from '../runtime/retry-policy';
import { SlackWebApi } from '../adapters/slack/web-api';
import { makePollHandler } from './app';

// Everything below runs once per container: clients and caches are reused across invocations.
const env = loadEnv(pollerEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.pollAuditLogs.serviceName);
// The audit token reads the audit log; the admin token keeps Slack's anomaly allow-list in sync.
const tokens = new SecretsManagerTokens(secretsClient(), { audit: env.SLACK_AUDIT_TOKEN_SECRET_ID, admin: env.SLACK_ADMIN_TOKEN_SECRET_ID });
const db = documentClient();
const pollState = new PollState(db, env.LEDGER_TABLE_NAME);
// The poller's Slack calls wait for their slots in its own schedules, shared by its containers.
const pacer = new LedgerPacer(db, env.LEDGER_TABLE_NAME, FUNCTIONS.pollAuditLogs.serviceName);

export const handler = withObservability(
  makePollHandler({
    deps: {
      // Paced to the audit budget (a fifth of Slack's org-wide Tier 3, shared with the org's SIEM).
      audit: new AuditLogsClient({ tokens, baseUrl: env.SLACK_AUDIT_API_URL, pacer }),
      ledger: pollState,
      publisher: new SqsPublisher(sqsClient(), env.ANOMALIES_QUEUE_URL),
      settings: {
        overlapSeconds: env.POLL_OVERLAP_SECONDS,
        recentOverlapSeconds: env.POLL_RECENT_OVERLAP_SECONDS,
        initialLookbackSeconds: env.POLL_INITIAL_LOOKBACK_SECONDS,
        pageLimit: env.POLL_PAGE_LIMIT,
        seenRetentionSeconds: env.SEEN_RETENTION_HOURS * 3600,
        safetyMarginMs: 10_000,
        transientRetries: IN_RUN_RETRY.pollTransientRetries,
      },
    },
    config: new DynamoConfigSource(db, env.CONFIG_TABLE_NAME, env.CONFIG_CACHE_SECONDS * 1000),
    lease: pollState,
    allowList: {
      config: new DynamoConfigSource(db, env.CONFIG_TABLE_NAME),
      slack: new SlackWebApi({ tokens, apiUrl: env.SLACK_API_URL, pacer }),
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
