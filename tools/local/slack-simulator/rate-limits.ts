/**
 * Per-method rate limits, the way Slack publishes them.
 *
 * Source for the tiers: https://docs.slack.dev/apis/web-api/rate-limits — Tier 1 "1+ per
 * minute", Tier 2 "20+", Tier 3 "50+", Tier 4 "100+", applied "per API method per
 * workspace/team per app", rate limit windows per minute; over the limit Slack answers
 * `HTTP 429 Too Many Requests` with a `Retry-After` header "containing the number of seconds
 * until you can retry". Each method's tier comes from its reference page (named per row below).
 *
 * Modelling choices:
 * - The published numbers are minimums ("20+"). We enforce exactly the minimum: a client that
 *   stays under it here is safe on real Slack; one that relies on the "+" is not.
 * - All tokens here are one app installed on one org, so a window is per method across the org
 *   (chat.postMessage: per channel), whichever token is used.
 * - One 60-second sliding window per key: a call counts until 60 s after it was made. A refused
 *   call does not count (it did not get through).
 */

export const RATE_WINDOW_MS = 60_000;

export interface RateRule {
  /** Slack's tier label, as the method's reference page gives it. */
  tier: 'Tier 1' | 'Tier 2' | 'Tier 3' | 'Tier 4' | 'Special';
  /** Calls allowed per 60-second sliding window. */
  limit: number;
  /** What one window counts: the method across the org, or the method per channel. */
  per: 'method' | 'channel';
  /** Where the tier is published. */
  source: string;
}

const TIER = { 'Tier 1': 1, 'Tier 2': 20, 'Tier 3': 50, 'Tier 4': 100 } as const;
const ref = (method: string) => `https://docs.slack.dev/reference/methods/${method}`;
const tier = (name: keyof typeof TIER, source: string): RateRule => ({ tier: name, limit: TIER[name], per: 'method', source });

/** Keyed by the simulator's target: a Web API method name, or 'audit.logs'. */
export const RATE_LIMITS: Readonly<Record<string, RateRule>> = {
  'admin.users.session.reset': tier('Tier 2', ref('admin.users.session.reset')),
  'admin.users.session.resetBulk': tier('Tier 2', ref('admin.users.session.resetBulk')),
  'admin.users.session.invalidate': tier('Tier 2', ref('admin.users.session.invalidate')),
  // The reference page says Tier 4 (java-slack-sdk's table says Tier3; the page wins).
  'admin.users.list': tier('Tier 4', ref('admin.users.list')),
  'admin.roles.listAssignments': tier('Tier 3', ref('admin.roles.listAssignments')),
  'admin.teams.list': tier('Tier 3', ref('admin.teams.list')),
  'usergroups.users.list': tier('Tier 2', ref('usergroups.users.list')),
  'users.info': tier('Tier 4', ref('users.info')),
  // Tier 3 as also listed by slackapi/java-slack-sdk MethodsRateLimits (CONVERSATIONS_OPEN, Tier3).
  'conversations.open': tier('Tier 3', ref('conversations.open')),
  'admin.audit.anomaly.allow.getItem': tier('Tier 2', 'https://api.slack.com/methods/admin.audit.anomaly.allow.getItem'),
  'admin.audit.anomaly.allow.updateItem': tier('Tier 2', 'https://api.slack.com/methods/admin.audit.anomaly.allow.updateItem'),
  // "Special rate limits apply … This method allows hundreds of requests per minute": we take 200.
  'auth.test': { tier: 'Special', limit: 200, per: 'method', source: ref('auth.test') },
  // "one message per second per channel … Short bursts >1 allowed" (rate-limits page): 60 per
  // channel per 60 s averages 1/s and lets a burst through. Slack's unpublished workspace-wide
  // cap is not modelled.
  'chat.postMessage': { tier: 'Special', limit: 60, per: 'channel', source: 'https://docs.slack.dev/apis/web-api/rate-limits#posting-messages' },
  // "all methods are rated Tier 3 … calculated according to an organization-wide limit".
  'audit.logs': tier('Tier 3', 'https://docs.slack.dev/reference/audit-logs-api/methods-actions-reference'),
};

/**
 * Sliding-window counters over an injectable clock. The clock is not the scenario clock: that one
 * runs faster under time-scale and is moved by advanceClock, while Slack's windows are wall time.
 */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(
    private readonly clock: () => number,
    public enabled: boolean,
    private readonly rules: Readonly<Record<string, RateRule>> = RATE_LIMITS,
  ) {}

  /**
   * Count a call, or refuse it. Returns undefined when it may go through (and counts it), or the
   * whole seconds until a slot frees (at least 1) when it may not (and does not count it).
   */
  take(target: string, params: Record<string, unknown>): { retryAfterSeconds: number } | undefined {
    if (!this.enabled) return undefined;
    const rule = Object.prototype.hasOwnProperty.call(this.rules, target) ? this.rules[target] : undefined;
    if (!rule) return undefined;
    const now = this.clock();
    const key = rule.per === 'channel' ? `${target} ${channelOf(params)}` : target;
    const window = (this.windows.get(key) ?? []).filter((at) => at > now - RATE_WINDOW_MS);
    this.windows.set(key, window);
    if (window.length < rule.limit) {
      window.push(now);
      return undefined;
    }
    // The oldest call in the window leaves it first; its slot is the next one to free.
    const freesAt = window[0] + RATE_WINDOW_MS;
    return { retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)) };
  }

  clear(): void {
    this.windows.clear();
  }

  /** Calls counted in the current window per key (a method, or "chat.postMessage <channel>"). */
  usage(): Record<string, number> {
    const now = this.clock();
    const out: Record<string, number> = {};
    for (const [key, window] of this.windows) {
      const live = window.filter((at) => at > now - RATE_WINDOW_MS).length;
      if (live) out[key] = live;
    }
    return out;
  }
}

function channelOf(params: Record<string, unknown>): string {
  const channel = params.channel;
  return typeof channel === 'string' ? channel : JSON.stringify(channel ?? null);
}
