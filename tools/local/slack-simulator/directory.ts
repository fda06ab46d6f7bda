import { homeTeam } from './entries';
import { stableSlackId } from './random';
import type { Org, OrgUser } from './scenario';

/** Slack's fixed Security Admin system role. */
export const SECURITY_ADMIN_ROLE_ID = 'Rl0J';

const ROLE_ALIASES: Record<string, string> = { security_admin: SECURITY_ADMIN_ROLE_ID };

export interface RoleAssignment {
  role_id: string;
  entity_id: string;
  user_id: string;
  date_create: number;
}

/**
 * The org directory: people, bots, Slack Connect people, user groups, channels and role
 * assignments, shaped the way the Web API returns them. Live sessions are the only mutable
 * part (resets and invalidations end them).
 */
export class Directory {
  private readonly users = new Map<string, OrgUser>();
  private readonly sessions = new Map<string, Set<string>>();

  constructor(
    readonly org: Org,
    /** Unix seconds at simulator start, for made-up but plausible creation dates. */
    private readonly epochSeconds: number,
  ) {
    for (const user of org.users) {
      this.users.set(user.id, user);
      this.sessions.set(user.id, new Set(user.sessions.map(String)));
    }
  }

  get enterprise(): Org['enterprise'] {
    return this.org.enterprise;
  }

  get app(): Org['app'] {
    return this.org.app;
  }

  user(id: string): OrgUser | undefined {
    return this.users.get(id);
  }

  /** People and bots of this org (Slack Connect people belong to another org). */
  members(): OrgUser[] {
    return this.org.users.filter((u) => !u.external);
  }

  primaryOwner(): OrgUser | undefined {
    return this.org.users.find((u) => u.is_primary_owner);
  }

  /**
   * Who installed the app, i.e. whose user tokens the audit and admin tokens are
   * (`org.app.installed_by`, default the primary owner). An org without a primary owner and
   * without installed_by falls back to its first member, as auth.test always did.
   */
  installer(): OrgUser | undefined {
    const id = this.org.app.installed_by;
    return (id ? this.user(id) : undefined) ?? this.members()[0];
  }

  usergroup(id: string): Org['usergroups'][number] | undefined {
    return this.org.usergroups.find((g) => g.id === id);
  }

  channel(id: string): Org['channels'][number] | undefined {
    return this.org.channels.find((c) => c.id === id);
  }

  /** admin.teams.list's team objects: every workspace of the org. */
  workspaces(): Record<string, unknown>[] {
    const owner = this.primaryOwner();
    return this.org.workspaces.map((w) => ({
      id: w.id,
      name: w.name,
      discoverability: 'hidden',
      ...(owner ? { primary_owner: { user_id: owner.id, email: owner.email ?? '' } } : {}),
      team_url: `https://${w.domain}.slack.com/`,
    }));
  }

  roleAssignments(): RoleAssignment[] {
    return this.members().flatMap((user) =>
      user.roles.map((role) => ({
        role_id: ROLE_ALIASES[role] ?? role,
        entity_id: this.org.enterprise.id,
        user_id: user.id,
        // Assigned well before the simulation started; the day offset keeps them distinct.
        date_create: this.epochSeconds - 86_400 * (90 + (this.org.users.indexOf(user) % 60)),
      })),
    );
  }

  /** A DM channel id per set of users: stable across runs, so tests can predict it. */
  dmChannelId(userIds: readonly string[]): string {
    const key = [...userIds].sort().join(',');
    return userIds.length === 1 ? stableSlackId('D', key) : stableSlackId('G', `mpim:${key}`);
  }

  addSession(userId: string, sessionId: string): void {
    this.sessions.get(userId)?.add(sessionId);
  }

  hasSession(userId: string, sessionId: string): boolean {
    return this.sessions.get(userId)?.has(sessionId) ?? false;
  }

  endSession(userId: string, sessionId: string): void {
    this.sessions.get(userId)?.delete(sessionId);
  }

  endAllSessions(userId: string): void {
    this.sessions.get(userId)?.clear();
  }

  liveSessions(): Record<string, string[]> {
    return Object.fromEntries([...this.sessions].filter(([, s]) => s.size > 0).map(([id, s]) => [id, [...s].sort()]));
  }

  /** users.info's `user` object. */
  userInfo(user: OrgUser): Record<string, unknown> {
    const team = this.teamOf(user);
    const enterpriseId = user.external ? user.enterprise_id : this.org.enterprise.id;
    return {
      id: user.id,
      team_id: team,
      name: user.name,
      deleted: user.deleted,
      color: '9f69e7',
      real_name: user.real_name,
      tz: user.tz,
      tz_label: user.tz,
      is_admin: user.is_admin,
      is_owner: user.is_owner,
      is_primary_owner: user.is_primary_owner,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: user.is_bot,
      is_app_user: false,
      updated: this.epochSeconds - 86_400,
      is_email_confirmed: !user.is_bot,
      // Slack marks people of another Enterprise org as strangers; someone from a workspace outside
      // any Enterprise org comes without it (and without enterprise_user), which is why the
      // responder must compare teams too.
      ...(user.external && user.enterprise_id ? { is_stranger: true } : {}),
      profile: {
        real_name: user.real_name,
        display_name: user.name,
        title: user.title ?? '',
        ...(user.email ? { email: user.email } : {}),
        ...(user.is_bot ? { bot_id: stableSlackId('B', user.id) } : {}),
        team,
      },
      ...(enterpriseId ? { enterprise_user: this.enterpriseUser(user, enterpriseId, team) } : {}),
    };
  }

  private enterpriseUser(user: OrgUser, enterpriseId: string, team: string): Record<string, unknown> {
    return {
      id: user.id,
      enterprise_id: enterpriseId,
      enterprise_name: user.external ? (user.enterprise_name ?? 'Partner organisation') : this.org.enterprise.name,
      is_admin: user.is_admin,
      is_owner: user.is_owner,
      is_primary_owner: user.is_primary_owner,
      teams: [team],
    };
  }

  /** admin.users.list's user object. */
  adminUser(user: OrgUser): Record<string, unknown> {
    return {
      id: user.id,
      email: user.email ?? '',
      is_admin: user.is_admin,
      is_owner: user.is_owner,
      is_primary_owner: user.is_primary_owner,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: user.is_bot,
      is_active: !user.deleted,
      username: user.name,
      full_name: user.real_name,
      date_created: this.epochSeconds - 86_400 * 400,
      ...(user.deleted ? { deactivated_ts: this.epochSeconds - 86_400 * 7 } : {}),
      expiration_ts: 0,
      workspaces: [this.teamOf(user)],
      has_2fa: !user.is_bot,
      has_sso: !user.is_bot,
      roles: user.roles.map((role) => ROLE_ALIASES[role] ?? role),
    };
  }

  private teamOf(user: OrgUser): string {
    return user.external ? (user.team ?? user.enterprise_id ?? 'E0EXTERNAL0') : (user.team ?? homeTeam(this.org));
  }
}
