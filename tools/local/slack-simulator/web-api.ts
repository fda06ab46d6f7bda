import { parseCidr } from '../../../functions/domain/networks';
import type { Caller } from './auth';
import type { Directory } from './directory';
import type { Recorder } from './recorder';
import type { OrgUser } from './scenario';

/**
 * The Web API methods the project calls (and a few neighbours), answering as Slack does:
 * HTTP 200 with `ok:false` and an error code for every platform error.
 */

export type SlackResult = { ok: boolean; error?: string } & Record<string, unknown>;

const fail = (error: string, extra: Record<string, unknown> = {}): SlackResult => ({ ok: false, error, ...extra });

/** Request parameters from a form, a JSON body or a query string, read the forgiving way Slack does. */
export class Params {
  constructor(readonly raw: Record<string, unknown>) {}

  string(name: string): string | undefined {
    const value = this.raw[name];
    if (typeof value === 'string') return value === '' ? undefined : value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  }

  /** Arrays arrive as JSON arrays (JSON body), JSON-encoded strings (@slack/web-api forms) or comma lists. */
  list(name: string): string[] | undefined {
    const value = this.raw[name];
    if (Array.isArray(value)) return value.map(String);
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    if (value.trim().startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed)) return parsed.map(String);
      } catch {
        // fall through: treat as a comma list
      }
    }
    return value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  }

  bool(name: string): boolean {
    const value = this.raw[name];
    return value === true || value === 1 || value === 'true' || value === '1';
  }

  /** undefined when absent, NaN when not an integer. */
  int(name: string): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    return /^-?\d+$/.test(text) ? Number(text) : NaN;
  }

  /** A JSON value sent either as JSON or as a JSON-encoded string (blocks). */
  json(name: string): { value?: unknown; invalid: boolean } {
    const value = this.raw[name];
    if (typeof value !== 'string') return { value, invalid: false };
    try {
      return { value: JSON.parse(value), invalid: false };
    } catch {
      return { invalid: true };
    }
  }
}

interface MethodSpec {
  /** Scope the token must hold. */
  scope?: string;
  /** Admin methods refuse bot tokens outright. */
  userTokenOnly?: boolean;
  handle(call: MethodCall): SlackResult;
}

interface MethodCall {
  params: Params;
  caller: Caller;
}

const MAX_BULK_USERS = 1000;
const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;

export class WebApi {
  private messageSeq = 0;
  private readonly methods: Record<string, MethodSpec>;

  constructor(
    private readonly directory: Directory,
    private readonly recorder: Recorder,
    private readonly nowMs: () => number,
  ) {
    this.methods = {
      'auth.test': { handle: (c) => this.authTest(c) },
      'users.info': { scope: 'users:read', handle: (c) => this.usersInfo(c) },
      'usergroups.users.list': { scope: 'usergroups:read', handle: (c) => this.usergroupUsers(c) },
      'admin.users.list': { scope: 'admin.users:read', userTokenOnly: true, handle: (c) => this.adminUsersList(c) },
      'admin.teams.list': { scope: 'admin.teams:read', userTokenOnly: true, handle: (c) => this.adminTeamsList(c) },
      'admin.roles.listAssignments': { scope: 'admin.roles:read', userTokenOnly: true, handle: (c) => this.roleAssignments(c) },
      'admin.users.session.reset': { scope: 'admin.users:write', userTokenOnly: true, handle: (c) => this.sessionReset(c) },
      'admin.users.session.resetBulk': { scope: 'admin.users:write', userTokenOnly: true, handle: (c) => this.sessionResetBulk(c) },
      'admin.users.session.invalidate': { scope: 'admin.users:write', userTokenOnly: true, handle: (c) => this.sessionInvalidate(c) },
      // "User token of an org admin with the `admin` scope" (anomalous-events reference).
      'admin.audit.anomaly.allow.getItem': { scope: 'admin', userTokenOnly: true, handle: () => this.allowListGet() },
      'admin.audit.anomaly.allow.updateItem': { scope: 'admin', userTokenOnly: true, handle: (c) => this.allowListUpdate(c) },
      'conversations.open': { scope: 'im:write', handle: (c) => this.conversationsOpen(c) },
      'chat.postMessage': { scope: 'chat:write', handle: (c) => this.postMessage(c) },
    };
  }

  knows(method: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.methods, method);
  }

  call(method: string, caller: Caller, params: Params): SlackResult {
    const spec = this.knows(method) ? this.methods[method] : undefined;
    if (!spec) return fail('unknown_method', { req_method: method });
    if (spec.userTokenOnly && caller.kind === 'bot') return fail('not_allowed_token_type');
    if (spec.scope && !caller.scopes.includes(spec.scope)) {
      return fail('missing_scope', { needed: spec.scope, provided: caller.scopes.join(',') });
    }
    return spec.handle({ params, caller });
  }

  private authTest({ caller }: MethodCall): SlackResult {
    const { enterprise, app } = this.directory;
    // User tokens belong to whoever installed the app (org.app.installed_by); the bot token
    // speaks as the app's bot user.
    const installer = this.directory.installer();
    const bot = caller.kind === 'bot';
    return {
      ok: true,
      url: `https://${enterprise.domain}.enterprise.slack.com/`,
      team: enterprise.name,
      user: bot ? app.name.toLowerCase().replace(/\s+/g, '_') : installer?.name,
      team_id: enterprise.id,
      user_id: bot ? app.bot_user_id : installer?.id,
      enterprise_id: enterprise.id,
      is_enterprise_install: true,
      ...(bot ? { bot_id: app.bot_id, app_id: app.id } : {}),
    };
  }

  private usersInfo({ params }: MethodCall): SlackResult {
    const id = params.string('user');
    if (!id) return fail('invalid_arguments', { detail: 'user is required' });
    const user = this.directory.user(id);
    if (!user) return fail('user_not_found');
    return { ok: true, user: this.directory.userInfo(user) };
  }

  /**
   * Every token here is an org-level install (auth.test: is_enterprise_install), and the method's
   * reference says team_id is "required if org token is used" (@slack/web-api's
   * UsergroupsUsersListArguments: "If using an org token, team_id is required"). The reference
   * names no specific error for a missing team_id; `invalid_arguments` ("The method was called
   * with invalid arguments") is in its documented error list, so that is what we answer
   * (inferred, not observed). A team_id that is not the group's own team finds no group there:
   * `no_such_subteam`.
   */
  private usergroupUsers({ params }: MethodCall): SlackResult {
    const id = params.string('usergroup');
    if (!id) return fail('invalid_arguments', { detail: 'usergroup is required' });
    const teamId = params.string('team_id');
    if (!teamId) return fail('invalid_arguments', { detail: 'team_id is required with an org-level token' });
    const group = this.directory.usergroup(id);
    if (!group || group.team_id !== teamId) return fail('no_such_subteam');
    const includeDisabled = params.bool('include_disabled');
    const users = group.users.filter((uid) => includeDisabled || !this.directory.user(uid)?.deleted);
    return { ok: true, users };
  }

  private adminUsersList({ params }: MethodCall): SlackResult {
    const page = paginate(this.directory.members(), params, 'users', { defaultLimit: 100, maxLimit: 1000 });
    if ('error' in page) return fail(page.error);
    return { ok: true, users: page.items.map((u) => this.directory.adminUser(u)), response_metadata: { next_cursor: page.nextCursor } };
  }

  /** The org's workspaces, shaped like Slack's reference example (test/contract/fixtures/web-api/admin.teams.list.json). */
  private adminTeamsList({ params }: MethodCall): SlackResult {
    const page = paginate(this.directory.workspaces(), params, 'teams', { defaultLimit: 100, maxLimit: 100 });
    if ('error' in page) return fail(page.error);
    return { ok: true, teams: page.items, response_metadata: { next_cursor: page.nextCursor } };
  }

  private roleAssignments({ params }: MethodCall): SlackResult {
    const roleIds = params.list('role_ids');
    const entityIds = params.list('entity_ids');
    const ascending = params.string('sort_dir') === 'asc';
    const all = this.directory
      .roleAssignments()
      .filter((a) => (!roleIds || roleIds.includes(a.role_id)) && (!entityIds || entityIds.includes(a.entity_id)))
      .sort((a, b) => (ascending ? a.date_create - b.date_create : b.date_create - a.date_create) || a.user_id.localeCompare(b.user_id));
    const page = paginate(all, params, 'roles', { defaultLimit: 100, maxLimit: 200 });
    if ('error' in page) return fail(page.error);
    return { ok: true, role_assignments: page.items, response_metadata: { next_cursor: page.nextCursor } };
  }

  /**
   * Why Slack would refuse to end this user's sessions, if it would. The primary owner is
   * refused only to other callers: the reference says "Only primary owner can reset primary
   * owner's sessions" (cannot_reset_primary_owner) and "Only the primary owner of an
   * organization can invalidate a primary owner's sessions" (cannot_invalidate_primary_owner).
   * Admin methods take user tokens only, and those belong to the installer.
   */
  private resetRefusal(user: OrgUser | undefined, primaryOwnerError: string): string | undefined {
    if (!user || user.external) return 'user_not_found';
    if (user.is_primary_owner && this.directory.installer()?.id !== user.id) return primaryOwnerError;
    if (user.is_bot) return 'cannot_reset_bot';
    return undefined;
  }

  private sessionReset({ params }: MethodCall): SlackResult {
    const userId = params.string('user_id');
    if (!userId) return fail('invalid_arguments', { detail: 'user_id is required' });
    const refusal = this.resetRefusal(this.directory.user(userId), 'cannot_reset_primary_owner');
    if (refusal) return fail(refusal);
    this.endSessions(userId, 'admin.users.session.reset', params);
    return { ok: true };
  }

  private sessionResetBulk({ params }: MethodCall): SlackResult {
    const userIds = params.list('user_ids');
    if (!userIds?.length) return fail('invalid_arguments', { detail: 'user_ids is required' });
    if (userIds.length > MAX_BULK_USERS) return fail('invalid_arguments', { detail: `at most ${MAX_BULK_USERS} user_ids` });
    const failed: { user_id: string; error: string }[] = [];
    for (const userId of new Set(userIds)) {
      const refusal = this.resetRefusal(this.directory.user(userId), 'cannot_reset_primary_owner');
      if (refusal) failed.push({ user_id: userId, error: refusal });
      else this.endSessions(userId, 'admin.users.session.resetBulk', params);
    }
    // Slack queues the job; here it completes at once, and partial failure is reported like Slack's.
    return failed.length ? fail('failed_for_some_users', { failed_users: failed }) : { ok: true };
  }

  /**
   * One session (docs.slack.dev/reference/methods/admin.users.session.invalidate): `user_id` and an
   * integer `session_id` are required (`team_id`, the old way to name the session's team, is
   * deprecated and not accepted instead). The reference lists no bot error for this method: a bot
   * has no login session, so any session id of a bot is session_not_found (inferred).
   */
  private sessionInvalidate({ params }: MethodCall): SlackResult {
    const userId = params.string('user_id');
    const sessionId = params.int('session_id');
    if (!userId || sessionId === undefined) return fail('invalid_arguments', { detail: 'session_id and user_id are required' });
    if (Number.isNaN(sessionId)) return fail('invalid_arguments', { detail: 'session_id must be an integer' });
    const user = this.directory.user(userId);
    const refusal = user?.is_bot ? 'session_not_found' : this.resetRefusal(user, 'cannot_invalidate_primary_owner');
    if (refusal) return fail(refusal);
    if (!this.directory.hasSession(userId, String(sessionId))) return fail('session_not_found');
    this.directory.endSession(userId, String(sessionId));
    this.recorder.invalidation({ userId, sessionId: String(sessionId), at: this.nowMs() });
    return { ok: true };
  }

  private endSessions(userId: string, method: 'admin.users.session.reset' | 'admin.users.session.resetBulk', params: Params): void {
    this.directory.endAllSessions(userId);
    this.recorder.reset({ userId, at: this.nowMs(), method, mobileOnly: params.bool('mobile_only'), webOnly: params.bool('web_only') });
  }

  /** The whole list, shaped like the reference's "Typical response": `trusted_cidr` strings, `trusted_asn` numbers. */
  private allowListGet(): SlackResult {
    const list = this.recorder.allowList();
    return { ok: true, trusted_cidr: list.cidrs, trusted_asn: list.asns };
  }

  /**
   * Overwrites the whole list (reference: "write/overwrite the allow list"). Arguments `trusted_cidr`
   * ("allow list of IPv4 addressses using cidr notation") and `trusted_asns`, both optional arrays
   * (slack-ruby/slack-api-ref admin.audit.anomaly.allow.updateItem.json); anything that is not an
   * IPv4 CIDR or an ASN is `invalid_field_or_data` ("user attempted to write and invalid field or data").
   * An argument left out empties that half, as an overwrite does (inferred).
   */
  private allowListUpdate({ params }: MethodCall): SlackResult {
    const cidrs = params.list('trusted_cidr') ?? [];
    const asns = params.list('trusted_asns') ?? [];
    const ipv4 = (text: string) => {
      const parsed = parseCidr(text);
      return parsed.ok && parsed.cidr.version === 4;
    };
    if (!cidrs.every(ipv4) || !asns.every((a) => /^\d{1,10}$/.test(a))) return fail('invalid_field_or_data');
    this.recorder.allowListUpdate({ cidrs, asns: asns.map(Number), at: this.nowMs() });
    return { ok: true };
  }

  private conversationsOpen({ params }: MethodCall): SlackResult {
    const channel = params.string('channel');
    if (channel) {
      return this.recorder.dm(channel) ? { ok: true, no_op: true, already_open: true, channel: { id: channel } } : fail('channel_not_found');
    }
    const userIds = params.list('users');
    if (!userIds?.length) return fail('users_list_not_supplied');
    if (userIds.length > 8) return fail('too_many_users');
    for (const id of userIds) {
      const user = this.directory.user(id);
      if (!user) return fail('user_not_found');
      if (user.deleted) return fail('user_disabled');
      if (user.is_bot) return fail('cannot_dm_bot');
    }
    const id = this.directory.dmChannelId(userIds);
    const { alreadyOpen } = this.recorder.dmOpened(id, userIds, this.nowMs());
    return { ok: true, ...(alreadyOpen ? { no_op: true, already_open: true } : {}), channel: { id } };
  }

  private postMessage({ params }: MethodCall): SlackResult {
    const target = params.string('channel');
    if (!target) return fail('channel_not_found');
    let channel = target;
    let dmUser: string | undefined;
    const dm = this.recorder.dm(target);
    const known = this.directory.channel(target);
    const user = /^[UW]/.test(target) ? this.directory.user(target) : undefined;
    if (dm) {
      dmUser = dm.userIds.length === 1 ? dm.userIds[0] : undefined;
    } else if (known) {
      if (!known.bot_is_member) return fail('not_in_channel');
    } else if (user) {
      // Posting to a user id lands in the app's DM with them.
      if (user.is_bot) return fail('cannot_dm_bot');
      channel = this.directory.dmChannelId([target]);
      dmUser = target;
      if (!this.recorder.dm(channel)) this.recorder.dmOpened(channel, [target], this.nowMs());
    } else {
      return fail('channel_not_found');
    }

    const text = params.string('text');
    const blocksParam = params.json('blocks');
    if (blocksParam.invalid) return fail('invalid_blocks', { detail: 'blocks is not JSON' });
    const blocks = blocksParam.value;
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS || blocks.some((b) => typeof (b as { type?: unknown })?.type !== 'string'))) {
      return fail('invalid_blocks', { detail: `blocks must be an array of at most ${MAX_BLOCKS} objects with a type` });
    }
    if (!text && !(blocks as unknown[] | undefined)?.length && !params.string('attachments')) return fail('no_text');
    if (text && text.length > MAX_TEXT) return fail('msg_too_long');

    const at = this.nowMs();
    const ts = `${Math.floor(at / 1000)}.${String(++this.messageSeq).padStart(6, '0')}`;
    const threadTs = params.string('thread_ts');
    this.recorder.message({ channel, userId: dmUser, text, blocks: blocks as unknown[] | undefined, threadTs, ts, at });
    const { app } = this.directory;
    return {
      ok: true,
      channel,
      ts,
      message: { type: 'message', user: app.bot_user_id, bot_id: app.bot_id, app_id: app.id, text: text ?? '', ts, ...(blocks ? { blocks } : {}) },
    };
  }
}

/** Offset pagination behind an opaque cursor, the way Slack's list methods page. */
function paginate<T>(
  items: readonly T[],
  params: Params,
  kind: string,
  { defaultLimit, maxLimit }: { defaultLimit: number; maxLimit: number },
): { items: T[]; nextCursor: string } | { error: string } {
  const limit = params.int('limit') ?? defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) return { error: 'invalid_limit' };
  let offset = 0;
  const cursor = params.string('cursor');
  if (cursor) {
    const match = new RegExp(`^${kind}:(\\d+)$`).exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!match) return { error: 'invalid_cursor' };
    offset = Number(match[1]);
  }
  const end = offset + limit;
  return {
    items: items.slice(offset, end),
    nextCursor: end < items.length ? Buffer.from(`${kind}:${end}`).toString('base64url') : '',
  };
}
