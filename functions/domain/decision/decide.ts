import { classifyReasons, type AnomalyEvent } from '../anomaly-catalogue';
import type { AnomalyEntry, ResetBy } from '../audit-entry';
import type { ResponseConfig, SessionScope, TrustedNetworks } from '../config/schema';
import { cidrContains, parseCidr, parseIp } from '../networks';

/**
 * The decision rules, as pure functions: event × rule × exclusions → what to do about one audit
 * entry. Every input (directory facts, group members, ledger state) is looked up by the caller.
 */

export type IgnoreReason =
  | 'not_a_user' // the entity is neither a person nor an app: only people's sessions can end
  | 'no_actionable_event' // only reason codes outside the seven events
  | 'rules_off'; // the events it reports are all switched off

export type HoldReason =
  | 'app_anomaly' // the entity is an app: recorded and told, never acted on (apps have no sessions to end)
  | 'trusted_network' // the anomaly came from a trusted network (config item trustedNetworks)
  | 'rule_notify_only' // the rule for the event says notify only
  | 'excluded' // the person, or a group they are in, is excluded
  | 'external_user' // a Slack Connect person: another org's to act on, as in Slack's own feature
  | 'not_in_directory' // Slack's directory does not know the person: never sign out someone we cannot identify
  | 'protected' // the org's primary owner: never signed out automatically, whoever's token we hold
  | 'cooldown' // their sessions were ended moments ago; do not loop
  | 'circuit_breaker'; // too many resets within the last hour: stop and ask a human

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
      /** Which fact made the person external (external_user only). */
      externalBecause?: ExternalEvidence;
      /** The trusted range or ASN the anomaly came from (trusted_network only), e.g. "198.51.100.0/24", "AS64500". */
      trustedNetwork?: string;
      /** Who ended the sessions within the cooldown, when it was not this responder (cooldown only). */
      resetBy?: ResetBy;
    }
  | {
      action: 'end_sessions';
      reason: 'rule_end_sessions';
      events: AnomalyEvent[];
      otherReasons: string[];
      triggeringEvents: AnomalyEvent[];
      /** Which sessions to end: the reset adapter (single or bulk) receives this as it is. */
      scope: ResetScope;
      /** The rules asked for `session` but the entry names no session Slack can end: all were ended instead. */
      scopeFallback?: 'no_session_id';
    };

/**
 * Which of a person's sessions a reset ends: all of them, web or mobile only
 * (admin.users.session.reset's web_only / mobile_only), or one session
 * (admin.users.session.invalidate, with the audit entry's session id).
 */
export type ResetScope = { kind: Exclude<SessionScope, 'session'> } | { kind: 'session'; sessionId: string };

/** The fact that shows a person belongs to another organisation (Slack Connect). */
export type ExternalEvidence =
  /** `details.is_external_user` was true. */
  | { fact: 'is_external_user' }
  /** users.info `is_stranger`. */
  | { fact: 'stranger' }
  /** users.info `enterprise_user.enterprise_id` names another org. */
  | { fact: 'other_enterprise'; value: string }
  /** A team that is not one of the org's: the entry's `details.entity_team`, its `entity.user.team`, or users.info `team_id`. */
  | { fact: 'entity_team' | 'entry_team' | 'directory_team'; value: string };

/** What Slack's directory says about the entity user (users.info), or that it does not know them. */
export type PersonFacts =
  | { found: false }
  | {
      found: true;
      isPrimaryOwner: boolean;
      isStranger: boolean;
      /** users.info `team_id`. */
      teamId?: string;
      /** users.info `enterprise_user.enterprise_id`. */
      enterpriseId?: string;
      /** A bot user: Slack refuses to reset it (cannot_reset_bot), so it is never put in a bulk sign-out with others. */
      isBot?: boolean;
    };

/** The org this deployment protects: its enterprise id and every team (workspace) in it. */
export interface OrgFacts {
  enterpriseId: string;
  teamIds: ReadonlySet<string>;
}

export interface DecisionInput {
  entry: AnomalyEntry;
  config: ResponseConfig;
  /** Members of each group `factsNeeded` names, keyed by the configured group key. */
  groupMembers: ReadonlyMap<string, ReadonlySet<string>>;
  /** Directory facts about the entity user, when `factsNeeded` asked for them. */
  person?: PersonFacts;
  /** The org, when `factsNeeded` asked for it. */
  org?: OrgFacts;
}

/** The facts `decide` needs for this entry: none when it is ignored without them. */
export function factsNeeded(entry: AnomalyEntry, config: ResponseConfig): { person: boolean; org: boolean; groups: string[] } {
  const none = { person: false, org: false, groups: [] };
  if (entry.entity.kind !== 'user') return none;
  const { events } = classifyReasons(entry.reasons, ruleIsOn(config));
  const active = events.filter((event) => config.events[event].action !== 'off');
  if (active.length === 0 || trustedNetworkOf(entry, config.trustedNetworks)) return none;
  const groups = new Set(config.exclusions.excludedGroups);
  for (const event of active) for (const group of config.events[event].excludedGroups) groups.add(group);
  return { person: true, org: true, groups: [...groups].sort() };
}

/**
 * Whether an entry names an event whose rule ends sessions (before exclusions and safety): the
 * poller sends these first, so in a burst the people to sign out are not queued behind
 * thousands of entries that lead to nothing. Order only: the decision is still decide()'s.
 */
export function mayEndSessions(entry: AnomalyEntry, config: ResponseConfig): boolean {
  if (entry.entity.kind !== 'user') return false;
  return classifyReasons(entry.reasons).events.some((event) => config.events[event].action === 'end_sessions');
}

/**
 * Why the person belongs to another org (Slack Connect), or undefined when they are ours.
 * `is_stranger` alone misses people from workspaces outside any Enterprise org, so every team
 * we are told about (the entry's and the directory's) must be one of the org's own.
 */
export function externalBecause(
  entity: Extract<AnomalyEntry['entity'], { kind: 'user' }>,
  person: PersonFacts | undefined,
  org: OrgFacts | undefined,
): ExternalEvidence | undefined {
  if (entity.isExternalUser === true) return { fact: 'is_external_user' };
  if (person?.found && person.isStranger) return { fact: 'stranger' };
  if (!org) return undefined;
  if (person?.found && person.enterpriseId && person.enterpriseId !== org.enterpriseId) return { fact: 'other_enterprise', value: person.enterpriseId };
  const teams: [ExternalEvidence['fact'], string | undefined][] = [
    ['entity_team', entity.entityTeam],
    ['entry_team', entity.team],
    ['directory_team', person?.found ? person.teamId : undefined],
  ];
  for (const [fact, team] of teams) {
    if (team && !org.teamIds.has(team)) return { fact, value: team } as ExternalEvidence;
  }
  return undefined;
}

const ruleIsOn = (config: ResponseConfig) => (event: AnomalyEvent) => config.events[event].action !== 'off';

/**
 * The trusted range or ASN the entry's network is in, or undefined. An address that is not one
 * (or no address) matches no range: only what the entry shows can make it trusted.
 */
export function trustedNetworkOf(entry: AnomalyEntry, trusted: TrustedNetworks): string | undefined {
  const ip = entry.context.ipAddress ? parseIp(entry.context.ipAddress.trim()) : undefined;
  if (ip) {
    for (const text of trusted.cidrs) {
      const parsed = parseCidr(text);
      if (parsed.ok && cidrContains(parsed.cidr, ip)) return parsed.cidr.text;
    }
  }
  if (entry.context.asn !== undefined && trusted.asns.includes(entry.context.asn)) return `AS${entry.context.asn}`;
  return undefined;
}

/**
 * The sessions the triggering events' rules ask to end. When their scopes differ, all: the
 * broadest wins, so no rule ends fewer sessions than it asked for.
 */
function resetScope(entry: AnomalyEntry, triggering: readonly AnomalyEvent[], config: ResponseConfig): { scope: ResetScope; scopeFallback?: 'no_session_id' } {
  const scopes = new Set(triggering.map((event) => config.events[event].scope));
  const wanted: SessionScope = scopes.size === 1 ? [...scopes][0] : 'all';
  if (wanted !== 'session') return { scope: { kind: wanted } };
  // admin.users.session.invalidate takes an integer session_id: an entry without one (or with
  // something else there) names no session we can end, so all are ended, and the alert says so.
  const sessionId = entry.context.sessionId;
  if (sessionId && /^\d+$/.test(sessionId)) return { scope: { kind: 'session', sessionId } };
  return { scope: { kind: 'all' }, scopeFallback: 'no_session_id' };
}

export function decide({ entry, config, groupMembers, person, org }: DecisionInput): Decision {
  const { events, other: otherReasons } = classifyReasons(entry.reasons, ruleIsOn(config));
  if (entry.entity.kind === 'app') {
    return { action: 'notify_only', reason: 'app_anomaly', events, otherReasons, heldEvents: [], exclusions: [] };
  }
  if (entry.entity.kind !== 'user') return { action: 'ignore', reason: 'not_a_user', events, otherReasons };
  if (events.length === 0) return { action: 'ignore', reason: 'no_actionable_event', events, otherReasons };
  const active = events.filter((event) => config.events[event].action !== 'off');
  if (active.length === 0) return { action: 'ignore', reason: 'rules_off', events, otherReasons };

  const wouldEnd = active.filter((event) => config.events[event].action === 'end_sessions');
  const hold = (
    reason: HoldReason,
    heldEvents: AnomalyEvent[],
    exclusions: string[] = [],
    extra: { externalBecause?: ExternalEvidence; trustedNetwork?: string } = {},
  ): Decision => ({
    action: 'notify_only',
    reason,
    events,
    otherReasons,
    heldEvents,
    exclusions,
    ...extra,
  });

  // First: nothing from a trusted network is acted on, whoever it is about.
  const trustedNetwork = trustedNetworkOf(entry, config.trustedNetworks);
  if (trustedNetwork) return hold('trusted_network', wouldEnd, [], { trustedNetwork });

  const external = externalBecause(entry.entity, person, org);
  if (external) return hold('external_user', wouldEnd, [], { externalBecause: external });
  // Never sign out someone Slack's directory cannot show us (or that we did not look up).
  if (!person?.found) return hold('not_in_directory', wouldEnd);

  const userId = entry.entity.userId;
  const inGroup = (group: string) => groupMembers.get(group)?.has(userId) === true;
  const matchedExclusions = (event: AnomalyEvent): string[] => {
    const rule = config.events[event];
    const matches: string[] = [];
    if (config.exclusions.excludedUsers.includes(userId)) matches.push(`user ${userId} (all events)`);
    if (rule.excludedUsers.includes(userId)) matches.push(`user ${userId} (${event})`);
    for (const group of config.exclusions.excludedGroups) if (inGroup(group)) matches.push(`group ${group} (all events)`);
    for (const group of rule.excludedGroups) if (inGroup(group)) matches.push(`group ${group} (${event})`);
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

  if (ending.length) {
    // Slack refuses to reset the primary owner only when the caller is not the primary owner:
    // holding here keeps our behaviour the same whoever installed the app.
    if (person.isPrimaryOwner) return hold('protected', ending);
    return { action: 'end_sessions', reason: 'rule_end_sessions', events, otherReasons, triggeringEvents: ending, ...resetScope(entry, ending, config) };
  }
  const heldEvents = excludedFrom.filter((event) => config.events[event].action === 'end_sessions');
  // Sessions stay up because of an exclusion whenever an end_sessions event was held by one, even
  // if another event's rule is notify only: the reason must explain why nothing was ended.
  return hold(heldEvents.length || !notifying.length ? 'excluded' : 'rule_notify_only', heldEvents, [...exclusions]);
}

export interface SafetyState {
  /** When this user's sessions were last ended, if within the cooldown (epoch ms). */
  lastResetAt?: number;
  /** Who ended them then, when it was not this responder: Slack's built-in response, or an admin. */
  lastResetBy?: ResetBy;
  /** The org-wide hourly reset budget is spent (the caller consumes it atomically). */
  budgetExhausted: boolean;
}

/**
 * Loop protection and the circuit breaker: hold an `end_sessions` decision back to
 * notify-only when the user was reset within the cooldown, or when the hourly budget is spent.
 */
export function applySafety(decision: Decision, state: SafetyState, config: ResponseConfig, now: number): Decision {
  if (decision.action !== 'end_sessions') return decision;
  const held = (reason: HoldReason, extra: { resetBy?: ResetBy } = {}): Decision => ({
    action: 'notify_only',
    reason,
    events: decision.events,
    otherReasons: decision.otherReasons,
    heldEvents: decision.triggeringEvents,
    exclusions: [],
    ...extra,
  });
  const cooldownMs = config.safety.cooldownMinutes * 60_000;
  if (state.lastResetAt !== undefined && cooldownMs > 0 && now - state.lastResetAt < cooldownMs) {
    // Signed out moments ago, by us, by Slack's built-in response or by an admin: not again.
    return held('cooldown', state.lastResetBy ? { resetBy: state.lastResetBy } : {});
  }
  if (state.budgetExhausted) return held('circuit_breaker');
  return decision;
}
