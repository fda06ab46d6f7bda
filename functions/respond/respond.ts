import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { isSessionEventAction, parseAuditEntry, parseSessionEvent, type AnomalyEntry, type SessionEvent } from '../domain/audit-entry';
import type { NotificationType, ResponseConfig } from '../domain/config/schema';
import { applySafety, decide, factsNeeded, type Decision } from '../domain/decision/decide';
import { mustAct, outcomeLabel, outcomeOf, reportResponse, reportSessionEvent, type Outcome, type ResponseReport } from '../domain/decision/response';
import { LeaseHeldError } from '../domain/errors';
import { anomalyMessageSchema, type NotificationJob, type ResponseFacts } from '../domain/messages';
import { formatIssues } from '../domain/validation';
import type { ConfigSource } from '../adapters/dynamodb/config-table';
import type { DecisionLog, DecisionRecord } from '../adapters/dynamodb/decision-log';
import type { ResetGuard } from '../adapters/dynamodb/reset-guard';
import type { MessagePublisher } from '../adapters/sqs/queue';
import { isSlackError } from '../adapters/slack/errors';
import type { SlackApi } from '../adapters/slack/web-api';
import { asRetry } from '../runtime/retry-policy';
import type { RespondDirectory } from './directory';

export { RespondDirectory } from './directory';

export interface RespondDeps {
  config: ConfigSource;
  /** The response log: each entry claimed once, then recorded. */
  decisions: Pick<DecisionLog, 'claimEntry' | 'releaseEntry' | 'completeDecision' | 'markNotificationQueued'>;
  /** The atomic writes that make loop protection and the circuit breaker stick. */
  resets: Pick<ResetGuard, 'claimReset' | 'markResetDone' | 'releaseReset' | 'consumeResetBudget' | 'refundResetBudget' | 'recordExternalReset'>;
  slack: Pick<SlackApi, 'resetSessions'>;
  notifications: MessagePublisher;
  directory: RespondDirectory;
  logger?: Logger;
  /** How long one invocation may hold an entry before another may take it over. */
  leaseMs?: number;
  now?: () => number;
}

export type RespondOutcome =
  | { kind: 'rejected'; entryId: string; issues: string[] }
  | { kind: 'duplicate'; entryId: string; outcome?: string }
  /** Not an anomaly: something else ended sessions or changed Slack's built-in response; recorded. */
  | { kind: 'recorded'; entryId: string; action: SessionEvent['action']; notification?: NotificationType }
  | { kind: 'decided'; entryId: string; decision: Decision; outcome: Outcome; userId?: string; notification?: NotificationType };

/**
 * Handle one anomalies-queue message. The flow of one entry: parse → claim it → gather facts →
 * decide (pure) → act (safety gates, then the reset) → record → queue the notification.
 * Throws only for what a retry can fix (config, Slack availability, rate limits, AWS errors).
 */
export async function respondToMessage(body: string, deps: RespondDeps): Promise<RespondOutcome> {
  const parsed = parseMessage(body);
  if (parsed.ok && 'event' in parsed) return recordSessionEvent(parsed.event, deps);
  if (!parsed.ok) {
    const entryId = parsed.entryId ?? `sha256-${createHash('sha256').update(body).digest('hex')}`;
    return recordRejected(deps, entryId, parsed.issues);
  }
  const entry = parsed.entry;

  // Loaded before claiming, so a broken config holds no lease: the message waits for a fix.
  const config = await deps.config.load();

  const claim = await deps.decisions.claimEntry(entry.id, deps.leaseMs ?? 120_000);
  if (!claim.claimed) {
    await finishNotification(deps, claim.existing);
    return { kind: 'duplicate', entryId: entry.id, outcome: claim.existing.outcome };
  }

  try {
    const decision = decide({ entry, config, ...(await gatherFacts(entry, config, deps.directory)) });
    // A dry run decides and reports everything, and acts on nothing (no reset, no ledger gate).
    const acted = mustAct(decision, config) ? await endSessions(entry, decision, config, deps) : { decision, outcome: outcomeOf(decision, config) };
    const report = reportResponse(acted.decision, acted.outcome, config);
    const record = await recordDecision(deps, entry, acted.decision, report);
    await finishNotification(deps, record);
    deps.logger?.info('Anomaly decided', {
      userId: userIdOf(entry),
      decision: acted.decision.action,
      reason: acted.decision.reason,
      outcome: outcomeLabel(acted.outcome),
      events: acted.decision.events,
    });
    return { kind: 'decided', entryId: entry.id, decision: acted.decision, outcome: acted.outcome, userId: userIdOf(entry), notification: report.notification };
  } catch (error) {
    // Nothing irreversible was recorded: let the retry decide afresh.
    await deps.decisions.releaseEntry(entry.id).catch(() => undefined);
    throw asRetry(error);
  }
}

/** Exactly the directory facts the decision needs (none for entries ignored outright). */
async function gatherFacts(entry: AnomalyEntry, config: ResponseConfig, directory: RespondDirectory) {
  const needed = factsNeeded(entry, config);
  const userId = userIdOf(entry);
  const [person, org, groupMembers] = await Promise.all([
    needed.person && userId ? directory.person(userId) : undefined,
    needed.org ? directory.org() : undefined,
    directory.groupMembers(needed.groups),
  ]);
  return { person, org, groupMembers };
}

/**
 * Pass the safety gates, each one conditional write (reserve the person's next reset: of two
 * anomalies about one person handled at once only one may end the sessions; then spend a unit
 * of the hourly budget), then end the sessions. What the gates say is judged by applySafety; a
 * gate that holds the decision back gives back what was taken.
 */
async function endSessions(
  entry: AnomalyEntry,
  decision: Extract<Decision, { action: 'end_sessions' }>,
  config: ResponseConfig,
  deps: RespondDeps,
): Promise<{ decision: Decision; outcome: Outcome }> {
  const userId = userIdOf(entry)!;
  const now = deps.now ?? Date.now;
  const slot = await deps.resets.claimReset(userId, entry.id, config.safety.cooldownMinutes);
  if (!slot.claimed) {
    const held = applySafety(decision, { lastResetAt: slot.lastResetAt, lastResetBy: slot.lastResetBy, budgetExhausted: false }, config, slot.checkedAt);
    // The write saw a reset within the cooldown but the rule does not (a clock step between the
    // two): nothing is reserved for this entry, so it must not act now; its retry decides afresh.
    if (held.action === 'end_sessions') throw new LeaseHeldError(`user#${userId}/last-reset`);
    return { decision: held, outcome: outcomeOf(held, config) };
  }
  // This entry's reset went through on an earlier attempt: do not end the sessions twice.
  if (slot.alreadyReset) return { decision, outcome: { kind: 'sessions_ended' } };

  // An earlier attempt that died before recording took this entry's budget unit already: not twice.
  let budgetTaken = slot.budgetTaken === true;
  try {
    if (!budgetTaken) budgetTaken = await deps.resets.consumeResetBudget(config.safety.maxSessionResetsPerHour, { userId, entryId: entry.id });
    const gated = applySafety(decision, { budgetExhausted: !budgetTaken }, config, now());
    if (gated.action !== 'end_sessions') {
      await deps.resets.releaseReset(userId, entry.id);
      return { decision: gated, outcome: outcomeOf(gated, config) };
    }
    await deps.slack.resetSessions(userId, decision.scope);
  } catch (error) {
    // Not done (or not known to be): give back the budget and the reservation, so this entry's
    // retry or the person's next anomaly can act.
    if (budgetTaken) await deps.resets.refundResetBudget();
    await deps.resets.releaseReset(userId, entry.id);
    if (!isSlackError(error, 'permanent')) throw error;
    // The reset can never succeed for this user (a bot, unknown): record and tell people.
    return { decision, outcome: { kind: 'reset_refused', code: error.code } };
  }
  await deps.resets.markResetDone(userId, entry.id, config.safety.cooldownMinutes);
  return { decision, outcome: { kind: 'sessions_ended' } };
}

function userIdOf(entry: AnomalyEntry): string | undefined {
  return entry.entity.kind === 'user' ? entry.entity.userId : undefined;
}

function parseMessage(body: string): { ok: true; entry: AnomalyEntry } | { ok: true; event: SessionEvent } | { ok: false; entryId?: string; issues: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, issues: ['(message): body is not JSON'] };
  }
  const message = anomalyMessageSchema.safeParse(json);
  if (!message.success) return { ok: false, issues: formatIssues(message.error).map((i) => `message.${i}`) };
  if (isSessionEventAction((message.data.entry as { action?: unknown } | null)?.action)) return parseSessionEvent(message.data.entry);
  return parseAuditEntry(message.data.entry);
}

/**
 * Coexistence with Slack's built-in responder: an entry saying someone else signed a person out
 * is recorded as their last reset (so the cooldown holds our next one back, naming who did it);
 * a change of the built-in feature's settings is recorded and told to the security admins.
 */
async function recordSessionEvent(event: SessionEvent, deps: RespondDeps): Promise<RespondOutcome> {
  const config = await deps.config.load();
  const claim = await deps.decisions.claimEntry(event.id, deps.leaseMs ?? 120_000);
  if (!claim.claimed) {
    await finishNotification(deps, claim.existing);
    return { kind: 'duplicate', entryId: event.id, outcome: claim.existing.outcome };
  }
  try {
    const { reset, notification } = reportSessionEvent(event);
    if (reset) await deps.resets.recordExternalReset(reset.userId, reset.at, reset.by, event.id, config.safety.cooldownMinutes);
    const job: NotificationJob | undefined = notification && {
      entryId: event.id,
      type: notification,
      occurredAt: event.dateCreate,
      events: [],
      otherReasons: [],
      context: {},
      settingsChange: { ...(event.actorId ? { actorId: event.actorId } : {}), ...(event.details ? { details: event.details } : {}) },
      response: { outcome: 'recorded', ...(config.safety.dryRun ? { dryRun: true as const } : {}) },
    };
    const record = await deps.decisions.completeDecision({
      entryId: event.id,
      ...(event.userId ? { userId: event.userId } : {}),
      entityType: event.userId ? 'user' : 'other',
      occurredAt: event.dateCreate,
      decision: 'recorded',
      reason: event.action,
      outcome: reset ? `reset_by:${reset.by}` : 'recorded',
      ...(event.actorId ? { detail: `actor ${event.actorId}` } : {}),
      notification: notification ?? 'none',
      notificationQueued: false,
      notificationJob: job as Record<string, unknown> | undefined,
    });
    await finishNotification(deps, record);
    deps.logger?.info('Audit entry recorded', { action: event.action, userId: event.userId, resetBy: reset?.by });
    return { kind: 'recorded', entryId: event.id, action: event.action, ...(notification ? { notification } : {}) };
  } catch (error) {
    await deps.decisions.releaseEntry(event.id).catch(() => undefined);
    throw asRetry(error);
  }
}

async function recordRejected(deps: RespondDeps, entryId: string, issues: string[]): Promise<RespondOutcome> {
  const claim = await deps.decisions.claimEntry(entryId, deps.leaseMs ?? 120_000);
  if (!claim.claimed) return { kind: 'duplicate', entryId, outcome: claim.existing.outcome };
  await deps.decisions.completeDecision({
    entryId,
    decision: 'rejected',
    reason: 'invalid_entry',
    outcome: 'rejected',
    detail: issues.join('; ').slice(0, 2000),
    notification: 'none',
  });
  deps.logger?.warn('Audit entry rejected', { entryId, issues });
  return { kind: 'rejected', entryId, issues };
}

function recordDecision(deps: RespondDeps, entry: AnomalyEntry, decision: Decision, report: ResponseReport): Promise<DecisionRecord> {
  const respondedAt = Math.floor((deps.now ?? Date.now)() / 1000);
  const job = report.notification && report.facts ? buildJob(entry, report.notification, decision, report.facts, respondedAt) : undefined;
  return deps.decisions.completeDecision({
    entryId: entry.id,
    userId: userIdOf(entry),
    entityType: entry.entity.kind === 'other' ? entry.entity.type : entry.entity.kind,
    occurredAt: entry.dateCreate,
    events: decision.events,
    otherReasons: decision.otherReasons,
    decision: decision.action,
    reason: decision.reason,
    outcome: outcomeLabel(report.outcome),
    ...(report.facts ? { response: report.facts } : {}),
    notification: report.notification ?? 'none',
    notificationQueued: false,
    notificationJob: job as Record<string, unknown> | undefined,
  });
}

/** Queue the entry's notification job once; a retry after a crash re-sends it (notify de-duplicates). */
async function finishNotification(deps: RespondDeps, record: DecisionRecord): Promise<void> {
  if (!record.notificationJob || record.notificationQueued) return;
  await deps.notifications.publish([{ id: record.entryId, body: record.notificationJob }]);
  await deps.decisions.markNotificationQueued(record.entryId);
}

function buildJob(entry: AnomalyEntry, type: NotificationType, decision: Decision, response: ResponseFacts, respondedAt: number): NotificationJob {
  const { entity } = entry;
  const { sessionId: _sessionId, asn: _asn, ...context } = entry.context;
  return {
    entryId: entry.id,
    type,
    occurredAt: entry.dateCreate,
    // When the decision (and, for sessions_ended, Slack's answer) was recorded: alerts say when we acted.
    respondedAt,
    // Only people's and apps' anomalies are ever told (decide ignores every other entity).
    ...(entity.kind === 'user' ? { user: { id: entity.userId, name: entity.name, email: entity.email } } : {}),
    ...(entity.kind === 'app' ? { app: { id: entity.appId, name: entity.name } } : {}),
    // The events that decided the outcome first: they name the notification.
    events: decision.action === 'end_sessions' ? [...new Set([...decision.triggeringEvents, ...decision.events])] : decision.events,
    otherReasons: decision.otherReasons,
    context,
    response,
  };
}
