import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * slack-app-manifest.yaml must ask for exactly the scopes the code needs: a missing scope fails
 * in production with missing_scope, an extra one is access nobody reviewed. The scope of each
 * method is from Slack's method reference (docs.slack.dev/reference/methods/<method>).
 */
const METHOD_SCOPES: Record<string, { token: 'user' | 'bot'; scopes: string[] }> = {
  'admin.users.session.reset': { token: 'user', scopes: ['admin.users:write'] },
  'admin.users.session.invalidate': { token: 'user', scopes: ['admin.users:write'] },
  // Slack's method reference: admin.users.session.resetBulk, scope admin.users:write (as the single reset).
  'admin.users.session.resetBulk': { token: 'user', scopes: ['admin.users:write'] },
  'admin.users.list': { token: 'user', scopes: ['admin.users:read'] },
  'admin.roles.listAssignments': { token: 'user', scopes: ['admin.roles:read'] },
  'admin.teams.list': { token: 'user', scopes: ['admin.teams:read'] },
  'usergroups.users.list': { token: 'user', scopes: ['usergroups:read'] },
  'users.info': { token: 'user', scopes: ['users:read', 'users:read.email'] },
  'auth.test': { token: 'user', scopes: [] },
  'admin.audit.anomaly.allow.getItem': { token: 'user', scopes: ['admin'] },
  'admin.audit.anomaly.allow.updateItem': { token: 'user', scopes: ['admin'] },
  'conversations.open': { token: 'bot', scopes: ['im:write'] },
  'chat.postMessage': { token: 'bot', scopes: ['chat:write'] },
};

const root = join(__dirname, '..', '..');

function manifestScopes(): { user: string[]; bot: string[] } {
  const out: { user: string[]; bot: string[] } = { user: [], bot: [] };
  let list: 'user' | 'bot' | undefined;
  for (const line of readFileSync(join(root, 'slack-app-manifest.yaml'), 'utf8').split('\n')) {
    const key = /^ {4}(user|bot):\s*$/.exec(line);
    if (key) list = key[1] as 'user' | 'bot';
    else if (/^ {0,4}\S/.test(line)) list = undefined;
    const item = /^ {6}- (\S+)\s*$/.exec(line);
    if (list && item) out[list].push(item[1]);
  }
  return out;
}

/** The Web API methods the adapter calls, with the token it calls each with. */
function calledMethods(): { method: string; token: string }[] {
  const source = readFileSync(join(root, 'functions/adapters/slack/web-api.ts'), 'utf8');
  // this.readToken is the admin token (respond) or the read-only directory token (notify): both user tokens.
  return [...source.matchAll(/this\.call\((?:'(admin|bot)'|this\.readToken), '([a-zA-Z.]+)'/g)].map((m) => ({ token: m[1] === 'bot' ? 'bot' : 'user', method: m[2] }));
}

describe('slack-app-manifest.yaml', () => {
  it('asks for exactly the scopes of the methods the code calls, on the right token', () => {
    const called = calledMethods();
    expect(called.length).toBeGreaterThan(5);
    const needed = { user: new Set(['auditlogs:read']), bot: new Set<string>() }; // + the Audit Logs API (audit-logs-client.ts)
    for (const { method, token } of called) {
      const known = METHOD_SCOPES[method];
      if (!known) throw new Error(`${method} is called but has no scope in METHOD_SCOPES: look it up in Slack's method reference and add it (and to the manifest)`);
      expect({ method, token }).toEqual({ method, token: known.token });
      for (const scope of known.scopes) needed[known.token].add(scope);
    }
    const manifest = manifestScopes();
    expect([...manifest.user].sort()).toEqual([...needed.user].sort());
    expect([...manifest.bot].sort()).toEqual([...needed.bot].sort());
  });

  it('installs on the org, as the Admin and Audit Logs APIs require', () => {
    expect(readFileSync(join(root, 'slack-app-manifest.yaml'), 'utf8')).toMatch(/^ {2}org_deploy_enabled: true$/m);
  });
});

describe('LICENSE', () => {
  it('is the license package.json names', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004/);
  });
});
