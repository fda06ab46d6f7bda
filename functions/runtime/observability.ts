import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export { MetricUnit };

/** One JSON logger and one EMF metrics emitter per function, created once per container. */
export function createObservability(serviceName: string): { logger: Logger; metrics: Metrics } {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SlackAnomalyResponder' });
  return { logger, metrics };
}

/** Metric names, in one place so dashboards and alarms agree with the code. */
export const METRIC = {
  entriesPolled: 'EntriesPolled',
  entriesEnqueued: 'EntriesEnqueued',
  duplicatesDropped: 'DuplicatesDropped',
  checkpointAgeSeconds: 'CheckpointAgeSeconds',
  pollFailures: 'PollFailures',
  decisions: 'Decisions',
  entriesRejected: 'EntriesRejected',
  sessionsEnded: 'SessionsEnded',
  actionFailures: 'ActionFailures',
  configInvalid: 'ConfigInvalid',
  slackAuthFailures: 'SlackAuthFailures',
  notificationsSent: 'NotificationsSent',
  notificationFailures: 'NotificationFailures',
} as const;
