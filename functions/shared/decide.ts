import { classifyReasons, type AnomalyEvent } from './anomaly-catalogue';
import type { AnomalyEntry } from './audit-entry';
import type { ResponseConfig } from './config/schema';

/**
 * The decision rules, as pure functions: event × rule × exclusions → what to do about one audit
 * entry. Every input (directory facts, group members, ledger state) is looked up by the caller.
 */

export type IgnoreReason =
  | 'not_a_user' // the entity is an app or something else: only people's sessions can end
  | 'external_user' // Slack Connect people are outside the org's control
  | 'no_actionable_event' // only reason codes outside the seven events
  | 'rules_off'; // the events it reports are all switched off

export type HoldReason =
  | 'rule_notify_only' // the rule for the event says notify only
  | 'excluded' // the person, or a group they are in, is excluded
  | 'cooldown' // their sessions were ended moments ago; do not loop
  | 'circuit_breaker'; // too many resets this hour: stop and ask a human

export type Decision =
  | { action: 'ignore'; reason: IgnoreReason; events: AnomalyEvent[]; otherReasons: string[] }
  | {
      action: 'notify_only';
      reason: HoldReason;
      events: AnomalyEvent[];
      otherReasons: string[];
      /** The events that would have ended sessions had the person not been excluded / held. */
      heldEvents: AnomalyEvent[];
      /** Which exclusions matched, e.g. "user U123" or "group S123 (tor)". */
      exclusions: string[];
    }
  | { action: 'end_sessions'; reason: 'rule_end_sessions'; events: AnomalyEvent[]; otherReasons: string[]; triggeringEvents: AnomalyEvent[] };

export interface DirectoryFacts {
  /** The person belongs to another organisation (Slack Connect). */
  isExternal: boolean;
}

export interface DecisionInput {
  entry: AnomalyEntry;
  config: ResponseConfig;
  /** Members of each excluded user group named in `groupsToExpand`. */
  groupMembers: ReadonlyMap<string, ReadonlySet<string>>;
  /** Directory facts about the entity user; absent for non-user entities. */
  user?: DirectoryFacts;
}

/** The user groups whose membership decides this entry: only those of events that are not off. */
export function groupsToExpand(entry: AnomalyEntry, config: ResponseConfig): string[] {
  if (entry.entity.kind !== 'user') return [];
  const { events } = classifyReasons(entry.reasons);
  const active = events.filter((event) => config.events[event].action !== 'off');
  if (active.length === 0) return [];
  const groups = new Set(config.exclusions.excludedGroups);
  for (const event of active) for (const group of config.events[event].excludedGroups) groups.add(group);
  return [...groups].sort();
}

export function decide({ entry, config, groupMembers, user }: DecisionInput): Decision {
  const { events, other: otherReasons } = classifyReasons(entry.reasons);
  if (entry.entity.kind !== 'user') return { action: 'ignore', reason: 'not_a_user', events, otherReasons };
  if (events.length === 0) return { action: 'ignore', reason: 'no_actionable_event', events, otherReasons };
  const active = events.filter((event) => config.events[event].action !== 'off');
  if (active.length === 0) return { action: 'ignore', reason: 'rules_off', events, otherReasons };
  if (user?.isExternal) return { action: 'ignore', reason: 'external_user', events, otherReasons };

  const userId = entry.entity.userId;
  const matchedExclusions = (event: AnomalyEvent): string[] => {
    const rule = config.events[event];
    const matches: string[] = [];
    if (config.exclusions.excludedUsers.includes(userId)) matches.push(`user ${userId} (all events)`);
    if (rule.excludedUsers.includes(userId)) matches.push(`user ${userId} (${event})`);
    for (const group of config.exclusions.excludedGroups) {
      if (groupMembers.get(group)?.has(userId)) matches.push(`group ${group} (all events)`);
    }
    for (const group of rule.excludedGroups) {
      if (groupMembers.get(group)?.has(userId)) matches.push(`group ${group} (${event})`);
    }
    return matches;
  };

  const ending: AnomalyEvent[] = [];
  const notifying: AnomalyEvent[] = [];
  const excludedFrom: AnomalyEvent[] = [];
  const exclusions = new Set<string>();
  for (const event of active) {
    const matches = matchedExclusions(event);
    if (matches.length) {
      excludedFrom.push(event);
      matches.forEach((m) => exclusions.add(m));
    } else if (config.events[event].action === 'end_sessions') {
      ending.push(event);
    } else {
      notifying.push(event);
    }
  }

  if (ending.length) return { action: 'end_sessions', reason: 'rule_end_sessions', events, otherReasons, triggeringEvents: ending };
  const heldEvents = excludedFrom.filter((event) => config.events[event].action === 'end_sessions');
  return {
    action: 'notify_only',
    // Sessions stay up because of an exclusion whenever an end_sessions event was held by one, even
    // if another event's rule is notify only: the reason must explain why nothing was ended.
    reason: heldEvents.length || !notifying.length ? 'excluded' : 'rule_notify_only',
    events,
    otherReasons,
    heldEvents,
    exclusions: [...exclusions],
  };
}

export interface SafetyState {
  /** When this user's sessions were last ended by us, if within the cooldown (epoch ms). */
  lastResetAt?: number;
  /** The org-wide hourly reset budget is spent (the caller consumes it atomically). */
  budgetExhausted: boolean;
}

/**
 * Loop protection and the circuit breaker: hold an `end_sessions` decision back to
 * notify-only when the user was reset within the cooldown, or when the hourly budget is spent.
 */
export function applySafety(decision: Decision, state: SafetyState, config: ResponseConfig, now: number): Decision {
  if (decision.action !== 'end_sessions') return decision;
  const held = (reason: HoldReason): Decision => ({
    action: 'notify_only',
    reason,
    events: decision.events,
    otherReasons: decision.otherReasons,
    heldEvents: decision.triggeringEvents,
    exclusions: [],
  });
  const cooldownMs = config.safety.cooldownMinutes * 60_000;
  if (state.lastResetAt !== undefined && cooldownMs > 0 && now - state.lastResetAt < cooldownMs) return held('cooldown');
  if (state.budgetExhausted) return held('circuit_breaker');
  return decision;
}
