/**
 * The three tokens the project holds, and what each may do. Defaults are deliberately not
 * real-looking (`xoxp-sim-…`) so they can never be mistaken for, or leak as, live credentials.
 */
export type TokenName = 'audit' | 'admin' | 'bot';
export type SimulatorTokens = Record<TokenName, string>;

export const DEFAULT_TOKENS: SimulatorTokens = {
  audit: 'xoxp-sim-audit',
  admin: 'xoxp-sim-admin',
  bot: 'xoxb-sim-bot',
};

/** The scopes DESIGN.md asks for on each token. */
export const DEFAULT_SCOPES: Record<TokenName, string[]> = {
  audit: ['auditlogs:read'],
  admin: ['admin.users:read', 'admin.users:write', 'admin.roles:read', 'admin.teams:read', 'usergroups:read', 'users:read', 'users:read.email', 'admin'],
  bot: ['chat:write', 'im:write'],
};

export interface Caller {
  name: TokenName;
  /** xoxb tokens are bot tokens; everything else here is a user token. */
  kind: 'user' | 'bot';
  scopes: string[];
}

export type Identified = { ok: true; caller: Caller } | { ok: false; error: 'not_authed' | 'invalid_auth' };

export class TokenRegistry {
  readonly tokens: SimulatorTokens;
  private readonly scopes: Record<TokenName, string[]>;

  constructor(tokens: Partial<SimulatorTokens> = {}, scopes: Partial<Record<TokenName, string[]>> = {}) {
    this.tokens = { ...DEFAULT_TOKENS, ...tokens };
    this.scopes = { ...DEFAULT_SCOPES, ...scopes };
    const values = Object.values(this.tokens);
    if (new Set(values).size !== values.length) throw new Error('the audit, admin and bot tokens must differ');
  }

  identify(token: string | undefined): Identified {
    if (!token) return { ok: false, error: 'not_authed' };
    const name = (Object.keys(this.tokens) as TokenName[]).find((n) => this.tokens[n] === token);
    if (!name) return { ok: false, error: 'invalid_auth' };
    return { ok: true, caller: { name, kind: token.startsWith('xoxb-') ? 'bot' : 'user', scopes: this.scopes[name] } };
  }
}

/** The token of a request: `Authorization: Bearer …` first, else a `token` parameter. */
export function requestToken(authorization: string | undefined, params: Record<string, unknown>): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (match) return match[1];
  return typeof params.token === 'string' && params.token ? params.token : undefined;
}
