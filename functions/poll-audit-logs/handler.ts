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
import { makePollHandler } from './app';

// Everything below runs once per container: clients and caches are reused across invocations.
const env = loadEnv(pollerEnvSchema);
const { logger, metrics } = createObservability(FUNCTIONS.pollAuditLogs.serviceName);
const tokens = new SecretsManagerTokens(secretsClient(), { audit: env.SLACK_AUDIT_TOKEN_SECRET_ID });
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
    rounds: env.POLL_ROUNDS,
    intervalMs: env.POLL_INTERVAL_SECONDS * 1000,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
