import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenName } from './auth';
import { AUDIT_TARGET, type FaultInjector, type FaultPlan } from './faults';
import type { Recorder } from './recorder';

/**
 * HTTP plumbing: parse a request, route it, apply the fault plan around the real answer, send
 * it, and record the call. What the answer is comes from the backend (simulator.ts).
 */

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A Slack-facing request: a Web API method or the audit logs endpoint. */
export interface SlackRequest {
  /** Web API method name, or 'audit.logs'. */
  target: string;
  httpMethod: string;
  params: Record<string, unknown>;
  authorization?: string;
}

export interface SlackReply extends Reply {
  token: TokenName | 'none' | 'unknown';
  /** Refused by the per-method rate limits (not by a fault rule). */
  rateLimited?: boolean;
}

export interface Backend {
  faults: FaultInjector;
  recorder: Recorder;
  nowMs(): number;
  /** Sees every Slack request before faults apply. */
  received(request: SlackRequest): void;
  slack(request: SlackRequest): SlackReply;
  /** Which configured token a request carries (for the call log of faulted requests). */
  tokenName(request: SlackRequest): SlackReply['token'];
  /** Control endpoints under /_sim/; undefined = not found. */
  control(path: string, httpMethod: string, body: unknown): Reply | undefined;
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Slack's Audit Logs API answers errors with HTTP error statuses (the Web API uses 200). */
const AUDIT_ERROR_STATUS: Record<string, number> = {
  not_authed: 401,
  invalid_auth: 401,
  not_allowed_token_type: 401,
  token_revoked: 401,
  missing_scope: 403,
  feature_not_enabled: 403,
  invalid_arguments: 400,
  invalid_cursor: 400,
  method_not_allowed: 405,
};

export function auditErrorStatus(error: string): number {
  return AUDIT_ERROR_STATUS[error] ?? 400;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(backend: Backend, options: { host?: string; port?: number }): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  // The simulator is a test double: it must never be reachable from another machine.
  if (!LOOPBACK.has(host)) throw new Error(`the Slack simulator only listens on loopback, not ${host}`);
  const sleeper = new Sleeper();
  const server = createServer((req, res) => {
    handle(backend, sleeper, req, res).catch((error: unknown) => {
      backend.log?.(`simulator error: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent && !res.destroyed) send(res, { status: 500, body: { ok: false, error: 'internal_error' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '::1' ? '[::1]' : host;
  return {
    server,
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        sleeper.cancelAll();
        server.close(() => resolve());
        // Keep-alive sockets would hold close() open (and jest) until they time out.
        server.closeAllConnections();
      }),
  };
}

async function handle(backend: Backend, sleeper: Sleeper, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const httpMethod = req.method ?? 'GET';
  const body = await readBody(req);

  if (url.pathname.startsWith('/_sim/')) {
    const parsed = body.text ? safeJson(body.text) : { value: undefined };
    if ('error' in parsed) return send(res, { status: 400, body: { ok: false, error: 'invalid_json' } });
    const reply = backend.control(url.pathname.slice('/_sim/'.length), httpMethod, parsed.value);
    return send(res, reply ?? { status: 404, body: { ok: false, error: 'not_found' } });
  }

  const target = slackTarget(url.pathname);
  if (!target) return send(res, { status: 404, body: { ok: false, error: 'unknown_method' } });

  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  if (target !== AUDIT_TARGET && body.text) {
    const fromBody = parseBody(body.text, req.headers['content-type']);
    if ('error' in fromBody) return send(res, { status: 200, body: { ok: false, error: fromBody.error } });
    Object.assign(params, fromBody.value);
  }
  const request: SlackRequest = { target, httpMethod, params, authorization: req.headers.authorization };
  const args = Object.fromEntries(Object.entries(params).filter(([key]) => key !== 'token'));
  backend.received(request);
  const plan: FaultPlan = backend.faults.plan(target, params);
  const record = (reply: SlackReply | undefined, status: number, fault?: FaultPlan['fault']) => {
    const answer = (reply?.body ?? {}) as { ok?: unknown; error?: unknown };
    // The Web API always says ok; the Audit Logs API says it only on errors (a success is a bare
    // 200), so there the HTTP status decides.
    const ok = typeof answer.ok === 'boolean' ? answer.ok : target === AUDIT_TARGET ? status >= 200 && status < 300 : undefined;
    backend.recorder.call({
      at: backend.nowMs(),
      method: target,
      status,
      ok: fault ? false : ok,
      error: fault ? faultError(fault) : typeof answer.error === 'string' ? answer.error : undefined,
      fault: fault?.kind,
      ...(reply?.rateLimited ? { rateLimited: true } : {}),
      token: reply?.token ?? backend.tokenName(request),
      args,
    });
    backend.log?.(`${target} -> ${status}${fault ? ` (fault: ${fault.kind}, ${fault.phase})` : reply?.rateLimited ? ' (rate limited)' : ''}`);
  };

  // A client that times out during a slow-before delay does not stop the work, as on a real server.
  if (!(await sleeper.sleep(plan.delayBeforeMs))) return void res.destroy();
  // before: the fault replaces the work, so nothing changes; after: the work is done, the answer is lost.
  if (plan.fault?.phase === 'before') {
    const status = sendFault(res, plan.fault, target);
    return record(undefined, status, plan.fault);
  }
  const reply = backend.slack(request);
  if (plan.fault?.phase === 'after') {
    const status = sendFault(res, plan.fault, target);
    return record(reply, status, plan.fault);
  }
  if (!(await sleeper.sleep(plan.delayAfterMs))) return void res.destroy();
  send(res, reply);
  record(reply, reply.status);
}

function slackTarget(pathname: string): string | undefined {
  const api = /^\/api\/([A-Za-z0-9._]+)$/.exec(pathname);
  if (api) return api[1];
  if (pathname === '/audit/v1/logs' || pathname === '/audit/v1/logs/') return AUDIT_TARGET;
  return undefined;
}

function faultError(fault: NonNullable<FaultPlan['fault']>): string | undefined {
  switch (fault.kind) {
    case 'rate_limit':
      return 'ratelimited';
    case 'error':
      return fault.rule.error;
    case 'server_error':
      return `http_${fault.rule.status}`;
    case 'drop':
      return 'connection_dropped';
  }
}

/** Answer with the fault; returns the status sent (0 = connection dropped). */
function sendFault(res: ServerResponse, fault: NonNullable<FaultPlan['fault']>, target: string): number {
  const { rule } = fault;
  switch (fault.kind) {
    case 'drop':
      res.socket?.destroy();
      res.destroy();
      return 0;
    case 'rate_limit':
      send(res, { status: 429, headers: { 'retry-after': String(rule.retryAfterSeconds) }, body: { ok: false, error: 'ratelimited' } });
      return 429;
    case 'server_error':
      res.writeHead(rule.status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><body><h1>${rule.status}</h1><p>Simulated server error.</p></body></html>`);
      return rule.status;
    case 'error': {
      const status = target === AUDIT_TARGET ? auditErrorStatus(rule.error ?? '') : 200;
      send(res, { status, body: { ok: false, error: rule.error } });
      return status;
    }
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...reply.headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<{ text: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}

function safeJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { error: 'invalid_json' };
  }
}

/** @slack/web-api posts forms (arrays JSON-encoded as strings); other clients post JSON. */
function parseBody(text: string, contentType: string | undefined): { value: Record<string, unknown> } | { error: string } {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    const parsed = safeJson(text);
    if ('error' in parsed) return parsed;
    const value = parsed.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'invalid_json' };
    return { value: value as Record<string, unknown> };
  }
  if (type.startsWith('multipart/')) return { error: 'invalid_form_data' };
  return { value: Object.fromEntries(new URLSearchParams(text)) };
}

/** Timers that stop() can cancel, so a slow fault never keeps the process (or jest) alive. */
class Sleeper {
  private readonly pending = new Set<{ timer: NodeJS.Timeout; resolve: (ok: boolean) => void }>();

  sleep(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve(true);
        }, ms),
        resolve,
      };
      this.pending.add(entry);
    });
  }

  cancelAll(): void {
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.resolve(false);
    }
    this.pending.clear();
  }
}
