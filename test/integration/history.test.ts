import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { isUtcDay, main } from '../../tools/cli/history';
import { writeLocalState } from '../../tools/shared/local-state';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';

let clients: LocalClients;
let table: string;

beforeAll(async () => {
  clients = createLocalClients(endpointsFromEnv());
  table = (await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `history-${Date.now().toString(36)}` })).tables.ledger;
  let now = Date.parse('2026-11-20T09:00:00Z');
  const ledger = new DecisionLog(clients.documents, table, 400, () => (now += 60_000));
  const decide = async (entryId: string, userId: string, outcome: string, events: string[], response?: Record<string, unknown>) => {
    await ledger.claimEntry(entryId, 60_000);
    await ledger.completeDecision({ entryId, userId, events, decision: 'end_sessions', reason: 'rule_end_sessions', outcome, notification: 'none', ...(response ? { response } : {}) });
  };
  await decide('h-1', 'W0ANAXXX01', 'sessions_ended', ['tor']);
  await decide('h-2', 'W0BENXXX01', 'failed:cannot_reset_primary_owner', ['tor']);
  await decide('h-3', 'W0ANAXXX01', 'sessions_ended', ['unexpected_scraping'], { outcome: 'sessions_ended', scope: 'all', scopeFallback: 'no_session_id' });
  await decide('h-4', 'W0CARXXX01', 'dry_run', ['tor'], { outcome: 'dry_run', scope: 'web', dryRun: true });
});
afterAll(() => clients.destroy());

const run = async (...args: string[]) => {
  const lines: string[] = [];
  const code = await main([...args, '--table', table, '--endpoint', endpointsFromEnv().dynamodb], (line) => lines.push(line));
  return { code, lines };
};

describe('npm run history (the response log)', () => {
  it('lists every decision about one person, oldest first', async () => {
    const { code, lines } = await run('--user', 'W0ANAXXX01', '--json');
    expect(code).toBe(0);
    expect(lines.map((l) => JSON.parse(l)).map((d) => [d.entryId, d.events[0], d.outcome])).toEqual([
      ['h-1', 'tor', 'sessions_ended'],
      ['h-3', 'unexpected_scraping', 'sessions_ended'],
    ]);
  });

  it('lists a day as a readable table', async () => {
    const { code, lines } = await run('--day', '2026-11-20');
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^decided at\s+user\s+reasons\s+decision\s+outcome\s+audit entry$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['W0ANAXXX01', 'W0BENXXX01', 'W0ANAXXX01', 'W0CARXXX01']);
    expect(lines[2]).toContain('failed:cannot_reset_primary_owner');
    // Which sessions, and a dry run, are on the line too.
    expect(lines[3]).toContain('sessions_ended [scope all (no_session_id)]');
    expect(lines[4]).toContain('dry_run [scope web] [dry run]');
  });

  it('refuses a query without exactly one of --user and --day', async () => {
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect((await run()).code).toBe(2);
    expect((await run('--user', 'W0ANAXXX01', '--day', '2026-11-20')).code).toBe(2);
    expect((await run('--user', 'ana')).code).toBe(2);
    jest.restoreAllMocks();
  });

  it('validates --day as a calendar day and says which option is wrong, in one line', async () => {
    const errors: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    expect((await run('--day', '2026-02-30')).code).toBe(2);
    expect((await run('--day', '2026-13-01')).code).toBe(2);
    expect((await run('--day', '20261120')).code).toBe(2);
    expect((await run('--day', '2026-11-20', '--limit', 'lots')).code).toBe(2);
    jest.restoreAllMocks();
    expect(errors).toEqual([
      '--day 2026-02-30: not a calendar day as YYYY-MM-DD (e.g. 2026-11-24)',
      '--day 2026-13-01: not a calendar day as YYYY-MM-DD (e.g. 2026-11-24)',
      '--day 20261120: not a calendar day as YYYY-MM-DD (e.g. 2026-11-24)',
      '--limit lots: a whole number of at least 1',
    ]);
    expect([isUtcDay('2024-02-29'), isUtcDay('2025-02-29')]).toEqual([true, false]);
  });

  it('reports a missing table in one line, not an SDK stack', async () => {
    const errors: string[] = [];
    jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    const code = await main(['--day', '2026-11-20', '--table', 'no-such-table', '--endpoint', endpointsFromEnv().dynamodb], () => undefined);
    jest.restoreAllMocks();
    expect(code).toBe(1);
    expect(errors).toEqual([`history: no table no-such-table at ${endpointsFromEnv().dynamodb} (pass --table with the stack output LedgerTableName, or --local)`]);
  });

  describe('--local', () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-local-'));
    const previous = process.env.LOCAL_MODE_STATE_FILE;
    beforeAll(() => {
      process.env.LOCAL_MODE_STATE_FILE = join(dir, 'state.json');
    });
    afterAll(() => {
      if (previous === undefined) delete process.env.LOCAL_MODE_STATE_FILE;
      else process.env.LOCAL_MODE_STATE_FILE = previous;
      rmSync(dir, { recursive: true, force: true });
    });

    it('queries the running local mode, found through the file it writes', async () => {
      // This process stands in for `npm start`: the file names a live pid, the endpoint and the table.
      writeLocalState({ pid: process.pid, dynamodbEndpoint: endpointsFromEnv().dynamodb, region: 'us-east-1', ledgerTable: table, configTable: 'unused' });
      const lines: string[] = [];
      expect(await main(['--local', '--user', 'W0BENXXX01', '--json'], (line) => lines.push(line))).toBe(0);
      expect(lines.map((l) => JSON.parse(l).entryId)).toEqual(['h-2']);
    });

    it('says in one line when no local mode is running', async () => {
      rmSync(join(dir, 'state.json'), { force: true });
      const errors: string[] = [];
      jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
      expect(await main(['--local', '--user', 'W0BENXXX01'], () => undefined)).toBe(1);
      jest.restoreAllMocks();
      expect(errors).toEqual([expect.stringMatching(/^history: no local mode is running \(no .*state\.json\): start one with `npm start`$/)]);
    });
  });
});
