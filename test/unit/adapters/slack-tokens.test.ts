import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerTokens } from '../../../functions/adapters/slack/tokens';

const SECRETS = { audit: 'audit-secret', admin: 'admin-secret', directory: 'directory-secret', bot: 'bot-secret' };
const VALUES: Record<string, string> = { 'audit-secret': 'xoxp-test-audit', 'admin-secret': 'xoxp-test-admin', 'directory-secret': 'xoxp-test-directory', 'bot-secret': 'xoxb-test-bot' };
const client = () => new SecretsManagerClient({ region: 'us-east-1' });

describe('SecretsManagerTokens', () => {
  it('reads each token from its own secret, once, and caches it until the TTL passes', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: VALUES[input.SecretId] }));
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
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: VALUES[input.SecretId] }));
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

  it('names the token and secret of a malformed value without echoing it, and does not cache the failure', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'not-a-token' })
      // The old format (one JSON object with every token) is refused, not searched for a token.
      .resolvesOnce({ SecretString: JSON.stringify({ botToken: 'xoxb-test-bot' }) })
      .resolvesOnce({})
      .resolves({ SecretString: 'xoxb-test-bot' });
    const tokens = new SecretsManagerTokens(client(), { bot: SECRETS.bot });
    for (let attempt = 0; attempt < 3; attempt++) {
      const error = (await tokens.get('bot').catch((e) => e)) as Error;
      expect(error.message).toMatch(/^Slack bot token secret bot-secret is invalid: /);
      expect(error.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]|not-a-token/);
    }
    expect(await tokens.get('bot')).toBe('xoxb-test-bot');
  });
});
