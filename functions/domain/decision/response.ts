import type { AnomalyEvent } from '../anomaly-catalogue';
import type { NotificationType, ResponseConfig } from '../config/schema';
import type { ResponseFacts } from '../messages';
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
  /** What those told need to know, as data: the notifier puts it into words (functions/notify/explain.ts). */
  facts?: ResponseFacts;
}

/** Whom to tell about this entry, and the facts they need. */
export function reportResponse(decision: Decision, outcome: Outcome, config: ResponseConfig): ResponseReport {
  switch (outcome.kind) {
    case 'ignored':
      return { outcome };
    case 'sessions_ended':
      return { outcome, notification: 'sessions_ended', facts: { outcome: 'sessions_ended' } };
    case 'reset_refused':
      return { outcome, notification: 'action_failed', facts: { outcome: 'reset_refused', errorCode: outcome.code } };
    case 'held':
    case 'protected': {
      if (decision.action !== 'notify_only') throw new Error(`a ${outcome.kind} outcome needs a notify_only decision`);
      const notifyOnlyEvents: AnomalyEvent[] = decision.events.filter((e) => config.events[e].action === 'notify_only');
      return {
        outcome,
        // The breaker is a failure to act that someone must follow up; the rest are deliberate holds.
        notification: decision.reason === 'circuit_breaker' ? 'action_failed' : 'anomaly_not_acted_on',
        facts: {
          outcome: outcome.kind,
          holdReason: decision.reason,
          ...(decision.exclusions.length ? { exclusions: decision.exclusions } : {}),
          ...(decision.reason === 'rule_notify_only' ? { notifyOnlyEvents } : {}),
          ...(decision.externalBecause ? { external: decision.externalBecause } : {}),
          ...(decision.reason === 'cooldown' ? { cooldownMinutes: config.safety.cooldownMinutes } : {}),
          ...(decision.reason === 'circuit_breaker' ? { maxSessionResetsPerHour: config.safety.maxSessionResetsPerHour } : {}),
        },
      };
    }
  }
}
