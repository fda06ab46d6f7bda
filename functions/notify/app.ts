import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { asRetry, reportFailure } from '../runtime/retry-policy';
import { sqsBatchHandler } from '../runtime/sqs-batch-handler';
import { digestFlushSchema, notificationJobSchema } from '../domain/messages';
import { METRIC, MetricUnit } from '../runtime/observability';
import { formatIssues } from '../domain/validation';
import { notify, sendDigest, type NotifyDeps } from './notify';

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
      const flush = digestFlushSchema.safeParse(json);
      if (flush.success) {
        const { type, periodStart } = flush.data.digest;
        logger.appendKeys({ digest: `${type}#${periodStart}` });
        try {
          const result = await sendDigest(flush.data, { ...app.deps, logger: notifyLogger });
          metrics.addMetric(METRIC.notificationsSent, MetricUnit.Count, result.sent.length);
          logger.info('Digest delivered', { sent: result.sent.map((d) => `${d.channel}:${d.recipientKey}`), skipped: result.skipped });
        } catch (error) {
          reportFailure(error, { logger, metrics, failureMetric: METRIC.notificationFailures, holding: 'the digest waits' });
          throw asRetry(error);
        } finally {
          logger.removeKeys(['digest']);
        }
        return;
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
        reportFailure(error, { logger, metrics, failureMetric: METRIC.notificationFailures, holding: 'notifications wait' });
        throw asRetry(error);
      } finally {
        logger.removeKeys(['entryId', 'notificationType']);
      }
    },
    { sqs: app.sqs, queueUrl: app.queueUrl, logger },
  );
}
