import type { Logger } from '@aws-lambda-powertools/logger';
import { describeConfigChange, summariseConfigChange, type ConfigChange } from '../domain/config-change';
import type { NotificationJob } from '../domain/messages';
import type { DecisionLog, DecisionRecord } from '../adapters/dynamodb/decision-log';
import type { MessagePublisher } from '../adapters/sqs/queue';
import { asRetry } from '../runtime/retry-policy';
import { parseStreamRecord } from './stream-record';

export interface ConfigChangeDeps {
  /** The response log: each stream record claimed once, then recorded. */
  decisions: Pick<DecisionLog, 'claimEntry' | 'releaseEntry' | 'completeDecision' | 'markNotificationQueued'>;
  notifications: MessagePublisher;
  logger?: Pick<Logger, 'info' | 'warn'>;
  leaseMs?: number;
}

export type ConfigChangeOutcome =
  | { kind: 'recorded'; entryId: string; change: ConfigChange }
  | { kind: 'duplicate'; entryId: string }
  /** A write that changed nothing (npm run seed rewrites every item): not a change, not told. */
  | { kind: 'unchanged'; entryId: string; itemId: string }
  | { kind: 'rejected'; entryId: string; issues: string[] };

/** The response log's id of a stream record: a redelivered record has the same eventID, so it is recorded once. */
export function configChangeEntryId(eventId: string): string {
  return `config-change-${eventId}`;
}

/**
 * Record one change to the config table in the response log (item, before → after, when, who if
 * the stream says) and queue its notification (config_changed) to the security admins. The flow:
 * parse → claim → describe (pure) → record → queue the notification. Throws only for what a
 * retry can fix (AWS errors); a record it cannot read is recorded as rejected, and told too: a
 * change nobody can read must not pass unnoticed.
 */
export async function recordConfigChange(raw: unknown, deps: ConfigChangeDeps): Promise<ConfigChangeOutcome> {
  const parsed = parseStreamRecord(raw);
  if (parsed.ok) {
    const described = describeConfigChange(parsed.record.before, parsed.record.after);
    if (described.kind === 'changed' && described.changes.length === 0) {
      return { kind: 'unchanged', entryId: configChangeEntryId(parsed.record.eventId), itemId: described.itemId };
    }
  }
  const entryId = configChangeEntryId(parsed.ok ? parsed.record.eventId : (parsed.eventId ?? parsed.sequenceNumber ?? 'unknown'));
  const claim = await deps.decisions.claimEntry(entryId, deps.leaseMs ?? 60_000);
  if (!claim.claimed) {
    await finishNotification(deps, claim.existing);
    return { kind: 'duplicate', entryId };
  }
  try {
    if (!parsed.ok) {
      const change = { itemId: '(unreadable stream record)', kind: 'changed' as const, changes: [], warnings: parsed.issues.slice(0, 5) };
      const record = await deps.decisions.completeDecision({
        entryId,
        entityType: 'config',
        decision: 'rejected',
        reason: 'config_changed',
        outcome: 'rejected',
        detail: parsed.issues.join('; ').slice(0, 2000),
        notification: 'config_changed',
        notificationQueued: false,
        notificationJob: job(entryId, Math.floor(Date.now() / 1000), change, undefined) as unknown as Record<string, unknown>,
      });
      await finishNotification(deps, record);
      deps.logger?.warn('Config stream record rejected', { entryId, issues: parsed.issues });
      return { kind: 'rejected', entryId, issues: parsed.issues };
    }
    const { record: change } = parsed;
    const described = describeConfigChange(change.before, change.after);
    const record = await deps.decisions.completeDecision({
      entryId,
      entityType: 'config',
      occurredAt: change.occurredAt,
      decision: 'recorded',
      reason: 'config_changed',
      outcome: described.kind,
      detail: summariseConfigChange(described).slice(0, 2000),
      configChange: { ...described, ...(change.changedBy ? { changedBy: change.changedBy } : {}) },
      notification: 'config_changed',
      notificationQueued: false,
      notificationJob: job(entryId, change.occurredAt, described, change.changedBy) as unknown as Record<string, unknown>,
    });
    await finishNotification(deps, record);
    const log = described.warnings.length ? deps.logger?.warn.bind(deps.logger) : deps.logger?.info.bind(deps.logger);
    log?.('Config change recorded', { entryId, itemId: described.itemId, kind: described.kind, warnings: described.warnings });
    return { kind: 'recorded', entryId, change: described };
  } catch (error) {
    await deps.decisions.releaseEntry(entryId).catch(() => undefined);
    throw asRetry(error);
  }
}

function job(entryId: string, occurredAt: number, change: ConfigChange, changedBy: string | undefined): NotificationJob {
  return {
    entryId,
    type: 'config_changed',
    occurredAt,
    configChange: { ...change, ...(changedBy ? { changedBy } : {}) },
    events: [],
    otherReasons: [],
    context: {},
    response: { outcome: 'recorded' },
  };
}

/** Queue the record's notification once; a retry after a crash re-sends it (notify de-duplicates). */
async function finishNotification(deps: ConfigChangeDeps, record: DecisionRecord): Promise<void> {
  if (!record.notificationJob || record.notificationQueued) return;
  await deps.notifications.publish([{ id: record.entryId, body: record.notificationJob }]);
  await deps.decisions.markNotificationQueued(record.entryId);
}
