import type { Pacer } from '../../runtime/pacing';
import { sleep as realSleep } from '../../runtime/time';
import { POLLED_ACTIONS } from '../../domain/audit-entry';
import { classifySlackError, SlackError, type SlackErrorKind } from './errors';
import { budgetOf } from './rate-budget';
import type { TokenProvider } from './tokens';

export interface AuditLogQuery {
  /** Unix seconds, inclusive. */
  oldest: number;
  /** Unix seconds, inclusive. */
  latest: number;
  limit: number;
  cursor?: string;
}

export interface AuditLogPage {
  /** Raw entries, newest first; validated downstream by `respond`. */
  entries: unknown[];
  /** Empty when this was the last page. */
  nextCursor?: string;
}

export interface AuditLogSource {
  fetchAnomalies(query: AuditLogQuery): Promise<AuditLogPage>;
}

export interface AuditLogsClientOptions {
  tokens: TokenProvider;
  /** e.g. https://api.slack.com/audit/v1/ */
  baseUrl: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** The audit budget (SLACK_RATE_BUDGET['audit.logs']) shared with every container; without one, calls are not paced. */
  pacer?: Pacer;
  /** A slot further away than this is not waited for: the call fails as rate limited (code `paced`). Default 10 s. */
  maxPaceWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The Audit Logs API is GET-only, so @slack/web-api (which POSTs) cannot call it: this is a
 * small fetch client. It does not retry: the poller decides, by error kind, whether to wait for
 * Retry-After within its time budget or to stop and resume next run from the saved cursor.
 */
export class AuditLogsClient implements AuditLogSource {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: AuditLogsClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async fetchAnomalies(query: AuditLogQuery): Promise<AuditLogPage> {
    const url = new URL('logs', this.options.baseUrl.endsWith('/') ? this.options.baseUrl : `${this.options.baseUrl}/`);
    // Anomalies, and what else ends sessions or changes Slack's own response (coexistence).
    url.searchParams.set('action', POLLED_ACTIONS.join(','));
    url.searchParams.set('oldest', String(query.oldest));
    url.searchParams.set('latest', String(query.latest));
    url.searchParams.set('limit', String(query.limit));
    if (query.cursor) url.searchParams.set('cursor', query.cursor);

    await this.pace();
    const token = await this.options.tokens.get('audit');
    let response: Response;
    try {
      response = await this.fetch(url, {
        method: 'GET',
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      const name = (error as { name?: string })?.name;
      const code = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network_error';
      throw new SlackError(code, 'transient', 'audit', 'audit.logs');
    }

    if (response.status === 429) {
      // A missing or unusable Retry-After is left undefined: the retry policy's fallback applies.
      const header = response.headers.get('retry-after')?.trim();
      const retryAfter = header ? Number(header) : Number.NaN;
      await response.body?.cancel();
      throw new SlackError('ratelimited', 'rate_limited', 'audit', 'audit.logs', {
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
        status: 429,
      });
    }

    const status = response.status;
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The body stopped arriving (timeout or reset mid-read): nothing wrong with the request.
      const name = (error as { name?: string })?.name;
      throw new SlackError(name === 'TimeoutError' || name === 'AbortError' ? 'body_timeout' : 'body_read_error', 'transient', 'audit', 'audit.logs', { status });
    }
    const body = parseJsonObject(text);

    // Unlike the Web API, the Audit Logs API says failure with the HTTP status (a JSON body
    // `{ok:false,error}` may come with it, or may not); a success has no `ok` field at all.
    if (!response.ok) {
      const code = body?.error || `http_${status}`;
      const kind = statusKind(status, body?.error);
      if (status === 401 || code === 'invalid_auth' || code === 'token_revoked' || code === 'token_expired') this.options.tokens.invalidate();
      throw new SlackError(code, kind, 'audit', 'audit.logs', { needed: body?.needed, provided: body?.provided, status });
    }
    if (!body) {
      // A 2xx whose body is not JSON (a proxy's page, a cut-off answer): the next poll may well succeed.
      throw new SlackError('invalid_json', 'transient', 'audit', 'audit.logs', { status });
    }
    if (body.ok === false) {
      const code = body.error || 'unknown_error';
      if (code === 'invalid_auth' || code === 'token_revoked' || code === 'token_expired') this.options.tokens.invalidate();
      throw new SlackError(code, classifySlackError(code), 'audit', 'audit.logs', { needed: body.needed, provided: body.provided, status });
    }
    if (!Array.isArray(body.entries)) {
      throw new SlackError('malformed_response', 'transient', 'audit', 'audit.logs', { status });
    }
    return { entries: body.entries, nextCursor: body.response_metadata?.next_cursor || undefined };
  }

  private async pace(): Promise<void> {
    if (!this.options.pacer) return;
    const grant = await this.options.pacer.acquire('audit.logs', budgetOf('audit.logs'), this.options.maxPaceWaitMs ?? 10_000);
    if (!grant.reserved) throw new SlackError('paced', 'rate_limited', 'audit', 'audit.logs', { retryAfterSeconds: Math.ceil(grant.waitMs / 1000) });
    if (grant.waitMs > 0) await (this.options.sleep ?? realSleep)(grant.waitMs);
  }
}

interface AuditLogsBody {
  ok?: boolean;
  error?: string;
  needed?: string;
  provided?: string;
  entries?: unknown;
  response_metadata?: { next_cursor?: string };
}

function parseJsonObject(text: string): AuditLogsBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as AuditLogsBody) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How to treat a non-2xx answer. 401/403 are the token or the plan (retrying will not help until
 * a human acts); 5xx and 408 are Slack's side; other 4xx are our request.
 */
function statusKind(status: number, error: string | undefined): SlackErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status >= 500 || status === 408) return 'transient';
  return error ? classifySlackError(error) : 'permanent';
}
