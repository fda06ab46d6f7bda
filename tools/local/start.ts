import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { slackSecretSchema } from '../../functions/adapters/slack/tokens';
import { parseCommandLine } from '../shared/cli';
import { startLocalPipeline, type LocalPipeline } from './pipeline';
import { clearLocalState, writeLocalState } from '../shared/local-state';

const USAGE = `Usage: npm start -- [options]

Runs slack-anomaly-responder on this machine: DynamoDB Local, an SQS emulator, an SES emulator and
a Slack Enterprise simulator, with the real Lambda handlers. No AWS account or Slack org needed.

Options:
  --once              run until the audit log yields nothing new and every queue is drained, print a
                      JSON summary as the last line of stdout, exit 0 (1 if anything failed). Never
                      hangs: gives up with exit 1 and the reason on stderr (and in the summary's
                      errors) when every poll has failed for a minute or nothing can be processed.
                      npm prints its own banner on stdout: use \`npm start --silent -- --once\`
                      or --summary FILE for JSON alone
  --summary FILE      with --once: also write the JSON summary to FILE
  --scenario FILE     the simulator's org and anomaly entries (default: tools/local/scenarios/default.json;
                      format: tools/local/scenarios/README.md)
  --config FILE       response configuration to seed, same format as \`npm run seed\`
                      (default: the scenario's own config, else config/default-config.json)
  --slack-url URL     use an external Slack-compatible server instead of the simulator:
                      Web API at URL/api/<method>, audit logs at URL/audit/v1/logs
  --slack-tokens FILE with --slack-url: a JSON file {"auditToken","adminToken","botToken"} and
                      optionally "directoryToken" (else notify reads with the admin token); each
                      goes into its own local secret, as deployed (default: the simulator's tokens)
  --time-scale N      replay the scenario N times faster (default: 1; with --once: 40)
  --poll-every SECS   how often the scheduler invokes the poller (default: 5)
  --no-rate-limits    let the simulator answer without Slack's per-method rate tiers (quick demos;
                      by default it enforces them, as Slack does)
  --verbose           also print the functions' own JSON logs
  -h, --help          this text`;

async function main(): Promise<number> {
  const parsed = parseCommandLine(
    process.argv.slice(2),
    {
      once: { type: 'boolean', default: false },
      summary: { type: 'string' },
      scenario: { type: 'string' },
      config: { type: 'string' },
      'slack-url': { type: 'string' },
      'slack-tokens': { type: 'string' },
      'time-scale': { type: 'string' },
      'poll-every': { type: 'string', default: '5' },
      verbose: { type: 'boolean', default: false },
      'no-rate-limits': { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (!parsed.values) return parsed.exitCode;
  const args = parsed.values;
  if (args.summary && !args.once) {
    console.error('--summary FILE goes with --once');
    return 2;
  }
  const timeScale = Number(args['time-scale'] ?? (args.once ? 40 : 1));
  const pollEverySeconds = Number(args['poll-every']);
  if (!(timeScale > 0) || !(pollEverySeconds > 0)) {
    console.error('--time-scale and --poll-every take positive numbers');
    return 2;
  }

  let slackTokens;
  if (args['slack-tokens']) {
    try {
      slackTokens = slackSecretSchema.parse(JSON.parse(readFileSync(resolve(args['slack-tokens']), 'utf8')));
    } catch (error) {
      // Never echo the file: it holds tokens.
      console.error(`--slack-tokens ${args['slack-tokens']} must be a JSON object with auditToken, adminToken, botToken and optionally directoryToken (${(error as Error).name})`);
      return 2;
    }
  }

  const started = Date.now();
  // In --once mode stdout's last line is the summary: progress goes to stderr.
  const log = (line: string) => (args.once ? console.error : console.log)(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
  log('starting emulators (DynamoDB Local, SQS, SES) and the Slack simulator…');
  let pipeline: LocalPipeline | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    // One Ctrl-C arrives several times: the terminal signals the whole process group, and npm and
    // tsx each pass it on to their child. So a repeat is not a second request; it is ignored.
    if (stopping) return;
    stopping = true;
    log('stopping: draining in-flight invocations, then the emulators…');
    await pipeline?.stop();
    clearLocalState();
    log('stopped');
    process.exit(code);
  };
  // process.on, not once: while our handler is registered the emulators leave shutdown to us
  // (a `once` handler is gone by the time theirs looks, and they would stop first, under the
  // event sources still polling them: ECONNREFUSED).
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));

  try {
    pipeline = await startLocalPipeline({
      scenario: args.scenario ? resolve(args.scenario) : undefined,
      configFile: args.config ? resolve(args.config) : undefined,
      slackUrl: args['slack-url'],
      slackTokens,
      timeScale,
      pollEverySeconds,
      rateLimits: !args['no-rate-limits'],
      verbose: args.verbose,
      log,
    });
  } catch (error) {
    console.error(`Could not start local mode: ${(error as Error).message}`);
    await pipeline?.stop();
    return 1;
  }
  log(`ready. Sent emails: ${pipeline.emulators.sesInboxUrl} (web inbox)${pipeline.simulator ? `; Slack simulator state: ${pipeline.simulator.url}/_sim/state` : ''}`);
  log(`DynamoDB Local: ${pipeline.emulators.endpoints.dynamodb} (ledger table ${pipeline.resources.tables.ledger}); \`npm run history -- --local --day YYYY-MM-DD\` queries it`);
  writeLocalState({
    pid: process.pid,
    dynamodbEndpoint: pipeline.emulators.endpoints.dynamodb,
    region: pipeline.emulators.region,
    ledgerTable: pipeline.resources.tables.ledger,
    configTable: pipeline.resources.tables.config,
  });

  if (!args.once) {
    pipeline.startScheduler();
    log(`polling every ${pollEverySeconds}s; Ctrl-C to stop`);
    await new Promise(() => undefined); // until a signal
  }

  let unsettled: string | undefined;
  try {
    await pipeline.runUntilSettled({ timeoutMs: 5 * 60_000 });
  } catch (error) {
    unsettled = `did not finish: ${(error as Error).message}`;
    console.error(unsettled);
  }
  const summary = await pipeline.summary();
  if (unsettled) summary.errors.unshift(unsettled);
  await pipeline.stop();
  clearLocalState();
  log(
    `done: ${summary.entriesSeen} entries, ${summary.sessionsEnded.length} session resets, ${summary.emails.length} emails, ` +
      `${summary.slackMessages.length} Slack messages, ${summary.errors.length} errors`,
  );
  console.log(JSON.stringify(summary));
  if (args.summary) writeFileSync(resolve(args.summary), `${JSON.stringify(summary, null, 2)}\n`);
  return summary.errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    // One line, not a stack: the message says what went wrong.
    console.error(`npm start: ${(error as Error).message ?? String(error)}`);
    clearLocalState();
    process.exit(1);
  },
);
