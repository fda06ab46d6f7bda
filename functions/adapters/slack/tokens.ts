import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { formatIssues } from '../../domain/validation';
import { TtlCache } from '../../runtime/ttl-cache';
import type { TokenName } from './errors';

/**
 * The Slack secret: one JSON object with the three tokens.
 *   auditToken — org owner user token, auditlogs:read (Audit Logs API)
 *   adminToken — org admin user token, admin.users:write/read, admin.roles:read, usergroups:read
 *   botToken   — bot token, chat:write, im:write (notifications)
 */
export const slackSecretSchema = z.object({
  auditToken: z.string().startsWith('xox', 'must be a Slack token (xox…)'),
  adminToken: z.string().startsWith('xox', 'must be a Slack token (xox…)'),
  botToken: z.string().startsWith('xox', 'must be a Slack token (xox…)'),
});
export type SlackTokens = z.infer<typeof slackSecretSchema>;

export interface TokenProvider {
  get(name: TokenName): Promise<string>;
  /** Forget the cached secret, e.g. after invalid_auth, so a rotated token is picked up. */
  invalidate(): void;
}

const FIELD: Record<TokenName, keyof SlackTokens> = { audit: 'auditToken', admin: 'adminToken', bot: 'botToken' };

/** Reads the secret once and caches it for `ttlMs`; concurrent callers share one read. */
export class SecretsManagerTokens implements TokenProvider {
  private readonly cache: TtlCache<SlackTokens>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    ttlMs = 15 * 60_000,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, now);
  }

  async get(name: TokenName): Promise<string> {
    return (await this.cache.get(this.secretId, () => this.load()))[FIELD[name]];
  }

  invalidate(): void {
    this.cache.clear();
  }

  private async load(): Promise<SlackTokens> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    let json: unknown;
    try {
      json = JSON.parse(out.SecretString ?? '');
    } catch {
      // Never echo the secret's text: it may hold a token.
      throw new Error(`Slack secret ${this.secretId} is not a JSON object with auditToken, adminToken and botToken`);
    }
    const parsed = slackSecretSchema.safeParse(json);
    if (!parsed.success) throw new Error(`Slack secret ${this.secretId} is invalid: ${formatIssues(parsed.error).join('; ')}`);
    return parsed.data;
  }
}
