import { AuditLogsClient } from '../../../functions/shared/slack/audit-logs-client';
import { SlackError } from '../../../functions/shared/slack/errors';

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
  it('GETs logs with action=anomaly, inclusive bounds, limit, cursor and the audit token', async () => {
    const { c, calls } = client(() => json({ ok: true, entries: [{ id: '1' }], response_metadata: { next_cursor: 'abc' } }));
    const page = await c.fetchAnomalies({ oldest: 10, latest: 20, limit: 50, cursor: 'xyz' });
    expect(page).toEqual({ entries: [{ id: '1' }], nextCursor: 'abc' });
    const { url, init } = calls[0];
    expect(init.method).toBe('GET');
    expect(url.pathname).toBe('/audit/v1/logs');
    expect(Object.fromEntries(url.searchParams)).toEqual({ action: 'anomaly', oldest: '10', latest: '20', limit: '50', cursor: 'xyz' });
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer xoxp-audit');
  });

  it('treats an empty next_cursor as the last page', async () => {
    const { c } = client(() => json({ ok: true, entries: [], response_metadata: { next_cursor: '' } }));
    await expect(c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).resolves.toEqual({ entries: [], nextCursor: undefined });
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
    const malformed = client(() => json({ ok: true, entries: 'nope' }));
    await expect(malformed.c.fetchAnomalies({ oldest: 1, latest: 2, limit: 1 })).rejects.toMatchObject({ code: 'malformed_response' });
  });
});
