import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { AuditLogsClient } from '../../../functions/adapters/slack/audit-logs-client';
import { SlackError } from '../../../functions/adapters/slack/errors';
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

  it('names the bad slot of a malformed secret without echoing any token, as an auth failure, and does not cache the failure', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secret({ auditToken: 'xoxp-test-audit', adminToken: 'not-a-token' }))
      .resolvesOnce({ SecretString: 'xoxp-test-plain-text' })
      .resolves(secret(valid));
    const tokens = new SecretsManagerTokens(new SecretsManagerClient({ region: 'us-east-1' }), 'slack');
    const first = (await tokens.get('bot').catch((e) => e)) as SlackError;
    expect(first).toMatchObject({ kind: 'auth', token: 'bot', code: 'invalid_token' });
    expect(first.message).toMatch(/botToken: must be a string/);
    expect(first.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]|not-a-token/);
    const second = (await tokens.get('bot').catch((e) => e)) as SlackError;
    expect(second).toMatchObject({ kind: 'auth', token: 'bot' });
    expect(second.message).toMatch(/not a JSON object/);
    expect(second.message).not.toMatch(/xox[a-z]-[A-Za-z0-9]/);
    expect(await tokens.get('bot')).toBe('xoxb-test-bot');
  });

  // Each row: the slot, a hostile value, what the error must say. The value must never appear.
  it.each([
    ['audit', { auditToken: 'xoxp-test-audit\n' }, 'auditToken: must not contain whitespace'],
    ['admin', { adminToken: 'xoxp-test admin' }, 'adminToken: must not contain whitespace'],
    ['bot', { botToken: '\txoxb-test-bot' }, 'botToken: must not contain whitespace'],
    ['audit', { auditToken: 'xoxb-test-audit' }, 'auditToken: must be a user token (xoxp-…)'],
    ['admin', { adminToken: 'xoxe-test-admin' }, 'adminToken: must be a user token (xoxp-…)'],
    ['bot', { botToken: 'xoxp-test-bot' }, 'botToken: must be a bot token (xoxb-…)'],
    ['bot', { botToken: 'xoxb-' }, 'botToken: must be a bot token (xoxb-…)'],
  ] as const)('refuses the %s slot holding %p, naming the slot, never the value, as an auth failure', async (name, override, says) => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves(secret({ ...valid, ...override }));
    const tokens = new SecretsManagerTokens(new SecretsManagerClient({ region: 'us-east-1' }), 'slack');
    const error = (await tokens.get(name).catch((e) => e)) as SlackError;
    expect(error).toBeInstanceOf(SlackError);
    expect(error).toMatchObject({ kind: 'auth', token: name, code: 'invalid_token' });
    expect(error.message).toContain(says);
    // (A bare prefix is the rule itself, which the message names.)
    for (const value of Object.values(override)) if (value.trim().length > 5) expect(error.message).not.toContain(value.trim());
    // The other slots are unaffected: a bad bot token does not stop the poller.
    const others = (['audit', 'admin', 'bot'] as const).filter((other) => other !== name);
    for (const other of others) await expect(tokens.get(other)).resolves.toMatch(/^xox[pb]-test-/);
  });

  it('a newline in the audit token surfaces as SlackAuthFailures naming the audit token, not as a network error', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves(secret({ ...valid, auditToken: 'xoxp-test-audit\n' }));
    const tokens = new SecretsManagerTokens(new SecretsManagerClient({ region: 'us-east-1' }), 'slack');
    const fetch = jest.fn(async () => new Response('{}'));
    const client = new AuditLogsClient({ tokens, baseUrl: 'http://127.0.0.1:1/audit/v1/', fetch });
    await expect(client.fetchAnomalies({ oldest: 0, latest: 1, limit: 10 })).rejects.toMatchObject({ kind: 'auth', token: 'audit', code: 'invalid_token' });
    expect(fetch).not.toHaveBeenCalled();
  });
});
