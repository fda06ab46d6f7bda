import { SlackError } from '../../functions/adapters/slack/errors';
import type { DirectoryUser, SlackApi } from '../../functions/adapters/slack/web-api';
import type { ScenarioInput } from '../../tools/local/slack-simulator';
import { FakeSlack } from './fake-slack';
import { FakeSlack as NotifyFakeSlack } from '../unit/notify/fakes';

/**
 * One Slack org, described once, and what Slack answers about it: the contract the unit tests'
 * Slack fakes (test/support/fake-slack.ts, test/unit/notify/fakes.ts) and the real SlackWebApi on
 * the strict simulator must all meet (test/tools/slack-simulator/slack-fakes-contract.test.ts).
 */
export const CONTRACT_ORG = {
  enterprise: { id: 'E0CONTRACT1', name: 'Contract Org', domain: 'contract-org' },
  workspace: { id: 'T0CONTRWS01', name: 'Contract WS', domain: 'contract-ws' },
  otherOrg: 'E0OTHERORG1',
  users: {
    owner: { id: 'W0OWNER0001', name: 'olga', real_name: 'Olga Owner', email: 'olga@contract.example', is_primary_owner: true, is_owner: true, is_admin: true, sessions: ['1001'] },
    admin: { id: 'W0ADMIN0001', name: 'adam', real_name: 'Adam Admin', email: 'adam@contract.example', is_admin: true, roles: ['security_admin'] },
    ana: { id: 'W0ANA000001', name: 'ana', real_name: 'Ana Silva', email: 'ana@contract.example', sessions: ['847288190092'] },
    gone: { id: 'W0GONE00001', name: 'gone', real_name: 'Gone Person', email: 'gone@contract.example', deleted: true },
    bot: { id: 'W0BOT000001', name: 'helperbot', real_name: 'Helper Bot', is_bot: true },
    ext: { id: 'W0EXT000001', name: 'eve', real_name: 'Eve External', email: 'eve@partner.example', external: true, enterprise_id: 'E0OTHERORG1', enterprise_name: 'Partner' },
  },
  nobody: 'W0NOBODY001',
  groups: { orgWide: 'S0ORGWIDE01', workspace: 'S0WSGROUP01', unknown: 'S0UNKNOWN01' },
  channels: { member: 'C0ALERTS001', notMember: 'C0NOTIN0001', unknown: 'C0UNKNOWN01' },
} as const;

type OrgPerson = (typeof CONTRACT_ORG.users)[keyof typeof CONTRACT_ORG.users];
const people: OrgPerson[] = Object.values(CONTRACT_ORG.users);
const U = CONTRACT_ORG.users;

/** The org in the simulator's scenario format; `installedBy` is whose user tokens the admin calls use. */
export function contractScenario(installedBy: string): ScenarioInput {
  const { enterprise, workspace, groups, channels } = CONTRACT_ORG;
  return {
    org: {
      enterprise,
      workspaces: [workspace],
      users: people.map(({ ...p }) => ({ ...p, roles: 'roles' in p ? [...p.roles] : [], sessions: 'sessions' in p ? [...p.sessions] : [] })),
      usergroups: [
        { id: groups.orgWide, name: 'Org wide', handle: 'org-wide', users: [U.ana.id, U.gone.id] },
        { id: groups.workspace, team_id: workspace.id, name: 'WS group', handle: 'ws-group', users: [U.admin.id] },
      ],
      channels: [
        { id: channels.member, name: 'alerts' },
        { id: channels.notMember, name: 'elsewhere', bot_is_member: false },
      ],
      app: { installed_by: installedBy },
    },
    entries: [],
  };
}

/** A person as users.info describes them (what SlackWebApi.getUser returns). */
export function directoryUser(p: OrgPerson): DirectoryUser {
  const external = 'external' in p;
  const flag = (name: string) => (p as Record<string, unknown>)[name] === true;
  return {
    id: p.id,
    name: p.name,
    realName: p.real_name,
    email: 'email' in p ? p.email : undefined,
    isBot: flag('is_bot'),
    deleted: flag('deleted'),
    isPrimaryOwner: flag('is_primary_owner'),
    teamId: external ? CONTRACT_ORG.otherOrg : CONTRACT_ORG.workspace.id,
    enterpriseId: external ? CONTRACT_ORG.otherOrg : CONTRACT_ORG.enterprise.id,
    isStranger: external,
  };
}

/** test/support/fake-slack.ts's FakeSlack, set up as the org. */
export function supportFake(installedBy: string): FakeSlack {
  const fake = new FakeSlack();
  const { enterprise, workspace, groups, channels } = CONTRACT_ORG;
  fake.org = { enterpriseId: enterprise.id, teamIds: new Set([enterprise.id, workspace.id]) };
  for (const p of people) {
    fake.users.set(p.id, directoryUser(p));
    if ('sessions' in p) fake.sessions.set(p.id, new Set(p.sessions));
  }
  fake.primaryOwnerId = U.owner.id;
  fake.installedBy = installedBy;
  fake.securityAdmins = [U.admin.id];
  fake.groups.set(groups.orgWide, [U.ana.id, U.gone.id]);
  fake.groups.set(`${workspace.id}/${groups.workspace}`, [U.admin.id]);
  fake.channels.set(channels.member, true);
  fake.channels.set(channels.notMember, false);
  return fake;
}

/** test/unit/notify/fakes.ts's FakeSlack (notify's calls only), set up as the org. */
export function notifyFake(): NotifyFakeSlack {
  const fake = new NotifyFakeSlack(people.map(directoryUser), U.owner.id, [U.admin.id], [CONTRACT_ORG.channels.member]);
  fake.channels.set(CONTRACT_ORG.channels.notMember, false);
  return fake;
}

/** What a call came to: a value, or Slack's refusal as the SlackError fields callers act on. */
export type Outcome = { ok: unknown } | { error: { code: string; kind: string; token: string; method: string } };

export async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await call() };
  } catch (error) {
    if (!(error instanceof SlackError)) throw error;
    return { error: { code: error.code, kind: error.kind, token: error.token, method: error.method } };
  }
}

const refused = (code: string, token: 'admin' | 'bot', method: string, kind = 'permanent'): Outcome => ({ error: { code, kind, token, method } });
const resetRefused = (code: string) => refused(code, 'admin', 'admin.users.session.reset');
const invalidateRefused = (code: string) => refused(code, 'admin', 'admin.users.session.invalidate');
/** The session the contract org's Ana is signed in with. */
export const ANA_SESSION = '847288190092';
const dmRefused = (code: string) => refused(code, 'bot', 'conversations.open');
const postRefused = (code: string) => refused(code, 'bot', 'chat.postMessage');
const groupRefused = (code: string) => refused(code, 'admin', 'usergroups.users.list');

export interface SlackContractCase {
  name: string;
  /** The SlackApi methods the case calls: it runs only against implementations that have them. */
  uses: (keyof SlackApi)[];
  /** Whose user tokens the admin calls use (org.app.installed_by). */
  installedBy: 'owner' | 'admin';
  call(api: SlackApi): Promise<unknown>;
  expected: Outcome;
}

const text = { text: 'hello' };

/** The cases: each runs against every implementation that has the methods it uses, with the same expected outcome. */
export const SLACK_CONTRACT_CASES: SlackContractCase[] = [
  // admin.users.session.reset
  { name: 'resetSessions of an ordinary member succeeds', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.ana.id), expected: { ok: undefined } },
  { name: 'resetSessions of a deactivated member succeeds (Slack does not refuse it)', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.gone.id), expected: { ok: undefined } },
  { name: 'resetSessions of a bot → cannot_reset_bot', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.bot.id), expected: resetRefused('cannot_reset_bot') },
  { name: 'resetSessions of an unknown user → user_not_found', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(CONTRACT_ORG.nobody), expected: resetRefused('user_not_found') },
  { name: 'resetSessions of a Slack Connect person → user_not_found', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.ext.id), expected: resetRefused('user_not_found') },
  {
    name: 'resetSessions of the primary owner, app installed by someone else → cannot_reset_primary_owner',
    uses: ['resetSessions'],
    installedBy: 'admin',
    call: (a) => a.resetSessions(U.owner.id),
    expected: resetRefused('cannot_reset_primary_owner'),
  },
  { name: 'resetSessions of the primary owner with the primary owner\u2019s own tokens succeeds', uses: ['resetSessions'], installedBy: 'owner', call: (a) => a.resetSessions(U.owner.id), expected: { ok: undefined } },

  // Scope: web_only / mobile_only on admin.users.session.reset; one session with admin.users.session.invalidate
  { name: 'resetSessions web only succeeds', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.ana.id, { kind: 'web' }), expected: { ok: undefined } },
  { name: 'resetSessions mobile only succeeds', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.ana.id, { kind: 'mobile' }), expected: { ok: undefined } },
  { name: 'resetSessions mobile only of a bot → cannot_reset_bot', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.bot.id, { kind: 'mobile' }), expected: resetRefused('cannot_reset_bot') },
  {
    name: 'resetSessions of one known session (invalidate) succeeds',
    uses: ['resetSessions'],
    installedBy: 'admin',
    call: (a) => a.resetSessions(U.ana.id, { kind: 'session', sessionId: ANA_SESSION }),
    expected: { ok: undefined },
  },
  {
    name: 'resetSessions of a session Slack does not know → session_not_found',
    uses: ['resetSessions'],
    installedBy: 'admin',
    call: (a) => a.resetSessions(U.ana.id, { kind: 'session', sessionId: '999' }),
    expected: invalidateRefused('session_not_found'),
  },
  {
    name: 'resetSessions of one session of the primary owner, app installed by someone else → cannot_invalidate_primary_owner',
    uses: ['resetSessions'],
    installedBy: 'admin',
    call: (a) => a.resetSessions(U.owner.id, { kind: 'session', sessionId: '1001' }),
    expected: invalidateRefused('cannot_invalidate_primary_owner'),
  },
  {
    name: 'resetSessions of one session of a Slack Connect person → user_not_found',
    uses: ['resetSessions'],
    installedBy: 'admin',
    call: (a) => a.resetSessions(U.ext.id, { kind: 'session', sessionId: '1' }),
    expected: invalidateRefused('user_not_found'),
  },
  { name: 'resetSessions of one session of a bot → session_not_found', uses: ['resetSessions'], installedBy: 'admin', call: (a) => a.resetSessions(U.bot.id, { kind: 'session', sessionId: '1' }), expected: invalidateRefused('session_not_found') },

  // users.info
  // admin.users.session.resetBulk: Slack's failed_for_some_users names nobody
  { name: 'resetSessionsBulk of ordinary members succeeds', uses: ['resetSessionsBulk'], installedBy: 'admin', call: (a) => a.resetSessionsBulk([U.ana.id, U.gone.id]), expected: { ok: undefined } },
  {
    name: 'resetSessionsBulk with a bot among them → failed_for_some_users',
    uses: ['resetSessionsBulk'],
    installedBy: 'admin',
    call: (a) => a.resetSessionsBulk([U.ana.id, U.bot.id]),
    expected: refused('failed_for_some_users', 'admin', 'admin.users.session.resetBulk', 'transient'),
  },
  {
    name: 'resetSessionsBulk with the primary owner, app installed by someone else → failed_for_some_users',
    uses: ['resetSessionsBulk'],
    installedBy: 'admin',
    call: (a) => a.resetSessionsBulk([U.owner.id]),
    expected: refused('failed_for_some_users', 'admin', 'admin.users.session.resetBulk', 'transient'),
  },
  // admin.users.list: the org's own people, not Slack Connect ones, in its shape
  {
    name: 'listMembers lists the org\u2019s people (not Slack Connect ones) in admin.users.list\u2019s shape',
    uses: ['listMembers'],
    installedBy: 'admin',
    call: async (a) => (await a.listMembers()).map((m) => ({ id: m.id, isPrimaryOwner: m.isPrimaryOwner, isBot: m.isBot, deleted: m.deleted, isStranger: m.isStranger, teamId: m.teamId })).sort((x, y) => x.id.localeCompare(y.id)),
    expected: {
      ok: people
        .filter((p) => !('external' in p))
        .map((p) => ({ id: p.id, isPrimaryOwner: p.id === U.owner.id, isBot: p.id === U.bot.id, deleted: p.id === U.gone.id, isStranger: false, teamId: undefined }))
        .sort((x, y) => x.id.localeCompare(y.id)),
    },
  },
  ...people.map((p): SlackContractCase => ({ name: `getUser(${p.name}) describes them`, uses: ['getUser'], installedBy: 'admin', call: (a) => a.getUser(p.id), expected: { ok: directoryUser(p) } })),
  { name: 'getUser of an unknown user → undefined', uses: ['getUser'], installedBy: 'admin', call: (a) => a.getUser(CONTRACT_ORG.nobody), expected: { ok: undefined } },

  // usergroups.users.list (org token: team_id is the group's own team)
  { name: 'usergroupMembers of an org-wide group (org id) leaves out deactivated members', uses: ['usergroupMembers'], installedBy: 'admin', call: (a) => a.usergroupMembers({ id: CONTRACT_ORG.groups.orgWide }), expected: { ok: [U.ana.id] } },
  {
    name: 'usergroupMembers of an org-wide group named with the enterprise id explicitly',
    uses: ['usergroupMembers'],
    installedBy: 'admin',
    call: (a) => a.usergroupMembers({ id: CONTRACT_ORG.groups.orgWide, teamId: CONTRACT_ORG.enterprise.id }),
    expected: { ok: [U.ana.id] },
  },
  {
    name: 'usergroupMembers of a workspace group with its workspace',
    uses: ['usergroupMembers'],
    installedBy: 'admin',
    call: (a) => a.usergroupMembers({ id: CONTRACT_ORG.groups.workspace, teamId: CONTRACT_ORG.workspace.id }),
    expected: { ok: [U.admin.id] },
  },
  {
    name: 'usergroupMembers of a workspace group named as org-wide (wrong team) → no_such_subteam',
    uses: ['usergroupMembers'],
    installedBy: 'admin',
    call: (a) => a.usergroupMembers({ id: CONTRACT_ORG.groups.workspace }),
    expected: groupRefused('no_such_subteam'),
  },
  {
    name: 'usergroupMembers of an org-wide group named with a workspace (wrong team) → no_such_subteam',
    uses: ['usergroupMembers'],
    installedBy: 'admin',
    call: (a) => a.usergroupMembers({ id: CONTRACT_ORG.groups.orgWide, teamId: CONTRACT_ORG.workspace.id }),
    expected: groupRefused('no_such_subteam'),
  },
  { name: 'usergroupMembers of an unknown group → no_such_subteam', uses: ['usergroupMembers'], installedBy: 'admin', call: (a) => a.usergroupMembers({ id: CONTRACT_ORG.groups.unknown }), expected: groupRefused('no_such_subteam') },

  // auth.test + admin.teams.list, admin.users.list, admin.roles.listAssignments
  {
    name: 'orgIdentity names the enterprise and its workspaces',
    uses: ['orgIdentity'],
    installedBy: 'admin',
    call: (a) => a.orgIdentity(),
    expected: { ok: { enterpriseId: CONTRACT_ORG.enterprise.id, teamIds: new Set([CONTRACT_ORG.enterprise.id, CONTRACT_ORG.workspace.id]) } },
  },
  {
    name: 'primaryOwner is the primary owner, in admin.users.list\u2019s shape',
    uses: ['primaryOwner'],
    installedBy: 'admin',
    call: (a) => a.primaryOwner(),
    expected: { ok: { id: U.owner.id, name: U.owner.name, realName: U.owner.real_name, email: U.owner.email, isBot: false, deleted: false, isPrimaryOwner: true, isStranger: false } },
  },
  { name: 'securityAdminIds lists the Security Admins', uses: ['securityAdminIds'], installedBy: 'admin', call: (a) => a.securityAdminIds(), expected: { ok: [U.admin.id] } },

  // conversations.open
  { name: 'openDirectMessage with a member gives a DM channel', uses: ['openDirectMessage'], installedBy: 'admin', call: (a) => a.openDirectMessage(U.ana.id), expected: { ok: expect.any(String) } },
  { name: 'openDirectMessage with a Slack Connect person gives a DM channel', uses: ['openDirectMessage'], installedBy: 'admin', call: (a) => a.openDirectMessage(U.ext.id), expected: { ok: expect.any(String) } },
  { name: 'openDirectMessage with a bot → cannot_dm_bot', uses: ['openDirectMessage'], installedBy: 'admin', call: (a) => a.openDirectMessage(U.bot.id), expected: dmRefused('cannot_dm_bot') },
  { name: 'openDirectMessage with an unknown user → user_not_found', uses: ['openDirectMessage'], installedBy: 'admin', call: (a) => a.openDirectMessage(CONTRACT_ORG.nobody), expected: dmRefused('user_not_found') },
  { name: 'openDirectMessage with a deactivated person → user_disabled', uses: ['openDirectMessage'], installedBy: 'admin', call: (a) => a.openDirectMessage(U.gone.id), expected: dmRefused('user_disabled') },

  // chat.postMessage
  {
    name: 'postMessage to an opened DM succeeds',
    uses: ['openDirectMessage', 'postMessage'],
    installedBy: 'admin',
    call: async (a) => a.postMessage(await a.openDirectMessage(U.admin.id), text),
    expected: { ok: undefined },
  },
  { name: 'postMessage to a channel the bot is in succeeds', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(CONTRACT_ORG.channels.member, text), expected: { ok: undefined } },
  { name: 'postMessage to a member\u2019s user id lands in their DM', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(U.ana.id, text), expected: { ok: undefined } },
  { name: 'postMessage to a bot\u2019s user id → cannot_dm_bot', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(U.bot.id, text), expected: postRefused('cannot_dm_bot') },
  { name: 'postMessage to a channel the bot is not in → not_in_channel', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(CONTRACT_ORG.channels.notMember, text), expected: postRefused('not_in_channel') },
  { name: 'postMessage to an unknown channel → channel_not_found', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(CONTRACT_ORG.channels.unknown, text), expected: postRefused('channel_not_found') },
  { name: 'postMessage to an unknown user id → channel_not_found', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(CONTRACT_ORG.nobody, text), expected: postRefused('channel_not_found') },
  { name: 'postMessage without text or blocks → no_text', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(CONTRACT_ORG.channels.member, { text: '' }), expected: postRefused('no_text') },
  {
    name: 'postMessage with blocks only succeeds',
    uses: ['postMessage'],
    installedBy: 'admin',
    call: (a) => a.postMessage(CONTRACT_ORG.channels.member, { text: '', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] }),
    expected: { ok: undefined },
  },
  { name: 'postMessage with text over 40 000 characters → msg_too_long', uses: ['postMessage'], installedBy: 'admin', call: (a) => a.postMessage(CONTRACT_ORG.channels.member, { text: 'x'.repeat(40_001) }), expected: postRefused('msg_too_long') },
  {
    name: 'postMessage with more than 50 blocks → invalid_blocks',
    uses: ['postMessage'],
    installedBy: 'admin',
    call: (a) => a.postMessage(CONTRACT_ORG.channels.member, { text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }),
    expected: postRefused('invalid_blocks'),
  },
  {
    name: 'postMessage with a block without a type → invalid_blocks',
    uses: ['postMessage'],
    installedBy: 'admin',
    call: (a) => a.postMessage(CONTRACT_ORG.channels.member, { text: 'x', blocks: [{ text: 'no type' }] }),
    expected: postRefused('invalid_blocks'),
  },
];

/** Who the case's installer is, as a user id. */
export const installerId = (installedBy: SlackContractCase['installedBy']): string => (installedBy === 'owner' ? U.owner.id : U.admin.id);
