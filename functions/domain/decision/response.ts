import { eventLabel } from '../anomaly-catalogue';
import type { NotificationType, ResponseConfig } from '../config/schema';
import type { Decision } from './decide';

/**
 * What came of a decision, as a value rather than a string to parse: the decision held or
 * ignored the entry, or the sessions were ended, or Slack refused for good.
 */
export type Outcome =
  | { kind: 'sessions_ended' }
  /** Slack answered with an error no retry can fix (a bot, an unknown user…). */
  | { kind: 'reset_refused'; code: string }
  | { kind: 'held' }
  | { kind: 'protected' }
  | { kind: 'ignored' };

/** The outcome of a decision that does not end sessions (one that does waits for Slack's answer). */
export function outcomeOf(decision: Decision): Outcome {
  switch (decision.action) {
    case 'ignore':
      return { kind: 'ignored' };
    case 'notify_only':
      return decision.reason === 'protected' ? { kind: 'protected' } : { kind: 'held' };
    case 'end_sessions':
      throw new Error('an end_sessions decision has an outcome only once Slack has answered');
  }
}

/** The outcome as the response log and the summaries name it. */
export function outcomeLabel(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'sessions_ended':
      return 'sessions_ended';
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
  /** What the responder did, in words a security admin reads. */
  actionTaken: string;
  /** Why it held back or what failed, when it did. */
  explanation?: string;
}

/** Everything the people told about this entry need: the notification type and the words. */
export function reportResponse(decision: Decision, outcome: Outcome, config: ResponseConfig): ResponseReport {
  switch (outcome.kind) {
    case 'ignored':
      return { outcome, actionTaken: 'No action taken' };
    case 'sessions_ended':
      return { outcome, notification: 'sessions_ended', actionTaken: 'Ended all of the user\u2019s Slack sessions on every device' };
    case 'reset_refused':
      return { outcome, notification: 'action_failed', actionTaken: 'Tried to end the user\u2019s sessions, but Slack refused', explanation: explainRefusal(outcome.code) };
    case 'held':
    case 'protected': {
      if (decision.action !== 'notify_only') throw new Error(`a ${outcome.kind} outcome needs a notify_only decision`);
      const breaker = decision.reason === 'circuit_breaker';
      return {
        outcome,
        // The breaker is a failure to act that someone must follow up; the rest are deliberate holds.
        notification: breaker ? 'action_failed' : 'anomaly_not_acted_on',
        actionTaken: breaker ? 'Did not end sessions: the hourly limit on automatic resets was reached' : 'No action taken; this is a notification only',
        explanation: explainHold(decision, config),
      };
    }
  }
}

function explainRefusal(code: string): string {
  switch (code) {
    case 'cannot_reset_primary_owner':
      return 'Slack does not allow ending the primary owner\u2019s sessions through the API. Review this activity by hand.';
    case 'cannot_reset_bot':
      return 'The entity is a bot user; bot sessions cannot be ended.';
    case 'user_not_found':
      return 'Slack does not know this user (deleted or outside the org).';
    default:
      return `Slack answered ${code}.`;
  }
}

function explainHold(decision: Extract<Decision, { action: 'notify_only' }>, config: ResponseConfig): string {
  switch (decision.reason) {
    case 'rule_notify_only':
      return `The response rule for ${decision.events.filter((e) => config.events[e].action === 'notify_only').map(eventLabel).join(', ')} is notify only.`;
    case 'excluded':
      return `The user is excluded from automatic responses: ${decision.exclusions.join(', ')}.`;
    case 'external_user':
      return `The user belongs to another organisation (Slack Connect): ${decision.externalBecause ?? 'Slack says so'}. Their own organisation's admins can end their sessions; this org cannot.`;
    case 'not_in_directory':
      return 'Slack\u2019s directory does not know this user, so their sessions were not ended. Review this activity by hand.';
    case 'protected':
      return 'This is the org\u2019s primary owner, whose sessions are never ended automatically. Review this activity by hand and contact them directly.';
    case 'cooldown':
      return `Sessions were already ended within the last ${config.safety.cooldownMinutes} minutes; not ending them again (loop protection).`;
    case 'circuit_breaker':
      return `More than ${config.safety.maxSessionResetsPerHour} automatic session resets this hour: automatic resets are paused until the next hour. Review the anomalies and act by hand.`;
  }
}
