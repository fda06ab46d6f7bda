import type { AnomalyEvent } from '../anomaly-catalogue';
import type { NotificationType, ResponseConfig } from '../config/schema';
import type { ResponseFacts } from '../messages';
import type { ResetBy, SessionEvent } from '../audit-entry';
import type { Decision } from './decide';

/**
 * What came of a decision, as a value rather than a string to parse: the decision held or
 * ignored the entry, or the sessions were ended, or Slack refused for good.
 */
export type Outcome =
  | { kind: 'sessions_ended' }
  /** Dry run: the decision was to end sessions, and nothing was done. */
  | { kind: 'dry_run' }
  /** Slack answered with an error no retry can fix (a bot, an unknown user…). */
  | { kind: 'reset_refused'; code: string }
  | { kind: 'held' }
  | { kind: 'protected' }
  | { kind: 'ignored' };

/** Whether the decision is carried out: it ends sessions and this is no dry run. */
export function mustAct(decision: Decision, config: ResponseConfig): decision is Extract<Decision, { action: 'end_sessions' }> {
  return decision.action === 'end_sessions' && !config.safety.dryRun;
}

/** The outcome of a decision that is not carried out (one that is waits for Slack's answer). */
export function outcomeOf(decision: Decision, config: ResponseConfig): Outcome {
  switch (decision.action) {
    case 'ignore':
      return { kind: 'ignored' };
    case 'notify_only':
      return decision.reason === 'protected' ? { kind: 'protected' } : { kind: 'held' };
    case 'end_sessions':
      if (config.safety.dryRun) return { kind: 'dry_run' };
      throw new Error('an end_sessions decision has an outcome only once Slack has answered');
  }
}

/** The outcome as the response log and the summaries name it. */
export function outcomeLabel(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'sessions_ended':
      return 'sessions_ended';
    case 'dry_run':
      return 'dry_run';
    case 'reset_refused':
      return `failed:${outcome.code}`;
    case 'held':
      return 'notified';
    case 'protected':
      return 'protected';
    case 'ignored':
      return 'ignored';
  }
}

export interface ResponseReport {
  outcome: Outcome;
  /** Who must be told, or undefined when nobody is. */
  notification?: NotificationType;
  /** What those told need to know, as data: the notifier puts it into words (functions/notify/explain.ts). */
  facts?: ResponseFacts;
}

/** Whom to tell about this entry, and the facts they need. In a dry run every report says so. */
export function reportResponse(decision: Decision, outcome: Outcome, config: ResponseConfig): ResponseReport {
  const report = describeOutcome(decision, outcome, config);
  return config.safety.dryRun && report.facts ? { ...report, facts: { ...report.facts, dryRun: true } } : report;
}

/** Which sessions were (or would have been) ended, as the alert and the response log say it. */
function scopeFacts(decision: Decision): Pick<ResponseFacts, 'scope' | 'scopeFallback'> {
  if (decision.action !== 'end_sessions') return {};
  return { scope: decision.scope.kind, ...(decision.scopeFallback ? { scopeFallback: decision.scopeFallback } : {}) };
}

function describeOutcome(decision: Decision, outcome: Outcome, config: ResponseConfig): ResponseReport {
  switch (outcome.kind) {
    case 'ignored':
      return { outcome };
    case 'sessions_ended':
      return { outcome, notification: 'sessions_ended', facts: { outcome: 'sessions_ended', ...scopeFacts(decision) } };
    case 'dry_run':
      return { outcome, notification: 'sessions_ended', facts: { outcome: 'dry_run', ...scopeFacts(decision) } };
    case 'reset_refused':
      return { outcome, notification: 'action_failed', facts: { outcome: 'reset_refused', errorCode: outcome.code, ...scopeFacts(decision) } };
    case 'held':
    case 'protected': {
      if (decision.action !== 'notify_only') throw new Error(`a ${outcome.kind} outcome needs a notify_only decision`);
      const notifyOnlyEvents: AnomalyEvent[] = decision.events.filter((e) => config.events[e].action === 'notify_only');
      return {
        outcome,
        // The breaker is a failure to act that someone must follow up; the rest are deliberate holds.
        notification: decision.reason === 'circuit_breaker' ? 'action_failed' : decision.reason === 'app_anomaly' ? 'app_anomaly' : 'anomaly_not_acted_on',
        facts: {
          outcome: outcome.kind,
          holdReason: decision.reason,
          ...(decision.exclusions.length ? { exclusions: decision.exclusions } : {}),
          ...(decision.reason === 'rule_notify_only' ? { notifyOnlyEvents } : {}),
          ...(decision.externalBecause ? { external: decision.externalBecause } : {}),
          ...(decision.trustedNetwork ? { trustedNetwork: decision.trustedNetwork } : {}),
          ...(decision.reason === 'cooldown' ? { cooldownMinutes: config.safety.cooldownMinutes } : {}),
          ...(decision.resetBy ? { resetBy: decision.resetBy } : {}),
          ...(decision.reason === 'circuit_breaker' ? { maxSessionResetsPerHour: config.safety.maxSessionResetsPerHour } : {}),
        },
      };
    }
  }
}

/**
 * What an entry about something else that ended sessions, or changed Slack's built-in response,
 * means for the responder (coexistence with Slack's own feature): a person someone else signed out
 * is recorded as reset by them, so the cooldown keeps us from signing them out again and the
 * response log says who did it; a change of the built-in feature's settings is told to the
 * security admins. A bulk reset names no person in any published entry: recorded only.
 */
export function reportSessionEvent(event: SessionEvent): { reset?: { userId: string; at: number; by: ResetBy }; notification?: NotificationType } {
  if (event.action === 'pref.anomaly_event_response_changed') return { notification: 'anomaly_response_changed' };
  if (event.resetBy && event.userId) return { reset: { userId: event.userId, at: event.dateCreate * 1000, by: event.resetBy } };
  return {};
}
