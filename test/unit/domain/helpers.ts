import type { AnomalyEvent } from '../../../functions/domain/anomaly-catalogue';
import type { AnomalyEntry } from '../../../functions/domain/audit-entry';
import { defaultConfig, type ResponseConfig } from '../../../functions/domain/config/schema';
import type { OrgFacts, PersonFacts } from '../../../functions/domain/decision/decide';

/** The affected person in most tests, and some other ids. */
export const TARGET = 'U0TARGET01';
export const SOMEONE_ELSE = 'W0OTHER001';
export const GROUP_WITH_TARGET = 'S0SECTEAM1';
export const GROUP_WITHOUT_TARGET = 'S0SALES001';

/** The org the tests protect: its enterprise and its one workspace (the entries' `team`). */
export const ORG: OrgFacts = { enterpriseId: 'E123ABC456', teamIds: new Set(['E123ABC456', 'T123ABC456']) };

/** users.info facts of an ordinary member of ORG. */
export const MEMBER: Extract<PersonFacts, { found: true }> = { found: true, isPrimaryOwner: false, isStranger: false, teamId: 'T123ABC456', enterpriseId: 'E123ABC456' };

/** The org directory's user groups, as the caller would expand them. */
export const DIRECTORY_GROUPS: Record<string, string[]> = {
  [GROUP_WITH_TARGET]: [SOMEONE_ELSE, TARGET],
  [GROUP_WITHOUT_TARGET]: [SOMEONE_ELSE],
};

/** Expand only the groups asked for, as respond does with `factsNeeded(…).groups`. */
export function expand(groups: readonly string[], directory: Record<string, string[]> = DIRECTORY_GROUPS): Map<string, ReadonlySet<string>> {
  return new Map(groups.map((group) => [group, new Set(directory[group] ?? [])]));
}

export function userEntry(reasons: string[], userId = TARGET): AnomalyEntry {
  return {
    id: `entry-${reasons.join('-')}`,
    dateCreate: 1_644_428_305,
    entity: { kind: 'user', userId, name: 'ana', email: 'ana@example.com', team: 'T123ABC456' },
    reasons,
    context: { ipAddress: '1.23.45.67' },
  };
}

export function appEntry(reasons: string[]): AnomalyEntry {
  return { id: 'entry-app', dateCreate: 1_644_428_305, entity: { kind: 'app', appId: 'A0123ABC', name: 'Scraper' }, reasons, context: {} };
}

/** A config with every event off, then `rules` applied on top. */
export function configWith(rules: Partial<Record<AnomalyEvent, Partial<ResponseConfig['events'][AnomalyEvent]>>> = {}, allOff = true): ResponseConfig {
  const config = defaultConfig();
  for (const event of Object.keys(config.events) as AnomalyEvent[]) {
    if (allOff) config.events[event] = { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] };
    const rule = rules[event];
    if (rule) config.events[event] = { ...config.events[event], ...rule };
  }
  return config;
}

/** A realistic raw audit-log entry, in the shape of Slack's reference example. */
export function rawEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const user = { id: 'U123ABC456', name: 'ana', email: 'ana@example.com', team: 'T123ABC456' };
  return {
    id: '0b5c3c5e-2b53-4b3b-8d1e-0d4f3a8c9e11',
    date_create: 1644428305,
    action: 'anomaly',
    actor: { type: 'user', user: { ...user } },
    entity: { type: 'user', user: { ...user } },
    context: {
      location: { type: 'workspace', id: 'E123ABC456', name: 'Acme', domain: 'acme' },
      ua: 'Mozilla/5.0 (X11; Linux x86_64)',
      session_id: '847288190092',
      ip_address: '1.23.45.67',
    },
    details: {
      action_timestamp: 1644428253989994,
      location: 'Reno, Nevada',
      previous_ip_address: '9.87.65.43',
      previous_ua: 'Mozilla/5.0 (Macintosh)',
      reason: ['tor'],
    },
    ...overrides,
  };
}
