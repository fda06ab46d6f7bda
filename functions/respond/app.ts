import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { asRetry, reportFailure } from '../runtime/retry-policy';
import { sqsBatchHandler } from '../runtime/sqs-batch-handler';
import { METRIC, MetricUnit } from '../runtime/observability';
import { respondToMessage, type RespondDeps } from './respond';

export interface RespondApp {
  deps: RespondDeps;
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  metrics: Metrics;
}

export function makeRespondHandler(app: RespondApp) {
  const { logger, metrics } = app;
  return sqsBatchHandler(
    async ({ record }) => {
      const entryId = peekEntryId(record.body);
      logger.appendKeys({ entryId, messageId: record.messageId });
      try {
        const outcome = await respondToMessage(record.body, { ...app.deps, logger });
        if (outcome.kind === 'rejected') metrics.addMetric(METRIC.entriesRejected, MetricUnit.Count, 1);
        if (outcome.kind === 'duplicate') logger.info('Entry already handled; skipped', { outcome: outcome.outcome });
        if (outcome.kind === 'decided') {
          metrics.addMetric(`${METRIC.decisions}_${outcome.decision.action}`, MetricUnit.Count, 1);
          if (outcome.outcome.kind === 'sessions_ended') metrics.addMetric(METRIC.sessionsEnded, MetricUnit.Count, 1);
          if (outcome.outcome.kind === 'reset_refused') metrics.addMetric(METRIC.actionFailures, MetricUnit.Count, 1);
        }
      } catch (error) {
        reportFailure(error, { logger, metrics, failureMetric: METRIC.actionFailures, holding: 'no sessions are ended' });
        throw asRetry(error);
      } finally {
        logger.removeKeys(['entryId', 'messageId']);
      }
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
