import { classifySlackError, SlackError, type TokenName } from '../../functions/adapters/slack/errors';
import { FAILED_FOR_SOME_USERS, MAX_BULK_RESET_USERS, type BulkResetScope, type DirectoryUser, type OrgIdentity, type SlackApi, type UserGroupRef } from '../../functions/adapters/slack/web-api';
import type { ResetScope } from '../../functions/domain/decision/decide';
import type { AllowList } from '../../functions/domain/allow-list';
import { parseCidr } from '../../functions/domain/networks';

export const FAKE_ORG_ID = 'E0ORG00001';
export const FAKE_WORKSPACE_ID = 'T0FAKEWS01';

/** Slack's limits on chat.postMessage, as the simulator applies them. */
const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;

/** The SlackError the real client (SlackWebApi) makes of Slack's `ok:false` answer. */
export function platformError(code: string, token: TokenName, method: string): SlackError {
  return new SlackError(code, classifySlackError(code), token, method);
}

/**
 * A scriptable SlackApi: a directory, group members, channels, and errors queued per method.
 * It refuses what Slack (and the strict simulator, tools/local/slack-simulator) refuses; the
 * shared contract in test/support/slack-contract.ts holds it to SlackWebApi on the simulator.
 */
export class FakeSlack implements SlackApi {
  /** Whose sessions were ended (any scope), in order. */
  readonly resets: string[] = [];
  /** Each accepted reset with its scope. */
  readonly resetScopes: { userId: string; scope: ResetScope }[] = [];
  /** Slack's anomaly allow-list (admin.audit.anomaly.allow.*), and every list written to it. */
  allowList: AllowList = { cidrs: [], asns: [] };
  readonly allowListWrites: AllowList[] = [];
  /** Live session ids per user: admin.users.session.invalidate ends one, and refuses an unknown one. */
  sessions = new Map<string, Set<string>>();
  /** Every admin.users.session.resetBulk call. */
  readonly bulkCalls: { userIds: string[]; scope: BulkResetScope }[] = [];
  readonly posted: { channel: string; text: string; blocks?: unknown[] }[] = [];
  readonly calls: Record<string, number> = {};
  /**
   * The directory: only the people listed here exist (anyone else is `user_not_found`, as on
   * Slack). Each record defaults to an active, non-bot member of the fake org.
   */
  users = new Map<string, Partial<DirectoryUser>>();
  /** People Slack's directory does not know, even if listed (users.info → user_not_found). */
  missingUsers = new Set<string>();
  /** Group members, keyed by group id (`S…`) for an org-wide group or `T…/S…` for a workspace group. */
  groups = new Map<string, string[]>();
  /** Every group expansion asked for, with the team it named. */
  readonly groupCalls: { id: string; teamId: string }[] = [];
  org: OrgIdentity = { enterpriseId: FAKE_ORG_ID, teamIds: new Set([FAKE_ORG_ID, FAKE_WORKSPACE_ID]) };
  primaryOwnerId?: string;
  /** Whose user tokens (admin) these are: Slack lets only the primary owner reset the primary owner. Default: the primary owner. */
  installedBy?: string;
  securityAdmins: string[] = [];
  /** Channels by id → whether the bot is a member (else chat.postMessage answers not_in_channel). */
  channels = new Map<string, boolean>();
  /** Open DMs: channel id → user id. */
  readonly dms = new Map<string, string>();
  /** Errors thrown by the next calls of a method, in order (before any of the fake's own checks). */
  failures: Record<string, Error[]> = {};

  /** List people as ordinary members (or with `extra`); returns this, for chaining. */
  member(ids: string | string[], extra: Partial<DirectoryUser> = {}): this {
    for (const id of [ids].flat()) this.users.set(id, { ...this.users.get(id), ...extra });
    return this;
  }

  private count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    const failure = this.failures[method]?.shift();
    if (failure) throw failure;
  }

  /** The directory record, as users.info describes it; undefined for someone Slack does not know. */
  private lookup(userId: string): DirectoryUser | undefined {
    const user = this.users.get(userId);
    if (!user || this.missingUsers.has(userId)) return undefined;
    return {
      id: userId,
      isBot: false,
      deleted: false,
      isPrimaryOwner: userId === this.primaryOwnerId,
      isStranger: false,
      teamId: FAKE_WORKSPACE_ID,
      enterpriseId: this.org.enterpriseId,
      ...user,
    };
  }

  /** Someone from another org, or from a workspace outside any: Slack's admin methods do not find them. */
  private isExternal(user: DirectoryUser): boolean {
    return user.isStranger || user.enterpriseId !== this.org.enterpriseId;
  }

  async resetSessions(userId: string, scope: ResetScope = { kind: 'all' }): Promise<void> {
    this.count('resetSessions');
    const user = this.lookup(userId);
    const one = scope.kind === 'session';
    const refuse = (code: string) => platformError(code, 'admin', one ? 'admin.users.session.invalidate' : 'admin.users.session.reset');
    if (!user || this.isExternal(user)) throw refuse('user_not_found');
    // "Only primary owner can reset primary owner's sessions": allowed only with the primary owner's own tokens.
    if (user.isPrimaryOwner && (this.installedBy ?? this.primaryOwnerId) !== userId) throw refuse(one ? 'cannot_invalidate_primary_owner' : 'cannot_reset_primary_owner');
    if (one) {
      // A bot signs in to no session; an id Slack does not know is session_not_found (as the simulator answers).
      if (user.isBot || !this.sessions.get(userId)?.has(scope.sessionId)) throw refuse('session_not_found');
      this.sessions.get(userId)!.delete(scope.sessionId);
    } else if (user.isBot) {
      throw refuse('cannot_reset_bot');
    }
    this.resets.push(userId);
    this.resetScopes.push({ userId, scope });
  }
  async anomalyAllowList(): Promise<AllowList> {
    this.count('anomalyAllowList');
    return { cidrs: [...this.allowList.cidrs], asns: [...this.allowList.asns] };
  }
  async setAnomalyAllowList(list: AllowList): Promise<void> {
    this.count('setAnomalyAllowList');
    // IPv4 CIDRs only, per the reference (as the simulator refuses anything else).
    const ipv4 = (text: string) => {
      const parsed = parseCidr(text);
      return parsed.ok && parsed.cidr.version === 4;
    };
    if (!list.cidrs.every(ipv4)) throw platformError('invalid_field_or_data', 'admin', 'admin.audit.anomaly.allow.updateItem');
    this.allowList = { cidrs: [...list.cidrs], asns: [...list.asns] };
    this.allowListWrites.push(this.allowList);
  }
  /** As the simulator: resets everyone it can, and answers failed_for_some_users (naming nobody) when any could not be. */
  async resetSessionsBulk(userIds: readonly string[], scope: BulkResetScope = { kind: 'all' }): Promise<void> {
    // Every call asked for, even one a queued failure then refuses.
    this.bulkCalls.push({ userIds: [...userIds], scope });
    this.count('resetSessionsBulk');
    if (userIds.length > MAX_BULK_RESET_USERS) throw platformError('invalid_arguments', 'admin', 'admin.users.session.resetBulk');
    let failed = false;
    for (const userId of new Set(userIds)) {
      if (this.resetRefusal(userId)) failed = true;
      else {
        this.resets.push(userId);
        this.resetScopes.push({ userId, scope });
      }
    }
    if (failed) throw platformError(FAILED_FOR_SOME_USERS, 'admin', 'admin.users.session.resetBulk');
  }
  private resetRefusal(userId: string): string | undefined {
    const user = this.lookup(userId);
    if (!user || this.isExternal(user)) return 'user_not_found';
    // "Only primary owner can reset primary owner's sessions": allowed only with the primary owner's own tokens.
    if (user.isPrimaryOwner && (this.installedBy ?? this.primaryOwnerId) !== userId) return 'cannot_reset_primary_owner';
    if (user.isBot) return 'cannot_reset_bot';
    return undefined;
  }
  /** admin.users.list: the org's own members (not Slack Connect people), in its shape (no team, never a stranger). */
  async listMembers(): Promise<DirectoryUser[]> {
    this.count('listMembers');
    return [...this.users.keys()]
      .map((id) => this.lookup(id))
      .filter((u): u is DirectoryUser => u !== undefined && !this.isExternal(u))
      .map((u) => ({ id: u.id, name: u.name, realName: u.realName, email: u.email, isBot: u.isBot, deleted: u.deleted, isPrimaryOwner: u.isPrimaryOwner, isStranger: false }));
  }
  async getUser(userId: string): Promise<DirectoryUser | undefined> {
    this.count('getUser');
    return this.lookup(userId);
  }
  async usergroupMembers(group: UserGroupRef): Promise<string[]> {
    this.count('usergroupMembers');
    // As Slack with an org token: the group's own team is named, the org's id for an org-wide group.
    const teamId = group.teamId ?? this.org.enterpriseId;
    this.groupCalls.push({ id: group.id, teamId });
    const members = this.groups.get(teamId === this.org.enterpriseId ? group.id : `${teamId}/${group.id}`);
    if (!members) throw platformError('no_such_subteam', 'admin', 'usergroups.users.list');
    // Slack leaves deactivated members out (include_disabled is not sent).
    return members.filter((id) => !this.users.get(id)?.deleted);
  }
  async orgIdentity(): Promise<OrgIdentity> {
    this.count('orgIdentity');
    return this.org;
  }
  async primaryOwner(): Promise<DirectoryUser | undefined> {
    this.count('primaryOwner');
    const owner = this.primaryOwnerId ? this.lookup(this.primaryOwnerId) : undefined;
    if (!owner) return undefined;
    // admin.users.list's shape: no team or enterprise, never a stranger.
    return { id: owner.id, name: owner.name, realName: owner.realName, email: owner.email, isBot: owner.isBot, deleted: owner.deleted, isPrimaryOwner: true, isStranger: false };
  }
  async securityAdminIds(): Promise<string[]> {
    this.count('securityAdminIds');
    return this.securityAdmins;
  }
  async openDirectMessage(userId: string): Promise<string> {
    this.count('openDirectMessage');
    const user = this.lookup(userId);
    const refuse = (code: string) => platformError(code, 'bot', 'conversations.open');
    if (!user) throw refuse('user_not_found');
    if (user.deleted) throw refuse('user_disabled');
    if (user.isBot) throw refuse('cannot_dm_bot');
    const channel = `D${userId.slice(1)}`;
    this.dms.set(channel, userId);
    return channel;
  }
  async postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
    this.count('postMessage');
    const refuse = (code: string) => platformError(code, 'bot', 'chat.postMessage');
    const user = /^[UW]/.test(channel) ? this.lookup(channel) : undefined;
    if (this.dms.has(channel)) {
      // an open DM
    } else if (this.channels.has(channel)) {
      if (!this.channels.get(channel)) throw refuse('not_in_channel');
    } else if (user) {
      // Posting to a user id lands in the app's DM with them.
      if (user.isBot) throw refuse('cannot_dm_bot');
    } else {
      throw refuse('channel_not_found');
    }
    const { blocks } = message;
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > MAX_BLOCKS || blocks.some((b) => typeof (b as { type?: unknown })?.type !== 'string'))) {
      throw refuse('invalid_blocks');
    }
    if (!message.text && !blocks?.length) throw refuse('no_text');
    if (message.text && message.text.length > MAX_TEXT) throw refuse('msg_too_long');
    this.posted.push({ channel, ...message });
  }
}
