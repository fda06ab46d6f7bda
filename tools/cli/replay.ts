import { resolve } from 'node:path';
import { documentClient, secretsClient, sqsClient } from '../../functions/adapters/aws-clients';
import { PollState } from '../../functions/adapters/dynamodb/poll-state';
import { AuditLogsClient } from '../../functions/adapters/slack/audit-logs-client';
import { SecretsManagerTokens } from '../../functions/adapters/slack/tokens';
import { SqsPublisher } from '../../functions/adapters/sqs/queue';
import { replayWindow, type ReplayProgress } from '../../functions/poll-audit-logs/replay';
import { IN_RUN_RETRY } from '../../functions/runtime/retry-policy';
import { parseCommandLine } from '../shared/cli';

const USAGE = `Usage: npm run replay -- --since 2026-11-30T00:00Z [--until 2026-11-30T06:00Z] [--dry-run] [target]

Reads a past window of the audit log through the same pipeline as the poller: its anomaly entries
are enqueued on the anomalies queue, and the respond function decides them as usual. For a first
deployment, or after an outage longer than the poller's overlap. Nothing is acted on twice: entries
enqueued before are dropped (seen records), and entries decided before are skipped by respond
(the response log). The poller's checkpoint is not touched. Progress is printed per page.

  --since TIME     start of the window (ISO 8601, UTC), inclusive
  --until TIME     end of the window (default: now), inclusive
  --dry-run        read and count only: how many entries the window holds and how many are new;
                   enqueue nothing

Target (the deployed stack; values from its outputs, or these environment variables):
  --table NAME     ledger table (LEDGER_TABLE_NAME; output LedgerTableName)
  --queue-url URL  anomalies queue (ANOMALIES_QUEUE_URL; output AnomaliesQueueUrl)
  --secret-id ID   the audit token's secret (SLACK_AUDIT_TOKEN_SECRET_ID; output AuditTokenSecretArn)
  --audit-url URL  Audit Logs API base (SLACK_AUDIT_API_URL; default https://api.slack.com/audit/v1/)
  AWS endpoints and credentials come from the SDK's usual settings (AWS_PROFILE, AWS_ENDPOINT_URL, …).

Or local mode:
  --local          start local mode (emulators and the Slack simulator; the scenario 10 times faster)
                   as a responder deployed just now, whose first poll looks back only a minute (an
                   outage, or a first deployment); then replay the window through it, and print the
                   --once summary as the last line
  --scenario FILE  with --local: the simulator's scenario (default tools/local/scenarios/default.json)`;

export interface ReplayTarget {
  table: string;
  queueUrl: string;
  secretId: string;
  auditUrl: string;
}

/** Replay a window into the target's queue (the stack's, or local mode's), printing progress. */
export async function replayInto(
  target: ReplayTarget,
  window: { oldest: number; latest: number },
  dryRun: boolean,
  print: (line: string) => void,
): Promise<ReplayProgress> {
  const tokens = new SecretsManagerTokens(secretsClient(), { audit: target.secretId });
  const started = Date.now();
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
  print(`replay     ${iso(window.oldest)} → ${iso(window.latest)}${dryRun ? ' (dry run: nothing is enqueued)' : ''}`);
  const result = await replayWindow(
    {
      audit: new AuditLogsClient({ tokens, baseUrl: target.auditUrl }),
      ledger: new PollState(documentClient(), target.table),
      publisher: new SqsPublisher(sqsClient(), target.queueUrl),
      settings: { pageLimit: 200, seenRetentionSeconds: 72 * 3600, transientRetries: IN_RUN_RETRY.pollTransientRetries },
    },
    window,
    {
      dryRun,
      onProgress: (p) => {
        const reached = p.reachedSeconds !== undefined ? `, back to ${iso(p.reachedSeconds)}` : '';
        print(`replay     page ${p.pages}: ${p.entries} entries, ${p.unseen} new${dryRun ? '' : `, ${p.enqueued} enqueued`}${reached} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      },
    },
  );
  print(
    `replay     done: ${result.entries} entries in the window, ${result.entries - result.unseen} already enqueued before, ` +
      (dryRun ? `${result.unseen} would be enqueued` : `${result.enqueued} enqueued`),
  );
  return result;
}

/** An ISO 8601 time as unix seconds, or undefined. Minutes-only times ("2026-11-30T00:00Z") are accepted. */
export function parseTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      since: { type: 'string' },
      until: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      table: { type: 'string' },
      'queue-url': { type: 'string' },
      'secret-id': { type: 'string' },
      'audit-url': { type: 'string' },
      local: { type: 'boolean', default: false },
      scenario: { type: 'string' },
    },
    USAGE,
    print,
  );
  if (!parsed.values) return parsed.exitCode;
  const args = parsed.values;
  const now = Math.floor(Date.now() / 1000);
  const oldest = args.since ? parseTime(args.since) : undefined;
  const latest = args.until ? parseTime(args.until) : now;
  if (oldest === undefined || latest === undefined) {
    console.error(`--since (and --until, if given) must be ISO 8601 times in UTC, e.g. 2026-11-30T00:00Z.\n\n${USAGE}`);
    return 2;
  }
  if (oldest > latest || latest > now + 60) {
    console.error('The window must start before it ends, and not end in the future.');
    return 2;
  }
  const window = { oldest, latest };
  const dryRun = args['dry-run'];

  if (args.local) return replayLocally(window, dryRun, args.scenario, print);

  const target = {
    table: args.table ?? process.env.LEDGER_TABLE_NAME,
    queueUrl: args['queue-url'] ?? process.env.ANOMALIES_QUEUE_URL,
    secretId: args['secret-id'] ?? process.env.SLACK_AUDIT_TOKEN_SECRET_ID,
    auditUrl: args['audit-url'] ?? process.env.SLACK_AUDIT_API_URL ?? 'https://api.slack.com/audit/v1/',
  };
  const missing = (['table', 'queueUrl', 'secretId'] as const).filter((key) => !target[key]);
  if (missing.length) {
    console.error(`Missing ${missing.join(', ')}: pass --table, --queue-url and --secret-id (the stack outputs), or use --local.`);
    return 2;
  }
  await replayInto(target as ReplayTarget, window, dryRun, print);
  return 0;
}

/** Local mode, deployed just now: its own polls miss the older entries, the replay brings them in. */
async function replayLocally(window: { oldest: number; latest: number }, dryRun: boolean, scenario: string | undefined, print: (line: string) => void): Promise<number> {
  const { startLocalPipeline } = await import('../local/pipeline');
  const started = Date.now();
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  const pipeline = await startLocalPipeline({
    scenario: scenario ? resolve(scenario) : undefined,
    // The default scenario's hour in six minutes: most of it is older than the poller looks back.
    timeScale: 10,
    rateLimits: false,
    functionEnv: { POLL_INITIAL_LOOKBACK_SECONDS: '60', POLL_OVERLAP_SECONDS: '60' },
    log,
  });
  try {
    await pipeline.runUntilSettled({ timeoutMs: 5 * 60_000 });
    const before = await pipeline.summary();
    log(`before the replay: ${before.entriesSeen} entries seen by the poller, ${Object.values(before.outcomes).reduce((a, b) => a + b, 0)} decided`);
    await replayInto(
      { table: pipeline.resources.tables.ledger, queueUrl: pipeline.resources.queues.anomalies.url, secretId: process.env.SLACK_AUDIT_TOKEN_SECRET_ID!, auditUrl: process.env.SLACK_AUDIT_API_URL! },
      window,
      dryRun,
      log,
    );
    await pipeline.runUntilSettled({ timeoutMs: 5 * 60_000 });
    const summary = await pipeline.summary();
    print(JSON.stringify(summary));
    return summary.errors.length ? 1 : 0;
  } finally {
    await pipeline.stop();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
