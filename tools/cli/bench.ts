import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { lambdaEsbuildOptions } from '../../lib/bundling';
import { FUNCTIONS, LAMBDA_BUNDLING } from '../../lib/definitions';
import { parseAuditEntry } from '../../functions/domain/audit-entry';
import { configFromItems, configToItems } from '../../functions/domain/config/items';
import { defaultConfig, responseConfigSchema } from '../../functions/domain/config/schema';
import { decide } from '../../functions/domain/decision/decide';
import { burstRun, printSlackRun, steadyRun, type SlackRunFigures } from './bench-slack';

/**
 * Performance figures worth watching: each Lambda bundle's size and cold import time (built with
 * LAMBDA_BUNDLING of lib/definitions.ts, as the stack builds them), and the per-entry cost of the pure
 * parts of `respond` (validate + decide) and of loading the configuration.
 */
const RUNS = 7;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// The handlers validate their environment at import: give them a plausible one (no AWS call is made).
const handlerEnv = {
  ...process.env,
  AWS_REGION: 'us-east-1',
  CONFIG_TABLE_NAME: 'config',
  LEDGER_TABLE_NAME: 'ledger',
  SLACK_AUDIT_TOKEN_SECRET_ID: 'audit-token',
  SLACK_ADMIN_TOKEN_SECRET_ID: 'admin-token',
  SLACK_DIRECTORY_TOKEN_SECRET_ID: 'directory-token',
  SLACK_BOT_TOKEN_SECRET_ID: 'bot-token',
  ANOMALIES_QUEUE_URL: 'http://127.0.0.1:1/q/anomalies',
  NOTIFICATIONS_QUEUE_URL: 'http://127.0.0.1:1/q/notifications',
  SENDER_EMAIL: 'alerts@example.com',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

function bundles(): { name: string; kib: number; importMs: number }[] {
  // With nothing external (the AWS SDK bundled, as deployed), build outside the project so a
  // require that escaped the bundle fails here instead of quietly loading from node_modules.
  // With externals, build inside the project so they resolve from node_modules as from the runtime.
  const selfContained = LAMBDA_BUNDLING.externalModules.length === 0;
  const out = selfContained ? mkdtempSync(join(tmpdir(), 'sar-bench-')) : join(process.cwd(), 'node_modules', '.cache', 'sar-bench');
  mkdirSync(out, { recursive: true });
  try {
    return measure(out);
  } finally {
    if (selfContained) rmSync(out, { recursive: true, force: true });
  }
}

function measure(out: string): { name: string; kib: number; importMs: number }[] {
  return Object.entries(FUNCTIONS).map(([name, fn]) => {
    const outfile = join(out, `${name}.js`);
    buildSync({ ...lambdaEsbuildOptions(fn.entry, outfile), logLevel: 'error' });
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = spawnSync(
        process.execPath,
        ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`],
        { env: handlerEnv, encoding: 'utf8' },
      );
      if (run.status !== 0) throw new Error(`${name} bundle failed to load: ${run.stderr}`);
      times.push(Number(run.stdout));
    }
    return { name, kib: Math.round(statSync(outfile).size / 1024), importMs: Math.round(median(times)) };
  });
}

function perEntry(): { validateAndDecideUs: number; configLoadUs: number } {
  const config = responseConfigSchema.parse({ exclusions: { excludedUsers: ['W0EXCLUDE1'] }, events: { excessive_downloads: { action: 'notify_only' } } });
  const reasons = [['tor'], ['unexpected_scraping', 'asn'], ['excessive_downloads'], ['ip_address'], ['spoofed_user_agent', 'unexpected_client']];
  const entries = Array.from({ length: 20_000 }, (_, i) => ({
    id: `bench-${i}`,
    date_create: 1_800_000_000 + i,
    action: 'anomaly',
    entity: { type: 'user', user: { id: i % 50 === 0 ? 'W0EXCLUDE1' : `W0USER${String(i % 9999).padStart(4, '0')}`, name: 'u', email: 'u@example.com' } },
    context: { ua: 'Mozilla/5.0', ip_address: '198.51.100.1', location: { type: 'enterprise', id: 'E0', name: 'Org', domain: 'org' } },
    details: { reason: reasons[i % reasons.length], location: 'Reno, Nevada' },
  }));
  const groups = new Map<string, ReadonlySet<string>>();
  const BENCH_ORG = { enterpriseId: 'E0', teamIds: new Set(['E0']) };
  const BENCH_MEMBER = { found: true as const, isPrimaryOwner: false, isStranger: false, enterpriseId: 'E0' };
  let start = process.hrtime.bigint();
  for (const raw of entries) {
    const parsed = parseAuditEntry(raw);
    if (parsed.ok) decide({ entry: parsed.entry, config, groupMembers: groups, person: BENCH_MEMBER, org: BENCH_ORG });
  }
  const validateAndDecideUs = Number(process.hrtime.bigint() - start) / 1e3 / entries.length;
  const items = configToItems(defaultConfig());
  start = process.hrtime.bigint();
  for (let i = 0; i < 2000; i++) configFromItems(items);
  const configLoadUs = Number(process.hrtime.bigint() - start) / 1e3 / 2000;
  return { validateAndDecideUs: Math.round(validateAndDecideUs * 10) / 10, configLoadUs: Math.round(configLoadUs * 10) / 10 };
}

const USAGE = `Usage: npm run bench [-- --only bundles|burst|steady]

  bundles  bundle sizes, cold imports, per-entry cost of the rules (seconds)
  burst    10,000 entries / 1,000 people / 200 to sign out, Slack's rate tiers on (a few minutes)
  steady   12 entries appearing one by one: reaction time and audit calls a minute (about 3 minutes)
Without --only, all three. The last line of stdout is the figures as JSON.`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } }, strict: true });
  if (values.help) return console.log(USAGE);
  const only = values.only;
  if (only !== undefined && !['bundles', 'burst', 'steady'].includes(only)) throw new Error(`--only takes bundles, burst or steady, got ${only}\n\n${USAGE}`);
  const log = (line: string) => console.error(line);
  const result: Record<string, unknown> = { node: process.version };
  if (!only || only === 'bundles') {
    Object.assign(result, { bundles: bundles(), ...perEntry() });
    for (const b of result.bundles as ReturnType<typeof bundles>) console.log(`${b.name.padEnd(14)} bundle ${String(b.kib).padStart(4)} KiB   cold import ${b.importMs} ms (median of ${RUNS})`);
    console.log(`validate + decide one audit entry: ${result.validateAndDecideUs} µs`);
    console.log(`validate the configuration from its items (once per cache period): ${result.configLoadUs} µs`);
  }
  if (!only || only === 'burst') {
    result.burst = await burstRun(log);
    printSlackRun(result.burst as SlackRunFigures);
  }
  if (!only || only === 'steady') {
    result.steady = await steadyRun(log);
    printSlackRun(result.steady as SlackRunFigures);
  }
  console.log(JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
