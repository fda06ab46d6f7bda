import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditEntry } from '../../../functions/domain/audit-entry';
import { parseGroupKey, responseConfigSchema } from '../../../functions/domain/config/schema';
import { applySafety, decide, factsNeeded, type PersonFacts } from '../../../functions/domain/decision/decide';
import {
  ACTIONABLE_REASONS,
  DEFAULT_CONFIG_PATH,
  DEFAULT_SCENARIO_PATH,
  KNOWN_REASONS,
  loadScenario,
  ScenarioError,
  startSlackSimulator,
  type AuditEntry,
  type Scenario,
  type ScenarioInput,
} from '../../../tools/local/slack-simulator';
import { anomaly, auditLogs, control, FakeClock, rawApi, smallScenario, T0_SECONDS } from './helpers';

function issuesOf(input: unknown): string[] {
  try {
    loadScenario(input as ScenarioInput);
  } catch (error) {
    if (error instanceof ScenarioError) return error.issues;
    throw error;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('default scenario', () => {
  const scenario = loadScenario(DEFAULT_SCENARIO_PATH);
  const config = responseConfigSchema.parse(JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')));
  const expectBlock = scenario.expect!;
  const users = scenario.org.users;
  const reasonsOf = (e: Scenario['entries'][number]) => {
    const reason = (e.details as { reason?: unknown } | undefined)?.reason;
    return Array.isArray(reason) ? (reason as string[]) : typeof reason === 'string' ? [reason] : [];
  };
  const cooked = scenario.entries.filter((e) => !e.raw);

  it('loads, and its config is a valid response config (the project schema)', () => {
    expect(scenario.entries.length).toBeGreaterThanOrEqual(25);
    expect(scenario.entries.length).toBeLessThanOrEqual(40);
    expect(expectBlock.config).toBe('default-config.json');
    const raw = JSON.parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8'));
    const parsed = responseConfigSchema.safeParse(raw);
    expect(parsed.error?.issues).toBeUndefined();
    // The demo is meant to differ from Slack's defaults in places.
    expect(config.events.session_fingerprint.action).toBe('end_sessions');
    expect(config.events.spoofed_user_agent.action).toBe('notify_only');
    expect(config.exclusions.excludedUsers.length + config.exclusions.excludedGroups.length).toBeGreaterThan(0);
    expect(Object.values(config.events).some((rule) => rule.excludedGroups.length > 0)).toBe(true);
  });

  it('is a realistic org: one primary owner, two security admins, a bot, a Slack Connect person, user groups', () => {
    expect(users.filter((u) => u.is_primary_owner)).toHaveLength(1);
    expect(users.filter((u) => u.roles.includes('security_admin'))).toHaveLength(2);
    expect(users.filter((u) => u.is_bot)).toHaveLength(1);
    // One from another Enterprise org, one from a workspace outside any Enterprise org.
    expect(users.filter((u) => u.external).map((u) => (u.enterprise_id ? 'enterprise' : 'standalone')).sort()).toEqual(['enterprise', 'standalone']);
    expect(users.filter((u) => !u.is_bot && !u.external).length).toBeGreaterThanOrEqual(15);
    expect(scenario.org.usergroups.map((g) => g.name)).toEqual(expect.arrayContaining(['Security team', 'Service accounts']));
  });

  it('covers every documented reason code, combined reasons, an app entity and malformed entries', () => {
    const seen = new Set(scenario.entries.flatMap(reasonsOf));
    for (const code of KNOWN_REASONS) expect(seen).toContain(code);
    for (const code of ACTIONABLE_REASONS) expect(seen).toContain(code);
    expect(cooked.some((e) => reasonsOf(e).length >= 3)).toBe(true);
    expect(cooked.some((e) => (e.entity as { type: string }).type === 'app')).toBe(true);
    expect(scenario.entries.filter((e) => e.raw).map((e) => e.id)).toEqual(expectBlock.rejected);
  });

  it('uses only documentation IP ranges', () => {
    const ips = scenario.entries.flatMap((e) => [
      (e.context as { ip_address?: string } | undefined)?.ip_address,
      (e.details as { previous_ip_address?: string } | undefined)?.previous_ip_address,
    ]);
    for (const ip of ips.filter((x): x is string => x !== undefined && x !== '')) {
      expect(ip).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$|^2001:db8:/);
    }
  });

  it('has late arrivals inside a 15-minute overlap window, listed in expect.lateArrivals', () => {
    const late = scenario.entries.filter((e) => e.arrivalDelaySeconds > 0);
    expect(late.map((e) => e.id).sort()).toEqual([...(expectBlock.lateArrivals ?? [])].sort());
    for (const e of late) {
      expect(e.arrivalDelaySeconds).toBeLessThanOrEqual(900);
      // Not yet visible when the simulator starts: a first poll cannot see them.
      expect(e.arrivalDelaySeconds - (e.ageSeconds ?? 0)).toBeGreaterThan(0);
    }
  });

  it('accounts for every person: each is either in sessionsEnded or untouched', () => {
    const all = users.map((u) => u.id).sort();
    expect([...(expectBlock.sessionsEnded ?? []), ...(expectBlock.untouched ?? [])].sort()).toEqual(all);
  });

  /**
   * Replays the scenario through the project's own decision rules (parseAuditEntry, factsNeeded,
   * decide, applySafety), in arrival order, so `expect` cannot drift from the rules it describes.
   * The facts come from the simulator the way the responder gets them (users.info,
   * usergroups.users.list with the group's team), and resets go to it, so Slack's refusals are
   * the simulator's own answers.
   */
  it('matches what the project decision rules do with default-config.json', async () => {
    const clock = new FakeClock(T0_SECONDS * 1000);
    const sim = await startSlackSimulator({ now: clock.now });
    try {
      clock.advanceSeconds(3600);
      const served = (await auditLogs(sim, { action: 'anomaly', limit: 9999 })).body.entries as AuditEntry[];
      expect(served).toHaveLength(scenario.entries.length);
      const visibleAt = new Map(sim.state().entries.items.map((i) => [i.id, i.visibleAt]));
      const byArrival = [...served].sort((a, b) => visibleAt.get(a.id)! - visibleAt.get(b.id)! || a.date_create - b.date_create);

      const enterpriseId = scenario.org.enterprise.id;
      const org = { enterpriseId, teamIds: new Set(scenario.org.workspaces.map((w) => w.id)) };
      const members = new Map<string, Set<string>>();
      const groupMembers = async (key: string): Promise<Set<string>> => {
        if (!members.has(key)) {
          const { id, team } = parseGroupKey(key);
          const res = await rawApi(sim, 'usergroups.users.list', { usergroup: id, team_id: team ?? enterpriseId });
          expect({ key, ok: res.body.ok }).toEqual({ key, ok: true }); // the config names each group with its own team
          members.set(key, new Set(res.body.users));
        }
        return members.get(key)!;
      };
      const personFacts = async (userId: string): Promise<PersonFacts> => {
        const res = await rawApi(sim, 'users.info', { user: userId });
        if (!res.body.ok) return { found: false };
        const u = res.body.user;
        return { found: true, isPrimaryOwner: u.is_primary_owner, isStranger: u.is_stranger === true, teamId: u.team_id, enterpriseId: u.enterprise_user?.enterprise_id };
      };
      const lastReset = new Map<string, number>();
      const resets: string[] = [];
      const failures: { entryId: string; userId: string; error: string }[] = [];
      const rejected: string[] = [];
      const decisions: Record<string, { action: string; reason?: string }> = {};

      for (const raw of byArrival) {
        const parsed = parseAuditEntry(raw);
        if (!parsed.ok) {
          rejected.push(raw.id);
          decisions[raw.id] = { action: 'rejected' };
          continue;
        }
        const entry = parsed.entry;
        const userId = entry.entity.kind === 'user' ? entry.entity.userId : undefined;
        const needed = factsNeeded(entry, config);
        const wanted = new Map<string, Set<string>>();
        for (const key of needed.groups) wanted.set(key, await groupMembers(key));
        const person = needed.person && userId ? await personFacts(userId) : undefined;
        // Entries already there at start are processed at start; later ones when they arrive.
        const now = Math.max(visibleAt.get(entry.id)!, T0_SECONDS) * 1000;
        const decision = applySafety(
          decide({ entry, config, groupMembers: wanted, person, org: needed.org ? org : undefined }),
          { lastResetAt: userId ? lastReset.get(userId) : undefined, budgetExhausted: false },
          config,
          now,
        );
        decisions[entry.id] = { action: decision.action, reason: decision.reason };
        if (decision.action !== 'end_sessions' || !userId) continue;
        const reset = await rawApi(sim, 'admin.users.session.reset', { user_id: userId });
        if (!reset.body.ok) failures.push({ entryId: entry.id, userId, error: reset.body.error });
        else {
          resets.push(userId);
          lastReset.set(userId, now);
        }
      }

      expect([...new Set(resets)].sort()).toEqual(expectBlock.sessionsEnded);
      expect(resets).toHaveLength(new Set(resets).size); // nobody twice: the cooldown holds
      expect(rejected.sort()).toEqual([...(expectBlock.rejected ?? [])].sort());
      expect(failures).toEqual(expect.arrayContaining(expectBlock.actionFailed ?? []));
      expect(failures).toHaveLength(expectBlock.actionFailed?.length ?? 0);
      for (const [id, expected] of Object.entries(expectBlock.decisions ?? {})) {
        expect({ id, ...decisions[id] }).toEqual({ id, action: expected.action, ...(expected.reason ? { reason: expected.reason } : {}) });
      }
      for (const pair of expectBlock.cooldown ?? []) {
        const outcomes = pair.entryIds.map((id) => decisions[id].action + '/' + decisions[id].reason).sort();
        expect(outcomes).toEqual(['end_sessions/rule_end_sessions', 'notify_only/cooldown']);
        expect(resets.filter((u) => u === pair.userId)).toHaveLength(pair.resets);
      }
      for (const id of expectBlock.untouched ?? []) expect(resets).not.toContain(id);
    } finally {
      await sim.stop();
    }
  });
});

describe('loadScenario', () => {
  it('resolves ageSeconds against the simulator start and accepts absolute date_create', async () => {
    const clock = new FakeClock(T0_SECONDS * 1000);
    const sim = await startSlackSimulator({
      scenario: smallScenario([anomaly('rel', 120), anomaly('abs', 0, { ageSeconds: undefined, date_create: T0_SECONDS - 7200 })]),
      now: clock.now,
    });
    try {
      const dates = Object.fromEntries((await auditLogs(sim)).body.entries.map((e: AuditEntry) => [e.id, e.date_create]));
      expect(dates).toEqual({ rel: T0_SECONDS - 120, abs: T0_SECONDS - 7200 });
    } finally {
      await sim.stop();
    }
  });

  it('names the field in every error', () => {
    const base = smallScenario([anomaly('e-1', 10)]);
    const withUser = (patch: object) => ({ ...base, org: { ...base.org, users: [{ ...base.org.users[0], ...patch }, base.org.users[1]] } });

    expect(issuesOf(withUser({ id: 'alice' }))).toEqual(['org.users[0].id: must be a Slack user ID (U… or W…)']);
    expect(issuesOf(withUser({ email: 'not-an-email' }))).toEqual(['org.users[0].email: must be an email address']);
    expect(issuesOf(withUser({ is_admn: true }))[0]).toMatch(/^org\.users\[0\]: .*is_admn/);
    expect(issuesOf(withUser({ roles: ['superuser'] }))).toEqual(["org.users[0].roles[0]: must be 'security_admin' or a role ID (Rl…)"]);

    expect(issuesOf(smallScenario([anomaly('e-1', 10, { reasons: ['tor', 'tro'] })]))).toEqual([
      'entries[0] (id e-1).details.reason[1]: is not a documented anomaly reason code',
    ]);
    expect(issuesOf(smallScenario([anomaly('e-1', 10), anomaly('e-1', 20)]))).toEqual(['entries[1] (id e-1).id: duplicate entry id e-1']);
    expect(issuesOf(smallScenario([anomaly('e-1', 10, { date_create: 5 })]))).toEqual([
      'entries[0] (id e-1).ageSeconds: give exactly one of ageSeconds or date_create',
    ]);
    expect(issuesOf(smallScenario([anomaly('e-1', 10, { user: 'W0GHOST001' })]))[0]).toMatch(/^entries\[0\] \(id e-1\)\.entity\.user\.id: unknown user W0GHOST001/);
    expect(issuesOf(smallScenario([anomaly('e-1', 10, { entity: { type: 'user', user: {} } })]))).toEqual([
      'entries[0] (id e-1).entity.user.id: Invalid input: expected string, received undefined',
    ]);
    expect(issuesOf(smallScenario([anomaly('e-1', 10, { arrivalDelaySeconds: -5 })]))[0]).toMatch(/^entries\[0\] \(id e-1\)\.arrivalDelaySeconds: /);
  });

  it('checks references across the file', () => {
    const base = smallScenario();
    expect(issuesOf({ ...base, org: { ...base.org, usergroups: [{ id: 'S0GROUP001', name: 'G', handle: 'g', users: ['W0NOBODY01'] }] } })).toEqual([
      'org.usergroups[0].users[0]: unknown user W0NOBODY01',
    ]);
    const twoOwners = { ...base, org: { ...base.org, users: base.org.users.map((u) => ({ ...u, is_primary_owner: true })) } };
    expect(issuesOf(twoOwners)).toEqual(['org.users: has 2 primary owners; an org has one']);
    const external = { ...base, org: { ...base.org, users: [...base.org.users, { id: 'U0EXT00001', name: 'x', real_name: 'X', external: true }] } };
    expect(issuesOf(external)).toEqual(['org.users[2].enterprise_id: is required for external people (their own org), unless team names their own workspace']);
    expect(issuesOf({ ...base, expect: { sessionsEnded: ['W0BOB00001', 'W0ALICE001'] } })).toEqual(['expect.sessionsEnded: must be sorted and without duplicates']);
    expect(issuesOf({ ...base, expect: { rejected: ['nope'] } })).toEqual(['expect.rejected[0]: unknown entry nope']);
    expect(issuesOf({ ...base, entriez: [] })[0]).toMatch(/entriez/);
  });

  it("defaults a group's team_id to the enterprise (org-wide) and checks a workspace team_id names a workspace", () => {
    const base = smallScenario();
    const group = { id: 'S0GROUP001', name: 'G', handle: 'g', users: ['W0BOB00001'] };
    type Org = ScenarioInput['org'];
    const withGroups = (usergroups: Org['usergroups'], workspaces: Org['workspaces'] = []): ScenarioInput => ({ ...base, org: { ...base.org, workspaces, usergroups } });
    const workspace = { id: 'T0WORK0001', name: 'Work', domain: 'work' };
    expect(loadScenario(withGroups([group])).org.usergroups[0].team_id).toBe('E0TEST0001');
    expect(loadScenario(withGroups([{ ...group, team_id: 'T0WORK0001' }], [workspace])).org.usergroups[0].team_id).toBe('T0WORK0001');
    expect(issuesOf(withGroups([{ ...group, team_id: 'T0NOWHERE1' }], [workspace]))).toEqual([
      'org.usergroups[0].team_id: unknown workspace T0NOWHERE1: add it to org.workspaces',
    ]);
    expect(issuesOf(withGroups([{ ...group, team_id: 'E0OTHER001' }]))).toEqual([
      "org.usergroups[0].team_id: must be this org's enterprise id E0TEST0001 for an org-wide group",
    ]);
    expect(issuesOf(withGroups([{ ...group, team_id: 'C0CHANNEL1' }]))).toEqual(['org.usergroups[0].team_id: must be a workspace ID (T…) or the enterprise ID (E…)']);
  });

  it('defaults app.installed_by to the primary owner and accepts only an active owner or admin', () => {
    const base = smallScenario();
    const withApp = (app: object) => ({ ...base, org: { ...base.org, app } });
    expect(loadScenario(base).org.app.installed_by).toBe('W0ALICE001');
    expect(issuesOf(withApp({ installed_by: 'W0NOBODY01' }))).toEqual(['org.app.installed_by: unknown user W0NOBODY01']);
    // Bob is a plain member: an admin-scoped app cannot have been installed by him.
    expect(issuesOf(withApp({ installed_by: 'W0BOB00001' }))).toEqual(['org.app.installed_by: must be an active owner or admin of this org']);
    expect(issuesOf(withApp({ installed_by: 'bob' }))).toEqual(['org.app.installed_by: must be a Slack user ID (U… or W…)']);
  });

  it('the default scenario has both a workspace group and an org-wide group, and an installer who is not the primary owner', () => {
    const scenario = loadScenario(DEFAULT_SCENARIO_PATH);
    const teams = scenario.org.usergroups.map((g) => g.team_id);
    expect(teams.some((t) => t.startsWith('T'))).toBe(true);
    expect(teams).toContain(scenario.org.enterprise.id);
    const installer = scenario.org.users.find((u) => u.id === scenario.org.app.installed_by);
    expect(installer).toMatchObject({ is_owner: true, is_primary_owner: false });
  });

  it('lets raw entries through unchecked, for malformed-entry tests', () => {
    const scenario = loadScenario(smallScenario([{ id: 'bad', ageSeconds: 5, raw: true, entity: { type: 'user', user: { id: 42 } }, details: { reason: 7 } }]));
    expect(scenario.entries[0]).toMatchObject({ id: 'bad', raw: true });
  });

  it('reports unreadable and non-JSON files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-scenario-'));
    try {
      const file = join(dir, 'broken.json');
      writeFileSync(file, '{ "org": ');
      expect(() => loadScenario(file)).toThrow(/broken\.json is invalid:\n {2}- \(file\): is not valid JSON/);
      expect(() => loadScenario(join(dir, 'missing.json'))).toThrow(/\(file\): cannot be read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates entries added at runtime the same way', async () => {
    const sim = await startSlackSimulator({ scenario: smallScenario([anomaly('e-1', 10)]) });
    try {
      expect(() => sim.addEntries([anomaly('e-2', 1, { reasons: ['nope'] })])).toThrow(/entries\[0\] \(id e-2\)\.details\.reason\[0\]/);
      expect(() => sim.addEntries([anomaly('e-1', 1)])).toThrow(/already exists/);
      const res = await control(sim, 'entries', [anomaly('e-3', 1, { user: 'W0NOBODY01' })]);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_entries');
      expect(res.body.issues[0]).toMatch(/^entries\[0\] \(id e-3\)\.entity\.user\.id: unknown user/);
    } finally {
      await sim.stop();
    }
  });
});
