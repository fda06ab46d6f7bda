import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { formatIssues } from '../../domain/validation';
import { TtlCache } from '../../runtime/ttl-cache';
import type { TokenName } from './errors';

/**
 * The Slack tokens, as one JSON object: local mode's `--slack-tokens` file and the simulator's
 * defaults. Deployed, each token is a secret of its own (see SecretsManagerTokens).
 *   auditToken     — org owner user token, auditlogs:read (Audit Logs API): the poller
 *   adminToken     — org admin user token, admin.users:write/read, admin.roles:read, usergroups:read: respond
 *   directoryToken — org admin user token with read scopes only (admin.users:read, admin.roles:read,
 *                    users:read, users:read.email): notify's recipient lookups; the admin token
 *                    itself when absent (local mode)
 *   botToken       — bot token, chat:write, im:write (notifications): notify
 */
export const slackSecretSchema = z.object({
  auditToken: z.string().startsWith('xox', 'must be a Slack token (xox…)'),
  adminToken: z.string().startsWith('xox', 'must be a Slack token (xox…)'),
  directoryToken: z.string().startsWith('xox', 'must be a Slack token (xox…)').optional(),
  botToken: z.string().startsWith('xox', 'must be a Slack token (xox…)'),
});
export type SlackTokens = z.infer<typeof slackSecretSchema>;

/** How each token's secret is checked: the same rule as its field in the tokens file. */
const TOKEN_SCHEMA: Record<TokenName, z.ZodType<string>> = {
  audit: slackSecretSchema.shape.auditToken,
  admin: slackSecretSchema.shape.adminToken,
  directory: slackSecretSchema.shape.directoryToken.unwrap(),
  bot: slackSecretSchema.shape.botToken,
};

/** The name of each token's field in the tokens file, and the hint in error messages. */
export const TOKEN_FIELD: Record<TokenName, keyof SlackTokens> = { audit: 'auditToken', admin: 'adminToken', directory: 'directoryToken', bot: 'botToken' };

export interface TokenProvider {
  get(name: TokenName): Promise<string>;
  /** Forget the cached tokens, e.g. after invalid_auth, so a rotated token is picked up. */
  invalidate(): void;
}

/**
 * One secret per token, and a function is given the ids of only the secrets it uses (its role
 * can read no other): asking for any other token is a wiring bug and fails without a read.
 * Each secret holds the bare token as its string. Reads each once and caches it for `ttlMs`;
 * concurrent callers share one read.
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
    // Never echo the secret's text: it may hold a token.
    if (!parsed.success) throw new Error(`Slack ${name} token secret ${secretId} is invalid: ${formatIssues(parsed.error).join('; ')}`);
    return parsed.data;
  }
}
