import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../shared/config/items';
import { RetryLaterError } from '../shared/errors';
import { sqsBatchHandler } from '../shared/lambda';
import { METRIC, MetricUnit } from '../shared/observability';
import { SlackError } from '../shared/slack/errors';
import { respondToMessage, type RespondDeps } from './respond';

/** An invalid configuration is retried at this pace until someone fixes it (then the DLQ). */
const CONFIG_RETRY_DELAY_SECONDS = 120;

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
          if (outcome.outcome === 'sessions_ended') metrics.addMetric(METRIC.sessionsEnded, MetricUnit.Count, 1);
          if (outcome.outcome.startsWith('failed:')) metrics.addMetric(METRIC.actionFailures, MetricUnit.Count, 1);
        }
      } catch (error) {
        throw observeFailure(error, logger, metrics);
      } finally {
        logger.removeKeys(['entryId', 'messageId']);
      }
    },
    { sqs: app.sqs, queueUrl: app.queueUrl, logger },
  );
}

function observeFailure(error: unknown, logger: Logger, metrics: Metrics): unknown {
  if (error instanceof ConfigError) {
    metrics.addMetric(METRIC.configInvalid, MetricUnit.Count, 1);
    logger.error('Response configuration is invalid: no sessions are ended until it is fixed', { badFields: error.issues });
    return new RetryLaterError(CONFIG_RETRY_DELAY_SECONDS, error.message, error);
  }
  if (error instanceof RetryLaterError && error.cause instanceof SlackError && error.cause.kind === 'auth') {
    metrics.addMetric(METRIC.slackAuthFailures, MetricUnit.Count, 1);
  } else if (!(error instanceof RetryLaterError)) {
    metrics.addMetric(METRIC.actionFailures, MetricUnit.Count, 1);
    logger.error('Anomaly handling failed; the message will be retried', { error: error as Error });
  }
  return error;
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
