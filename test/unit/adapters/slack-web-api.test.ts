import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlackWebApi } from '../../../functions/adapters/slack/web-api';
import { fixture } from '../../contract/fixtures';

/**
 * What the Web API client makes of answers that are not Slack's: each must be a transient
 * SlackError with its own reason (a retry may well succeed), and none may carry the body's
 * text into the error (and so into a log) as if it were Slack's error code.
 */
describe('SlackWebApi on answers that are not Slack\u2019s', () => {
  let answer: (res: ServerResponse) => void = () => undefined;
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    req.resume();
    open.add(res);
    res.on('close', () => open.delete(res));
    answer(res);
  });
  let api: SlackWebApi;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    api = new SlackWebApi({ tokens: { get: async () => 'xoxp-test-admin', invalidate: () => undefined }, apiUrl: `http://127.0.0.1:${port}/api/`, timeoutMs: 300 });
  });
  afterEach(() => open.forEach((res) => res.destroy()));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['an HTML maintenance page', 'text/html', '<html>maintenance</html>'],
    ['plain text that reads like an error code', 'text/plain', 'user_not_found'],
    ['JSON cut off mid-way', 'application/json', '{"ok":true,"us'],
  ])('a 200 with %s is transient invalid_json, never read as Slack\u2019s verdict', async (_name, type, body) => {
    answer = (res) => res.writeHead(200, { 'content-type': type }).end(body);
    const error = await api.resetSessions('W0TEST0001').catch((e) => e);
    expect(error).toMatchObject({ name: 'SlackError', kind: 'transient', code: 'invalid_json', token: 'admin', method: 'admin.users.session.reset' });
    expect(error.message).not.toContain(body);
  });

  // The body's failure is handed over as the stream's error (as fetch reports it), not timed: no timing margin.
  it.each([
    ['stops arriving (the request timeout fires during the read)', 'TimeoutError', 'body_timeout'],
    ['is cut by a dropped connection', 'TypeError', 'body_read_error'],
  ])('a 200 whose body %s is transient, with its own reason', async (_name, errorName, code) => {
    const failingBody = () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"ok":tr'));
          },
          pull(controller) {
            controller.error(Object.assign(new Error('body failed'), { name: errorName }));
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    const stalled = new SlackWebApi({
      tokens: { get: async () => 'xoxp-test-admin', invalidate: () => undefined },
      apiUrl: 'http://127.0.0.1:9/api/',
      fetch: (async () => failingBody()) as typeof fetch,
    });
    await expect(stalled.resetSessions('W0TEST0001')).rejects.toMatchObject({ kind: 'transient', code, token: 'admin' });
  });

  it('Slack\u2019s own JSON error is still read as Slack\u2019s verdict', async () => {
    answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'user_not_found' }));
    await expect(api.resetSessions('W0TEST0001')).rejects.toMatchObject({ kind: 'permanent', code: 'user_not_found' });
  });

  // Slack's rate-limits page (test/contract/fixtures/web-api/rate-limited.json): over a method's
  // limit, HTTP 429 with a Retry-After header in seconds. The responder's waits (and respond's
  // switch to users.info for an org too big to list) rely on reading it as rate limited.
  const rateLimited = fixture('web-api/rate-limited.json');

  it('a 429 with Retry-After, as Slack documents it, is rate_limited with those seconds', async () => {
    answer = (res) => res.writeHead(rateLimited.status, { [rateLimited.header]: '30', 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    const error = await api.listMembers().catch((e) => e);
    expect(error).toMatchObject({ name: 'SlackError', kind: 'rate_limited', code: 'ratelimited', method: 'admin.users.list', extra: { status: 429 } });
    expect(error.retryAfterSeconds).toBe(30);
  });

  it('a 429 without a usable Retry-After is still rate_limited, its wait left to the retry policy', async () => {
    answer = (res) => res.writeHead(rateLimited.status, { 'content-type': 'text/plain' }).end('Too Many Requests');
    const error = await api.listMembers().catch((e) => e);
    expect(error).toMatchObject({ name: 'SlackError', kind: 'rate_limited', code: 'ratelimited', method: 'admin.users.list', extra: { status: 429 } });
    expect(error.retryAfterSeconds).toBeUndefined();
  });
});
