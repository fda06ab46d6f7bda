import { join } from 'node:path';
import { requestToken, TokenRegistry, type Identified, type SimulatorTokens, type TokenName } from './auth';
import { AuditLogStore } from './audit-log';
import { Directory } from './directory';
import { buildEntries, sessionOf, type AuditEntry, type TimedEntry } from './entries';
import { AUDIT_TARGET, FaultInjector, type FaultRuleInput, type FaultRuleStatus } from './faults';
import { Recorder, type Recordings } from './recorder';
import { loadScenario, parseScenarioEntries, ScenarioError, type Scenario, type ScenarioEntryInput, type ScenarioInput } from './scenario';
import { auditErrorStatus, listen, type Backend, type Reply, type RunningServer, type SlackReply, type SlackRequest } from './server';
import { RATE_LIMITS, RATE_WINDOW_MS, RateLimiter, type RateRule } from './rate-limits';
import { Params, WebApi } from './web-api';

export const DEFAULT_SCENARIO_PATH = join(__dirname, '..', 'scenarios', 'default.json');
export const DEFAULT_CONFIG_PATH = join(__dirname, '..', 'scenarios', 'default-config.json');

export interface SlackSimulatorOptions {
  /** A scenario file path, a scenario object, or a loaded Scenario. Default: tools/local/scenarios/default.json. */
  scenario?: string | ScenarioInput | Scenario;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), ::1 or localhost. */
  host?: string;
  /** The simulator clock in epoch ms (default Date.now); tests pass their own to control time. */
  now?: () => number;
  tokens?: Partial<SimulatorTokens>;
  /** Override a token's scopes, e.g. to model a token installed without one. */
  scopes?: Partial<Record<TokenName, string[]>>;
  /** Fault rules active from the start (and restored by reset()). */
  faults?: FaultRuleInput[];
  /** Seed for probabilistic faults. */
  seed?: number;
  /** Cap on the recorded call log (oldest calls are dropped first). */
  maxRecordedCalls?: number;
  /** Receives one line per call; default silent. */
  log?: (line: string) => void;
  /**
   * Slack's per-method rate limits (rate-limits.ts): 429 + Retry-After once a method's budget for
   * the last 60 s is spent. Default true, so clients meet them here before they meet them in
   * production. Switch at runtime with setRateLimits() or POST /_sim/rate-limits.
   */
  rateLimits?: boolean;
  /**
   * The clock of the rate windows, epoch ms. Default Date.now: Slack's windows are wall time,
   * so this is deliberately not the scenario clock (`now`, advanceClock, time-scale). Tests pass
   * their own to fill and drain windows without waiting.
   */
  rateClock?: () => number;
}

export interface EntryStatus {
  id: string;
  date_create: number;
  /** Unix seconds from which the entry is served. */
  visibleAt: number;
  visible: boolean;
}

/** Plain data, safe to JSON-encode or keep: `GET /_sim/state` returns the same. */
export interface SimulatorState extends Recordings {
  url: string;
  /** Simulator clock, epoch ms. */
  now: number;
  startedAt: number;
  enterpriseId: string;
  entries: { total: number; visible: number; items: EntryStatus[] };
  /** Live sessions per user (resets and invalidations end them). */
  sessions: Record<string, string[]>;
  faults: FaultRuleStatus[];
  /** Whether rate limits are on, and the calls counted in each current window. */
  rateLimits: { enabled: boolean; usage: Record<string, number> };
}

export interface SlackSimulator {
  /** Base URL, e.g. http://127.0.0.1:43123 */
  readonly url: string;
  /** Web API base for @slack/web-api's slackApiUrl: `${url}/api/` */
  readonly apiUrl: string;
  /** Audit Logs API base: `${url}/audit/v1/` (GET `${auditApiUrl}logs`). */
  readonly auditApiUrl: string;
  readonly port: number;
  readonly tokens: SimulatorTokens;
  readonly scenario: Scenario;
  /** Simulator clock at start, epoch ms; scenario ages are relative to it. */
  readonly startedAt: number;
  now(): number;
  state(): SimulatorState;
  /** Append entries (scenario entry format; ageSeconds counts back from now). Returns them as served. */
  addEntries(entries: readonly ScenarioEntryInput[]): AuditEntry[];
  /** Replace the fault rules (an empty list clears them). */
  setFaults(rules: readonly FaultRuleInput[]): void;
  addFaults(rules: readonly FaultRuleInput[]): void;
  /** Turn the per-method rate limits on or off (counting resumes where it was). */
  setRateLimits(enabled: boolean): void;
  /** Empty every rate window, as if no call had been made for a minute. */
  clearRateWindows(): void;
  /** Move the simulator clock forward (on top of the `now` option). Returns the new time. */
  advanceClock(ms: number): number;
  /**
   * Back to the scenario as loaded: entries, sessions, no recordings, initial faults, no clock
   * offset, empty rate windows and the initial rateLimits setting.
   */
  reset(): void;
  /** Users whose sessions were actually reset, sorted, each once. */
  resetUserIds(): string[];
  /** Close the server and every connection; pending slow faults are cancelled. */
  stop(): Promise<void>;
}

class Simulator implements Backend {
  readonly recorder: Recorder;
  readonly faults: FaultInjector;
  readonly tokens: TokenRegistry;
  readonly limiter: RateLimiter;
  readonly startSeconds: number;
  readonly startedAt: number;
  private offsetMs = 0;
  private directory!: Directory;
  private audit!: AuditLogStore;
  private webApi!: WebApi;
  url = '';

  constructor(
    readonly scenario: Scenario,
    private readonly options: SlackSimulatorOptions,
  ) {
    this.tokens = new TokenRegistry(options.tokens, options.scopes);
    this.recorder = new Recorder(options.maxRecordedCalls);
    this.faults = new FaultInjector(options.seed);
    this.limiter = new RateLimiter(options.rateClock ?? Date.now, options.rateLimits ?? true);
    this.startedAt = this.nowMs();
    this.startSeconds = Math.floor(this.startedAt / 1000);
    this.reset();
  }

  get log(): ((line: string) => void) | undefined {
    return this.options.log;
  }

  nowMs(): number {
    return (this.options.now ?? Date.now)() + this.offsetMs;
  }

  reset(): void {
    this.offsetMs = 0;
    this.directory = new Directory(this.scenario.org, this.startSeconds);
    this.audit = new AuditLogStore();
    this.webApi = new WebApi(this.directory, this.recorder, () => this.nowMs());
    this.recorder.clear();
    this.faults.set(this.options.faults ?? []);
    this.limiter.clear();
    this.limiter.enabled = this.options.rateLimits ?? true;
    this.store(buildEntries(this.scenario.entries, this.scenario.org, this.startSeconds));
  }

  addEntries(input: unknown): AuditEntry[] {
    const entries = parseScenarioEntries(input, this.scenario.org);
    const clash = entries.find((e) => this.audit.has(e.id));
    if (clash) throw new ScenarioError('entries', [`id ${clash.id}: an entry with this id already exists`]);
    const timed = buildEntries(entries, this.scenario.org, Math.floor(this.nowMs() / 1000));
    this.store(timed);
    return timed.map((t) => t.entry);
  }

  private store(timed: TimedEntry[]): void {
    this.audit.add(timed);
    for (const { entry } of timed) {
      const session = sessionOf(entry);
      if (session) this.directory.addSession(session.userId, session.sessionId);
    }
  }

  advanceClock(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('the clock only moves forward');
    this.offsetMs += ms;
    return this.nowMs();
  }

  state(): SimulatorState {
    const nowSeconds = Math.floor(this.nowMs() / 1000);
    const items = this.audit.all().map(({ entry, visibleAt }) => ({
      id: entry.id,
      date_create: entry.date_create,
      visibleAt,
      visible: visibleAt <= nowSeconds,
    }));
    return {
      url: this.url,
      now: this.nowMs(),
      startedAt: this.startedAt,
      enterpriseId: this.scenario.org.enterprise.id,
      ...this.recorder.snapshot(),
      entries: { total: items.length, visible: items.filter((i) => i.visible).length, items },
      sessions: this.directory.liveSessions(),
      faults: this.faults.status(),
      rateLimits: { enabled: this.limiter.enabled, usage: this.limiter.usage() },
    };
  }

  tokenName(request: SlackRequest): SlackReply['token'] {
    return labelOf(this.identify(request));
  }

  private identify(request: SlackRequest): Identified {
    return this.tokens.identify(requestToken(request.authorization, request.params));
  }

  slack(request: SlackRequest): SlackReply {
    const identified = this.identify(request);
    const token = labelOf(identified);
    // A request without a valid token belongs to no app, so it has no budget to spend; any
    // authenticated call does (whatever its answer), as it reaches the method on Slack's side.
    if (identified.ok) {
      const refused = this.limiter.take(request.target, request.params);
      if (refused) {
        this.recorder.rateLimited(request.target);
        return {
          status: 429,
          headers: { 'retry-after': String(refused.retryAfterSeconds) },
          body: { ok: false, error: 'ratelimited' },
          token,
          rateLimited: true,
        };
      }
    }
    if (request.target === AUDIT_TARGET) return { ...this.auditLogs(request, identified), token };
    if (!identified.ok) return { status: 200, body: { ok: false, error: identified.error }, token };
    const result = this.webApi.call(request.target, identified.caller, new Params(request.params));
    return { status: 200, body: result, token };
  }

  private auditLogs(request: SlackRequest, identified: Identified): Reply {
    const error = (code: string, extra: Record<string, unknown> = {}): Reply => ({
      status: auditErrorStatus(code),
      body: { ok: false, error: code, ...extra },
    });
    if (request.httpMethod !== 'GET') return error('method_not_allowed');
    if (!identified.ok) return error(identified.error);
    // Only an org owner's token with auditlogs:read is accepted; admin and bot tokens are not.
    if (identified.caller.name !== 'audit') return error('not_allowed_token_type');
    if (!identified.caller.scopes.includes('auditlogs:read')) {
      return error('missing_scope', { needed: 'auditlogs:read', provided: identified.caller.scopes.join(',') });
    }
    const params = Object.fromEntries(Object.entries(request.params).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
    const result = this.audit.query(params, Math.floor(this.nowMs() / 1000));
    if (!result.ok) return error(result.error, { detail: result.detail });
    // No `ok` on success: the Audit Logs API is RESTful and signals success by the HTTP status.
    // Slack's reference example has only entries and response_metadata, and java-slack-sdk
    // dropped `ok` parsing (slackapi/java-slack-sdk#1373) because real answers lack it.
    return { status: 200, body: { entries: result.entries, response_metadata: { next_cursor: result.nextCursor } } };
  }

  /** GET /_sim/rate-limits: the switch, the table in force and the current windows. */
  rateLimitStatus(): { enabled: boolean; windowSeconds: number; limits: Readonly<Record<string, RateRule>>; usage: Record<string, number> } {
    return { enabled: this.limiter.enabled, windowSeconds: RATE_WINDOW_MS / 1000, limits: RATE_LIMITS, usage: this.limiter.usage() };
  }

  /** Every Slack request, before faults: reset requests are counted whatever becomes of them. */
  received(request: SlackRequest): void {
    if (request.target !== 'admin.users.session.reset' && request.target !== 'admin.users.session.resetBulk') return;
    const params = new Params(request.params);
    const ids = request.target === 'admin.users.session.reset' ? [params.string('user_id')] : (params.list('user_ids') ?? []);
    for (const id of ids) if (id) this.recorder.resetRequested(id);
  }

  control(path: string, httpMethod: string, body: unknown): Reply | undefined {
    const ok = (extra: Record<string, unknown> = {}): Reply => ({ status: 200, body: { ok: true, ...extra } });
    const bad = (error: string, extra: Record<string, unknown>): Reply => ({ status: 400, body: { ok: false, error, ...extra } });
    const route = `${httpMethod} ${path.replace(/\/$/, '')}`;
    switch (route) {
      case 'GET health':
        return ok({ now: this.nowMs() });
      case 'GET state':
        return { status: 200, body: this.state() };
      case 'POST entries': {
        const list = Array.isArray(body) ? body : Array.isArray((body as { entries?: unknown })?.entries) ? (body as { entries: unknown[] }).entries : [body];
        try {
          return ok({ added: this.addEntries(list).map((e) => e.id) });
        } catch (error) {
          if (error instanceof ScenarioError) return bad('invalid_entries', { issues: error.issues });
          throw error;
        }
      }
      case 'GET faults':
        return ok({ rules: this.faults.status() });
      case 'POST faults': {
        const { rules, append } = Array.isArray(body) ? { rules: body, append: false } : ((body ?? {}) as { rules?: unknown; append?: boolean });
        try {
          if (!Array.isArray(rules)) throw new Error('body must be {"rules": [...]} or an array of rules');
          if (append) this.faults.add(rules as FaultRuleInput[]);
          else this.faults.set(rules as FaultRuleInput[]);
        } catch (error) {
          return bad('invalid_faults', { detail: (error as Error).message });
        }
        return ok({ rules: this.faults.status() });
      }
      case 'POST clock': {
        const { advanceMs, advanceSeconds } = (body ?? {}) as { advanceMs?: unknown; advanceSeconds?: unknown };
        const ms = typeof advanceMs === 'number' ? advanceMs : typeof advanceSeconds === 'number' ? advanceSeconds * 1000 : NaN;
        if (!Number.isFinite(ms) || ms < 0) return bad('invalid_clock', { detail: 'give advanceMs or advanceSeconds (≥ 0)' });
        return ok({ now: this.advanceClock(ms) });
      }
      case 'GET rate-limits':
        return ok(this.rateLimitStatus());
      case 'POST rate-limits': {
        const { enabled, clear } = (body ?? {}) as { enabled?: unknown; clear?: unknown };
        if ((enabled !== undefined && typeof enabled !== 'boolean') || (clear !== undefined && typeof clear !== 'boolean') || (enabled === undefined && !clear)) {
          return bad('invalid_rate_limits', { detail: 'give {"enabled": true|false} and/or {"clear": true}' });
        }
        if (typeof enabled === 'boolean') this.limiter.enabled = enabled;
        if (clear) this.limiter.clear();
        return ok(this.rateLimitStatus());
      }
      case 'POST reset':
        this.reset();
        return ok();
      default:
        return undefined;
    }
  }
}

/** The call log names the token used, never its value. */
function labelOf(identified: Identified): SlackReply['token'] {
  return identified.ok ? identified.caller.name : identified.error === 'not_authed' ? 'none' : 'unknown';
}

/** Start a Slack Enterprise simulator on loopback. Always `await sim.stop()` when done. */
export async function startSlackSimulator(options: SlackSimulatorOptions = {}): Promise<SlackSimulator> {
  const scenario = loadScenario(options.scenario ?? DEFAULT_SCENARIO_PATH);
  const sim = new Simulator(scenario, options);
  const running: RunningServer = await listen(sim, { host: options.host, port: options.port });
  sim.url = running.url;
  let stopped: Promise<void> | undefined;
  return {
    url: running.url,
    apiUrl: `${running.url}/api/`,
    auditApiUrl: `${running.url}/audit/v1/`,
    port: running.port,
    tokens: { ...sim.tokens.tokens },
    scenario,
    startedAt: sim.startedAt,
    now: () => sim.nowMs(),
    state: () => sim.state(),
    addEntries: (entries) => sim.addEntries(entries),
    setFaults: (rules) => sim.faults.set(rules),
    addFaults: (rules) => sim.faults.add(rules),
    setRateLimits: (enabled) => {
      sim.limiter.enabled = enabled;
    },
    clearRateWindows: () => sim.limiter.clear(),
    advanceClock: (ms) => sim.advanceClock(ms),
    reset: () => sim.reset(),
    resetUserIds: () => [...new Set(sim.recorder.snapshot().resets.map((r) => r.userId))].sort(),
    stop: () => (stopped ??= running.close()),
  };
}
