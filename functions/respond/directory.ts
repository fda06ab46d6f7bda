import { ConfigError } from '../domain/errors';
import { parseGroupKey } from '../domain/config/schema';
import type { OrgFacts, PersonFacts } from '../domain/decision/decide';
import { isSlackError } from '../adapters/slack/errors';
import type { DirectoryUser, SlackApi } from '../adapters/slack/web-api';
import { mapLimit } from '../runtime/map-limit';
import { TtlCache } from '../runtime/ttl-cache';

/**
 * Group expansions in flight at once for one entry: a configuration with 2,000 excluded groups
 * must not become 2,000 simultaneous usergroups.users.list calls (Tier 2: about 20 a minute).
 */
export const GROUP_EXPANSION_CONCURRENCY = 4;

/**
 * Directory lookups the decision needs, cached per container (people, group members, the org).
 * People come from one cached admin.users.list of the whole org (a few calls per cache period,
 * whatever the number of anomalies); only someone that list does not hold (a Slack Connect
 * person, someone who joined since) is looked up with users.info, which alone says whether they
 * are a stranger or from another org. An org too big to list within Slack's budget is looked
 * up person by person instead (memberList).
 */
export class RespondDirectory {
  private readonly members: TtlCache<ReadonlyMap<string, DirectoryUser>>;
  private readonly users: TtlCache<DirectoryUser | undefined>;
  private readonly groups: TtlCache<ReadonlySet<string>>;
  private readonly orgs: TtlCache<OrgFacts>;
  /** Until when the member list is not asked for again (epoch ms): it could not be read within Slack's budget. */
  private listUnreadableUntil = 0;

  constructor(
    private readonly slack: Pick<SlackApi, 'getUser' | 'listMembers' | 'usergroupMembers' | 'orgIdentity'>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.members = new TtlCache(ttlMs, now);
    this.users = new TtlCache(ttlMs, now);
    this.groups = new TtlCache(ttlMs, now);
    this.orgs = new TtlCache(ttlMs, now);
  }

  /** The directory's raw facts; what they mean (external, protected) is the domain's to judge. */
  async person(userId: string): Promise<PersonFacts> {
    const members = await this.memberList();
    const member = members?.get(userId);
    if (member) {
      // admin.users.list lists the org's own people: their org is ours (its `enterpriseId`).
      const org = await this.org();
      return { found: true, isPrimaryOwner: member.isPrimaryOwner, isStranger: false, enterpriseId: org.enterpriseId, isBot: member.isBot };
    }
    const user = await this.users.get(userId, () => this.slack.getUser(userId));
    if (!user) return { found: false };
    return { found: true, isPrimaryOwner: user.isPrimaryOwner, isStranger: user.isStranger, teamId: user.teamId, enterpriseId: user.enterpriseId, isBot: user.isBot };
  }

  /**
   * The org's member list, or undefined when it cannot be read within Slack's budget for
   * admin.users.list (100 people a page, about 100 pages a minute: an org of more than some
   * 10,000 people, or a 429). Paging again from the start on every try would then never end, and
   * nobody would be signed out: people are looked up one by one (users.info) until the cache
   * period is over, and the list is tried again after it.
   */
  private async memberList(): Promise<ReadonlyMap<string, DirectoryUser> | undefined> {
    if (this.now() < this.listUnreadableUntil) return undefined;
    try {
      return await this.members.get('org', async () => new Map((await this.slack.listMembers()).map((u) => [u.id, u])));
    } catch (error) {
      // Only Slack's budget (a 429, or no slot soon enough); an invocation out of time tries again in the next.
      if (!isSlackError(error, 'rate_limited')) throw error;
      this.listUnreadableUntil = Math.max(this.listUnreadableUntil, this.now() + this.ttlMs);
      return undefined;
    }
  }

  org(): Promise<OrgFacts> {
    return this.orgs.get('org', () => this.slack.orgIdentity());
  }

  /** Members of each configured group key (`S…` org-wide, `T…/S…` in a workspace), a few at a time. */
  async groupMembers(groupKeys: readonly string[]): Promise<Map<string, ReadonlySet<string>>> {
    const entries = await mapLimit(groupKeys, GROUP_EXPANSION_CONCURRENCY, async (key) => {
      const { id, team } = parseGroupKey(key);
      try {
        const members = await this.groups.get(key, async () => {
          const users = await this.slack.usergroupMembers({ id, teamId: team });
          // An exclusion group that expands to nobody protects nobody: its people would be
          // signed out. Slack answers an emptied, disabled or wrongly scoped group this way,
          // so it cannot be told from a real one: fail safe and name it (not cached).
          if (!Array.isArray(users) || users.length === 0) throw new ConfigError([`excludedGroups: user group ${key} cannot be expanded (Slack listed no members)`]);
          return new Set(users);
        });
        return [key, members] as const;
      } catch (error) {
        if (isSlackError(error, 'permanent')) {
          // Without the members we cannot tell who is excluded: fail safe, as for a bad config.
          throw new ConfigError([`excludedGroups: user group ${key} cannot be expanded (${error.code})`]);
        }
        throw error;
      }
    });
    return new Map(entries);
  }
}
