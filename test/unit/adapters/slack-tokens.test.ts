import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerTokens } from '../../../functions/adapters/slack/tokens';

const secret = (tokens: Record<string, string>) => ({ SecretString: JSON.stringify(tokens) });
const valid = { auditToken: 'xoxp-test-audit', adminToken: 'xoxp-test-admin', botToken: 'xoxb-test-bot' };

describe('SecretsManagerTokens', () => {
  it('reads the secret once for all three tokens and caches it until the TTL passes', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves(secret(valid));
    let now = 0;
    const tokens = new SecretsManagerTokens(new SecretsManagerClient({ region: 'us-east-1' }), 'slack', 60_000, () => now);
    expect(await Promise.all([tokens.get('audit'), tokens.get('admin'), tokens.get('bot')])).toEqual(['xoxp-test-audit', 'xoxp-test-admin', 'xoxb-test-bot']);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now = 61_000;
    await tokens.get('audit');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(sm.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: 'slack' });
  });

  it('re-reads after invalidate(), so a token rotated after invalid_auth is picked up', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolvesOnce(secret(valid)).resolves(secret({ ...valid, adminToken: 'xoxp-test-rotated' }));
    const tokens = new SecretsManagerTokens(new SecretsManagerClient({ region: 'us-east-1' }), 'slack');
    expect(await tokens.get('admin')).toBe('xoxp-test-admin');
    tokens.invalidate();
    expect(await tokens.get('admin')).toBe('xoxp-test-rotated');
  });

  it('names the bad fields of a malformed secret without echoing any token, and does not cache the failure', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secret({ auditToken: 'xoxp-test-audit', adminToken: 'not-a-token' }))
      .resolvesOnce({ SecretString: 'xoxp-test-plain-text' })
      .resolves(secret(valid));
    const tokens = new SecretsManagerTokens(new SecretsManagerClient({ region: 'us-east-1' }), 'slack');
    const first = (await tokens.get('bot').catch((e) => e)) as Error;
    expect(first.message).toMatch(/adminToken: must be a Slack token/);
    expect(first.message).toMatch(/botToken/);
    expect(first.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]|not-a-token/);
    const second = (await tokens.get('bot').catch((e) => e)) as Error;
    expect(second.message).toMatch(/not a JSON object/);
    expect(second.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]/);
    expect(await tokens.get('bot')).toBe('xoxb-test-bot');
  });
});
