import {
  WebClient,
  ErrorCode,
  LogLevel,
  type AdminUsersListResponse,
  type UsergroupsUsersListArguments,
  type UsersInfoResponse,
} from '@slack/web-api';
import type { Pacer } from '../../runtime/pacing';
import { sleep as realSleep } from '../../runtime/time';
import { noTimeLeft } from '../../runtime/invocation-time';
import type { AllowList } from '../../domain/allow-list';
import type { ResetScope } from '../../domain/decision/decide';
import { classifySlackError, SlackError, type TokenName } from './errors';
import { budgetOf, paceKey } from './rate-budget';
import type { TokenProvider } from './tokens';

/** Security Admin system role (Slack's fixed role id). */
export const SECURITY_ADMIN_ROLE_ID = 'Rl0J';

/**
 * A person as Slack's directory describes them. Facts only: whether they belong to the org, and
 * what to do about them, is decided in the domain (decide.ts), not here.
 */
export interface DirectoryUser {
  id: string;
  /** Handle (users.info `name`, admin.users.list `username`). */
  name?: string;
  /** Full name (users.info `real_name`, admin.users.list `full_name`). */
  realName?: string;
  email?: string;
  isBot: boolean;
  /** Deactivated (users.info `deleted`, admin.users.list `is_active: false`). */
  deleted: boolean;
  isPrimaryOwner: boolean;
  /** users.info `team_id`: the person's home team (T… or, for org-level people, E…). */
  teamId?: string;
  /** users.info `enterprise_user.enterprise_id`: the org the person belongs to; absent outside Enterprise orgs. */
  enterpriseId?: string;
  /** users.info `is_stranger`: someone this org can see only through a shared channel. */
  isStranger: boolean;
}

/**
 * A Slack user group to expand. `teamId` is the group's own team: a workspace group's T…, or the
 * org's E… for an org-wide group (Slack's admin.usergroups.fetch example shows an org-wide group
 * with `team_id` = the enterprise id). Absent = org-wide.
 */
export interface UserGroupRef {
  id: string;
  teamId?: string;
}

/** Who "our org" is: its enterprise id and every workspace in it. */
export interface OrgIdentity {
  enterpriseId: string;
  /** The enterprise id and every workspace (T…) of the org. */
  teamIds: ReadonlySet<string>;
}

/**
 * The scopes admin.users.session.resetBulk can take: all sessions, or web or mobile only (its
 * `web_only` / `mobile_only`). One session (`session`) is admin.users.session.invalidate's, per person.
 */
export type BulkResetScope = Exclude<ResetScope, { kind: 'session' }>;

/** Slack answers a bulk reset that some users failed with this code, without saying which. */
export const FAILED_FOR_SOME_USERS = 'failed_for_some_users';

/** Slack takes at most this many user ids per admin.users.session.resetBulk call. */
export const MAX_BULK_RESET_USERS = 1000;

/** Slack Web API operations this project uses, behind one small interface tests can fake. */
export interface SlackApi {
  /** End the person's sessions: all of them (the default), web or mobile only, or one session. */
  resetSessions(userId: string, scope?: ResetScope): Promise<void>;
  /**
   * Queue a reset of every listed person's sessions (admin.users.session.resetBulk, at most
   * MAX_BULK_RESET_USERS). Throws a SlackError; FAILED_FOR_SOME_USERS means some were not reset
   * and Slack does not say which.
   */
  resetSessionsBulk(userIds: readonly string[], scope?: BulkResetScope): Promise<void>;
  /** Every member of the org (admin.users.list), for directory facts without a call per person. */
  listMembers(): Promise<DirectoryUser[]>;
  getUser(userId: string): Promise<DirectoryUser | undefined>;
  usergroupMembers(group: UserGroupRef): Promise<string[]>;
  orgIdentity(): Promise<OrgIdentity>;
  primaryOwner(): Promise<DirectoryUser | undefined>;
  securityAdminIds(): Promise<string[]>;
  openDirectMessage(userId: string): Promise<string>;
  postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void>;
  /** Slack's own anomaly allow-list (admin.audit.anomaly.allow.getItem). */
  anomalyAllowList(): Promise<AllowList>;
  /** Overwrite Slack's anomaly allow-list with exactly this one (admin.audit.anomaly.allow.updateItem). */
  setAnomalyAllowList(list: AllowList): Promise<void>;
}

export interface SlackWebApiOptions {
  tokens: TokenProvider;
  /** Web API base URL, e.g. https://slack.com/api/ */
  apiUrl?: string;
  /** Per-request timeout. Retries are ours (by error kind), not the SDK's thirty-minute default. */
  timeoutMs?: number;
  /** Slack's per-method budgets shared with every other container; without one, calls are not paced. */
  pacer?: Pacer;
  /**
   * How long a call may wait for its slot inside the invocation. A slot further away is not
   * waited for: the call fails as rate limited (code `paced`), and its message comes back then.
   */
  maxPaceWaitMs?: number;
  /**
   * Time left in the running invocation (invocation-time.ts), if anything bounds it: a call that
   * could not get its answer before then (its slot's wait plus the request timeout) is not
   * started, and its message goes to the next invocation instead of being cut off mid-call.
   */
  timeLeftMs?: () => number | undefined;
  sleep?: (ms: number) => Promise<void>;
  /**
   * The token directory reads use (users, groups, roles, teams): `admin` in respond, which holds
   * it anyway to end sessions; `directory` in notify, a token that can read but sign nobody out.
   */
  readToken?: Extract<TokenName, 'admin' | 'directory'>;
  fetch?: typeof fetch;
}

/** Default for maxPaceWaitMs: well inside a respond or notify invocation's 60 s. */
const DEFAULT_MAX_PACE_WAIT_MS = 15_000;
/** Default per-request timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;


/**
 * Our tokens are org-level installs, and Slack requires `team_id` from org tokens on these
 * methods (their reference: "required if org token is used"). The SDK types it optional because
 * workspace tokens may leave it out; this makes leaving it out a compile error here.
 */
type OrgTokenArguments<T extends { team_id?: string }> = T & { team_id: string };

/** Slack's list methods end pagination with an empty or missing `next_cursor`. */
function nextCursor(page: { response_metadata?: { next_cursor?: string } }): string | undefined {
  return page.response_metadata?.next_cursor || undefined;
}

/**
 * @slack/web-api's typed methods, with no built-in retries (retries belong to SQS) and
 * `rejectRateLimitedCalls` on (a 429 comes back to us with its Retry-After, never slept on here).
 * Every failure is mapped to a classified SlackError.
 */
export class SlackWebApi implements SlackApi {
  private readonly client: WebClient;
  private readonly readToken: Extract<TokenName, 'admin' | 'directory'>;
  private readonly requestTimeoutMs: number;
  private org?: Promise<OrgIdentity>;

  constructor(private readonly options: SlackWebApiOptions) {
    this.readToken = options.readToken ?? 'admin';
    this.requestTimeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.client = new WebClient(undefined, {
      slackApiUrl: options.apiUrl ?? 'https://slack.com/api/',
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: this.requestTimeoutMs,
      logLevel: LogLevel.ERROR,
      // The SDK types its own minimal fetch; the global one is what it calls by default.
      fetch: checkedFetch(options.fetch ?? globalThis.fetch) as never,
    });
  }

  async resetSessions(userId: string, scope: ResetScope = { kind: 'all' }): Promise<void> {
    if (scope.kind === 'session') {
      // The reference (docs.slack.dev/reference/methods/admin.users.session.invalidate) takes
      // user_id and an integer session_id; team_id is deprecated. @slack/web-api 8's typed method
      // still wants team_id and a string session_id, so this goes through apiCall.
      const args = { token: '', user_id: userId, session_id: Number(scope.sessionId) };
      await this.call('admin', 'admin.users.session.invalidate', (token) => this.client.apiCall('admin.users.session.invalidate', { ...args, token }));
      return;
    }
    await this.call('admin', 'admin.users.session.reset', (token) =>
      this.client.admin.users.session.reset({ token, user_id: userId, ...sessionExpirationTarget(scope.kind) }),
    );
  }

  async resetSessionsBulk(userIds: readonly string[], scope: BulkResetScope = { kind: 'all' }): Promise<void> {
    const [first, ...rest] = userIds;
    if (first === undefined) return;
    if (userIds.length > MAX_BULK_RESET_USERS) throw new RangeError(`resetBulk takes at most ${MAX_BULK_RESET_USERS} users, got ${userIds.length}`);
    await this.call('admin', 'admin.users.session.resetBulk', (token) =>
      this.client.admin.users.session.resetBulk({ token, user_ids: [first, ...rest], ...sessionExpirationTarget(scope.kind) }),
    );
  }

  async listMembers(): Promise<DirectoryUser[]> {
    const members: DirectoryUser[] = [];
    for await (const users of this.adminUserPages()) for (const user of users) if (user.id) members.push(fromAdminUser(user));
    return members;
  }

  /** admin.users.list page by page (its users), so a caller looking for one person stops at the page that has them. */
  private async *adminUserPages() {
    let cursor: string | undefined;
    do {
      const page = await this.call(this.readToken, 'admin.users.list', (token) => this.client.admin.users.list({ token, limit: 100, ...(cursor ? { cursor } : {}) }));
      yield page.users ?? [];
      cursor = nextCursor(page);
    } while (cursor);
  }

  async getUser(userId: string): Promise<DirectoryUser | undefined> {
    try {
      const result = await this.call(this.readToken, 'users.info', (token) => this.client.users.info({ token, user: userId }));
      return result.user ? fromUsersInfo(result.user) : undefined;
    } catch (error) {
      if (error instanceof SlackError && error.code === 'user_not_found') return undefined;
      throw error;
    }
  }

  async usergroupMembers(group: UserGroupRef): Promise<string[]> {
    const teamId = group.teamId ?? (await this.orgIdentity()).enterpriseId;
    const args: OrgTokenArguments<UsergroupsUsersListArguments> = { usergroup: group.id, team_id: teamId };
    const result = await this.call(this.readToken, 'usergroups.users.list', (token) => this.client.usergroups.users.list({ ...args, token }));
    if (!Array.isArray(result.users)) {
      // A success without the member list cannot tell us who is excluded: never read it as "nobody".
      throw new SlackError('malformed_response', 'permanent', this.readToken, 'usergroups.users.list');
    }
    return result.users;
  }

  /** auth.test names the org; admin.teams.list its workspaces. Cached for the container's life. */
  orgIdentity(): Promise<OrgIdentity> {
    if (!this.org) {
      this.org = this.loadOrgIdentity();
      this.org.catch(() => (this.org = undefined));
    }
    return this.org;
  }

  async primaryOwner(): Promise<DirectoryUser | undefined> {
    for await (const users of this.adminUserPages()) {
      const owner = users.find((u) => u.is_primary_owner === true && u.id);
      if (owner) return fromAdminUser(owner);
    }
    return undefined;
  }

  async securityAdminIds(): Promise<string[]> {
    const ids = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.call(this.readToken, 'admin.roles.listAssignments', (token) =>
        this.client.admin.roles.listAssignments({ token, role_ids: [SECURITY_ADMIN_ROLE_ID], limit: 200, ...(cursor ? { cursor } : {}) }),
      );
      // Filtered by role again: who gets security alerts must not depend on the server honouring role_ids.
      for (const assignment of page.role_assignments ?? []) {
        if (assignment.user_id && assignment.role_id === SECURITY_ADMIN_ROLE_ID) ids.add(assignment.user_id);
      }
      cursor = nextCursor(page);
    } while (cursor);
    return [...ids];
  }

  async openDirectMessage(userId: string): Promise<string> {
    const result = await this.call('bot', 'conversations.open', (token) => this.client.conversations.open({ token, users: userId }));
    const id = result.channel?.id;
    if (!id) throw new SlackError('no_channel_returned', 'transient', 'bot', 'conversations.open');
    return id;
  }

  async postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
    await this.call('bot', 'chat.postMessage', (token) =>
      this.client.chat.postMessage({
        token,
        channel,
        text: message.text,
        // Block Kit is built and validated by the notifier's templates; the SDK's block union is too narrow to name here.
        ...(message.blocks ? { blocks: message.blocks as never } : {}),
      }),
      channel,
    );
  }

  /**
   * Slack's reference example answers `trusted_cidr` (strings) and `trusted_asn` (numbers); the
   * updateItem argument is spelled `trusted_asns`, so both spellings are read. @slack/web-api 8 has
   * no typed method for either call: apiCall.
   */
  async anomalyAllowList(): Promise<AllowList> {
    const result = (await this.call('admin', 'admin.audit.anomaly.allow.getItem', (token) => this.client.apiCall('admin.audit.anomaly.allow.getItem', { token }))) as {
      trusted_cidr?: unknown;
      trusted_asn?: unknown;
      trusted_asns?: unknown;
    };
    const cidrs = result.trusted_cidr ?? [];
    const asns = result.trusted_asn ?? result.trusted_asns ?? [];
    if (!Array.isArray(cidrs) || !Array.isArray(asns) || cidrs.some((c) => typeof c !== 'string') || asns.some((a) => !Number.isInteger(Number(a)))) {
      // Never compare against (and then overwrite) a list we could not read.
      throw new SlackError('malformed_response', 'permanent', 'admin', 'admin.audit.anomaly.allow.getItem');
    }
    return { cidrs: cidrs as string[], asns: asns.map(Number) };
  }

  /** updateItem overwrites the whole list (its reference): every range we want must be in it. */
  async setAnomalyAllowList(list: AllowList): Promise<void> {
    const args = { trusted_cidr: list.cidrs, trusted_asns: list.asns };
    await this.call('admin', 'admin.audit.anomaly.allow.updateItem', (token) => this.client.apiCall('admin.audit.anomaly.allow.updateItem', { ...args, token }));
  }

  private async loadOrgIdentity(): Promise<OrgIdentity> {
    const auth = await this.call(this.readToken, 'auth.test', (token) => this.client.auth.test({ token }));
    const enterpriseId = auth.enterprise_id;
    if (!enterpriseId) {
      // Every decision about "is this person ours" needs the org: without it, act on nobody.
      throw new SlackError('not_an_enterprise', 'auth', this.readToken, 'auth.test');
    }
    const teamIds = new Set<string>([enterpriseId]);
    let cursor: string | undefined;
    do {
      const page = await this.call(this.readToken, 'admin.teams.list', (token) => this.client.admin.teams.list({ token, limit: 100, ...(cursor ? { cursor } : {}) }));
      for (const team of page.teams ?? []) if (team.id) teamIds.add(team.id);
      cursor = nextCursor(page);
    } while (cursor);
    return { enterpriseId, teamIds };
  }

  private async call<T>(tokenName: TokenName, method: string, request: (token: string) => Promise<T>, channel?: string): Promise<T> {
    await this.pace(tokenName, method, channel);
    const token = await this.options.tokens.get(tokenName);
    try {
      return await request(token);
    } catch (error) {
      const mapped = toSlackError(error, tokenName, method);
      if (mapped.code === 'invalid_auth' || mapped.code === 'token_revoked' || mapped.code === 'token_expired') {
        this.options.tokens.invalidate();
      }
      throw mapped;
    }
  }

  /**
   * Wait for this call's slot in the method's shared budget, or fail as rate limited when it is
   * too far off; a call whose answer could not arrive before the invocation's deadline is not made.
   */
  private async pace(tokenName: TokenName, method: string, channel?: string): Promise<void> {
    // How long this call may wait for its slot: never so long that its answer would come after the invocation's deadline.
    const timeLeft = this.options.timeLeftMs?.();
    const maxWaitMs = Math.min(this.options.maxPaceWaitMs ?? DEFAULT_MAX_PACE_WAIT_MS, timeLeft === undefined ? Infinity : timeLeft - this.requestTimeoutMs);
    if (maxWaitMs < 0) throw noTimeLeft(method);
    const { pacer } = this.options;
    if (!pacer) return;
    const grant = await pacer.acquire(paceKey(method, channel), budgetOf(method), maxWaitMs);
    if (!grant.reserved) {
      throw new SlackError('paced', 'rate_limited', tokenName, method, { retryAfterSeconds: Math.ceil(grant.waitMs / 1000) });
    }
    if (grant.waitMs > 0) await (this.options.sleep ?? realSleep)(grant.waitMs);
  }
}

/** admin.users.session.reset / resetBulk arguments for a scope: none for all sessions. */
export function sessionExpirationTarget(kind: 'all' | 'web' | 'mobile'): { web_only?: true; mobile_only?: true } {
  if (kind === 'web') return { web_only: true };
  if (kind === 'mobile') return { mobile_only: true };
  return {};
}

type UsersInfoUser = NonNullable<UsersInfoResponse['user']>;
type AdminListUser = NonNullable<AdminUsersListResponse['users']>[number];

/** admin.users.list lists the org's own members: no `team_id`, `enterprise_user` or `is_stranger`. */
function fromAdminUser(user: AdminListUser): DirectoryUser {
  return {
    id: user.id ?? '',
    name: user.username || undefined,
    realName: user.full_name || undefined,
    email: user.email || undefined,
    isBot: user.is_bot === true,
    // admin.users.list has no `deleted`: a deactivated person is `is_active: false`.
    deleted: user.is_active === false,
    isPrimaryOwner: user.is_primary_owner === true,
    isStranger: false,
  };
}

function fromUsersInfo(user: UsersInfoUser): DirectoryUser {
  return {
    id: user.id ?? '',
    name: user.name || undefined,
    realName: user.real_name || user.profile?.real_name || undefined,
    email: user.profile?.email || undefined,
    isBot: user.is_bot === true,
    deleted: user.deleted === true,
    isPrimaryOwner: user.is_primary_owner === true,
    teamId: user.team_id || undefined,
    enterpriseId: user.enterprise_user?.enterprise_id || undefined,
    isStranger: user.is_stranger === true,
  };
}

interface WebApiErrorShape {
  code?: string;
  data?: { error?: string; needed?: string; provided?: string };
  retryAfter?: number;
  statusCode?: number;
  original?: { code?: string; name?: string; message?: string };
  message?: string;
}

/** A 200 whose body could not be read whole, or is not JSON: transient, each with its own reason. */
class UnreadableBody extends Error {
  constructor(readonly reason: 'invalid_json' | 'body_timeout' | 'body_read_error') {
    super(`Slack's answer was unreadable (${reason})`);
    this.name = 'UnreadableBody';
  }
}

/** A 429 without a usable Retry-After: still Slack's rate limit, the wait left to the retry policy. */
class RateLimitedWithoutRetryAfter extends Error {
  constructor() {
    super('Slack answered 429 without a usable Retry-After');
    this.name = 'RateLimitedWithoutRetryAfter';
  }
}

/**
 * fetch for the SDK that reads a 200's body itself: the SDK would read a non-JSON body as the
 * error code `{ ok: false, error: <body text> }`, and a body that stops arriving as a bare abort.
 * A 429 without a usable Retry-After (Slack documents one on every 429) the SDK would report as
 * a plain error, read as transient: it is answered as rate limited here. Anything else is passed
 * on untouched (the SDK reads 429s with their Retry-After, and other statuses, itself).
 */
function checkedFetch(inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    // The SDK's own test for a usable header: an integer number of seconds.
    if (response.status === 429 && Number.isNaN(Number.parseInt(response.headers.get('retry-after') ?? '', 10))) throw new RateLimitedWithoutRetryAfter();
    if (response.status !== 200) return response;
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      const name = (error as { name?: string })?.name;
      throw new UnreadableBody(name === 'TimeoutError' || name === 'AbortError' ? 'body_timeout' : 'body_read_error');
    }
    try {
      JSON.parse(text);
    } catch {
      throw new UnreadableBody('invalid_json');
    }
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** What a Slack error code looks like (`user_not_found`, `ratelimited`). */
const SLACK_ERROR_CODE = /^[a-z][a-z0-9_.]{0,63}$/;

function toSlackError(error: unknown, token: TokenName, method: string): SlackError {
  if (error instanceof SlackError) return error;
  const e = (error ?? {}) as WebApiErrorShape;
  switch (e.code) {
    case ErrorCode.PlatformError: {
      // The SDK turns a body that is not JSON (a proxy's page, a cut-off answer) into
      // { ok: false, error: <the body text> }: never read that text as Slack's verdict (it could
      // say "user_not_found") nor carry it into a log. Slack's own codes are short snake_case.
      if (!SLACK_ERROR_CODE.test(e.data?.error ?? '')) return new SlackError('invalid_json', 'transient', token, method);
      const code = e.data!.error!;
      return new SlackError(code, classifySlackError(code), token, method, { needed: e.data?.needed, provided: e.data?.provided });
    }
    case ErrorCode.RateLimitedError:
      // Without a Retry-After the retry policy's fallback applies.
      return new SlackError('ratelimited', 'rate_limited', token, method, { retryAfterSeconds: e.retryAfter, status: 429 });
    case ErrorCode.HTTPError: {
      const status = e.statusCode ?? 0;
      // 4xx other than 429 will not improve on retry; 5xx usually does.
      return new SlackError(`http_${status}`, status >= 500 || status === 0 ? 'transient' : 'permanent', token, method, { status });
    }
    default: {
      // Our fetch found the 200's body unreadable (the SDK wraps what fetch throws).
      const unreadable = error instanceof UnreadableBody ? error : (error as { original?: unknown })?.original;
      if (unreadable instanceof UnreadableBody) return new SlackError(unreadable.reason, 'transient', token, method, { status: 200 });
      const limited = error instanceof RateLimitedWithoutRetryAfter ? error : (error as { original?: unknown })?.original;
      if (limited instanceof RateLimitedWithoutRetryAfter) return new SlackError('ratelimited', 'rate_limited', token, method, { status: 429 });
      const name = (error as { name?: string } | undefined)?.name ?? e.original?.name;
      if (name === 'TimeoutError' || name === 'AbortError') return new SlackError('timeout', 'transient', token, method);
      return new SlackError(e.original?.code ?? e.original?.name ?? 'request_error', 'transient', token, method);
    }
  }
}
