import { parseAuditEntry } from '../../../functions/domain/audit-entry';
import { classifyReasons } from '../../../functions/domain/anomaly-catalogue';
import { generateEntries, startSlackSimulator, type GenerateEntriesOptions } from '../../../tools/local/slack-simulator';
import { allPages, FakeClock, smallScenario, T0_SECONDS } from './helpers';

const options: GenerateEntriesOptions = {
  count: 500,
  seed: 7,
  startSeconds: T0_SECONDS,
  spanSeconds: 1800,
  users: ['W0ALICE001', { id: 'W0BOB00001', name: 'bob', email: 'bob@test.example' }],
};

describe('generateEntries', () => {
  const entries = generateEntries(options);

  it('is deterministic for a seed', () => {
    expect(generateEntries(options)).toEqual(entries);
    expect(generateEntries({ ...options, seed: 8 })).not.toEqual(entries);
  });

  it('produces unique, time-ordered entries inside the span', () => {
    expect(entries).toHaveLength(500);
    expect(new Set(entries.map((e) => e.id)).size).toBe(500);
    for (const e of entries) {
      expect(e.date_create).toBeGreaterThanOrEqual(T0_SECONDS);
      expect(e.date_create).toBeLessThan(T0_SECONDS + 1800);
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    const dates = entries.map((e) => e.date_create);
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
  });

  it('produces entries the responder accepts, with a realistic mix', () => {
    const parsed = entries.map((e) => parseAuditEntry(e));
    expect(parsed.filter((p) => !p.ok)).toEqual([]);
    const ok = parsed.flatMap((p) => (p.ok ? [p.entry] : []));
    const apps = ok.filter((e) => e.entity.kind === 'app').length;
    const actionable = ok.filter((e) => e.entity.kind === 'user' && classifyReasons(e.reasons).events.length > 0).length;
    const late = entries.filter((e) => e.arrivalDelaySeconds > 0);
    expect(apps).toBeGreaterThan(5);
    expect(apps).toBeLessThan(60);
    expect(actionable).toBeGreaterThan(180);
    expect(actionable).toBeLessThan(300);
    expect(late.length).toBeGreaterThan(25);
    expect(late.length).toBeLessThan(80);
    expect(Math.max(...late.map((e) => e.arrivalDelaySeconds))).toBeLessThanOrEqual(600);
    expect(ok.every((e) => /^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(e.context.ipAddress ?? ''))).toBe(true);
  });

  it('feeds a simulator: every entry is served once the clock passes its arrival', async () => {
    const clock = new FakeClock(T0_SECONDS * 1000);
    const sim = await startSlackSimulator({ scenario: smallScenario(), now: clock.now });
    try {
      sim.addEntries(entries);
      const atHalf = await allPages(sim, { limit: 200 });
      expect(atHalf.ids.length).toBeLessThan(500);
      clock.advanceSeconds(1800 + 600);
      const all = await allPages(sim, { limit: 200, oldest: T0_SECONDS });
      expect(all.ids).toHaveLength(500);
      expect(all.pages).toBe(3);
    } finally {
      await sim.stop();
    }
  });
});
