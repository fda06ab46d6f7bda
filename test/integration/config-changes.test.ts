import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { main as history } from '../../tools/cli/history';
import { main as seed } from '../../tools/cli/seed';
import { startLocalPipeline, type LocalPipeline } from '../../tools/local/pipeline';
import { sharedEmulators } from '../support/shared-emulators';

/**
 * Issue 12 item 8 on the real local pipeline: the config table's stream (DynamoDB Local) →
 * config-changes → the response log and a config_changed alert to the security admins (notify,
 * SES emulator). An edit made with `npm run seed` against local mode is recorded once and told once;
 * the items it rewrote unchanged are not.
 */
const SCENARIO = resolve(__dirname, '../../tools/local/scenarios/default.json');
const DEFAULT_CONFIG = resolve(__dirname, '../../config/default-config.json');

jest.setTimeout(200_000);

let pipeline: LocalPipeline | undefined;
afterAll(async () => {
  await pipeline?.stop();
});

test('switching a rule off with npm run seed: one response-log record, one loud alert per security admin, listed by history --config-changes', async () => {
  jest.resetModules();
  pipeline = await startLocalPipeline({ emulators: sharedEmulators(), scenario: SCENARIO, configFile: DEFAULT_CONFIG, timeScale: 40, rateLimits: false });
  await pipeline.runUntilSettled({ timeoutMs: 150_000, stallAfterMs: 90_000 });
  const emailsBefore = (await pipeline.sentEmails()).length;

  // The seeded configuration is the starting point, not a change.
  const log = new DecisionLog(pipeline.clients.documents, pipeline.resources.tables.ledger);
  const today = () => new Date().toISOString().slice(0, 10);
  expect(await log.configChangesOnDay(today())).toEqual([]);

  const config = JSON.parse(readFileSync(DEFAULT_CONFIG, 'utf8'));
  config.events.tor.action = 'off';
  const file = join(mkdtempSync(join(tmpdir(), 'config-change-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const endpoint = pipeline.emulators.endpoints.dynamodb;
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  await expect(seed(['--file', file, '--table', pipeline.resources.tables.config, '--endpoint', endpoint])).resolves.toBe(0);

  jest.restoreAllMocks();
  await pipeline.runUntilSettled({ timeoutMs: 120_000, stallAfterMs: 90_000 });
  const summary = await pipeline.summary();
  expect(summary.errors).toEqual([]);

  const changes = await log.configChangesOnDay(today());
  expect(changes).toHaveLength(1);
  // Its own partition: respond's role (entry#*) cannot rewrite it, the config-changes role can write nothing else.
  expect((changes[0] as unknown as { pk: string }).pk).toMatch(/^config-change#config-change-/);
  expect(changes[0]).toMatchObject({
    decision: 'recorded',
    reason: 'config_changed',
    outcome: 'changed',
    detail: 'event#tor changed: action: "end_sessions" \u2192 "off"',
    notificationQueued: true,
    configChange: { itemId: 'event#tor', warnings: ['event#tor.action: "end_sessions" \u2192 "off" (a rule no longer ends sessions)'] },
  });

  const alerts = (await pipeline.sentEmails()).slice(emailsBefore);
  // The default scenario's two security admins (notify#config_changed: security admins by email).
  expect(alerts.map((email) => [email.to.join(','), email.subject]).sort()).toEqual([
    ['elena.petrova@halvard.example', '[Slack security] WARNING: the response was weakened: configuration item event#tor changed'],
    ['marcus.chen@halvard.example', '[Slack security] WARNING: the response was weakened: configuration item event#tor changed'],
  ]);
  expect(alerts[0].text).toContain('"end_sessions" \u2192 "off"');

  const lines: string[] = [];
  await expect(history(['--config-changes', '--table', pipeline.resources.tables.ledger, '--endpoint', endpoint], (line) => lines.push(line))).resolves.toBe(0);
  expect(lines[0]).toMatch(/ {2}event#tor changed {2}by unknown \(see CloudTrail data events on the config table\)$/);
  expect(lines).toContain('    action: "end_sessions" \u2192 "off"');
  expect(lines).toContain('    WARNING event#tor.action: "end_sessions" \u2192 "off" (a rule no longer ends sessions)');
});
