import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type ServiceName } from '../../lib/definitions';

export { MetricUnit };

/**
 * One JSON logger and one EMF metrics emitter per function, created once per container.
 * The service name (FUNCTIONS[*].serviceName) and namespace come from lib/definitions.ts, as do
 * those the alarms select on; passed explicitly, they override any POWERTOOLS_* variable.
 */
export function createObservability(serviceName: ServiceName): { logger: Logger; metrics: Metrics } {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ serviceName, namespace: METRICS_NAMESPACE });
  return { logger, metrics };
}

/** Metric names, in one place so dashboards and alarms agree with the code. */
export const METRIC = {
  entriesPolled: 'EntriesPolled',
  entriesEnqueued: 'EntriesEnqueued',
  duplicatesDropped: 'DuplicatesDropped',
  checkpointAgeSeconds: 'CheckpointAgeSeconds',
  pollFailures: 'PollFailures',
  auditWindowsAbandoned: 'AuditWindowsAbandoned',
  decisions: 'Decisions',
  entriesRejected: 'EntriesRejected',
  sessionsEnded: 'SessionsEnded',
  actionFailures: 'ActionFailures',
  configInvalid: 'ConfigInvalid',
  slackAuthFailures: 'SlackAuthFailures',
  notificationsSent: 'NotificationsSent',
  notificationFailures: 'NotificationFailures',
  allowListDrift: 'AllowListDrift',
  allowListSyncFailures: 'AllowListSyncFailures',
  configChanges: 'ConfigChanges',
  /** Changes that weaken the response (a rule off, an exclusion added, dry run on, an item removed). */
  configChangesWeakening: 'ConfigChangesWeakening',
} as const;
