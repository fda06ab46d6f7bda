import { SlackWebApi } from '../../../functions/adapters/slack/web-api';
import { AuditLogsClient } from '../../../functions/adapters/slack/audit-logs-client';
import { isSlackError } from '../../../functions/adapters/slack/errors';
import { RetryLaterError } from '../../../functions/domain/errors';
import { startSlackSimulator, type SlackSimulator } from '../../../tools/local/slack-simulator';
import { InMemoryPacer } from '../../support/in-memory-pacer';
import { FakeClock, smallScenario, tokenProvider } from './helpers';

// The client's pacer and the simulator's rate windows share one hand-driven clock: a pacer
// "sleep" moves it. No real waiting, so nothing depends on the machine's speed.
const BOB = 'W0BOB00001';

describe('paced clients against the simulator\u2019s rate tiers', () => {
  let sim: SlackSimulator;
  let clock: FakeClock;
  let slept: number[];

  beforeEach(async () => {
    clock = new FakeClock();
    slept = [];
    sim = await startSlackSimulator({ scenario: smallScenario(), rateClock: clock.now });
  });
  afterEach(() => sim.stop());

  const sleep = async (ms: number) => {
    slept.push(ms);
    clock.ms += ms;
  };

  it('keeps a Tier 2 method under its limit: 45 resets, no 429, the waits spread them over three windows', async () => {
    const api = new SlackWebApi({ tokens: tokenProvider(sim), apiUrl: sim.apiUrl, pacer: new InMemoryPacer(clock.now), maxPaceWaitMs: 120_000, sleep });
    for (let i = 0; i < 45; i++) await api.resetSessions(BOB);
    expect(sim.state().rateLimited.total).toBe(0);
    expect(sim.state().resets).toHaveLength(45);
    // 20 at once, then 20 a window (61 s, a second of margin) later, then 5.
    expect(slept).toEqual([61_000, 61_000]);
  });

  it('without a pacer the same client meets Slack\u2019s 429 on the 21st call (the pacing is what keeps it under)', async () => {
    const api = new SlackWebApi({ tokens: tokenProvider(sim), apiUrl: sim.apiUrl });
    for (let i = 0; i < 20; i++) await api.resetSessions(BOB);
    await expect(api.resetSessions(BOB)).rejects.toMatchObject({ kind: 'rate_limited', code: 'ratelimited' });
  });

  it('fails as rate limited, calling nothing, when the slot is further off than it may wait', async () => {
    const api = new SlackWebApi({ tokens: tokenProvider(sim), apiUrl: sim.apiUrl, pacer: new InMemoryPacer(clock.now), maxPaceWaitMs: 5_000, sleep });
    await api.resetSessionsBulk([BOB]);
    for (let i = 1; i < 20; i++) await api.resetSessionsBulk([BOB]);
    const error = await api.resetSessionsBulk([BOB]).catch((e: unknown) => e);
    expect(isSlackError(error, 'rate_limited') && error.code === 'paced' && error.retryAfterSeconds).toBe(61);
    expect(sim.state().calls.filter((c) => c.method === 'admin.users.session.resetBulk')).toHaveLength(20);
    expect(sim.state().rateLimited.total).toBe(0);
  });

  describe('inside an invocation with a deadline (its answer must come before it)', () => {
    const resetCalls = () => sim.state().calls.filter((c) => c.method === 'admin.users.session.reset').length;

    it('does not start a call whose answer could come after the deadline (less time left than the request timeout): sent again, nothing called', async () => {
      const api = new SlackWebApi({ tokens: tokenProvider(sim), apiUrl: sim.apiUrl, pacer: new InMemoryPacer(clock.now), timeoutMs: 10_000, timeLeftMs: () => 9_999, sleep });
      const error = await api.resetSessions(BOB).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryLaterError);
      expect(error).toMatchObject({ waitingForBudget: true, delaySeconds: 1 });
      expect((error as Error).message).toMatch(/No time left in this invocation for admin\.users\.session\.reset/);
      expect(resetCalls()).toBe(0);
    });

    it('makes the call when the answer can come in time, and none once the deadline has passed', async () => {
      let left = 10_000;
      const api = new SlackWebApi({ tokens: tokenProvider(sim), apiUrl: sim.apiUrl, timeoutMs: 10_000, timeLeftMs: () => left });
      await api.resetSessions(BOB);
      left = -1;
      await expect(api.resetSessions(BOB)).rejects.toBeInstanceOf(RetryLaterError);
      expect(resetCalls()).toBe(1);
    });

    it('waits for a slot only as long as the deadline allows: a slot beyond it is not waited for (and not reserved)', async () => {
      const pacer = new InMemoryPacer(clock.now);
      // 40 s left, 10 s of them for the answer: a slot 30 s away may be waited for, one 31 s away may not.
      const api = new SlackWebApi({ tokens: tokenProvider(sim), apiUrl: sim.apiUrl, pacer, maxPaceWaitMs: 120_000, timeoutMs: 10_000, timeLeftMs: () => 40_000, sleep });
      for (let i = 0; i < 20; i++) await api.resetSessions(BOB);
      clock.ms += 30_000; // the window's first slot frees 31 s from now
      const error = await api.resetSessions(BOB).catch((e: unknown) => e);
      expect(isSlackError(error, 'rate_limited') && error.code).toBe('paced');
      expect(slept).toEqual([]);
      clock.ms += 1_000; // now 30 s away: waited for
      await api.resetSessions(BOB);
      expect(slept).toEqual([30_000]);
      expect(resetCalls()).toBe(21);
      expect(sim.state().rateLimited.total).toBe(0);
    });
  });

  it('paces the audit log to its own budget of ten a minute (a fifth of the org-wide Tier 3)', async () => {
    const pacer = new InMemoryPacer(clock.now);
    const audit = new AuditLogsClient({ tokens: tokenProvider(sim), baseUrl: sim.auditApiUrl, pacer, sleep, maxPaceWaitMs: 120_000 });
    const t = Math.floor(clock.ms / 1000);
    for (let i = 0; i < 12; i++) await audit.fetchAnomalies({ oldest: t - 60, latest: t, limit: 10 });
    expect(slept).toEqual([61_000]);
    expect(sim.state().calls.filter((c) => c.method === 'audit.logs')).toHaveLength(12);
    expect(sim.state().rateLimited.total).toBe(0);
  });
});
