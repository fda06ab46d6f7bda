import { startSlackSimulator, type SlackSimulator } from '../../../tools/local/slack-simulator';
import { allPages, anomaly, auditLogs, FakeClock, smallScenario, T0_SECONDS } from './helpers';

describe('Audit Logs API: GET /audit/v1/logs', () => {
  let clock: FakeClock;
  let sim: SlackSimulator;

  // Ages (seconds before start): three entries share one second to exercise the id tie-break.
  const entries = [
    anomaly('e-100', 100),
    anomaly('e-050-b', 50),
    anomaly('e-050-a', 50),
    anomaly('e-050-c', 50, { reasons: ['session_fingerprint', 'ip_address'] }),
    anomaly('e-010', 10, { user: 'W0ALICE001' }),
    anomaly('login-030', 30, { raw: true, action: 'user_login', entity: { type: 'user', user: { id: 'W0BOB00001' } } }),
    // Happened 20 s before start but only shows up 300 s after it happened.
    anomaly('late-020', 20, { arrivalDelaySeconds: 300 }),
  ];

  beforeEach(async () => {
    clock = new FakeClock(T0_SECONDS * 1000);
    sim = await startSlackSimulator({ scenario: smallScenario(entries), now: clock.now });
  });
  afterEach(() => sim.stop());

  it('answers {entries, response_metadata.next_cursor} newest first, ties broken by id, with no ok field', async () => {
    const res = await auditLogs(sim);
    expect(res.status).toBe(200);
    // Slack's reference example has no `ok`; success is the HTTP status (java-slack-sdk#1373).
    expect(Object.keys(res.body).sort()).toEqual(['entries', 'response_metadata']);
    expect(res.body).not.toHaveProperty('ok');
    expect(res.body.response_metadata).toEqual({ next_cursor: '' });
    expect(res.body.entries.map((e: { id: string }) => e.id)).toEqual(['e-010', 'login-030', 'e-050-c', 'e-050-b', 'e-050-a', 'e-100']);
    const dates = res.body.entries.map((e: { date_create: number }) => e.date_create);
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
    expect(res.body.entries[0].date_create).toBe(T0_SECONDS - 10);
  });

  it('serves complete, realistic entries filled from the directory', async () => {
    const res = await auditLogs(sim, { action: 'anomaly', limit: 1 });
    const [entry] = res.body.entries;
    expect(entry).toMatchObject({
      id: 'e-010',
      date_create: T0_SECONDS - 10,
      action: 'anomaly',
      actor: { type: 'user', user: { id: 'W0ALICE001', name: 'alice', email: 'alice@test.example', team: 'E0TEST0001' } },
      entity: { type: 'user', user: { id: 'W0ALICE001', name: 'alice', email: 'alice@test.example' } },
      context: { location: { type: 'enterprise', id: 'E0TEST0001', name: 'Test Org', domain: 'test-org' }, ip_address: '198.51.100.10' },
      details: { reason: ['tor'], location: 'Reno, Nevada' },
    });
    expect(typeof entry.context.session_id).toBe('string');
    expect(typeof entry.details.action_timestamp).toBe('number');
    expect(entry).not.toHaveProperty('ageSeconds');
  });

  it('pages with opaque cursors: every entry exactly once, in order, next_cursor empty at the end', async () => {
    const whole = (await auditLogs(sim)).body.entries.map((e: { id: string }) => e.id);
    for (const limit of [1, 2, 4]) {
      const { ids, pages } = await allPages(sim, { limit });
      expect(ids).toEqual(whole);
      expect(pages).toBe(Math.ceil(whole.length / limit));
    }
    const first = await auditLogs(sim, { limit: 2 });
    expect(first.body.entries).toHaveLength(2);
    expect(first.body.response_metadata.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('treats oldest and latest as inclusive bounds', async () => {
    const res = await auditLogs(sim, { oldest: T0_SECONDS - 50, latest: T0_SECONDS - 30 });
    expect(res.body.entries.map((e: { id: string }) => e.id)).toEqual(['login-030', 'e-050-c', 'e-050-b', 'e-050-a']);
    const exact = await auditLogs(sim, { oldest: T0_SECONDS - 100, latest: T0_SECONDS - 100 });
    expect(exact.body.entries.map((e: { id: string }) => e.id)).toEqual(['e-100']);
    const empty = await auditLogs(sim, { oldest: T0_SECONDS - 9 });
    expect(empty.body.entries).toEqual([]);
  });

  it('filters by a comma-separated action list, and by actor and entity', async () => {
    const anomalies = await auditLogs(sim, { action: 'anomaly' });
    expect(anomalies.body.entries.map((e: { id: string }) => e.id)).not.toContain('login-030');
    const both = await auditLogs(sim, { action: 'user_login,anomaly' });
    expect(both.body.entries).toHaveLength(6);
    const logins = await auditLogs(sim, { action: 'user_login' });
    expect(logins.body.entries.map((e: { id: string }) => e.id)).toEqual(['login-030']);
    const alice = await auditLogs(sim, { entity: 'W0ALICE001' });
    expect(alice.body.entries.map((e: { id: string }) => e.id)).toEqual(['e-010']);
    const actor = await auditLogs(sim, { actor: 'W0ALICE001' });
    expect(actor.body.entries.map((e: { id: string }) => e.id)).toEqual(['e-010']);
  });

  it('applies limit (default 100, max 9999) and rejects bad parameters with HTTP 400', async () => {
    sim.addEntries(Array.from({ length: 150 }, (_, i) => anomaly(`bulk-${String(i).padStart(3, '0')}`, 1000 + i)));
    expect((await auditLogs(sim)).body.entries).toHaveLength(100);
    expect((await auditLogs(sim, { limit: 9999 })).body.entries).toHaveLength(156);
    for (const query of [{ limit: 10000 }, { limit: 0 }, { limit: 'ten' }, { oldest: 'yesterday' }, { latest: '-5' }]) {
      const res = await auditLogs(sim, query);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ ok: false, error: 'invalid_arguments' });
    }
    const tooMany = Array.from({ length: 31 }, (_, i) => `action_${i}`).join(',');
    expect((await auditLogs(sim, { action: tooMany })).body.error).toBe('invalid_arguments');
  });

  it('shows a late entry only once the clock passes date_create + arrival delay, with its old date_create', async () => {
    const ids = async () => (await auditLogs(sim)).body.entries.map((e: { id: string }) => e.id);
    expect(await ids()).not.toContain('late-020');
    clock.advanceSeconds(279); // date_create + 299 s
    expect(await ids()).not.toContain('late-020');
    clock.advanceSeconds(1); // date_create + 300 s
    const res = await auditLogs(sim, { oldest: T0_SECONDS - 20, latest: T0_SECONDS - 20 });
    expect(res.body.entries).toHaveLength(1);
    expect(res.body.entries[0]).toMatchObject({ id: 'late-020', date_create: T0_SECONDS - 20 });
    const state = sim.state();
    expect(state.entries.items.find((i) => i.id === 'late-020')).toMatchObject({ visibleAt: T0_SECONDS + 280, visible: true });
  });

  it('keeps a cursor valid while entries arrive: newer ones are not on later pages, older late ones are', async () => {
    const page1 = await auditLogs(sim, { limit: 3, oldest: T0_SECONDS - 3600 });
    expect(page1.body.entries.map((e: { id: string }) => e.id)).toEqual(['e-010', 'login-030', 'e-050-c']);
    // Meanwhile: a brand-new entry, and the late one (older than the cursor position) becomes visible.
    clock.advanceSeconds(300);
    sim.addEntries([anomaly('new-after-page1', 0)]);
    const rest: string[] = [];
    let cursor = page1.body.response_metadata.next_cursor as string;
    while (cursor) {
      const page = await auditLogs(sim, { limit: 3, oldest: T0_SECONDS - 3600, cursor });
      expect(page.status).toBe(200);
      rest.push(...page.body.entries.map((e: { id: string }) => e.id));
      cursor = page.body.response_metadata.next_cursor;
    }
    expect(rest).toEqual(['e-050-b', 'e-050-a', 'e-100']);
    // late-020 (date_create T0-20) sorts before the cursor position (T0-50): a reader already past it misses it…
    expect(rest).not.toContain('late-020');
    // …until it re-reads the window with an overlap.
    const reread = await allPages(sim, { oldest: T0_SECONDS - 3600 });
    expect(reread.ids).toEqual(expect.arrayContaining(['late-020', 'new-after-page1']));
  });

  it('takes parameters left out of a cursor call from the cursor, and refuses a cursor reused for another query', async () => {
    const page1 = await auditLogs(sim, { limit: 2, action: 'anomaly' });
    const cursor = page1.body.response_metadata.next_cursor;
    const cursorOnly = await auditLogs(sim, { cursor, limit: 2 });
    expect(cursorOnly.body.entries.map((e: { id: string }) => e.id)).toEqual(['e-050-b', 'e-050-a']); // still anomalies only
    const changed = await auditLogs(sim, { cursor, action: 'user_login' });
    expect(changed.status).toBe(400);
    expect(changed.body.error).toBe('invalid_cursor');
    const garbage = await auditLogs(sim, { cursor: 'bm90LWEtY3Vyc29y' });
    expect(garbage.body).toMatchObject({ ok: false, error: 'invalid_cursor' });
  });

  describe('tokens', () => {
    it('accepts only the audit token', async () => {
      expect((await auditLogs(sim, {}, sim.tokens.audit)).status).toBe(200);
      for (const token of [sim.tokens.admin, sim.tokens.bot]) {
        const res = await auditLogs(sim, {}, token);
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ ok: false, error: 'not_allowed_token_type' });
      }
    });

    it('answers invalid_auth to an unknown token and not_authed to none', async () => {
      const unknown = await auditLogs(sim, {}, 'xoxp-sim-not-a-token');
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual({ ok: false, error: 'invalid_auth' });
      const none = await auditLogs(sim, {}, null);
      expect(none.body).toEqual({ ok: false, error: 'not_authed' });
    });

    it('accepts the token as a query parameter too', async () => {
      const res = await auditLogs(sim, { token: sim.tokens.audit }, null);
      expect(res.status).toBe(200);
    });

    it('is GET only', async () => {
      const res = await fetch(`${sim.auditApiUrl}logs`, { method: 'POST', headers: { authorization: `Bearer ${sim.tokens.audit}` } });
      expect(res.status).toBe(405);
      expect(await res.json()).toEqual({ ok: false, error: 'method_not_allowed' });
    });
  });

  it('answers missing_scope when the audit token lacks auditlogs:read', async () => {
    const scoped = await startSlackSimulator({ scenario: smallScenario(entries), now: clock.now, scopes: { audit: ['admin'] } });
    try {
      const res = await auditLogs(scoped);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ ok: false, error: 'missing_scope', needed: 'auditlogs:read', provided: 'admin' });
    } finally {
      await scoped.stop();
    }
  });

  it('records every call (a success as ok, from its 2xx status), with the token name but never the token', async () => {
    await auditLogs(sim, { limit: 1 });
    await auditLogs(sim, {}, sim.tokens.bot);
    const { calls } = sim.state();
    expect(calls).toEqual([
      expect.objectContaining({ method: 'audit.logs', status: 200, ok: true, token: 'audit', args: { limit: '1' } }),
      expect.objectContaining({ method: 'audit.logs', status: 401, ok: false, error: 'not_allowed_token_type', token: 'bot' }),
    ]);
    expect(JSON.stringify(calls)).not.toContain(sim.tokens.audit);
  });
});
