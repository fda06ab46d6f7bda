import { MORE_EVENT_NAMES } from '../../functions/domain/anomaly-catalogue';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { main } from '../../tools/cli/seed';
import { DynamoConfigSource } from '../../functions/adapters/dynamodb/config-table';
import { defaultConfig } from '../../functions/domain/config/schema';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';

let clients: LocalClients;
let table: string;
let output: string[];
const dir = mkdtempSync(join(tmpdir(), 'seed-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const items = async () => (await clients.documents.send(new ScanCommand({ TableName: table }))).Items ?? [];
const seed = (...args: string[]) => main([...args, '--table', table, '--endpoint', endpointsFromEnv().dynamodb]);

beforeAll(async () => {
  clients = createLocalClients(endpointsFromEnv());
  table = (await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `seed-${Date.now().toString(36)}` })).tables.config;
});
afterAll(() => clients.destroy());
beforeEach(() => {
  output = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => void output.push(line));
  jest.spyOn(console, 'error').mockImplementation((line: string) => void output.push(line));
});
afterEach(() => jest.restoreAllMocks());

describe('npm run seed', () => {
  it('writes the checked-in default (Slack\u2019s defaults) as plain items the responder loads back', async () => {
    await expect(seed('--file', 'config/default-config.json')).resolves.toBe(0);
    const written = await items();
    expect(written.map((i) => i.id).sort()).toEqual(
      [
        'event#excessive_downloads', 'event#session_fingerprint', 'event#spoofed_user_agent', 'event#tor', 'event#unexpected_api_call_volume',
        'event#unexpected_scraping', 'event#unexpected_user_agent', 'exclusions', 'notify#action_failed', 'notify#affected_user',
        'notify#anomaly_not_acted_on', 'notify#sessions_ended', 'notify#app_anomaly', 'notify#anomaly_response_changed', 'notify#config_changed', 'safety', 'trustedNetworks', 'manifest', 'alerts',
        ...MORE_EVENT_NAMES.map((event) => `event#${event}`),
      ].sort(),
    );
    // The manifest says every item is there on purpose: deleting one in the console fails safe.
    expect(written.find((i) => i.id === 'manifest')?.items).toHaveLength(14 + MORE_EVENT_NAMES.length + 3);
    expect(written.find((i) => i.id === 'event#tor')).toMatchObject({ action: 'end_sessions', scope: 'all', excludedUsers: [], excludedGroups: [] });
    expect(written.find((i) => i.id === 'safety')).toMatchObject({ dryRun: false });
    await expect(new DynamoConfigSource(clients.documents, table).load()).resolves.toEqual(defaultConfig());
  });

  it('an item deleted after seeding makes the configuration invalid, naming it (not Slack\u2019s defaults)', async () => {
    const custom = file('breakglass.json', JSON.stringify({ exclusions: { excludedUsers: ['U0BREAKGLS'] } }));
    await expect(seed('--file', custom)).resolves.toBe(0);
    await expect(new DynamoConfigSource(clients.documents, table).load()).resolves.toMatchObject({ exclusions: { excludedUsers: ['U0BREAKGLS'] } });
    const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    await clients.documents.send(new DeleteCommand({ TableName: table, Key: { id: 'exclusions' } }));
    await expect(new DynamoConfigSource(clients.documents, table).load()).rejects.toMatchObject({
      name: 'ConfigError',
      issues: [expect.stringMatching(/^exclusions: missing, though the manifest lists it/)],
    });
  });

  it('prints every offending field of an invalid file and writes nothing', async () => {
    await seed('--file', 'config/default-config.json');
    const before = await items();
    const bad = file('bad.json', JSON.stringify({ events: { tor: { action: 'nuke' }, bogus: {} }, exclusions: { excludedUsers: ['alice'] } }));
    await expect(seed('--file', bad)).resolves.toBe(1);
    expect(output.join('\n')).toMatch(/events\.tor\.action/);
    expect(output.join('\n')).toMatch(/Unrecognized key: "bogus"/);
    expect(output.join('\n')).toMatch(/exclusions\.excludedUsers\.0: must be a Slack user ID/);
    expect(await items()).toEqual(before);
  });

  it.each([
    ['an empty file', ''],
    ['not JSON', '{"events": '],
    ['a JSON array', '[]'],
  ])('refuses %s', async (_name, text) => {
    await expect(seed('--file', file('x.json', text))).resolves.toBe(1);
    expect(output.join('\n')).toMatch(/nothing was written/);
  });

  it('replaces the whole configuration, removing items the new one does not have', async () => {
    await clients.documents.send(new (await import('@aws-sdk/lib-dynamodb')).PutCommand({ TableName: table, Item: { id: 'event#retired_event', action: 'off' } }));
    const custom = file('custom.json', JSON.stringify({ events: { excessive_downloads: { action: 'notify_only' } } }));
    await expect(seed('--file', custom)).resolves.toBe(0);
    const written = await items();
    expect(written.find((i) => i.id === 'event#retired_event')).toBeUndefined();
    expect(written.find((i) => i.id === 'event#excessive_downloads')).toMatchObject({ action: 'notify_only' });
  });

  it('validates only with --dry-run', async () => {
    const before = await items();
    await expect(main(['--file', 'config/default-config.json', '--dry-run'])).resolves.toBe(0);
    expect(await items()).toEqual(before);
  });
});
