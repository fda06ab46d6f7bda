import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditEntry } from '../../functions/shared/audit-entry';
import { responseConfigSchema } from '../../functions/shared/config/schema';
import { applySafety, decide, groupsToExpand } from '../../functions/shared/decide';
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
} from '../../local/slack-simulator';
import { anomaly, auditLogs, control, FakeClock, smallScenario, T0_SECONDS } from './helpers';

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
    expect(users.filter((u) => u.external)).toHaveLength(1);
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
    for (const ip of ips.filter((x): x is string => x !== undefined)) {
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
   * Replays the scenario through the project's own decision rules (parseAuditEntry, decide,
   * applySafety), in arrival order, so `expect` cannot drift from the rules it describes.
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

      const groupMembers = new Map(scenario.org.usergroups.map((g) => [g.id, new Set(g.users)]));
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
        const person = entry.entity.kind === 'user' ? users.find((u) => u.id === (entry.entity as { userId: string }).userId) : undefined;
        const wanted = new Map(groupsToExpand(entry, config).map((g) => [g, groupMembers.get(g) ?? new Set<string>()]));
        // Entries already there at start are processed at start; later ones when they arrive.
        const now = Math.max(visibleAt.get(entry.id)!, T0_SECONDS) * 1000;
        const decision = applySafety(
          decide({ entry, config, groupMembers: wanted, user: person ? { isExternal: person.external } : undefined }),
          { lastResetAt: person ? lastReset.get(person.id) : undefined, budgetExhausted: false },
          config,
          now,
        );
        decisions[entry.id] = { action: decision.action, reason: decision.reason };
        if (decision.action !== 'end_sessions' || !person) continue;
        if (person.is_primary_owner) failures.push({ entryId: entry.id, userId: person.id, error: 'cannot_reset_primary_owner' });
        else if (person.is_bot) failures.push({ entryId: entry.id, userId: person.id, error: 'cannot_reset_bot' });
        else {
          resets.push(person.id);
          lastReset.set(person.id, now);
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
    expect(issuesOf(external)).toEqual(['org.users[2].enterprise_id: is required for external people (their own org)']);
    expect(issuesOf({ ...base, expect: { sessionsEnded: ['W0BOB00001', 'W0ALICE001'] } })).toEqual(['expect.sessionsEnded: must be sorted and without duplicates']);
    expect(issuesOf({ ...base, expect: { rejected: ['nope'] } })).toEqual(['expect.rejected[0]: unknown entry nope']);
    expect(issuesOf({ ...base, entriez: [] })[0]).toMatch(/entriez/);
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
