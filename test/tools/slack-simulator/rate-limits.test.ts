import { RATE_LIMITS, startSlackSimulator, type SlackSimulator, type SlackSimulatorOptions } from '../../../tools/local/slack-simulator';
import { auditLogs, control, FakeClock, rawApi, smallScenario, webApi } from './helpers';

// Every test drives the rate clock by hand: no sleeping, no dependence on how fast the box is.
const BOB = 'W0BOB00001';
const RESET = 'admin.users.session.reset';

describe('per-method rate limits', () => {
  let rateClock: FakeClock;
  let sim: SlackSimulator;

  async function start(options: SlackSimulatorOptions = {}): Promise<SlackSimulator> {
    rateClock = new FakeClock();
    sim = await startSlackSimulator({ scenario: smallScenario(), rateClock: rateClock.now, ...options });
    return sim;
  }
  afterEach(() => sim?.stop());

  /** Make `n` reset calls; returns their HTTP statuses. */
  async function resets(n: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await rawApi(sim, RESET, { user_id: BOB })).status);
    return statuses;
  }

  it('publishes the tier table with its sources', () => {
    expect(RATE_LIMITS[RESET]).toMatchObject({ tier: 'Tier 2', limit: 20, per: 'method' });
    expect(RATE_LIMITS['admin.users.session.resetBulk'].limit).toBe(20);
    expect(RATE_LIMITS['admin.users.session.invalidate'].limit).toBe(20);
    expect(RATE_LIMITS['usergroups.users.list'].limit).toBe(20);
    expect(RATE_LIMITS['admin.roles.listAssignments'].limit).toBe(50);
    expect(RATE_LIMITS['conversations.open'].limit).toBe(50);
    expect(RATE_LIMITS['admin.users.list'].limit).toBe(100);
    expect(RATE_LIMITS['users.info'].limit).toBe(100);
    expect(RATE_LIMITS['audit.logs']).toMatchObject({ tier: 'Tier 3', limit: 50 });
    expect(RATE_LIMITS['chat.postMessage']).toMatchObject({ tier: 'Special', per: 'channel' });
    expect(RATE_LIMITS['auth.test'].tier).toBe('Special');
    for (const rule of Object.values(RATE_LIMITS)) expect(rule.source).toMatch(/^https:\/\//);
  });

  it('is on by default: the 21st Tier 2 call in a minute gets 429, Retry-After and ratelimited, and does nothing', async () => {
    await start();
    expect(await resets(20)).toEqual(Array(20).fill(200));
    const refused = await rawApi(sim, RESET, { user_id: BOB });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.body).toEqual({ ok: false, error: 'ratelimited' });

    const state = sim.state();
    expect(state.resets).toHaveLength(20);
    expect(state.resetRequests[BOB]).toBe(21); // a request is a request, whatever became of it
    expect(state.rateLimited).toEqual({ total: 1, byMethod: { [RESET]: 1 } });
    expect(state.calls.at(-1)).toMatchObject({ method: RESET, status: 429, ok: false, error: 'ratelimited', rateLimited: true });
    expect(state.calls.at(-1)?.fault).toBeUndefined(); // the limiter, not a fault rule
    expect(state.rateLimits).toEqual({ enabled: true, usage: { [RESET]: 20 } });
  });

  it('the project client sees it as a rate-limited error carrying Retry-After', async () => {
    await start();
    await resets(20);
    const error = await webApi(sim).api.resetSessions(BOB).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ratelimited', retryAfterSeconds: 60 });
  });

  it('slides: Retry-After counts down to the oldest call leaving the window, and refused calls spend no budget', async () => {
    await start();
    await resets(20); // all at t0
    rateClock.ms += 30_000;
    expect((await rawApi(sim, RESET, { user_id: BOB })).headers.get('retry-after')).toBe('30');
    rateClock.ms += 29_500;
    expect((await rawApi(sim, RESET, { user_id: BOB })).headers.get('retry-after')).toBe('1'); // 0.5 s rounds up
    rateClock.ms += 499;
    expect((await rawApi(sim, RESET, { user_id: BOB })).headers.get('retry-after')).toBe('1'); // never 0
    rateClock.ms += 1; // t0 + 60 s: the first 20 leave the window
    // Had the three refusals counted, only 17 of these would get through.
    expect(await resets(21)).toEqual([...Array(20).fill(200), 429]);
    expect(sim.state().rateLimited.total).toBe(4);
  });

  it('counts calls as they are spread over the window', async () => {
    await start();
    for (let i = 0; i < 20; i++) {
      expect((await rawApi(sim, RESET, { user_id: BOB })).status).toBe(200);
      rateClock.ms += 2_000; // 20 calls over 40 s
    }
    // Now t0 + 40 s: the first call (t0) frees its slot at t0 + 60 s.
    expect((await rawApi(sim, RESET, { user_id: BOB })).headers.get('retry-after')).toBe('20');
    rateClock.ms += 20_000;
    expect((await rawApi(sim, RESET, { user_id: BOB })).status).toBe(200); // one slot freed…
    expect((await rawApi(sim, RESET, { user_id: BOB })).headers.get('retry-after')).toBe('2'); // …the next frees at t0 + 62 s
  });

  it('keeps one window per method: a spent method does not slow the others', async () => {
    await start();
    await resets(21);
    expect((await rawApi(sim, 'users.info', { user: BOB })).status).toBe(200);
    expect((await rawApi(sim, 'admin.users.session.resetBulk', { user_ids: [BOB] })).status).toBe(200);
    // …but one window per method across the org: another user token does not get a fresh budget.
    expect((await rawApi(sim, RESET, { user_id: BOB }, { token: sim.tokens.audit })).status).toBe(429);
  });

  it('limits the Audit Logs API to Tier 3 (50 a minute), org-wide, with an HTTP 429', async () => {
    await start();
    for (let i = 0; i < 50; i++) expect((await auditLogs(sim)).status).toBe(200);
    const refused = await auditLogs(sim);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.body).toEqual({ ok: false, error: 'ratelimited' });
    expect(sim.state().rateLimited.byMethod).toEqual({ 'audit.logs': 1 });
  });

  it('limits chat.postMessage per channel: 60 a minute to one channel, others unaffected', async () => {
    await start({
      scenario: { ...smallScenario(), org: { ...smallScenario().org, channels: [{ id: 'C0ALERTS01', name: 'alerts' }, { id: 'C0OTHER001', name: 'other' }] } },
    });
    const post = (channel: string) => rawApi(sim, 'chat.postMessage', { channel, text: 'hi' }, { token: sim.tokens.bot });
    for (let i = 0; i < 60; i++) expect((await post('C0ALERTS01')).status).toBe(200);
    expect((await post('C0ALERTS01')).status).toBe(429);
    expect((await post('C0OTHER001')).status).toBe(200);
    expect(sim.state().messages).toHaveLength(61);
  });

  it('leaves unknown methods and bad tokens alone: unknown_method, invalid_auth, no budget spent', async () => {
    await start();
    const unknown = await rawApi(sim, 'admin.conversations.search');
    expect(unknown.body).toMatchObject({ ok: false, error: 'unknown_method' });
    for (let i = 0; i < 25; i++) expect((await rawApi(sim, RESET, { user_id: BOB }, { token: 'xoxp-sim-wrong' })).body.error).toBe('invalid_auth');
    expect(await resets(20)).toEqual(Array(20).fill(200));
  });

  it('uses its own clock, not the scenario clock: advancing the simulator clock frees nothing', async () => {
    const scenarioClock = new FakeClock();
    await start({ now: scenarioClock.now });
    await resets(20);
    sim.advanceClock(3_600_000);
    scenarioClock.advanceSeconds(3600);
    expect((await rawApi(sim, RESET, { user_id: BOB })).status).toBe(429);
  });

  it('can be off from the start (rateLimits: false)', async () => {
    await start({ rateLimits: false });
    expect(await resets(25)).toEqual(Array(25).fill(200));
    expect(sim.state().rateLimits.enabled).toBe(false);
    expect(sim.state().rateLimited.total).toBe(0);
  });

  it('switches at run time with setRateLimits(); reset() restores the option and empties the windows', async () => {
    await start();
    await resets(20);
    sim.setRateLimits(false);
    expect(await resets(3)).toEqual([200, 200, 200]); // not counted while off
    sim.setRateLimits(true);
    expect(await resets(1)).toEqual([429]);
    sim.clearRateWindows();
    expect(await resets(1)).toEqual([200]);
    sim.setRateLimits(false);
    sim.reset();
    expect(sim.state().rateLimits).toEqual({ enabled: true, usage: {} });
    expect(sim.state().rateLimited).toEqual({ total: 0, byMethod: {} });
    expect(await resets(20)).toEqual(Array(20).fill(200));
  });

  it('GET/POST /_sim/rate-limits reports and switches them for another process', async () => {
    await start();
    await resets(21);
    const status = await control(sim, 'rate-limits');
    expect(status.body).toMatchObject({ ok: true, enabled: true, windowSeconds: 60, usage: { [RESET]: 20 } });
    expect(status.body.limits[RESET]).toMatchObject({ tier: 'Tier 2', limit: 20 });

    expect((await control(sim, 'rate-limits', { enabled: false })).body).toMatchObject({ ok: true, enabled: false });
    expect(await resets(1)).toEqual([200]);
    expect((await control(sim, 'rate-limits', { enabled: true })).body.enabled).toBe(true);
    expect(await resets(1)).toEqual([429]);
    expect((await control(sim, 'rate-limits', { clear: true })).body).toMatchObject({ enabled: true, usage: {} });
    expect(await resets(1)).toEqual([200]);

    for (const bad of [{}, { enabled: 'no' }, { clear: 'yes' }]) {
      const res = await control(sim, 'rate-limits', bad);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_rate_limits');
    }
  });

  it('leaves the rate_limit fault rule as it was: it fires on its own schedule and spends no budget', async () => {
    await start({ faults: [{ target: RESET, kind: 'rate_limit', retryAfterSeconds: 7, firstN: 5 }] });
    const faulted = await rawApi(sim, RESET, { user_id: BOB });
    expect(faulted.status).toBe(429);
    expect(faulted.headers.get('retry-after')).toBe('7');
    await resets(4);
    expect(await resets(21)).toEqual([...Array(20).fill(200), 429]);
    expect(sim.state().rateLimited.total).toBe(1);
    expect(sim.state().calls.filter((c) => c.fault === 'rate_limit')).toHaveLength(5);
  });
});
