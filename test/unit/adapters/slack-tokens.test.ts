import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AuditLogsClient } from '../../../functions/adapters/slack/audit-logs-client';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { SecretsManagerTokens } from '../../../functions/adapters/slack/tokens';

const SECRETS = { audit: 'audit-secret', admin: 'admin-secret', directory: 'directory-secret', bot: 'bot-secret' };
const VALUES: Record<string, string> = { 'audit-secret': 'xoxp-test-audit', 'admin-secret': 'xoxp-test-admin', 'directory-secret': 'xoxp-test-directory', 'bot-secret': 'xoxb-test-bot' };
const client = () => new SecretsManagerClient({ region: 'us-east-1' });
/** Secrets Manager answering each secret id with `values[id]`. */
const serving = (values: Record<string, string>) => {
  const sm = mockClient(SecretsManagerClient);
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: values[input.SecretId] }));
  return sm;
};

describe('SecretsManagerTokens', () => {
  it('reads each token from its own secret, once, and caches it until the TTL passes', async () => {
    const sm = serving(VALUES);
    let now = 0;
    const tokens = new SecretsManagerTokens(client(), SECRETS, 60_000, () => now);
    expect(await Promise.all([tokens.get('audit'), tokens.get('admin'), tokens.get('directory'), tokens.get('bot'), tokens.get('bot')])).toEqual([
      'xoxp-test-audit',
      'xoxp-test-admin',
      'xoxp-test-directory',
      'xoxb-test-bot',
      'xoxb-test-bot',
    ]);
    expect(sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId).sort()).toEqual(Object.values(SECRETS).sort());
    now = 61_000;
    await tokens.get('audit');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(5);
    expect(sm.commandCalls(GetSecretValueCommand)[4].args[0].input).toEqual({ SecretId: 'audit-secret' });
  });

  it('a function given only some tokens cannot ask for another: it fails without reading any secret', async () => {
    const sm = serving(VALUES);
    // notify's wiring: the directory and bot tokens, not the admin token that ends sessions nor the audit token.
    const tokens = new SecretsManagerTokens(client(), { directory: SECRETS.directory, bot: SECRETS.bot });
    await expect(tokens.get('admin')).rejects.toThrow('This function is given no admin token');
    await expect(tokens.get('audit')).rejects.toThrow('This function is given no audit token');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(await tokens.get('bot')).toBe('xoxb-test-bot');
  });

  it('re-reads after invalidate(), so a token rotated after invalid_auth is picked up', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'xoxp-test-admin' }).resolves({ SecretString: 'xoxp-test-rotated' });
    const tokens = new SecretsManagerTokens(client(), { admin: SECRETS.admin });
    expect(await tokens.get('admin')).toBe('xoxp-test-admin');
    tokens.invalidate();
    expect(await tokens.get('admin')).toBe('xoxp-test-rotated');
  });

  it('names the slot and secret of a malformed value without echoing it, as an auth failure, and does not cache the failure', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'not-a-token' })
      // The old format (one JSON object with every token) is refused, not searched for a token.
      .resolvesOnce({ SecretString: JSON.stringify({ botToken: 'xoxb-test-bot' }) })
      .resolvesOnce({})
      .resolves({ SecretString: 'xoxb-test-bot' });
    const tokens = new SecretsManagerTokens(client(), { bot: SECRETS.bot });
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = (await tokens.get('bot').catch((e) => e)) as SlackError;
      expect(error).toBeInstanceOf(SlackError);
      expect(error).toMatchObject({ kind: 'auth', token: 'bot', code: 'invalid_token' });
      expect(error.message).toMatch(/botToken: must be/);
      expect(error.message).toContain('bot-secret');
      expect(error.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]|not-a-token/);
    }
    expect(await tokens.get('bot')).toBe('xoxb-test-bot');
  });

  // Each row: the slot, a hostile value, what the error must say. The value must never appear.
  it.each([
    ['audit', 'xoxp-test-audit\n', 'auditToken: must not contain whitespace'],
    ['admin', 'xoxp-test admin', 'adminToken: must not contain whitespace'],
    ['bot', '\txoxb-test-bot', 'botToken: must not contain whitespace'],
    ['audit', 'xoxb-test-audit', 'auditToken: must be a user token (xoxp-…)'],
    ['admin', 'xoxe-test-admin', 'adminToken: must be a user token (xoxp-…)'],
    ['directory', 'xoxb-test-directory', 'directoryToken: must be a user token (xoxp-…)'],
    ['bot', 'xoxp-test-bot', 'botToken: must be a bot token (xoxb-…)'],
    ['bot', 'xoxb-', 'botToken: must be a bot token (xoxb-…)'],
  ] as const)('refuses the %s secret holding %p, naming the slot, never the value, as an auth failure', async (name, value, says) => {
    serving({ ...VALUES, [SECRETS[name]]: value });
    const tokens = new SecretsManagerTokens(client(), SECRETS);
    const error = (await tokens.get(name).catch((e) => e)) as SlackError;
    expect(error).toBeInstanceOf(SlackError);
    expect(error).toMatchObject({ kind: 'auth', token: name, code: 'invalid_token' });
    expect(error.message).toContain(says);
    // (A bare prefix is the rule itself, which the message names.)
    if (value.trim().length > 5) expect(error.message).not.toContain(value.trim());
    // The other tokens are unaffected: a bad bot token does not stop the poller.
    for (const other of (['audit', 'admin', 'directory', 'bot'] as const).filter((other) => other !== name)) {
      await expect(tokens.get(other)).resolves.toMatch(/^xox[pb]-test-/);
    }
  });

  it('a newline in the audit token surfaces as SlackAuthFailures naming the audit token, not as a network error', async () => {
    serving({ ...VALUES, 'audit-secret': 'xoxp-test-audit\n' });
    const tokens = new SecretsManagerTokens(client(), { audit: SECRETS.audit });
    const fetch = jest.fn(async () => new Response('{}'));
    const auditLogs = new AuditLogsClient({ tokens, baseUrl: 'http://127.0.0.1:1/audit/v1/', fetch });
    await expect(auditLogs.fetchAnomalies({ oldest: 0, latest: 1, limit: 10 })).rejects.toMatchObject({ kind: 'auth', token: 'audit', code: 'invalid_token' });
    expect(fetch).not.toHaveBeenCalled();
  });
});
