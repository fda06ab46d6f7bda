import { SlackError } from '../../functions/adapters/slack/errors';
import type { DirectoryUser, OrgIdentity, SlackApi, UserGroupRef } from '../../functions/adapters/slack/web-api';

export const FAKE_ORG_ID = 'E0ORG00001';
export const FAKE_WORKSPACE_ID = 'T0FAKEWS01';

/** A scriptable SlackApi: a directory, group members, and errors queued per method. */
export class FakeSlack implements SlackApi {
  readonly resets: string[] = [];
  readonly posted: { channel: string; text: string; blocks?: unknown[] }[] = [];
  readonly calls: Record<string, number> = {};
  /** Directory records by id; anyone not listed (and not in `missingUsers`) is an ordinary org member. */
  users = new Map<string, Partial<DirectoryUser>>();
  /** People Slack's directory does not know (users.info → user_not_found). */
  missingUsers = new Set<string>();
  /** Group members, keyed by group id (`S…`) or, for a workspace group, `T…/S…`. */
  groups = new Map<string, string[]>();
  /** Every group expansion asked for, with the team it named. */
  readonly groupCalls: { id: string; teamId: string }[] = [];
  org: OrgIdentity = { enterpriseId: FAKE_ORG_ID, teamIds: new Set([FAKE_ORG_ID, FAKE_WORKSPACE_ID]) };
  primaryOwnerId?: string;
  securityAdmins: string[] = [];
  /** Errors thrown by the next calls of a method, in order. */
  failures: Record<string, SlackError[]> = {};

  private count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    const failure = this.failures[method]?.shift();
    if (failure) throw failure;
  }

  async resetSessions(userId: string): Promise<void> {
    this.count('resetSessions');
    if (userId === this.primaryOwnerId) throw new SlackError('cannot_reset_primary_owner', 'permanent', 'admin', 'admin.users.session.reset');
    this.resets.push(userId);
  }
  async getUser(userId: string): Promise<DirectoryUser | undefined> {
    this.count('getUser');
    if (this.missingUsers.has(userId)) return undefined;
    const user = this.users.get(userId) ?? {};
    return {
      id: userId,
      isBot: false,
      deleted: false,
      isPrimaryOwner: userId === this.primaryOwnerId,
      isStranger: false,
      teamId: FAKE_WORKSPACE_ID,
      enterpriseId: FAKE_ORG_ID,
      ...user,
    };
  }
  async usergroupMembers(group: UserGroupRef): Promise<string[]> {
    this.count('usergroupMembers');
    // As Slack with an org token: the group's own team is named, the org's id for an org-wide group.
    const teamId = group.teamId ?? this.org.enterpriseId;
    this.groupCalls.push({ id: group.id, teamId });
    const members = this.groups.get(group.teamId ? `${group.teamId}/${group.id}` : group.id);
    if (!members) throw new SlackError('no_such_subteam', 'permanent', 'admin', 'usergroups.users.list');
    return members;
  }
  async orgIdentity(): Promise<OrgIdentity> {
    this.count('orgIdentity');
    return this.org;
  }
  async primaryOwner(): Promise<DirectoryUser | undefined> {
    this.count('primaryOwner');
    return this.primaryOwnerId ? this.getUser(this.primaryOwnerId) : undefined;
  }
  async securityAdminIds(): Promise<string[]> {
    this.count('securityAdminIds');
    return this.securityAdmins;
  }
  async openDirectMessage(userId: string): Promise<string> {
    this.count('openDirectMessage');
    return `D${userId.slice(1)}`;
  }
  async postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
    this.count('postMessage');
    this.posted.push({ channel, ...message });
  }
}
