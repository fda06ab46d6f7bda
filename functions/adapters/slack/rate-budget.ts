import type { PaceRule } from '../../runtime/pacing';

/**
 * What this app allows itself per Slack method, in any 61 seconds. Slack's tiers
 * (docs.slack.dev/apis/web-api/rate-limits: Tier 2 "20+", Tier 3 "50+", Tier 4 "100+" per
 * minute, "per API method per workspace/team per app") are minimums: we take exactly the
 * minimum, over a window one second longer than Slack's so a call that travels slower than the
 * one before it still lands in a free slot. The Audit Logs API is Tier 3 *org-wide*, shared with
 * the org's SIEM: we take a fifth of it.
 */
const WINDOW_MS = 61_000;
const per = (limit: number): PaceRule => ({ limit, windowMs: WINDOW_MS });

export const SLACK_RATE_BUDGET: Readonly<Record<string, PaceRule>> = {
  'audit.logs': per(10),
  'admin.users.session.reset': per(20),
  'admin.users.session.resetBulk': per(20),
  'admin.users.session.invalidate': per(20),
  'usergroups.users.list': per(20),
  'admin.roles.listAssignments': per(50),
  'admin.teams.list': per(50),
  'conversations.open': per(50),
  'admin.users.list': per(100),
  'users.info': per(100),
  'auth.test': per(100),
  // "one message per second per channel … short bursts allowed": one window per channel.
  'chat.postMessage': per(60),
};

/** The pacer key of a call: the method, or the method and channel for chat.postMessage. */
export function paceKey(method: string, channel?: string): string {
  return method === 'chat.postMessage' && channel ? `${method} ${channel}` : method;
}

/** A method we have no budget for is paced as Tier 2, the strictest tier we call. */
export function budgetOf(method: string): PaceRule {
  return Object.prototype.hasOwnProperty.call(SLACK_RATE_BUDGET, method) ? SLACK_RATE_BUDGET[method] : per(20);
}
