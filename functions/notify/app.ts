import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../shared/config/items';
import { RetryLaterError } from '../shared/errors';
import { sqsBatchHandler } from '../shared/lambda';
import { notificationJobSchema } from '../shared/messages';
import { METRIC, MetricUnit } from '../shared/observability';
import { isSlackError } from '../shared/slack/errors';
import { formatIssues } from '../shared/validation';
import { notify, type NotifyDeps } from './notify';

const CONFIG_RETRY_DELAY_SECONDS = 120;
const AUTH_RETRY_DELAY_SECONDS = 300;

export interface NotifyApp {
  deps: Omit<NotifyDeps, 'logger'>;
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  metrics: Metrics;
}

export function makeNotifyHandler(app: NotifyApp) {
  const { logger, metrics } = app;
  const notifyLogger = {
    info: (message: string, attributes: Record<string, unknown> = {}) => logger.info(message, attributes),
    warn: (message: string, attributes: Record<string, unknown> = {}) => logger.warn(message, attributes),
  };
  return sqsBatchHandler(
    async ({ record }) => {
      let json: unknown;
      try {
        json = JSON.parse(record.body);
      } catch {
        json = undefined;
      }
      const parsed = notificationJobSchema.safeParse(json);
      if (!parsed.success) {
        // Only respond writes this queue; a bad job is a bug, kept in the DLQ for a look rather than retried forever.
        metrics.addMetric(METRIC.notificationFailures, MetricUnit.Count, 1);
        logger.error('Notification job is invalid', { messageId: record.messageId, issues: parsed.success ? [] : formatIssues(parsed.error) });
        throw new Error(`Invalid notification job ${record.messageId}`);
      }
      const job = parsed.data;
      logger.appendKeys({ entryId: job.entryId, notificationType: job.type });
      try {
        const result = await notify(job, { ...app.deps, logger: notifyLogger });
        metrics.addMetric(METRIC.notificationsSent, MetricUnit.Count, result.sent.length);
        if (result.failedPermanently.length) metrics.addMetric(METRIC.notificationFailures, MetricUnit.Count, result.failedPermanently.length);
        logger.info('Notification delivered', {
          sent: result.sent.map((d) => `${d.channel}:${d.recipientKey}`),
          skipped: result.skipped,
          failedPermanently: result.failedPermanently.map((d) => `${d.channel}:${d.recipientKey} (${d.code})`),
        });
      } catch (error) {
        throw observeFailure(error, logger, metrics);
      } finally {
        logger.removeKeys(['entryId', 'notificationType']);
      }
    },
    { sqs: app.sqs, queueUrl: app.queueUrl, logger },
  );
}

function observeFailure(error: unknown, logger: Logger, metrics: Metrics): unknown {
  metrics.addMetric(METRIC.notificationFailures, MetricUnit.Count, 1);
  if (error instanceof ConfigError) {
    metrics.addMetric(METRIC.configInvalid, MetricUnit.Count, 1);
    logger.error('Response configuration is invalid: notifications wait until it is fixed', { badFields: error.issues });
    return new RetryLaterError(CONFIG_RETRY_DELAY_SECONDS, error.message, error);
  }
  if (isSlackError(error, 'auth')) {
    metrics.addMetric(METRIC.slackAuthFailures, MetricUnit.Count, 1);
    logger.error('Slack refused a token: fix the token or its scopes in the Slack secret', {
      token: error.token,
      slackError: error.code,
      neededScope: error.extra.needed,
      method: error.method,
    });
    return new RetryLaterError(AUTH_RETRY_DELAY_SECONDS, error.message, error);
  }
  if (!(error instanceof RetryLaterError)) logger.error('Notification failed; unsent deliveries will be retried', { error: error as Error });
  return error;
}
