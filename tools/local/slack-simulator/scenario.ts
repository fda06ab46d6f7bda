import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isKnownReason } from './reason-codes';

/**
 * Scenario files: an org directory, a stream of audit entries with times relative to the
 * simulator's start, and what a correct responder must do with them. The format is documented
 * in tools/local/scenarios/README.md; this module is its single source of truth.
 */

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const userId = z.string().regex(USER_ID, 'must be a Slack user ID (U… or W…)');
const slackId = (prefix: string, what: string) =>
  z.string().regex(new RegExp(`^${prefix}[A-Z0-9]{2,}$`), `must be a Slack ${what} ID (${prefix}…)`);

const enterpriseSchema = z.strictObject({ id: slackId('E', 'enterprise'), name: z.string().min(1), domain: z.string().min(1) });
const workspaceSchema = z.strictObject({ id: slackId('T', 'workspace'), name: z.string().min(1), domain: z.string().min(1) });

const orgUserSchema = z.strictObject({
  id: userId,
  /** Handle, e.g. "sofia.alvarez". */
  name: z.string().min(1),
  real_name: z.string().min(1),
  email: z.email('must be an email address').optional(),
  title: z.string().optional(),
  /** Home workspace (T…); defaults to the org's first workspace. */
  team: slackId('T', 'workspace').optional(),
  tz: z.string().default('Europe/London'),
  is_primary_owner: z.boolean().default(false),
  is_owner: z.boolean().default(false),
  is_admin: z.boolean().default(false),
  is_bot: z.boolean().default(false),
  deleted: z.boolean().default(false),
  /** Org-level role assignments: 'security_admin' (= role Rl0J) or raw role ids (Rl…). */
  roles: z.array(z.string().regex(/^(security_admin|Rl[A-Za-z0-9]+)$/, "must be 'security_admin' or a role ID (Rl…)")).default([]),
  /** A Slack Connect person from another organisation (enterprise_id says which), or from a
   *  workspace outside any Enterprise org (team says which, no enterprise_id). */
  external: z.boolean().default(false),
  enterprise_id: slackId('E', 'enterprise').optional(),
  enterprise_name: z.string().optional(),
  /** Known session ids; sessions named in this user's audit entries are added automatically. */
  sessions: z.array(z.union([z.string().min(1), z.number().int()])).default([]),
});

const usergroupSchema = z.strictObject({
  id: slackId('S', 'user group'),
  /**
   * The team the group lives in: a workspace's T… id for a workspace group, or the org's E… id
   * for an org-wide group (Slack's admin.usergroups examples show an org-wide subteam with
   * `"team_id": "E060RNRCZ"`). Default: the enterprise id (org-wide). With an org-level token,
   * usergroups.users.list must be called with this team_id.
   */
  team_id: z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'must be a workspace ID (T…) or the enterprise ID (E…)').optional(),
  name: z.string().min(1),
  handle: z.string().min(1),
  description: z.string().optional(),
  is_idp_group: z.boolean().default(false),
  users: z.array(userId).default([]),
});

const channelSchema = z.strictObject({
  id: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel ID (C… or G…)'),
  name: z.string().min(1),
  is_private: z.boolean().default(false),
  /** chat.postMessage answers not_in_channel unless the bot is a member. */
  bot_is_member: z.boolean().default(true),
});

/** The app that owns the bot token (the notifier's identity in Slack). */
const appSchema = z.strictObject({
  id: slackId('A', 'app').default('A0SIMRESPND'),
  name: z.string().min(1).default('Anomaly Responder'),
  bot_user_id: userId.default('U0SIMBOTUSR'),
  bot_id: slackId('B', 'bot').default('B0SIMBOTID1'),
  /**
   * The person who installed the app on the org, i.e. whose user tokens (audit, admin) these are.
   * Slack lets only the primary owner reset or invalidate the primary owner's sessions, so this
   * decides whether resetting the primary owner succeeds. Default: the primary owner.
   */
  installed_by: userId.optional(),
});

const orgSchema = z
  .strictObject({
    enterprise: enterpriseSchema,
    workspaces: z.array(workspaceSchema).default([]),
    users: z.array(orgUserSchema).min(1, 'needs at least one user'),
    usergroups: z.array(usergroupSchema).default([]),
    channels: z.array(channelSchema).default([]),
    app: appSchema.prefault({}),
  })
  // Defaults that depend on the rest of the org: a group without team_id is org-wide, and the
  // user tokens were installed by the primary owner (what auth.test has always reported). An org
  // without a primary owner keeps installed_by unset; Directory.installer() then falls back.
  .transform((org) => ({
    ...org,
    usergroups: org.usergroups.map((group) => ({ ...group, team_id: group.team_id ?? org.enterprise.id })),
    app: { ...org.app, installed_by: org.app.installed_by ?? org.users.find((u) => u.is_primary_owner)?.id },
  }));

const reasonCode = z.string().refine(isKnownReason, { message: 'is not a documented anomaly reason code' });
const optionalText = z.string().optional();

/** The shape of a (non-raw) scenario entry once the simulator's own fields are set aside. */
const entryShape = z.looseObject({
  action: z.string().min(1).default('anomaly'),
  actor: z.looseObject({ type: z.string().min(1) }).optional(),
  entity: z.discriminatedUnion('type', [
    z.looseObject({
      type: z.literal('user'),
      user: z.looseObject({ id: userId, name: optionalText, email: optionalText, team: optionalText }),
    }),
    z.looseObject({ type: z.literal('app'), app: z.looseObject({ id: slackId('A', 'app'), name: z.string().min(1) }) }),
  ]),
  context: z
    .looseObject({
      location: z.looseObject({ type: optionalText, id: optionalText, name: optionalText, domain: optionalText }).optional(),
      ua: optionalText,
      ip_address: optionalText,
      session_id: z.union([z.string().min(1), z.number().int()]).optional(),
    })
    .optional(),
  details: z
    .looseObject({
      reason: z.union([reasonCode, z.array(reasonCode).min(1, 'needs at least one reason code')]).optional(),
      action_timestamp: z.number().optional(),
      location: optionalText,
      previous_ip_address: optionalText,
      previous_ua: optionalText,
    })
    .optional(),
});

const scenarioEntrySchema = z
  .looseObject({
    id: z.string().min(1, 'is required'),
    /** Seconds before the time the entry is loaded (simulator start); negative = in the future. */
    ageSeconds: z.number().int().optional(),
    /** Absolute unix seconds, instead of ageSeconds. */
    date_create: z.number().int().nonnegative().optional(),
    /** The entry shows up in results only this long after date_create (late arrival). */
    arrivalDelaySeconds: z.number().int().nonnegative().default(0),
    /** Serve exactly as written (no defaults, no shape checks): for malformed-entry tests. */
    raw: z.boolean().default(false),
    /** Free text for humans; never served. */
    note: z.string().optional(),
  })
  .superRefine((entry, ctx) => {
    if ((entry.ageSeconds === undefined) === (entry.date_create === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['ageSeconds'], message: 'give exactly one of ageSeconds or date_create' });
    }
    if (entry.raw) return;
    const shape = entryShape.safeParse(entry);
    if (!shape.success) {
      for (const issue of shape.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      return;
    }
    if (shape.data.action === 'anomaly' && shape.data.details?.reason === undefined) {
      ctx.addIssue({ code: 'custom', path: ['details', 'reason'], message: 'is required for anomaly entries' });
    }
  });

const decisionSchema = z.strictObject({
  // recorded: an entry that is not an anomaly (what else ended sessions, or changed Slack's own response).
  action: z.enum(['end_sessions', 'notify_only', 'ignore', 'rejected', 'recorded']),
  reason: z.string().min(1).optional(),
  /** For end_sessions that Slack refuses, e.g. cannot_reset_primary_owner. */
  error: z.string().min(1).optional(),
});

/** What a correct responder does with this scenario under its matching config. */
const expectSchema = z.looseObject({
  /** The response config file this expectation holds for (relative to the scenario). */
  config: z.string().optional(),
  /** Users whose sessions must end (exactly once each), sorted. */
  sessionsEnded: z.array(userId).optional(),
  /** Users whose sessions must never end. */
  untouched: z.array(userId).optional(),
  /** Entries the responder must refuse as malformed. */
  rejected: z.array(z.string().min(1)).optional(),
  /** end_sessions decisions that Slack refuses. */
  actionFailed: z.array(z.strictObject({ entryId: z.string().min(1), userId, error: z.string().min(1) })).optional(),
  /** Per-entry decisions that do not depend on processing order. */
  decisions: z.record(z.string(), decisionSchema).optional(),
  /** The same user hit twice within the cooldown: one reset, the other entry held back. */
  cooldown: z
    .array(z.strictObject({ userId, entryIds: z.array(z.string().min(1)).min(2), resets: z.number().int().nonnegative() }))
    .optional(),
  /** Entries that arrive after a poll has already passed their date_create. */
  lateArrivals: z.array(z.string().min(1)).optional(),
  notes: z.union([z.string(), z.array(z.string())]).optional(),
});

export const scenarioSchema = z
  .strictObject({
    description: z.string().optional(),
    org: orgSchema,
    entries: z.array(scenarioEntrySchema).default([]),
    expect: expectSchema.optional(),
  })
  .superRefine((scenario, ctx) => {
    checkOrg(scenario.org, ctx);
    checkEntries(scenario.entries, scenario.org, ctx, ['entries']);
    if (scenario.expect) checkExpect(scenario.expect, scenario, ctx);
  });

export type Org = z.output<typeof orgSchema>;
export type OrgUser = z.output<typeof orgUserSchema>;
export type ScenarioEntryInput = z.input<typeof scenarioEntrySchema>;
export type ScenarioEntry = z.output<typeof scenarioEntrySchema>;
export type ScenarioExpect = z.output<typeof expectSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export interface Scenario {
  /** Where it came from (file path, or "(object)"), for messages. */
  source: string;
  description?: string;
  org: Org;
  entries: ScenarioEntry[];
  expect?: ScenarioExpect;
}

/** A scenario (or runtime entries) failed validation; `issues` name each field ("entries[3].details.reason[0]: …"). */
export class ScenarioError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`Scenario ${source} is invalid:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ScenarioError';
  }
}

/** Load and validate a scenario from a JSON file path or an already-parsed object. */
export function loadScenario(source: string | ScenarioInput | Scenario): Scenario {
  if (typeof source !== 'string') {
    if (isLoadedScenario(source)) return source;
    return validateScenario(source, '(object)');
  }
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    throw new ScenarioError(source, [`(file): cannot be read: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(source, [`(file): is not valid JSON: ${(error as Error).message}`]);
  }
  return validateScenario(json, source);
}

function isLoadedScenario(value: unknown): value is Scenario {
  return typeof (value as Scenario)?.source === 'string' && Array.isArray((value as Scenario).entries) && !!(value as Scenario).org;
}

function validateScenario(json: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) throw new ScenarioError(source, formatIssues(parsed.error, json));
  const { description, org, entries, expect } = parsed.data;
  return { source, description, org, entries, expect };
}

/** Validate entries added at runtime (sim.addEntries, POST /_sim/entries) against an org. */
export function parseScenarioEntries(input: unknown, org: Org, source = 'entries'): ScenarioEntry[] {
  const schema = z.array(scenarioEntrySchema).superRefine((entries, ctx) => checkEntries(entries, org, ctx, []));
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ScenarioError(source, formatIssues(parsed.error, input, 'entries'));
  return parsed.data;
}

type Ctx = z.RefinementCtx;

/** Indexes of values already seen earlier in the list (the first occurrence is not flagged). */
function repeats(values: string[]): Set<number> {
  const seen = new Set<string>();
  const out = new Set<number>();
  values.forEach((v, i) => (seen.has(v) ? out.add(i) : seen.add(v)));
  return out;
}

function checkOrg(org: Org, ctx: Ctx): void {
  const userIds = new Set(org.users.map((u) => u.id));
  const flagDuplicates = (items: { id: string }[], key: string) => {
    const dup = repeats(items.map((i) => i.id));
    items.forEach((item, i) => {
      if (dup.has(i)) ctx.addIssue({ code: 'custom', path: ['org', key, i, 'id'], message: `duplicate id ${item.id}` });
    });
  };
  flagDuplicates(org.users, 'users');
  flagDuplicates(org.usergroups, 'usergroups');
  flagDuplicates(org.channels, 'channels');

  const owners = org.users.filter((u) => u.is_primary_owner);
  if (owners.length > 1) ctx.addIssue({ code: 'custom', path: ['org', 'users'], message: `has ${owners.length} primary owners; an org has one` });
  org.users.forEach((user, i) => {
    const path = ['org', 'users', i];
    if (user.external) {
      // Either from another Enterprise org (enterprise_id), or from a workspace outside any
      // Enterprise org (team only): Slack then sends no enterprise_user and no is_stranger.
      if (!user.enterprise_id && !user.team) {
        ctx.addIssue({ code: 'custom', path: [...path, 'enterprise_id'], message: 'is required for external people (their own org), unless team names their own workspace' });
      } else if (user.team && org.workspaces.some((w) => w.id === user.team)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'team'], message: 'must be the external person\u2019s own workspace, not one of this org\u2019s' });
      } else if (user.enterprise_id === org.enterprise.id) {
        ctx.addIssue({ code: 'custom', path: [...path, 'enterprise_id'], message: 'must be another org for an external person' });
      }
      if (user.is_primary_owner || user.is_owner || user.is_admin || user.roles.length) {
        ctx.addIssue({ code: 'custom', path, message: 'an external person cannot hold owner/admin roles in this org' });
      }
    }
    if (user.is_primary_owner && (user.is_bot || user.deleted)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'is_primary_owner'], message: 'the primary owner must be an active person' });
    }
  });
  const workspaceIds = new Set(org.workspaces.map((w) => w.id));
  org.usergroups.forEach((group, g) => {
    group.users.forEach((member, m) => {
      if (!userIds.has(member)) ctx.addIssue({ code: 'custom', path: ['org', 'usergroups', g, 'users', m], message: `unknown user ${member}` });
    });
    const team = group.team_id;
    if (team.startsWith('T') && !workspaceIds.has(team)) {
      ctx.addIssue({ code: 'custom', path: ['org', 'usergroups', g, 'team_id'], message: `unknown workspace ${team}: add it to org.workspaces` });
    } else if (team.startsWith('E') && team !== org.enterprise.id) {
      ctx.addIssue({ code: 'custom', path: ['org', 'usergroups', g, 'team_id'], message: `must be this org's enterprise id ${org.enterprise.id} for an org-wide group` });
    }
  });

  // Admin-scoped apps are installed on the org by an owner or admin (admin.users.list reference);
  // a bot, a deleted account or a Slack Connect person cannot have installed it.
  const installerId = org.app.installed_by;
  const installer = org.users.find((u) => u.id === installerId);
  if (installerId && USER_ID.test(installerId) && !installer) {
    ctx.addIssue({ code: 'custom', path: ['org', 'app', 'installed_by'], message: `unknown user ${installerId}` });
  } else if (installer && (installer.external || installer.is_bot || installer.deleted || !(installer.is_primary_owner || installer.is_owner || installer.is_admin))) {
    ctx.addIssue({ code: 'custom', path: ['org', 'app', 'installed_by'], message: 'must be an active owner or admin of this org' });
  }
}

function checkEntries(entries: ScenarioEntry[], org: Org, ctx: Ctx, base: (string | number)[]): void {
  const dup = repeats(entries.map((e) => e.id));
  const userIds = new Set(org.users.map((u) => u.id));
  entries.forEach((entry, i) => {
    if (dup.has(i)) ctx.addIssue({ code: 'custom', path: [...base, i, 'id'], message: `duplicate entry id ${entry.id}` });
    if (entry.raw) return;
    const entity = entry.entity as { type?: string; user?: { id?: string; name?: string } } | undefined;
    const id = entity?.type === 'user' ? entity.user?.id : undefined;
    if (id && !userIds.has(id) && !entity?.user?.name) {
      ctx.addIssue({
        code: 'custom',
        path: [...base, i, 'entity', 'user', 'id'],
        message: `unknown user ${id}: add them to org.users, or give entity.user.name to use a user outside the directory`,
      });
    }
  });
}

function checkExpect(expect: ScenarioExpect, scenario: { org: Org; entries: ScenarioEntry[] }, ctx: Ctx): void {
  const userIds = new Set(scenario.org.users.map((u) => u.id));
  const entryIds = new Set(scenario.entries.map((e) => e.id));
  const users = (list: string[] | undefined, key: string) =>
    list?.forEach((id, i) => {
      if (!userIds.has(id)) ctx.addIssue({ code: 'custom', path: ['expect', key, i], message: `unknown user ${id}` });
    });
  const entriesRef = (list: string[] | undefined, key: (string | number)[]) =>
    list?.forEach((id, i) => {
      if (!entryIds.has(id)) ctx.addIssue({ code: 'custom', path: ['expect', ...key, i], message: `unknown entry ${id}` });
    });
  users(expect.sessionsEnded, 'sessionsEnded');
  users(expect.untouched, 'untouched');
  entriesRef(expect.rejected, ['rejected']);
  entriesRef(expect.lateArrivals, ['lateArrivals']);
  expect.cooldown?.forEach((c, i) => entriesRef(c.entryIds, ['cooldown', i, 'entryIds']));
  expect.actionFailed?.forEach((f, i) => entriesRef([f.entryId], ['actionFailed', i, 'entryId']));
  for (const id of Object.keys(expect.decisions ?? {})) {
    if (!entryIds.has(id)) ctx.addIssue({ code: 'custom', path: ['expect', 'decisions', id], message: `unknown entry ${id}` });
  }
  const ended = expect.sessionsEnded ?? [];
  if (ended.join() !== [...new Set(ended)].sort().join()) {
    ctx.addIssue({ code: 'custom', path: ['expect', 'sessionsEnded'], message: 'must be sorted and without duplicates' });
  }
  const both = ended.filter((id) => expect.untouched?.includes(id));
  if (both.length) ctx.addIssue({ code: 'custom', path: ['expect', 'untouched'], message: `also in sessionsEnded: ${both.join(', ')}` });
}

/** "entries[3] (id e-12).details.reason[0]: is not a documented anomaly reason code" */
export function formatIssues(error: z.ZodError, input: unknown, root?: string): string[] {
  return error.issues.map((issue) => {
    const path = root ? [root, ...issue.path] : issue.path;
    let text = '';
    path.forEach((segment, i) => {
      if (typeof segment === 'number') text += `[${segment}]`;
      else text += (text ? '.' : '') + String(segment);
      // Name the entry by id too: indexes alone are hard to find in a 40-entry file.
      if (typeof segment === 'number' && i > 0 && path[i - 1] === 'entries') {
        const entries = root ? input : (input as { entries?: unknown })?.entries;
        const id = Array.isArray(entries) ? (entries[segment] as { id?: unknown } | undefined)?.id : undefined;
        if (typeof id === 'string') text += ` (id ${id})`;
      }
    });
    return `${text || '(root)'}: ${issue.message}`;
  });
}
