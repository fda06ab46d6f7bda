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
 * The Slack tokens, as one JSON object: local mode's `--slack-tokens` file and the simulator's
 * defaults. Deployed, each token is a secret of its own (see SecretsManagerTokens).
 *   auditToken     — org owner user token (xoxp-), auditlogs:read (Audit Logs API): the poller
 *   adminToken     — org admin user token (xoxp-), admin.users:write/read, admin.roles:read, usergroups:read: respond
 *   directoryToken — org admin user token (xoxp-) with read scopes only (admin.users:read,
 *                    admin.roles:read, users:read, users:read.email): notify's recipient lookups;
 *                    the admin token itself when absent (local mode)
 *   botToken       — bot token (xoxb-), chat:write, im:write (notifications): notify
 */
export const slackSecretSchema = z.object({
  auditToken: tokenSlot('xoxp-', 'user'),
  adminToken: tokenSlot('xoxp-', 'user'),
  directoryToken: tokenSlot('xoxp-', 'user').optional(),
  botToken: tokenSlot('xoxb-', 'bot'),
});
export type SlackTokens = z.infer<typeof slackSecretSchema>;

/** The name of each token's field in the tokens file, named in error messages. */
const TOKEN_FIELD: Record<TokenName, keyof SlackTokens> = { audit: 'auditToken', admin: 'adminToken', directory: 'directoryToken', bot: 'botToken' };

/** How each token's secret is checked: the same rule as its slot in the tokens file. */
const TOKEN_SCHEMA: Record<TokenName, z.ZodType<string>> = {
  audit: slackSecretSchema.shape.auditToken,
  admin: slackSecretSchema.shape.adminToken,
  directory: slackSecretSchema.shape.directoryToken.unwrap(),
  bot: slackSecretSchema.shape.botToken,
};

export interface TokenProvider {
  get(name: TokenName): Promise<string>;
  /** Forget the cached tokens, e.g. after invalid_auth, so a rotated token is picked up. */
  invalidate(): void;
}

/**
 * One secret per token, and a function is given the ids of only the secrets it uses (its role
 * can read no other): asking for any other token is a wiring bug and fails without a read.
 * Each secret holds the bare token as its string. Reads each once and caches it for `ttlMs`;
 * concurrent callers share one read. A bad token is an `auth` SlackError naming the slot
 * (counted as SlackAuthFailures, retried slowly), never the value, and is not kept: the fix is
 * read on the next attempt.
 */
export class SecretsManagerTokens implements TokenProvider {
  private readonly cache: TtlCache<string>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretIds: Partial<Record<TokenName, string>>,
    ttlMs = 15 * 60_000,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, now);
  }

  async get(name: TokenName): Promise<string> {
    const secretId = this.secretIds[name];
    if (!secretId) throw new Error(`This function is given no ${name} token`);
    return this.cache.get(name, () => this.load(name, secretId));
  }

  invalidate(): void {
    this.cache.clear();
  }

  private async load(name: TokenName, secretId: string): Promise<string> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const parsed = TOKEN_SCHEMA[name].safeParse(out.SecretString);
    if (!parsed.success) {
      // Never echo the secret's text: it may hold a token.
      throw new SlackError('invalid_token', 'auth', name, `secret ${secretId}`, {
        problem: `${TOKEN_FIELD[name]}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`,
      });
    }
    return parsed.data;
  }
}
