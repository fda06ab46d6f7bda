import { SlackError } from '../../../functions/adapters/slack/errors';
import { startSlackSimulator, type FaultRuleInput, type SlackSimulator } from '../../../tools/local/slack-simulator';
import { auditLogs, control, rawApi, webApi } from './helpers';

const SOFIA = 'W07SOFIA01';
const TOM = 'W07TOMBK01';
const RESET = 'admin.users.session.reset';

async function outcome(promise: Promise<unknown>): Promise<'ok' | SlackError> {
  return promise.then(
    () => 'ok' as const,
    (e: unknown) => {
      if (!(e instanceof SlackError)) throw e;
      return e;
    },
  );
}

describe('fault injection', () => {
  let sim: SlackSimulator;

  beforeEach(async () => {
    sim = await startSlackSimulator();
  });
  afterEach(() => sim.stop());

  it('rate_limit answers 429 with Retry-After, and the refused call changes nothing', async () => {
    sim.setFaults([{ target: RESET, kind: 'rate_limit', retryAfterSeconds: 7, firstN: 1 }]);
    const { api } = webApi(sim);
    const first = await outcome(api.resetSessions(SOFIA));
    expect(first).toBeInstanceOf(SlackError);
    expect(first).toMatchObject({ code: 'ratelimited', kind: 'rate_limited', retryAfterSeconds: 7 });
    expect(sim.state().resets).toEqual([]);
    expect(await outcome(api.resetSessions(SOFIA))).toBe('ok');
    const state = sim.state();
    expect(state.resets).toHaveLength(1);
    expect(state.resetRequests[SOFIA]).toBe(2);
    expect(state.calls.map((c) => [c.status, c.fault])).toEqual([
      [429, 'rate_limit'],
      [200, undefined],
    ]);
  });

  it('rate_limit on the audit endpoint carries the Retry-After header', async () => {
    sim.setFaults([{ target: 'audit.logs', kind: 'rate_limit', retryAfterSeconds: 12 }]);
    const res = await auditLogs(sim);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('12');
    expect(res.body).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('server_error answers a 5xx page; a 5xx before the action records no reset', async () => {
    sim.setFaults([{ target: RESET, kind: 'server_error', status: 503 }]);
    const error = await outcome(webApi(sim).api.resetSessions(SOFIA));
    expect(error).toMatchObject({ code: 'http_503', kind: 'transient' });
    expect(sim.state().resets).toEqual([]);
    const raw = await auditLogs(sim); // other targets are unaffected
    expect(raw.status).toBe(200);
  });

  it('drop (before) closes the connection without an answer and records no reset', async () => {
    sim.setFaults([{ target: RESET, kind: 'drop' }]);
    const error = await outcome(webApi(sim).api.resetSessions(SOFIA));
    expect(error).toMatchObject({ kind: 'transient' });
    expect(sim.state().resets).toEqual([]);
    expect(sim.state().calls[0]).toMatchObject({ method: RESET, status: 0, fault: 'drop', error: 'connection_dropped' });
  });

  it('drop (after) loses the answer of a reset that did happen', async () => {
    sim.setFaults([{ target: RESET, kind: 'drop', phase: 'after' }]);
    const error = await outcome(webApi(sim).api.resetSessions(SOFIA));
    expect(error).toMatchObject({ kind: 'transient' });
    expect(sim.resetUserIds()).toEqual([SOFIA]);
  });

  it('server_error (after) also keeps the reset', async () => {
    sim.setFaults([{ target: RESET, kind: 'server_error', status: 500, phase: 'after' }]);
    expect(await outcome(webApi(sim).api.resetSessions(SOFIA))).toMatchObject({ code: 'http_500' });
    expect(sim.resetUserIds()).toEqual([SOFIA]);
  });

  it('a dropped audit request surfaces to fetch as a network error', async () => {
    sim.setFaults([{ target: 'audit.logs', kind: 'drop', firstN: 1 }]);
    await expect(fetch(`${sim.auditApiUrl}logs`, { headers: { authorization: `Bearer ${sim.tokens.audit}` } })).rejects.toThrow('fetch failed'); // undici's TypeError (another realm than jest's)
    expect((await auditLogs(sim)).status).toBe(200);
  });

  it('error answers ok:false with the given code (HTTP 200 on the Web API, 401 on the audit endpoint)', async () => {
    sim.setFaults([
      { target: RESET, kind: 'error', error: 'invalid_auth' },
      { target: 'audit.logs', kind: 'error', error: 'invalid_auth' },
    ]);
    const { api, tokens } = webApi(sim);
    expect(await outcome(api.resetSessions(SOFIA))).toMatchObject({ code: 'invalid_auth', kind: 'auth' });
    expect(tokens.invalidated).toBe(1);
    expect(sim.state().resets).toEqual([]);
    const audit = await auditLogs(sim);
    expect(audit.status).toBe(401);
    expect(audit.body).toEqual({ ok: false, error: 'invalid_auth' });
  });

  it('slow delays the answer; slow (after) with a client timeout loses the answer of a reset that happened', async () => {
    sim.setFaults([{ target: 'auth.test', kind: 'slow', delayMs: 250 }]);
    const started = Date.now();
    expect((await rawApi(sim, 'auth.test')).body.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);

    sim.setFaults([{ target: RESET, kind: 'slow', delayMs: 1500, phase: 'after' }]);
    const error = await outcome(webApi(sim, { timeoutMs: 200 }).api.resetSessions(SOFIA));
    expect(error).toMatchObject({ kind: 'transient' });
    expect(sim.resetUserIds()).toEqual([SOFIA]);
  });

  it('slow combines with another fault on the same call', async () => {
    sim.setFaults([
      { target: RESET, kind: 'slow', delayMs: 100 },
      { target: RESET, kind: 'rate_limit', retryAfterSeconds: 3 },
    ]);
    const started = Date.now();
    expect(await outcome(webApi(sim).api.resetSessions(SOFIA))).toMatchObject({ code: 'ratelimited' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  describe('schedules', () => {
    async function pattern(target: SlackSimulator, calls: number): Promise<string> {
      let out = '';
      for (let i = 0; i < calls; i++) out += (await rawApi(target, 'auth.test')).status === 200 ? '.' : 'X';
      return out;
    }

    it('firstN fires on the first N matching calls', async () => {
      sim.setFaults([{ target: 'auth.test', kind: 'server_error', firstN: 2 }]);
      expect(await pattern(sim, 5)).toBe('XX...');
    });

    it('everyNth fires on every Nth matching call', async () => {
      sim.setFaults([{ target: 'auth.test', kind: 'server_error', everyNth: 3 }]);
      expect(await pattern(sim, 7)).toBe('..X..X.');
      expect(sim.state().faults[0]).toMatchObject({ calls: 7, fired: 2 });
    });

    it('probability is deterministic for a seed', async () => {
      const rule: FaultRuleInput = { target: 'auth.test', kind: 'server_error', probability: 0.5, seed: 42 };
      sim.setFaults([rule]);
      const first = await pattern(sim, 40);
      const other = await startSlackSimulator({ faults: [rule] });
      try {
        expect(await pattern(other, 40)).toBe(first);
      } finally {
        await other.stop();
      }
      const fired = first.split('').filter((c) => c === 'X').length;
      expect(fired).toBeGreaterThan(8);
      expect(fired).toBeLessThan(32);
      sim.setFaults([{ ...rule, seed: 43 }]);
      expect(await pattern(sim, 40)).not.toBe(first);
    });

    it('match limits a rule to calls with given parameters', async () => {
      sim.setFaults([{ target: RESET, kind: 'error', error: 'user_session_reset_failed', match: { user_id: TOM } }]);
      const { api } = webApi(sim);
      expect(await outcome(api.resetSessions(SOFIA))).toBe('ok');
      expect(await outcome(api.resetSessions(TOM))).toMatchObject({ code: 'user_session_reset_failed' });
      expect(sim.resetUserIds()).toEqual([SOFIA]);
    });

    it("'*' targets every call", async () => {
      sim.setFaults([{ target: '*', kind: 'server_error', status: 502 }]);
      expect((await rawApi(sim, 'auth.test')).status).toBe(502);
      expect((await auditLogs(sim)).status).toBe(502);
      sim.setFaults([]);
      expect((await rawApi(sim, 'auth.test')).status).toBe(200);
    });
  });

  describe('over HTTP', () => {
    it('POST /_sim/faults sets rules, appends with append:true, and GET lists them with counters', async () => {
      const set = await control(sim, 'faults', { rules: [{ target: RESET, kind: 'rate_limit', firstN: 1 }] });
      expect(set.status).toBe(200);
      await control(sim, 'faults', { rules: [{ target: 'auth.test', kind: 'drop' }], append: true });
      await outcome(webApi(sim).api.resetSessions(SOFIA));
      const listed = await fetch(`${sim.url}/_sim/faults`).then((r) => r.json());
      expect(listed.rules).toEqual([
        expect.objectContaining({ target: RESET, kind: 'rate_limit', phase: 'before', calls: 1, fired: 1 }),
        expect.objectContaining({ target: 'auth.test', kind: 'drop', calls: 0, fired: 0 }),
      ]);
    });

    it('rejects an invalid rule naming the field', async () => {
      const res = await control(sim, 'faults', { rules: [{ target: RESET, kind: 'error' }] });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_faults');
      expect(res.body.detail).toContain('rules[0].error: is required for kind "error"');
      const bad = await control(sim, 'faults', { rules: [{ target: RESET, kind: 'explode' }] });
      expect(bad.body.detail).toContain('rules[0].kind');
      expect(() => sim.setFaults([{ target: RESET, kind: 'slow', firstN: 1, everyNth: 2 }])).toThrow(/at most one of firstN, everyNth, probability/);
    });
  });
});
