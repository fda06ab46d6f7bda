import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRIC, MetricUnit } from '../runtime/observability';
import { isSlackError } from '../adapters/slack/errors';
import { sleep as realSleep } from '../runtime/time';
import type { PollState } from '../adapters/dynamodb/poll-state';
import { ConfigError } from '../domain/errors';
import { syncAllowList, type AllowListSyncDeps } from './allow-list-sync';
import { pollAuditLog, type PollDeps, type PollResult } from './poll';
import type { ConfigSource } from '../adapters/dynamodb/config-table';
import { parseAuditEntry } from '../domain/audit-entry';
import { mayEndSessions } from '../domain/decision/decide';

/** Which raw entries to enqueue first this run: those whose events end sessions by the current rules. */
async function urgencyOf(app: PollerApp): Promise<((entry: unknown) => boolean) | undefined> {
  if (!app.config) return undefined;
  try {
    const config = await app.config.load();
    return (raw) => {
      const parsed = parseAuditEntry(raw);
      return parsed.ok && mayEndSessions(parsed.entry, config);
    };
  } catch (error) {
    app.logger.warn('Response configuration unavailable: entries are enqueued in page order', { error: (error as Error).message });
    return undefined;
  }
}

/** Held a little past the invocation's deadline, so a slower clock elsewhere cannot start a second poll early. */
const LEASE_MARGIN_MS = 5_000;

export interface PollerApp {
  deps: Omit<PollDeps, 'remainingMs' | 'urgent'>;
  /**
   * The response configuration, to send entries that may end sessions first. Optional, and a
   * configuration that cannot be loaded only costs the ordering: polling never waits on it.
   */
  config?: ConfigSource;
  /** One poller at a time: the lease in the ledger (not reserved concurrency, which low account quotas refuse). */
  lease: Pick<PollState, 'acquireLease' | 'releaseLease'>;
  /** Polls per invocation; one minute is the scheduler's floor, so poll a few times inside it. */
  rounds: number;
  intervalMs: number;
  logger: Logger;
  metrics: Metrics;
  /** trustedNetworks.syncToSlack, checked once per invocation after the polls. */
  allowList?: AllowListSyncDeps;
}

/**
 * The scheduled invocation: several polls spaced `intervalMs` apart while time allows, so
 * anomalies are acted on within seconds, not at the scheduler's one-minute granularity.
 */
export function makePollHandler(app: PollerApp) {
  const now = app.deps.now ?? Date.now;
  const sleep = app.deps.sleep ?? realSleep;
  return async (_event: unknown, context: Context): Promise<{ rounds: PollResult[]; skipped?: true }> => {
    const remainingMs = () => context.getRemainingTimeInMillis();
    const holder = context.awsRequestId;
    if (!(await app.lease.acquireLease(holder, now() + remainingMs() + LEASE_MARGIN_MS))) {
      // Two polls at once would race on the checkpoint. The one running reports the checkpoint age.
      app.logger.info('Another invocation holds the poller lease: this one does not poll');
      return { rounds: [], skipped: true };
    }
    try {
      return await pollRounds(remainingMs);
    } finally {
      await app.lease.releaseLease(holder).catch((error: unknown) => app.logger.warn('Could not release the poller lease; it runs out at this invocation\u2019s deadline', { error: error as Error }));
    }
  };

  async function pollRounds(remainingMs: () => number): Promise<{ rounds: PollResult[] }> {
    const rounds: PollResult[] = [];
    let checkpoint: number | undefined;
    const urgent = await urgencyOf(app);
    try {
      for (let round = 1; round <= app.rounds; round++) {
        // The first round of each run re-reads the whole overlap for late entries; the others only its recent part.
        const result = await pollAuditLog({ ...app.deps, remainingMs, fullOverlap: round === 1, urgent });
        rounds.push(result);
        checkpoint = result.checkpoint;
        app.metrics.addMetric(METRIC.entriesPolled, MetricUnit.Count, result.entriesSeen);
        app.metrics.addMetric(METRIC.entriesEnqueued, MetricUnit.Count, result.enqueued);
        app.metrics.addMetric(METRIC.duplicatesDropped, MetricUnit.Count, result.duplicatesDropped);
        app.logger.info('Audit log polled', { round, ...result });
        if (result.interruptedBy === 'cursor_loop') {
          app.logger.warn('Slack\u2019s audit-log cursor went round in a circle: the window restarts from its first page next run', { window: result.window });
        }
        if (result.abandoned) {
          app.metrics.addMetric(METRIC.auditWindowsAbandoned, MetricUnit.Count, 1);
          app.logger.error('Audit log window given up: Slack\u2019s cursor looped again after a restart. Entries in it may not have been read; newer ones are', {
            abandoned: result.abandoned,
          });
        }
        if (!result.completed) break;
        const settings = app.deps.settings;
        if (round === app.rounds || remainingMs() < app.intervalMs + 2 * settings.safetyMarginMs) break;
        await sleep(app.intervalMs);
      }
    } catch (error) {
      app.metrics.addMetric(METRIC.pollFailures, MetricUnit.Count, 1);
      if (isSlackError(error, 'auth')) {
        app.metrics.addMetric(METRIC.slackAuthFailures, MetricUnit.Count, 1);
        app.logger.error('Slack refused the audit-logs token: fix the token or its scope in the Slack secret', {
          token: error.token,
          slackError: error.code,
          neededScope: error.extra.needed ?? (error.extra.problem ? undefined : 'auditlogs:read'),
          problem: error.extra.problem,
          method: error.method,
        });
      } else {
        app.logger.error('Audit log poll failed; the next run resumes from the saved position', { error: error as Error });
      }
      throw error;
    } finally {
      const saved = checkpoint ?? (await app.deps.ledger.getCheckpoint().catch(() => undefined))?.checkpoint;
      if (saved !== undefined) {
        app.metrics.addMetric(METRIC.checkpointAgeSeconds, MetricUnit.Seconds, Math.max(0, Math.floor(now() / 1000) - saved));
      }
    }
    if (app.allowList) await keepAllowListInSync(app.allowList, app);
    return { rounds };
  }
}

/** One check of Slack's anomaly allow-list (Tier 2: once a minute is well inside it). It never fails the poll. */
async function keepAllowListInSync(deps: AllowListSyncDeps, { logger, metrics }: Pick<PollerApp, 'logger' | 'metrics'>): Promise<void> {
  try {
    const result = await syncAllowList(deps);
    if (result.kind === 'off') return;
    if (result.drift) {
      metrics.addMetric(METRIC.allowListDrift, MetricUnit.Count, 1);
      logger.warn('Slack\u2019s anomaly allow-list was changed in Slack, not in trustedNetworks; the configured list is written back (not in a dry run)', {
        lastWritten: result.drift.lastWritten,
        found: result.drift.found,
        written: result.list,
      });
    }
    if (result.kind === 'updated') logger.info('Slack\u2019s anomaly allow-list updated from trustedNetworks', { list: result.list, notSynced: result.notSynced });
    if (result.kind === 'would_update') logger.info('Dry run: Slack\u2019s anomaly allow-list would be updated from trustedNetworks', { list: result.list });
  } catch (error) {
    // An invalid or unseeded config is respond's ConfigInvalid alarm already; nothing is synced meanwhile.
    if (error instanceof ConfigError) return;
    metrics.addMetric(METRIC.allowListSyncFailures, MetricUnit.Count, 1);
    logger.error('Could not keep Slack\u2019s anomaly allow-list in sync with trustedNetworks; the next run tries again', { error: error as Error });
  }
}
