import { WebClient, ErrorCode, LogLevel, type WebAPICallResult } from '@slack/web-api';
import { classifySlackError, SlackError, type TokenName } from './errors';
import type { TokenProvider } from './tokens';

/** Security Admin system role (Slack's fixed role id). */
export const SECURITY_ADMIN_ROLE_ID = 'Rl0J';

export interface DirectoryUser {
  id: string;
  name?: string;
  realName?: string;
  email?: string;
  isBot: boolean;
  deleted: boolean;
  /** Belongs to another organisation (Slack Connect): never acted on. */
  isExternal: boolean;
}

/** Slack Web API operations this project uses, behind one small interface tests can fake. */
export interface SlackApi {
  resetSessions(userId: string): Promise<void>;
  getUser(userId: string): Promise<DirectoryUser | undefined>;
  usergroupMembers(groupId: string): Promise<string[]>;
  primaryOwner(): Promise<DirectoryUser | undefined>;
  securityAdminIds(): Promise<string[]>;
  openDirectMessage(userId: string): Promise<string>;
  postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void>;
}

export interface SlackWebApiOptions {
  tokens: TokenProvider;
  /** Web API base URL, e.g. https://slack.com/api/ */
  apiUrl?: string;
  /** Per-request timeout. Retries are ours (by error kind), not the SDK's thirty-minute default. */
  timeoutMs?: number;
}

type SlackResult = WebAPICallResult & Record<string, unknown>;

interface SlackUserRecord {
  id: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_stranger?: boolean;
  is_primary_owner?: boolean;
  enterprise_user?: { enterprise_id?: string };
  profile?: { email?: string; real_name?: string };
  email?: string;
}

/** @slack/web-api with no built-in retries and every failure mapped to a classified SlackError. */
export class SlackWebApi implements SlackApi {
  private readonly client: WebClient;
  private enterpriseId?: Promise<string | undefined>;

  constructor(private readonly options: SlackWebApiOptions) {
    this.client = new WebClient(undefined, {
      slackApiUrl: options.apiUrl ?? 'https://slack.com/api/',
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 10_000,
      logLevel: LogLevel.ERROR,
    });
  }

  async resetSessions(userId: string): Promise<void> {
    await this.call('admin', 'admin.users.session.reset', { user_id: userId });
  }

  async getUser(userId: string): Promise<DirectoryUser | undefined> {
    try {
      const result = await this.call('admin', 'users.info', { user: userId });
      const enterpriseId = await this.orgEnterpriseId();
      return toDirectoryUser(result.user as SlackUserRecord, enterpriseId);
    } catch (error) {
      if (error instanceof SlackError && error.code === 'user_not_found') return undefined;
      throw error;
    }
  }

  async usergroupMembers(groupId: string): Promise<string[]> {
    const result = await this.call('admin', 'usergroups.users.list', { usergroup: groupId });
    return (result.users as string[] | undefined) ?? [];
  }

  async primaryOwner(): Promise<DirectoryUser | undefined> {
    const enterpriseId = await this.orgEnterpriseId();
    let cursor: string | undefined;
    do {
      const page = await this.call('admin', 'admin.users.list', { limit: 100, ...(cursor ? { cursor } : {}) });
      const owner = (page.users as SlackUserRecord[] | undefined)?.find((u) => u.is_primary_owner);
      if (owner) return toDirectoryUser(owner, enterpriseId);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  }

  async securityAdminIds(): Promise<string[]> {
    const ids = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.call('admin', 'admin.roles.listAssignments', {
        role_ids: [SECURITY_ADMIN_ROLE_ID],
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const assignment of (page.role_assignments as { user_id?: string }[] | undefined) ?? []) {
        if (assignment.user_id) ids.add(assignment.user_id);
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return [...ids];
  }

  async openDirectMessage(userId: string): Promise<string> {
    const result = await this.call('bot', 'conversations.open', { users: userId });
    const id = (result.channel as { id?: string } | undefined)?.id;
    if (!id) throw new SlackError('no_channel_returned', 'transient', 'bot', 'conversations.open');
    return id;
  }

  async postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
    await this.call('bot', 'chat.postMessage', { channel, text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) });
  }

  /** The admin token's enterprise (auth.test), to tell org members from Slack Connect people. */
  private orgEnterpriseId(): Promise<string | undefined> {
    if (!this.enterpriseId) {
      this.enterpriseId = this.call('admin', 'auth.test', {}).then((r) => (r.enterprise_id as string | undefined) || undefined);
      this.enterpriseId.catch(() => (this.enterpriseId = undefined));
    }
    return this.enterpriseId;
  }

  private async call(tokenName: TokenName, method: string, args: Record<string, unknown>): Promise<SlackResult> {
    const token = await this.options.tokens.get(tokenName);
    try {
      return (await this.client.apiCall(method, { ...args, token })) as SlackResult;
    } catch (error) {
      const mapped = toSlackError(error, tokenName, method);
      if (mapped.code === 'invalid_auth' || mapped.code === 'token_revoked' || mapped.code === 'token_expired') {
        this.options.tokens.invalidate();
      }
      throw mapped;
    }
  }
}

function toDirectoryUser(user: SlackUserRecord, orgEnterpriseId: string | undefined): DirectoryUser {
  const memberOfOtherOrg =
    orgEnterpriseId !== undefined && user.enterprise_user?.enterprise_id !== undefined && user.enterprise_user.enterprise_id !== orgEnterpriseId;
  return {
    id: user.id,
    name: user.name,
    realName: user.real_name ?? user.profile?.real_name,
    email: user.profile?.email ?? user.email,
    isBot: user.is_bot === true,
    deleted: user.deleted === true,
    isExternal: user.is_stranger === true || memberOfOtherOrg,
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

export function toSlackError(error: unknown, token: TokenName, method: string): SlackError {
  if (error instanceof SlackError) return error;
  const e = (error ?? {}) as WebApiErrorShape;
  switch (e.code) {
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      return new SlackError(code, classifySlackError(code), token, method, { needed: e.data?.needed, provided: e.data?.provided });
    }
    case ErrorCode.RateLimitedError:
      return new SlackError('ratelimited', 'rate_limited', token, method, { retryAfterSeconds: e.retryAfter ?? 60, status: 429 });
    case ErrorCode.HTTPError: {
      const status = e.statusCode ?? 0;
      // 4xx other than 429 will not improve on retry; 5xx usually does.
      return new SlackError(`http_${status}`, status >= 500 || status === 0 ? 'transient' : 'permanent', token, method, { status });
    }
    default:
      return new SlackError(e.original?.code ?? e.original?.name ?? 'request_error', 'transient', token, method);
  }
}
