/** Which Slack token a call used; named in logs, never the token itself. */
export type TokenName = 'audit' | 'admin' | 'directory' | 'bot';

/**
 * How a failure should be handled:
 * - rate_limited: come back after `retryAfterSeconds` (give the message back, do not sleep);
 * - auth: the token or its scopes are wrong; retrying will not help until a human fixes it;
 * - permanent: this request can never succeed (e.g. cannot_reset_primary_owner): record, no retry;
 * - transient: 5xx, network, timeout: bounded retries, then the dead-letter queue.
 */
export type SlackErrorKind = 'rate_limited' | 'auth' | 'permanent' | 'transient';

const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'missing_scope',
  'not_allowed_token_type',
  'no_permission',
  'not_an_admin',
  'not_an_enterprise',
  'feature_not_enabled',
  'team_access_not_granted',
  'ekm_access_denied',
]);

/** Per-request failures that no retry can fix. */
const PERMANENT_ERRORS = new Set([
  'cannot_reset_primary_owner',
  'cannot_reset_bot',
  'cannot_invalidate_primary_owner',
  'user_not_found',
  'users_not_found',
  'session_not_found',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_arguments',
  'invalid_arg_name',
  'invalid_cursor',
  'no_such_subteam',
  'user_is_bot',
  'cannot_dm_bot',
  'user_disabled',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
]);

export class SlackError extends Error {
  constructor(
    readonly code: string,
    readonly kind: SlackErrorKind,
    readonly token: TokenName,
    readonly method: string,
    readonly extra: { retryAfterSeconds?: number; needed?: string; provided?: string; status?: number; problem?: string } = {},
  ) {
    // `code` and the scopes come from Slack's answer (or a network error): never let a token in them reach a log.
    super(
      redactTokens(
        `Slack ${method} failed with ${code} (${kind}, ${token} token)` +
          (extra.needed ? `; needed scope: ${extra.needed}` : '') +
          (extra.problem ? `; ${extra.problem}` : '') +
          (extra.retryAfterSeconds !== undefined ? `; retry after ${extra.retryAfterSeconds}s` : ''),
      ),
    );
    this.name = 'SlackError';
  }

  get retryAfterSeconds(): number | undefined {
    return this.extra.retryAfterSeconds;
  }
}

export function classifySlackError(code: string): SlackErrorKind {
  if (code === 'ratelimited' || code === 'rate_limited') return 'rate_limited';
  if (AUTH_ERRORS.has(code)) return 'auth';
  if (PERMANENT_ERRORS.has(code)) return 'permanent';
  return 'transient';
}

export function isSlackError(error: unknown, kind?: SlackErrorKind): error is SlackError {
  return error instanceof SlackError && (kind === undefined || error.kind === kind);
}

/** Strip anything token-shaped from text that may reach a log line. */
function redactTokens(text: string): string {
  return text.replace(/xox[a-z]-[A-Za-z0-9-]+/g, 'xox?-[redacted]');
}
