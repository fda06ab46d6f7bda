import { ANOMALY_EVENT_NAMES, MORE_EVENT_NAMES, type AnomalyEvent, type ResponseAction } from '../../../functions/domain/anomaly-catalogue';
import { applySafety, decide, externalBecause, factsNeeded, mayEndSessions, type Decision, type PersonFacts } from '../../../functions/domain/decision/decide';
import type { ResponseConfig, SessionScope } from '../../../functions/domain/config/schema';
import { appEntry, configWith, expand, GROUP_WITH_TARGET, GROUP_WITHOUT_TARGET, MEMBER, ORG, SOMEONE_ELSE, TARGET, userEntry } from './helpers';

const groupsToExpand = (entry: Parameters<typeof factsNeeded>[0], config: ResponseConfig) => factsNeeded(entry, config).groups;

/** Decide as respond does: gather exactly the facts `factsNeeded` asks for, then decide. */
function decideFor(reasons: string[], config: ResponseConfig, person: PersonFacts = MEMBER): Decision {
  const entry = userEntry(reasons);
  return decide({ entry, config, groupMembers: expand(groupsToExpand(entry, config)), person, org: ORG });
}

type ExclusionCase =
  | 'none'
  | 'user excluded for this event'
  | 'user excluded globally'
  | 'group excluded for this event'
  | 'group excluded globally'
  | 'excluded for another event only'
  | 'excluded group does not include them';

/** Whether the case excludes the person from the event under test, and the match it should report. */
const EXCLUSION_CASES: { name: ExclusionCase; apply: (config: ResponseConfig, event: AnomalyEvent, other: AnomalyEvent) => void; match?: (event: AnomalyEvent) => string }[] = [
  { name: 'none', apply: () => undefined },
  {
    name: 'user excluded for this event',
    apply: (c, e) => void c.events[e].excludedUsers.push(SOMEONE_ELSE, TARGET),
    match: (e) => `user ${TARGET} (${e})`,
  },
  {
    name: 'user excluded globally',
    apply: (c) => void c.exclusions.excludedUsers.push(TARGET),
    match: () => `user ${TARGET} (all events)`,
  },
  {
    name: 'group excluded for this event',
    apply: (c, e) => void c.events[e].excludedGroups.push(GROUP_WITH_TARGET),
    match: (e) => `group ${GROUP_WITH_TARGET} (${e})`,
  },
  {
    name: 'group excluded globally',
    apply: (c) => void c.exclusions.excludedGroups.push(GROUP_WITH_TARGET),
    match: () => `group ${GROUP_WITH_TARGET} (all events)`,
  },
  {
    name: 'excluded for another event only',
    apply: (c, _e, other) => {
      c.events[other] = { action: 'end_sessions', scope: 'all', excludedUsers: [TARGET], excludedGroups: [GROUP_WITH_TARGET] };
    },
  },
  {
    name: 'excluded group does not include them',
    apply: (c, e) => {
      c.events[e].excludedGroups.push(GROUP_WITHOUT_TARGET);
      c.exclusions.excludedGroups.push(GROUP_WITHOUT_TARGET);
      c.exclusions.excludedUsers.push(SOMEONE_ELSE);
    },
  },
];

const SETTINGS: ResponseAction[] = ['end_sessions', 'notify_only', 'off'];

const TABLE = ANOMALY_EVENT_NAMES.flatMap((event) =>
  SETTINGS.flatMap((setting) => EXCLUSION_CASES.map((exclusion) => [event, setting, exclusion.name, exclusion] as const)),
);

describe('decide: every event × setting × exclusion', () => {
  it('covers 7 events × 3 settings × 7 exclusion cases', () => {
    expect(TABLE).toHaveLength(7 * 3 * 7);
  });

  it.each(TABLE)('%s set to %s, %s', (event, setting, _name, exclusion) => {
    const other = ANOMALY_EVENT_NAMES[(ANOMALY_EVENT_NAMES.indexOf(event) + 1) % ANOMALY_EVENT_NAMES.length];
    const config = configWith({ [event]: { action: setting, excludedUsers: [], excludedGroups: [] } });
    exclusion.apply(config, event, other);
    // The entry reports the event under test plus a non-actionable companion code.
    const decision = decideFor([event, 'ip_address'], config);

    expect(decision.events).toEqual([event]);
    expect(decision.otherReasons).toEqual(['ip_address']);

    if (setting === 'off') {
      expect(decision).toEqual({ action: 'ignore', reason: 'rules_off', events: [event], otherReasons: ['ip_address'] });
      return;
    }
    const excluded = exclusion.match !== undefined;
    if (setting === 'end_sessions' && !excluded) {
      expect(decision).toEqual({ action: 'end_sessions', reason: 'rule_end_sessions', events: [event], otherReasons: ['ip_address'], triggeringEvents: [event], scope: { kind: 'all' } });
    } else if (setting === 'end_sessions') {
      expect(decision).toEqual({
        action: 'notify_only',
        reason: 'excluded',
        events: [event],
        otherReasons: ['ip_address'],
        heldEvents: [event],
        exclusions: [exclusion.match!(event)],
      });
    } else if (!excluded) {
      expect(decision).toEqual({ action: 'notify_only', reason: 'rule_notify_only', events: [event], otherReasons: ['ip_address'], heldEvents: [], exclusions: [] });
    } else {
      // notify_only and excluded: nothing would have been ended; the match is still reported.
      expect(decision).toEqual({
        action: 'notify_only',
        reason: 'excluded',
        events: [event],
        otherReasons: ['ip_address'],
        heldEvents: [],
        exclusions: [exclusion.match!(event)],
      });
    }
  });
});

describe('decide: several reasons in one entry', () => {
  it('end_sessions wins over notify_only; only the ending events trigger', () => {
    const config = configWith({ tor: { action: 'end_sessions' }, excessive_downloads: { action: 'notify_only' } });
    expect(decideFor(['excessive_downloads', 'tor'], config)).toEqual({
      action: 'end_sessions',
      reason: 'rule_end_sessions',
      events: ['tor', 'excessive_downloads'],
      otherReasons: [],
      triggeringEvents: ['tor'], scope: { kind: 'all' },
    });
  });

  it('every non-excluded end_sessions event triggers, in catalogue order', () => {
    const config = configWith({ unexpected_user_agent: { action: 'end_sessions' }, session_fingerprint: { action: 'end_sessions' } });
    const decision = decideFor(['user_agent', 'unexpected_user_agent', 'session_fingerprint'], config);
    expect(decision).toMatchObject({ action: 'end_sessions', triggeringEvents: ['session_fingerprint', 'unexpected_user_agent'], scope: { kind: 'all' }, otherReasons: ['user_agent'] });
  });

  it('an exclusion from one event does not shield from another that ends sessions', () => {
    const config = configWith({ tor: { action: 'end_sessions', excludedUsers: [TARGET] }, unexpected_scraping: { action: 'end_sessions' } });
    expect(decideFor(['tor', 'unexpected_scraping'], config)).toEqual({
      action: 'end_sessions',
      reason: 'rule_end_sessions',
      events: ['tor', 'unexpected_scraping'],
      otherReasons: [],
      triggeringEvents: ['unexpected_scraping'], scope: { kind: 'all' },
    });
  });

  it('a group exclusion from one event does not shield from another that ends sessions', () => {
    const config = configWith({ tor: { action: 'end_sessions' }, spoofed_user_agent: { action: 'end_sessions', excludedGroups: [GROUP_WITH_TARGET] } });
    expect(decideFor(['spoofed_user_agent', 'unexpected_client', 'tor'], config)).toMatchObject({ action: 'end_sessions', triggeringEvents: ['tor'], scope: { kind: 'all' } });
  });

  it('excluded from every ending event: notify only, held events listed, all matches named once', () => {
    const config = configWith({ tor: { action: 'end_sessions', excludedUsers: [TARGET] }, unexpected_scraping: { action: 'end_sessions' } });
    config.exclusions.excludedGroups.push(GROUP_WITH_TARGET);
    expect(decideFor(['tor', 'unexpected_scraping'], config)).toEqual({
      action: 'notify_only',
      reason: 'excluded',
      events: ['tor', 'unexpected_scraping'],
      otherReasons: [],
      heldEvents: ['tor', 'unexpected_scraping'],
      exclusions: [`user ${TARGET} (tor)`, `group ${GROUP_WITH_TARGET} (all events)`],
    });
  });

  it('excluded from an ending event while another is notify only: the reason is the exclusion', () => {
    const config = configWith({ tor: { action: 'end_sessions', excludedUsers: [TARGET] }, excessive_downloads: { action: 'notify_only' } });
    expect(decideFor(['tor', 'excessive_downloads'], config)).toEqual({
      action: 'notify_only',
      reason: 'excluded',
      events: ['tor', 'excessive_downloads'],
      otherReasons: [],
      heldEvents: ['tor'],
      exclusions: [`user ${TARGET} (tor)`],
    });
  });

  it('notify only plus an off event: rule_notify_only, off event ignored', () => {
    const config = configWith({ excessive_downloads: { action: 'notify_only' } });
    expect(decideFor(['tor', 'excessive_downloads'], config)).toEqual({
      action: 'notify_only',
      reason: 'rule_notify_only',
      events: ['tor', 'excessive_downloads'],
      otherReasons: [],
      heldEvents: [],
      exclusions: [],
    });
  });

  it('an exclusion on an off event neither triggers nor shields', () => {
    const config = configWith({ unexpected_scraping: { action: 'end_sessions' } });
    config.events.tor.excludedUsers.push(TARGET);
    expect(decideFor(['tor', 'unexpected_scraping'], config)).toMatchObject({ action: 'end_sessions', triggeringEvents: ['unexpected_scraping'], scope: { kind: 'all' } });
  });

  it('the same exclusion matching several events is reported once', () => {
    const config = configWith({ tor: { action: 'end_sessions' }, unexpected_scraping: { action: 'end_sessions' } });
    config.exclusions.excludedUsers.push(TARGET);
    expect(decideFor(['tor', 'unexpected_scraping'], config)).toMatchObject({ action: 'notify_only', exclusions: [`user ${TARGET} (all events)`] });
  });
});

describe('decide: who and what is never acted on', () => {
  const torEnds = () => configWith({ tor: { action: 'end_sessions' } });

  it('non-actionable reasons only → ignore/no_actionable_event', () => {
    expect(decideFor(['asn', 'ip_address', 'excessive_file_shares'], torEnds())).toEqual({
      action: 'ignore',
      reason: 'no_actionable_event',
      events: [],
      otherReasons: ['asn', 'ip_address', 'excessive_file_shares'],
    });
  });

  it('an app entity → notify_only/app_anomaly, even for an event that ends sessions, and with every rule off', () => {
    expect(decide({ entry: appEntry(['tor', 'unexpected_credential_testing']), config: torEnds(), groupMembers: new Map() })).toEqual({
      action: 'notify_only',
      reason: 'app_anomaly',
      events: ['tor'],
      otherReasons: ['unexpected_credential_testing'],
      heldEvents: [],
      exclusions: [],
    });
    expect(decide({ entry: appEntry(['unexpected_credential_testing']), config: configWith(), groupMembers: new Map() })).toMatchObject({
      action: 'notify_only',
      reason: 'app_anomaly',
    });
    expect(factsNeeded(appEntry(['tor']), torEnds())).toEqual({ person: false, org: false, groups: [] });
  });

  it('another entity type → ignore/not_a_user', () => {
    const entry = { ...userEntry(['tor']), entity: { kind: 'other' as const, type: 'workspace' } };
    expect(decide({ entry, config: torEnds(), groupMembers: new Map() })).toMatchObject({ action: 'ignore', reason: 'not_a_user' });
  });

  it('an external (Slack Connect) person → notify_only/external_user, never end_sessions', () => {
    const stranger: PersonFacts = { ...MEMBER, isStranger: true };
    expect(decideFor(['tor'], torEnds(), stranger)).toEqual({
      action: 'notify_only',
      reason: 'external_user',
      events: ['tor'],
      otherReasons: [],
      heldEvents: ['tor'],
      exclusions: [],
      externalBecause: { fact: 'stranger' },
    });
    expect(decideFor(['tor'], configWith({ tor: { action: 'notify_only' } }), stranger)).toMatchObject({ action: 'notify_only', reason: 'external_user', heldEvents: [] });
  });

  it('someone Slack\u2019s directory does not know → notify_only/not_in_directory, never end_sessions', () => {
    expect(decideFor(['tor'], torEnds(), { found: false })).toMatchObject({ action: 'notify_only', reason: 'not_in_directory', heldEvents: ['tor'] });
  });

  it('without directory facts, nobody is signed out (not assumed to be a member)', () => {
    expect(decide({ entry: userEntry(['tor']), config: torEnds(), groupMembers: new Map(), org: ORG })).toMatchObject({
      action: 'notify_only',
      reason: 'not_in_directory',
    });
  });

  it('the primary owner → notify_only/protected where an event would end sessions', () => {
    const owner: PersonFacts = { ...MEMBER, isPrimaryOwner: true };
    expect(decideFor(['tor', 'asn'], torEnds(), owner)).toEqual({
      action: 'notify_only',
      reason: 'protected',
      events: ['tor'],
      otherReasons: ['asn'],
      heldEvents: ['tor'],
      exclusions: [],
    });
    // Where nothing would end sessions anyway, the ordinary reason stands.
    expect(decideFor(['tor'], configWith({ tor: { action: 'notify_only' } }), owner)).toMatchObject({ reason: 'rule_notify_only' });
    expect(decideFor(['tor'], configWith({ tor: { action: 'off' } }), owner)).toMatchObject({ action: 'ignore', reason: 'rules_off' });
  });

  it('all events off → ignore/rules_off', () => {
    expect(decideFor([...ANOMALY_EVENT_NAMES, 'asn'], configWith())).toEqual({
      action: 'ignore',
      reason: 'rules_off',
      events: ANOMALY_EVENT_NAMES,
      otherReasons: ['asn'],
    });
  });

  it('an excluded group the caller did not expand does not match (the caller must expand groupsToExpand)', () => {
    const config = torEnds();
    config.events.tor.excludedGroups.push(GROUP_WITH_TARGET);
    expect(decide({ entry: userEntry(['tor']), config, groupMembers: new Map(), person: MEMBER, org: ORG })).toMatchObject({ action: 'end_sessions' });
    expect(decide({ entry: userEntry(['tor']), config, groupMembers: expand([GROUP_WITH_TARGET]), person: MEMBER, org: ORG })).toMatchObject({
      action: 'notify_only',
      reason: 'excluded',
    });
  });

  it('exclusion matches the exact user id only', () => {
    const config = torEnds();
    config.events.tor.excludedUsers.push(`${TARGET}X`, TARGET.slice(0, -1));
    expect(decideFor(['tor'], config)).toMatchObject({ action: 'end_sessions' });
  });
});

describe('decide: Slack defaults', () => {
  it.each(ANOMALY_EVENT_NAMES)('%s with the default config', (event) => {
    const decision = decideFor([event], configWith({}, false));
    if (event === 'tor' || event === 'unexpected_scraping') expect(decision).toMatchObject({ action: 'end_sessions', triggeringEvents: [event], scope: { kind: 'all' } });
    else expect(decision).toMatchObject({ action: 'ignore', reason: 'rules_off' });
  });
});

describe('factsNeeded: groups', () => {
  it('returns global and per-event groups of non-off events only, sorted and de-duplicated', () => {
    const config = configWith({
      tor: { action: 'end_sessions', excludedGroups: ['S0ZULU', 'S0ALPHA'] },
      excessive_downloads: { action: 'notify_only', excludedGroups: ['S0MIKE', 'S0ALPHA'] },
      unexpected_scraping: { action: 'off', excludedGroups: ['S0OFFEVENT'] },
      session_fingerprint: { action: 'end_sessions', excludedGroups: ['S0NOTREPORTED'] },
    });
    config.exclusions.excludedGroups.push('S0GLOBAL');
    expect(groupsToExpand(userEntry(['tor', 'excessive_downloads', 'unexpected_scraping', 'asn']), config)).toEqual([
      'S0ALPHA',
      'S0GLOBAL',
      'S0MIKE',
      'S0ZULU',
    ]);
  });

  it('includes the global groups for any active event', () => {
    const config = configWith({ spoofed_user_agent: { action: 'notify_only' } });
    config.exclusions.excludedGroups.push('S0B', 'S0A');
    expect(groupsToExpand(userEntry(['spoofed_user_agent']), config)).toEqual(['S0A', 'S0B']);
  });

  it('returns none when every reported event is off', () => {
    const config = configWith({ tor: { action: 'off', excludedGroups: ['S0TOR'] } });
    config.exclusions.excludedGroups.push('S0GLOBAL');
    expect(groupsToExpand(userEntry(['tor']), config)).toEqual([]);
  });

  it('returns none for non-actionable reasons', () => {
    const config = configWith({ tor: { action: 'end_sessions' } });
    config.exclusions.excludedGroups.push('S0GLOBAL');
    expect(groupsToExpand(userEntry(['asn', 'ip_address']), config)).toEqual([]);
  });

  it('returns none for apps and other entities', () => {
    const config = configWith({ tor: { action: 'end_sessions', excludedGroups: ['S0TOR'] } });
    config.exclusions.excludedGroups.push('S0GLOBAL');
    expect(groupsToExpand(appEntry(['tor']), config)).toEqual([]);
    expect(groupsToExpand({ ...userEntry(['tor']), entity: { kind: 'other', type: 'workspace' } }, config)).toEqual([]);
  });
});

describe('applySafety', () => {
  const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
  const config = (cooldownMinutes: number) => {
    const c = configWith({ tor: { action: 'end_sessions' }, unexpected_scraping: { action: 'end_sessions' } });
    c.safety.cooldownMinutes = cooldownMinutes;
    return c;
  };
  const ending = decideFor(['tor', 'unexpected_scraping', 'asn'], config(30));

  it('starts from an end_sessions decision', () => {
    expect(ending).toMatchObject({ action: 'end_sessions', triggeringEvents: ['tor', 'unexpected_scraping'], scope: { kind: 'all' } });
  });

  it('holds a reset within the cooldown', () => {
    expect(applySafety(ending, { lastResetAt: NOW - 29 * 60_000, budgetExhausted: false }, config(30), NOW)).toEqual({
      action: 'notify_only',
      reason: 'cooldown',
      events: ['tor', 'unexpected_scraping'],
      otherReasons: ['asn'],
      heldEvents: ['tor', 'unexpected_scraping'],
      exclusions: [],
    });
  });

  it.each(['slack_anomaly_response', 'admin'] as const)('holds a reset within the cooldown of one done by %s, and says who did it', (by) => {
    expect(applySafety(ending, { lastResetAt: NOW - 5 * 60_000, lastResetBy: by, budgetExhausted: false }, config(30), NOW)).toEqual({
      action: 'notify_only',
      reason: 'cooldown',
      events: ['tor', 'unexpected_scraping'],
      otherReasons: ['asn'],
      heldEvents: ['tor', 'unexpected_scraping'],
      exclusions: [],
      resetBy: by,
    });
    expect(applySafety(ending, { lastResetAt: NOW - 31 * 60_000, lastResetBy: by, budgetExhausted: false }, config(30), NOW)).toBe(ending);
  });

  it('holds a reset one millisecond before the cooldown ends, and lets it through at the end', () => {
    const cooldown = 30 * 60_000;
    expect(applySafety(ending, { lastResetAt: NOW - cooldown + 1, budgetExhausted: false }, config(30), NOW)).toMatchObject({ reason: 'cooldown' });
    expect(applySafety(ending, { lastResetAt: NOW - cooldown, budgetExhausted: false }, config(30), NOW)).toBe(ending);
  });

  it('lets a reset through after the cooldown has passed', () => {
    expect(applySafety(ending, { lastResetAt: NOW - 31 * 60_000, budgetExhausted: false }, config(30), NOW)).toBe(ending);
  });

  it('lets a reset through when the user was never reset', () => {
    expect(applySafety(ending, { budgetExhausted: false }, config(30), NOW)).toBe(ending);
  });

  it('a cooldown of 0 disables loop protection', () => {
    expect(applySafety(ending, { lastResetAt: NOW, budgetExhausted: false }, config(0), NOW)).toBe(ending);
    // Even when the ledger's clock, which stamped the last reset, runs ahead of ours.
    expect(applySafety(ending, { lastResetAt: NOW + 5000, budgetExhausted: false }, config(0), NOW)).toBe(ending);
  });

  it('uses the configured cooldown, not a fixed one', () => {
    expect(applySafety(ending, { lastResetAt: NOW - 90 * 60_000, budgetExhausted: false }, config(120), NOW)).toMatchObject({ reason: 'cooldown' });
    expect(applySafety(ending, { lastResetAt: NOW - 6 * 60_000, budgetExhausted: false }, config(5), NOW)).toBe(ending);
  });

  it('holds a reset when the hourly budget is spent (circuit breaker)', () => {
    expect(applySafety(ending, { budgetExhausted: true }, config(30), NOW)).toEqual({
      action: 'notify_only',
      reason: 'circuit_breaker',
      events: ['tor', 'unexpected_scraping'],
      otherReasons: ['asn'],
      heldEvents: ['tor', 'unexpected_scraping'],
      exclusions: [],
    });
  });

  it('reports the cooldown rather than the breaker when both apply', () => {
    expect(applySafety(ending, { lastResetAt: NOW - 60_000, budgetExhausted: true }, config(30), NOW)).toMatchObject({ reason: 'cooldown' });
  });

  it('passes every other decision through unchanged', () => {
    const others: Decision[] = [
      decideFor(['asn'], config(30)),
      decideFor(['tor'], configWith({ tor: { action: 'notify_only' } })),
      decideFor(['tor'], configWith()),
      decideFor(['tor'], config(30), { ...MEMBER, isStranger: true }),
      decideFor(['tor'], config(30), { ...MEMBER, isPrimaryOwner: true }),
    ];
    expect(others.map((d) => d.action)).toEqual(['ignore', 'notify_only', 'ignore', 'notify_only', 'notify_only']);
    for (const decision of others) {
      expect(applySafety(decision, { lastResetAt: NOW, budgetExhausted: true }, config(30), NOW)).toBe(decision);
    }
  });
});

describe('factsNeeded: directory lookups', () => {
  it('asks for the person and the org only when an event is not off', () => {
    expect(factsNeeded(userEntry(['tor']), configWith({ tor: { action: 'notify_only' } }))).toMatchObject({ person: true, org: true });
    expect(factsNeeded(userEntry(['tor']), configWith())).toEqual({ person: false, org: false, groups: [] });
    expect(factsNeeded(appEntry(['tor']), configWith({ tor: { action: 'end_sessions' } }))).toEqual({ person: false, org: false, groups: [] });
  });
});

describe('externalBecause: who is from another organisation (Slack Connect)', () => {
  const entity = (extra: Partial<Extract<ReturnType<typeof userEntry>['entity'], { kind: 'user' }>> = {}) => ({
    ...(userEntry(['tor']).entity as Extract<ReturnType<typeof userEntry>['entity'], { kind: 'user' }>),
    ...extra,
  });

  it('an org member (team and enterprise are the org\u2019s) is not external', () => {
    expect(externalBecause(entity(), MEMBER, ORG)).toBeUndefined();
    // An org-level person whose team is the enterprise itself.
    expect(externalBecause(entity({ team: 'E123ABC456' }), { ...MEMBER, teamId: 'E123ABC456' }, ORG)).toBeUndefined();
  });

  it.each([
    ['the entry says is_external_user', entity({ isExternalUser: true }), MEMBER, { fact: 'is_external_user' }],
    ['details.entity_team is another team', entity({ entityTeam: 'T0THEIRS01' }), MEMBER, { fact: 'entity_team', value: 'T0THEIRS01' }],
    ['entity.user.team is another team (a non-Enterprise workspace)', entity({ team: 'T0THEIRS01' }), MEMBER, { fact: 'entry_team', value: 'T0THEIRS01' }],
    ['users.info is_stranger', entity(), { ...MEMBER, isStranger: true }, { fact: 'stranger' }],
    ['users.info enterprise is another org', entity(), { ...MEMBER, enterpriseId: 'E0THEIRS01' }, { fact: 'other_enterprise', value: 'E0THEIRS01' }],
    // A person from a workspace outside any Enterprise org: no enterprise_user, not a stranger.
    ['users.info team_id is another team, no enterprise', entity({ team: undefined }), { found: true, isPrimaryOwner: false, isStranger: false, teamId: 'T0THEIRS01' } as PersonFacts, { fact: 'directory_team', value: 'T0THEIRS01' }],
  ])('%s → external', (_name, who, person, evidence) => {
    expect(externalBecause(who, person, ORG)).toEqual(evidence);
    expect(decide({ entry: { ...userEntry(['tor']), entity: who }, config: configWith({ tor: { action: 'end_sessions' } }), groupMembers: new Map(), person, org: ORG })).toMatchObject({
      action: 'notify_only',
      reason: 'external_user',
    });
  });
});

describe('mayEndSessions (the poller\u2019s order in a burst)', () => {
  it('is true only for a person\u2019s entry naming an event whose rule ends sessions', () => {
    const config = configWith({ tor: { action: 'end_sessions' }, excessive_downloads: { action: 'notify_only' } });
    expect(mayEndSessions(userEntry(['tor', 'asn']), config)).toBe(true);
    expect(mayEndSessions(userEntry(['excessive_downloads']), config)).toBe(false);
    expect(mayEndSessions(userEntry(['unexpected_scraping']), config)).toBe(false);
    expect(mayEndSessions(userEntry(['asn']), config)).toBe(false);
    expect(mayEndSessions(appEntry(['tor']), config)).toBe(false);
  });
});

/** An entry about TARGET with this context (the address, session and ASN the anomaly was seen with). */
function entryWith(reasons: string[], context: Partial<ReturnType<typeof userEntry>['context']>) {
  const entry = userEntry(reasons);
  return { ...entry, context: { ...entry.context, ...context } };
}

function decideEntry(entry: ReturnType<typeof userEntry>, config: ResponseConfig, person: PersonFacts = MEMBER): Decision {
  return decide({ entry, config, groupMembers: expand(groupsToExpand(entry, config)), person, org: ORG });
}

describe('decide: more events (codes beyond the seven, item event#<code>)', () => {
  const ROWS = MORE_EVENT_NAMES.flatMap((event) => SETTINGS.map((setting) => [event, setting] as const));

  it.each(ROWS)('%s set to %s', (event, setting) => {
    const decision = decideFor([event], configWith({ [event]: { action: setting } }));
    if (setting === 'off') {
      // Off (the default): recorded as another reason, exactly as before such codes took rules.
      expect(decision).toEqual({ action: 'ignore', reason: 'no_actionable_event', events: [], otherReasons: [event] });
    } else if (setting === 'end_sessions') {
      expect(decision).toEqual({ action: 'end_sessions', reason: 'rule_end_sessions', events: [event], otherReasons: [], triggeringEvents: [event], scope: { kind: 'all' } });
    } else {
      expect(decision).toEqual({ action: 'notify_only', reason: 'rule_notify_only', events: [event], otherReasons: [], heldEvents: [], exclusions: [] });
    }
  });

  it('exclusions apply to them as to the seven', () => {
    const config = configWith({ excessive_malware_uploads: { action: 'end_sessions', excludedUsers: [TARGET] } });
    expect(decideFor(['excessive_malware_uploads'], config)).toMatchObject({ action: 'notify_only', reason: 'excluded', exclusions: [`user ${TARGET} (excessive_malware_uploads)`] });
  });

  it('with Slack\u2019s defaults they are all off', () => {
    for (const event of MORE_EVENT_NAMES) expect(decideFor([event], configWith({}, false))).toMatchObject({ action: 'ignore', reason: 'no_actionable_event' });
  });
});

describe('decide: session scope (event#<code>.scope)', () => {
  const scoped = (tor: SessionScope, extra: Partial<Record<AnomalyEvent, SessionScope>> = {}) => {
    const config = configWith({ tor: { action: 'end_sessions', scope: tor } });
    for (const [event, scope] of Object.entries(extra)) config.events[event as AnomalyEvent] = { ...config.events[event as AnomalyEvent], action: 'end_sessions', scope };
    return config;
  };

  it.each<[string, SessionScope, Partial<ReturnType<typeof userEntry>['context']>, Partial<Decision>]>([
    ['all (the default)', 'all', { sessionId: '847288190092' }, { scope: { kind: 'all' } }],
    ['web only', 'web', { sessionId: '847288190092' }, { scope: { kind: 'web' } }],
    ['mobile only', 'mobile', {}, { scope: { kind: 'mobile' } }],
    ['the offending session', 'session', { sessionId: '847288190092' }, { scope: { kind: 'session', sessionId: '847288190092' } }],
    ['session, but the entry has no session id → all, and says so', 'session', { sessionId: undefined }, { scope: { kind: 'all' }, scopeFallback: 'no_session_id' }],
    ['session, but the id is not an integer Slack can take → all, and says so', 'session', { sessionId: 'abc-123' }, { scope: { kind: 'all' }, scopeFallback: 'no_session_id' }],
    ['session, but the id only starts with an integer → all, and says so', 'session', { sessionId: '847288190092abc' }, { scope: { kind: 'all' }, scopeFallback: 'no_session_id' }],
  ])('%s', (_name, scope, context, expected) => {
    const decision = decideEntry(entryWith(['tor'], context), scoped(scope));
    expect(decision).toEqual({ action: 'end_sessions', reason: 'rule_end_sessions', events: ['tor'], otherReasons: [], triggeringEvents: ['tor'], ...expected });
  });

  it('two triggering events with the same scope keep it; different scopes end all sessions (the broadest)', () => {
    const entry = entryWith(['tor', 'unexpected_scraping'], { sessionId: '42' });
    expect(decideEntry(entry, scoped('web', { unexpected_scraping: 'web' }))).toMatchObject({ scope: { kind: 'web' } });
    expect(decideEntry(entry, scoped('web', { unexpected_scraping: 'mobile' }))).toMatchObject({ scope: { kind: 'all' } });
    expect(decideEntry(entry, scoped('session', { unexpected_scraping: 'web' }))).toMatchObject({ scope: { kind: 'all' } });
    expect(decideEntry(entry, scoped('session', { unexpected_scraping: 'session' }))).toMatchObject({ scope: { kind: 'session', sessionId: '42' } });
  });

  it('only the triggering events\u2019 scopes count (not a notify-only event\u2019s)', () => {
    const config = scoped('mobile');
    config.events.excessive_downloads = { ...config.events.excessive_downloads, action: 'notify_only', scope: 'web' };
    expect(decideEntry(entryWith(['tor', 'excessive_downloads'], {}), config)).toMatchObject({ scope: { kind: 'mobile' } });
  });
});

describe('decide: trusted networks (item trustedNetworks)', () => {
  const trusting = (cidrs: string[], asns: number[] = []) => {
    const config = configWith({ tor: { action: 'end_sessions' } });
    config.trustedNetworks = { cidrs, asns, syncToSlack: false };
    return config;
  };
  const RANGES = ['198.51.100.0/24', '2001:db8::/32', '203.0.113.128/25'];

  it.each<[string, Partial<ReturnType<typeof userEntry>['context']>, string | undefined]>([
    ['an IPv4 address inside a range', { ipAddress: '198.51.100.7' }, '198.51.100.0/24'],
    ['the first address of a range', { ipAddress: '198.51.100.0' }, '198.51.100.0/24'],
    ['the last address of a range', { ipAddress: '198.51.100.255' }, '198.51.100.0/24'],
    ['the address just past a range', { ipAddress: '198.51.101.0' }, undefined],
    ['the address just before a /25', { ipAddress: '203.0.113.127' }, undefined],
    ['inside a /25', { ipAddress: '203.0.113.200' }, '203.0.113.128/25'],
    ['an IPv6 address inside a range', { ipAddress: '2001:db8:ffff::1' }, '2001:db8::/32'],
    ['an IPv6 address just past a range', { ipAddress: '2001:db9::1' }, undefined],
    ['an IPv4-mapped IPv6 address', { ipAddress: '::ffff:198.51.100.9' }, '198.51.100.0/24'],
    ['an upper-case IPv6 address', { ipAddress: '2001:DB8::A' }, '2001:db8::/32'],
    ['an address with spaces around it', { ipAddress: ' 198.51.100.7 ' }, '198.51.100.0/24'],
    ['an address outside every range', { ipAddress: '192.0.2.1' }, undefined],
    ['no address in the entry', { ipAddress: undefined }, undefined],
    ['something that is not an address', { ipAddress: '198.51.100.7, 10.0.0.1' }, undefined],
    ['an ASN the entry carries', { ipAddress: '192.0.2.1', asn: 64500 }, 'AS64500'],
    ['an ASN not in the list', { ipAddress: '192.0.2.1', asn: 64501 }, undefined],
  ])('%s', (_name, context, match) => {
    const decision = decideEntry(entryWith(['tor'], context), trusting(RANGES, [64500]));
    if (match) {
      expect(decision).toEqual({
        action: 'notify_only',
        reason: 'trusted_network',
        events: ['tor'],
        otherReasons: [],
        heldEvents: ['tor'],
        exclusions: [],
        trustedNetwork: match,
      });
    } else {
      expect(decision).toMatchObject({ action: 'end_sessions' });
    }
  });

  it('comes before every fact about the person (no lookups are needed), and holds notify-only events too', () => {
    const entry = entryWith(['tor'], { ipAddress: '198.51.100.7' });
    const config = trusting(RANGES);
    config.exclusions.excludedGroups.push(GROUP_WITH_TARGET);
    expect(factsNeeded(entry, config)).toEqual({ person: false, org: false, groups: [] });
    expect(decideEntry(entry, config, { found: false })).toMatchObject({ reason: 'trusted_network' });
    config.events.tor.action = 'notify_only';
    expect(decideEntry(entry, config)).toMatchObject({ reason: 'trusted_network', heldEvents: [] });
    config.events.tor.action = 'off';
    expect(decideEntry(entry, config)).toMatchObject({ action: 'ignore', reason: 'rules_off' });
  });

  it('no trusted networks: nothing is trusted (0.0.0.0/0 would trust every IPv4 address)', () => {
    expect(decideEntry(entryWith(['tor'], { ipAddress: '198.51.100.7' }), trusting([]))).toMatchObject({ action: 'end_sessions' });
    expect(decideEntry(entryWith(['tor'], { ipAddress: '198.51.100.7' }), trusting(['0.0.0.0/0']))).toMatchObject({ trustedNetwork: '0.0.0.0/0' });
    expect(decideEntry(entryWith(['tor'], { ipAddress: '2001:db8::1' }), trusting(['0.0.0.0/0']))).toMatchObject({ action: 'end_sessions' });
  });
});
