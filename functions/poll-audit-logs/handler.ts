import { documentClient, secretsClient, sqsClient } from '../shared/aws/clients';
import { Ledger } from '../shared/aws/ledger';
import { SqsPublisher } from '../shared/aws/queue';
import { loadEnv, pollerEnvSchema } from '../shared/env';
import { withObservability } from '../shared/lambda';
import { createObservability } from '../shared/observability';
import { AuditLogsClient } from '../shared/slack/audit-logs-client';
import { SecretsManagerTokens } from '../shared/slack/tokens';
import { makePollHandler } from './app';

// Everything below runs once per container: clients and caches are reused across invocations.
const env = loadEnv(pollerEnvSchema);
const { logger, metrics } = createObservability('poll-audit-logs');
const tokens = new SecretsManagerTokens(secretsClient(), env.SLACK_SECRET_ID);

export const handler = withObservability(
  makePollHandler({
    deps: {
      audit: new AuditLogsClient({ tokens, baseUrl: env.SLACK_AUDIT_API_URL }),
      ledger: new Ledger(documentClient(), env.LEDGER_TABLE_NAME, env.LEDGER_RETENTION_DAYS),
      publisher: new SqsPublisher(sqsClient(), env.ANOMALIES_QUEUE_URL),
      settings: {
        overlapSeconds: env.POLL_OVERLAP_SECONDS,
        initialLookbackSeconds: env.POLL_INITIAL_LOOKBACK_SECONDS,
        pageLimit: env.POLL_PAGE_LIMIT,
        seenRetentionSeconds: env.SEEN_RETENTION_HOURS * 3600,
        safetyMarginMs: 10_000,
        transientRetries: 2,
      },
    },
    rounds: env.POLL_ROUNDS,
    intervalMs: env.POLL_INTERVAL_SECONDS * 1000,
    logger,
    metrics,
  }),
  logger,
  metrics,
);
