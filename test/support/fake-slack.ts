import { SlackError } from '../../functions/shared/slack/errors';
import type { DirectoryUser, SlackApi } from '../../functions/shared/slack/web-api';

/** A scriptable SlackApi: a directory, group members, and errors queued per method. */
export class FakeSlack implements SlackApi {
  readonly resets: string[] = [];
  readonly posted: { channel: string; text: string; blocks?: unknown[] }[] = [];
  readonly calls: Record<string, number> = {};
  users = new Map<string, Partial<DirectoryUser>>();
  groups = new Map<string, string[]>();
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
    const user = this.users.get(userId);
    return user ? { id: userId, isBot: false, deleted: false, isExternal: false, ...user } : undefined;
  }
  async usergroupMembers(groupId: string): Promise<string[]> {
    this.count('usergroupMembers');
    const members = this.groups.get(groupId);
    if (!members) throw new SlackError('no_such_subteam', 'permanent', 'admin', 'usergroups.users.list');
    return members;
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
