import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { asRetry, reportFailure } from '../runtime/retry-policy';
import { sqsWholeBatchHandler } from '../runtime/sqs-batch-handler';
import { METRIC, MetricUnit } from '../runtime/observability';
import { respondToBatch, type RespondDeps } from './respond';

export interface RespondApp {
  deps: RespondDeps;
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  metrics: Metrics;
}

/** The whole batch at once: respondToBatch signs everyone it ends out with as few Slack calls as it can. */
export function makeRespondHandler(app: RespondApp) {
  const { logger, metrics } = app;
  return sqsWholeBatchHandler(
    async (records) => {
      const results = await respondToBatch(
        records.map((r) => r.body),
        { ...app.deps, logger },
      );
      return results.map((result, i) => {
        const record = records[i];
        if (!result.ok) {
          const entryId = peekEntryId(record.body);
          logger.appendKeys({ entryId, messageId: record.messageId });
          try {
            reportFailure(result.error, { logger, metrics, failureMetric: METRIC.actionFailures, holding: 'no sessions are ended' });
          } finally {
            logger.removeKeys(['entryId', 'messageId']);
          }
          return asRetry(result.error);
        }
        const outcome = result.outcome;
        if (outcome.kind === 'rejected') metrics.addMetric(METRIC.entriesRejected, MetricUnit.Count, 1);
        if (outcome.kind === 'duplicate') logger.info('Entry already handled; skipped', { entryId: outcome.entryId, outcome: outcome.outcome });
        if (outcome.kind === 'decided') {
          metrics.addMetric(`${METRIC.decisions}_${outcome.decision.action}`, MetricUnit.Count, 1);
          if (outcome.outcome.kind === 'sessions_ended') metrics.addMetric(METRIC.sessionsEnded, MetricUnit.Count, 1);
          if (outcome.outcome.kind === 'reset_refused') metrics.addMetric(METRIC.actionFailures, MetricUnit.Count, 1);
        }
        return undefined;
      });
    },
    { sqs: app.sqs, queueUrl: app.queueUrl, logger },
  );
}

/** The entry id for log correlation, before validation (which may reject the entry). */
function peekEntryId(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { entry?: { id?: unknown } })?.entry?.id;
    return typeof id === 'string' ? id.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
