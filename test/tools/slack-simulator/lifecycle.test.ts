import { createConnection } from 'node:net';
import { startSlackSimulator } from '../../../tools/local/slack-simulator';
import { anomaly, auditLogs, control, FakeClock, rawApi, smallScenario, T0_SECONDS, webApi } from './helpers';

describe('simulator control plane and lifecycle', () => {
  it('GET /_sim/state returns the same plain data as sim.state()', async () => {
    const sim = await startSlackSimulator({ scenario: smallScenario([anomaly('e-1', 10)]), now: new FakeClock().now });
    try {
      await webApi(sim).api.resetSessions('W0BOB00001');
      const res = await fetch(`${sim.url}/_sim/state`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual(JSON.parse(JSON.stringify(sim.state())));
      expect(body).toMatchObject({ url: sim.url, enterpriseId: 'E0TEST0001', entries: { total: 1, visible: 1 } });
      expect(body.resets).toEqual([expect.objectContaining({ userId: 'W0BOB00001' })]);
    } finally {
      await sim.stop();
    }
  });

  it('POST /_sim/entries, /_sim/clock and /_sim/reset drive it from another process', async () => {
    const clock = new FakeClock(T0_SECONDS * 1000);
    const sim = await startSlackSimulator({ scenario: smallScenario([anomaly('e-1', 10)]), now: clock.now });
    try {
      const added = await control(sim, 'entries', { entries: [anomaly('late', 0, { arrivalDelaySeconds: 60 })] });
      expect(added.body).toEqual({ ok: true, added: ['late'] });
      expect((await auditLogs(sim)).body.entries.map((e: { id: string }) => e.id)).toEqual(['e-1']);
      const moved = await control(sim, 'clock', { advanceSeconds: 60 });
      expect(moved.body).toEqual({ ok: true, now: T0_SECONDS * 1000 + 60_000 });
      expect((await auditLogs(sim)).body.entries.map((e: { id: string }) => e.id)).toEqual(['late', 'e-1']);
      await rawApi(sim, 'admin.users.session.reset', { user_id: 'W0BOB00001' });
      sim.setFaults([{ target: 'auth.test', kind: 'drop' }]);

      expect((await control(sim, 'reset', {})).body).toEqual({ ok: true });
      const state = sim.state();
      expect(state.now).toBe(T0_SECONDS * 1000);
      expect(state.entries.items.map((i) => i.id)).toEqual(['e-1']);
      expect(state.resets).toEqual([]);
      expect(state.faults).toEqual([]);
      expect(state.calls).toEqual([]);
      expect((await control(sim, 'clock', { advanceSeconds: -1 })).status).toBe(400);
      expect((await control(sim, 'nothing-here', {})).status).toBe(404);
    } finally {
      await sim.stop();
    }
  });

  it('stop() closes promptly with keep-alive connections open and a slow call in flight', async () => {
    const sim = await startSlackSimulator({ scenario: smallScenario(), faults: [{ target: 'auth.test', kind: 'slow', delayMs: 60_000 }] });
    await auditLogs(sim); // leaves a keep-alive socket in fetch's pool
    const inFlight = rawApi(sim, 'auth.test').then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await sim.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await inFlight).toBe('failed');
    await sim.stop(); // idempotent
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: sim.port });
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('listens on loopback only', async () => {
    await expect(startSlackSimulator({ scenario: smallScenario(), host: '0.0.0.0' })).rejects.toThrow(/only listens on loopback/);
  });

  it('uses test-only tokens by default and accepts others', async () => {
    const sim = await startSlackSimulator({ scenario: smallScenario(), tokens: { admin: 'xoxp-sim-other-admin' } });
    try {
      expect(sim.tokens).toEqual({ audit: 'xoxp-sim-audit', admin: 'xoxp-sim-other-admin', bot: 'xoxb-sim-bot' });
      expect(sim.apiUrl).toBe(`${sim.url}/api/`);
      expect(sim.auditApiUrl).toBe(`${sim.url}/audit/v1/`);
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await rawApi(sim, 'auth.test', {}, { token: 'xoxp-sim-other-admin' })).body.ok).toBe(true);
    } finally {
      await sim.stop();
    }
  });

  it('reports each call to the log option', async () => {
    const lines: string[] = [];
    const sim = await startSlackSimulator({ scenario: smallScenario(), log: (line) => lines.push(line) });
    try {
      await rawApi(sim, 'auth.test');
      expect(lines).toEqual(['auth.test -> 200']);
    } finally {
      await sim.stop();
    }
  });
});
