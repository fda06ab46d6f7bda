import { SlackWebApi } from '../../../functions/adapters/slack/web-api';
import type { TokenProvider } from '../../../functions/adapters/slack/tokens';
import type { ScenarioEntryInput, ScenarioInput, SlackSimulator, TokenName } from '../../../tools/local/slack-simulator';

/** A controllable clock: tests move time explicitly instead of sleeping. */
export class FakeClock {
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export const T0_SECONDS = 1_700_000_000;

/** The project's token provider shape, backed by the simulator's tokens (or any override). */
export function tokenProvider(sim: SlackSimulator, overrides: Partial<Record<TokenName, string>> = {}): TokenProvider & { invalidated: number } {
  const tokens = { ...sim.tokens, ...overrides };
  const provider = {
    invalidated: 0,
    get: async (name: TokenName) => tokens[name],
    invalidate() {
      provider.invalidated += 1;
    },
  };
  return provider;
}

/** The project's real Web API client pointed at the simulator. */
export function webApi(sim: SlackSimulator, options: { overrides?: Partial<Record<TokenName, string>>; timeoutMs?: number } = {}) {
  const tokens = tokenProvider(sim, options.overrides);
  return { api: new SlackWebApi({ tokens, apiUrl: sim.url + '/api/', timeoutMs: options.timeoutMs ?? 5000 }), tokens };
}

export interface RawResponse {
  status: number;
  headers: Headers;
  // Parsed JSON, or the text when the answer is not JSON (e.g. a simulated 5xx page).
  body: any;
}

async function toRaw(response: Response): Promise<RawResponse> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. a simulated 5xx page)
  }
  return { status: response.status, headers: response.headers, body };
}

/** GET audit/v1/logs the way the poller does: fetch with a Bearer token. */
export async function auditLogs(
  sim: SlackSimulator,
  query: Record<string, string | number | undefined> = {},
  token: string | null = sim.tokens.audit,
): Promise<RawResponse> {
  const qs = new URLSearchParams(Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]) => [k, String(v)]));
  return toRaw(await fetch(`${sim.auditApiUrl}logs?${qs}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }));
}

/** Read every page of a query; fails the test if pages overlap. */
export async function allPages(sim: SlackSimulator, query: Record<string, string | number | undefined>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const res = await auditLogs(sim, { ...query, cursor });
    if (res.status !== 200) throw new Error(`page ${pages} failed: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push(...res.body.entries.map((e: { id: string }) => e.id));
    cursor = res.body.response_metadata.next_cursor || undefined;
    pages += 1;
  } while (cursor && pages < 1000);
  return { ids, pages };
}

/** Raw Web API call: a form POST like @slack/web-api (default), a JSON POST, or a GET. */
export async function rawApi(
  sim: SlackSimulator,
  method: string,
  params: Record<string, unknown> = {},
  { token = sim.tokens.admin, as = 'form' }: { token?: string | null; as?: 'form' | 'json' | 'get' } = {},
): Promise<RawResponse> {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const url = `${sim.apiUrl}${method}`;
  if (as === 'json') {
    return toRaw(await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(params) }));
  }
  const form = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  if (as === 'get') return toRaw(await fetch(`${url}?${form}`, { headers: auth }));
  return toRaw(await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }));
}

export async function control(sim: SlackSimulator, path: string, body?: unknown): Promise<RawResponse> {
  return toRaw(
    await fetch(`${sim.url}/_sim/${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  );
}

/** A two-person org for tests that need exact control over entries. */
export function smallScenario(entries: ScenarioEntryInput[] = []): ScenarioInput {
  return {
    org: {
      enterprise: { id: 'E0TEST0001', name: 'Test Org', domain: 'test-org' },
      users: [
        { id: 'W0ALICE001', name: 'alice', real_name: 'Alice Archer', email: 'alice@test.example', is_primary_owner: true, is_owner: true, is_admin: true },
        { id: 'W0BOB00001', name: 'bob', real_name: 'Bob Brown', email: 'bob@test.example' },
      ],
    },
    entries,
  };
}

/** A minimal anomaly scenario entry about bob (or `user`). */
export function anomaly(id: string, ageSeconds: number, extra: Partial<ScenarioEntryInput> & { user?: string; reasons?: string[] } = {}): ScenarioEntryInput {
  const { user = 'W0BOB00001', reasons = ['tor'], ...rest } = extra;
  return {
    id,
    ageSeconds,
    entity: { type: 'user', user: { id: user } },
    context: { ip_address: '198.51.100.10', ua: 'Mozilla/5.0 (test)' },
    details: { reason: reasons, location: 'Reno, Nevada' },
    ...rest,
  };
}
