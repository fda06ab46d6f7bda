import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { TtlCache } from '../../runtime/ttl-cache';
import { SlackError, type TokenName } from './errors';

/**
 * One token slot: the prefix Slack gives that kind of token, and no whitespace (a newline pasted
 * with a token makes every request fail as a network error, not as the token problem it is).
 * The messages name the rule, never the value.
 */
const tokenSlot = (prefix: 'xoxp-' | 'xoxb-', kind: string) =>
  z
    .string('must be a string')
    .regex(/^\S*$/, 'must not contain whitespace (a pasted newline or space?)')
    .startsWith(prefix, `must be a ${kind} token (${prefix}…)`)
    .min(prefix.length + 1, `must be a ${kind} token (${prefix}…)`);

/**
 * The Slack secret: one JSON object with the three tokens.
 *   auditToken — org owner user token (xoxp-), auditlogs:read (Audit Logs API)
 *   adminToken — org admin user token (xoxp-), admin.users:write/read, admin.roles:read, usergroups:read
 *   botToken   — bot token (xoxb-), chat:write, im:write (notifications)
 */
export const slackSecretSchema = z.object({
  auditToken: tokenSlot('xoxp-', 'user'),
  adminToken: tokenSlot('xoxp-', 'user'),
  botToken: tokenSlot('xoxb-', 'bot'),
});
export type SlackTokens = z.infer<typeof slackSecretSchema>;

export interface TokenProvider {
  get(name: TokenName): Promise<string>;
  /** Forget the cached secret, e.g. after invalid_auth, so a rotated token is picked up. */
  invalidate(): void;
}

const FIELD: Record<TokenName, keyof SlackTokens> = { audit: 'auditToken', admin: 'adminToken', bot: 'botToken' };

/**
 * Reads the secret once and caches it for `ttlMs`; concurrent callers share one read. Each slot
 * is checked when it is asked for, so a bad bot token does not stop the poller, and a bad slot
 * is an `auth` SlackError naming the slot (counted as SlackAuthFailures, retried slowly), never a
 * network error. A secret with a bad slot is not kept: the fix is read on the next attempt.
 */
export class SecretsManagerTokens implements TokenProvider {
  private readonly cache: TtlCache<Record<string, unknown>>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    ttlMs = 15 * 60_000,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, now);
  }

  async get(name: TokenName): Promise<string> {
    const secret = await this.cache.get(this.secretId, () => this.load(name));
    const field = FIELD[name];
    const slot = slackSecretSchema.shape[field].safeParse(secret[field]);
    if (!slot.success) {
      this.cache.clear();
      throw new SlackError('invalid_token', 'auth', name, `secret ${this.secretId}`, {
        problem: `${field}: ${slot.error.issues[0]?.message ?? 'is invalid'}`,
      });
    }
    return slot.data;
  }

  invalidate(): void {
    this.cache.clear();
  }

  private async load(name: TokenName): Promise<Record<string, unknown>> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    let json: unknown;
    try {
      json = JSON.parse(out.SecretString ?? '');
    } catch {
      json = undefined;
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) {
      // Never echo the secret's text: it may hold a token.
      throw new SlackError('invalid_token', 'auth', name, `secret ${this.secretId}`, {
        problem: '(secret): is not a JSON object with auditToken, adminToken and botToken',
      });
    }
    return json as Record<string, unknown>;
  }
}
