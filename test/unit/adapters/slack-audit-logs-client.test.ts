import { POLLED_ACTIONS } from '../../../functions/domain/audit-entry';
import { AuditLogsClient } from '../../../functions/adapters/slack/audit-logs-client';
import { SlackError } from '../../../functions/adapters/slack/errors';

function client(respond: (url: URL, init: RequestInit) => Response | Promise<Response>) {
  const calls: { url: URL; init: RequestInit }[] = [];
  let invalidated = 0;
  const c = new AuditLogsClient({
    baseUrl: 'http://127.0.0.1:9/audit/v1',
    tokens: { get: async (name) => `xoxp-${name}`, invalidate: () => void invalidated++ },
    fetch: (async (input: URL, init: RequestInit) => {
      calls.push({ url: new URL(String(input)), init });
      return respond(new URL(String(input)), init);
    }) as typeof fetch,
  });
  return { c, calls, invalidated: () => invalidated };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('AuditLogsClient', () => {
  it('GETs logs with action=anomaly and the actions that tell what else ended sessions, inclusive bounds, limit, cursor and the audit token', async () => {
    const { c, calls } = client(() => json({ entries: [{ id: '1' }], response_metadata: { next_cursor: 'abc' } }));
    const page = await c.fetchAnomalies({ oldest: 10, latest: 20, limit: 50, cursor: 'xyz' });
    expect(page).toEqual({ entries: [{ id: '1' }], nextCursor: 'abc' });
    const { url, init } = calls[0];
    expect(init.method).toBe('GET');
    expect(url.pathname).toBe('/audit/v1/logs');
    expect(Object.fromEntries(url.searchParams)).toEqual({ action: POLLED_ACTIONS.join(','), oldest: '10', latest: '20', limit: '50', cursor: 'xyz' });
    expect(url.searchParams.get('action')!.split(',')).toEqual(['anomaly', 'user_sessions_reset_by_anomaly_event_response', 'user_session_reset_by_admin', 'bulk_session_reset_by_admin', 'pref.anomaly_event_response_changed']);
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer xoxp-audit');
  });

  it('treats an empty next_cursor as the last page', async () => {
    const { c } = client(() => json({ entries: [], response_metadata: { next_cursor: '' } }));
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).resolves.toEqual({ entries: [], nextCursor: undefined });
  });

  it('leaves retryAfterSeconds undefined on a 429 without Retry-After, for the retry policy to decide', async () => {
    const { c } = client(() => json({ ok: false, error: 'ratelimited' }, 429));
    const error = await c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 }).catch((e) => e);
    expect(error).toMatchObject({ kind: 'rate_limited' });
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it('surfaces 429 as rate_limited with the Retry-After seconds', async () => {
    const { c } = client(() => json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '17' }));
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 17 });
  });

  it('classifies auth errors, names the missing scope and forgets the cached token', async () => {
    const { c, invalidated } = client(() => json({ ok: false, error: 'invalid_auth' }, 200));
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'auth', code: 'invalid_auth', token: 'audit' });
    expect(invalidated()).toBe(1);
    const scoped = client(() => json({ ok: false, error: 'missing_scope', needed: 'auditlogs:read', provided: 'admin' }, 200));
    const error = (await scoped.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 }).catch((e) => e)) as SlackError;
    expect(error.extra.needed).toBe('auditlogs:read');
    expect(error.message).not.toMatch(/xoxp/);
  });

  it('classifies 5xx, non-JSON bodies, network errors and timeouts as transient', async () => {
    const fivexx = client(() => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(fivexx.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'transient', code: 'http_502' });
    const network = client(() => Promise.reject(new TypeError('fetch failed')));
    await expect(network.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'transient', code: 'network_error' });
    const timeout = client(() => Promise.reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));
    await expect(timeout.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'transient', code: 'timeout' });
    const malformed = client(() => json({ entries: 'nope' }));
    await expect(malformed.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ code: 'malformed_response' });
  });

  it('takes a 2xx with an entries array as success: Slack sends no `ok` on success (and none on a last page without response_metadata)', async () => {
    const { c } = client(() => json({ entries: [{ id: 'a' }, { id: 'b' }] }));
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 9 })).resolves.toEqual({ entries: [{ id: 'a' }, { id: 'b' }], nextCursor: undefined });
  });

  it('takes an explicit ok:false on a 2xx as a failure', async () => {
    const { c } = client(() => json({ ok: false, error: 'feature_not_enabled' }));
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'auth', code: 'feature_not_enabled' });
  });

  it.each([
    ['401 without a body', () => new Response(null, { status: 401 }), { kind: 'auth', code: 'http_401' }, 1],
    ['401 with a JSON body', () => json({ ok: false, error: 'invalid_authentication' }, 401), { kind: 'auth', code: 'invalid_authentication' }, 1],
    ['403 (plan or scope) with a JSON body', () => json({ ok: false, error: 'missing_scope', needed: 'auditlogs:read' }, 403), { kind: 'auth', code: 'missing_scope' }, 0],
    ['403 with an HTML body', () => new Response('<html>Forbidden</html>', { status: 403 }), { kind: 'auth', code: 'http_403' }, 0],
    ['400 invalid_cursor', () => json({ ok: false, error: 'invalid_cursor' }, 400), { kind: 'permanent', code: 'invalid_cursor' }, 0],
    ['503 without a body', () => new Response(null, { status: 503 }), { kind: 'transient', code: 'http_503' }, 0],
  ])('fails on a non-2xx status: %s', async (_name, answer, expected, invalidations) => {
    const { c, invalidated } = client(answer);
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ ...expected, extra: expect.objectContaining({ status: Number(_name.slice(0, 3)) }) });
    expect(invalidated()).toBe(invalidations);
  });

  it('a 200 whose body is not JSON, or stops arriving, is transient with its own reason', async () => {
    const html = client(() => new Response('<html>maintenance</html>', { status: 200 }));
    await expect(html.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'transient', code: 'invalid_json' });
    const stalled = client(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.error(Object.assign(new Error('body timed out'), { name: 'TimeoutError' }));
            },
          }),
          { status: 200 },
        ),
    );
    await expect(stalled.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'transient', code: 'body_timeout' });
    const dropped = client(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.error(new TypeError('terminated'));
            },
          }),
          { status: 200 },
        ),
    );
    await expect(dropped.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ kind: 'transient', code: 'body_read_error' });
  });
});

describe('SlackError', () => {
  it('keeps anything token-shaped in Slack’s answer out of its message (and so out of logs)', () => {
    const error = new SlackError('bad xoxb-123-456-abcDEF here', 'transient', 'bot', 'chat.postMessage', { needed: 'xoxp-9-9-9' });
    expect(error.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]/);
    expect(error.message).toContain('xox?-[redacted]');
    expect(error.stack).not.toMatch(/xoxb-123/);
  });
});
