import { dirname, resolve } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import { responseDetails } from '../shared/response-facts';
import type { PollResult } from '../../functions/poll-audit-logs/poll';
import { readConfigFile, writeConfig } from '../shared/config-file';
import { queryAll, scanAll } from '../shared/dynamodb-pages';
import { sleep } from '../../functions/runtime/time';
import { responseConfigSchema, type ResponseConfigInput } from '../../functions/domain/config/schema';
import { parseOrThrow } from '../../functions/domain/validation';
import { FUNCTIONS } from '../../lib/definitions';
import {
  createLocalClients,
  createResources,
  eventSourceSettings,
  resourceEnv,
  SesStore,
  startEmulators,
  startEventSource,
  startScheduler,
  type Emulators,
  type EventSource,
  type InvocationReport,
  type LocalClients,
  type LocalResources,
  type Scheduler,
  type SentEmail,
} from './aws';
import { startSecretsManager, type LocalSecretsManager } from './secrets-manager';
import type { SlackTokens } from '../../functions/adapters/slack/tokens';
import type { TokenName } from '../../functions/adapters/slack/errors';
import { DEFAULT_SCENARIO_PATH, DEFAULT_TOKENS, loadScenario, startSlackSimulator, type Scenario, type ScenarioInput, type SlackSimulator } from './slack-simulator';

/**
 * Local mode: the real handlers over local emulators (DynamoDB Local, fauxqs, aws-ses-v2-local,
 * a Secrets Manager endpoint) and a Slack simulator (or any Slack-compatible server), wired as
 * the stack wires them: a scheduler invokes the poller, SQS event sources invoke respond and
 * notify. Used by `npm start`, the integration tests and the soak.
 */
export interface LocalPipelineOptions {
  /** Scenario file or object for the simulator (default: tools/local/scenarios/default.json). */
  scenario?: string | ScenarioInput;
  /** Response configuration file (seed format). Default: the scenario's own, else Slack's defaults. */
  configFile?: string;
  /** Response configuration as an object (seed format), instead of a file. */
  config?: ResponseConfigInput;
  /** An external Slack-compatible server instead of the simulator: Web API at URL/api/, audit logs at URL/audit/v1/. */
  slackUrl?: string;
  /** Tokens for an external server, in the Slack secret's shape (default: the simulator's defaults). */
  slackTokens?: SlackTokens;
  /** Divide the scenario's times (ages, late arrivals) by this, to replay an hour in a minute. */
  timeScale?: number;
  /** Poll period of the scheduler in continuous mode (default: 5 s). */
  pollEverySeconds?: number;
  /** Reuse running emulators (jest globalSetup); otherwise they are started and stopped here. */
  emulators?: Emulators;
  /** Extra environment for the functions (e.g. POLL_OVERLAP_SECONDS). */
  functionEnv?: Record<string, string>;
  /** Enforce Slack's per-method rate tiers in the simulator (default: on, as Slack does). */
  rateLimits?: boolean;
  /** Simulator fault rules (see tools/local/slack-simulator). */
  faults?: Parameters<SlackSimulator['setFaults']>[0];
  /** Queue settings to override (e.g. a short visibility timeout in tests). */
  queueOverrides?: Parameters<typeof createResources>[1]['queueOverrides'];
  /** Event-source settings to override per consumer (e.g. batch size 1 and more concurrency, to deliver duplicates to concurrent invocations). */
  eventSourceOverrides?: Partial<Record<'respond' | 'notify', { batchSize?: number; concurrency?: number; maxBatchingWindowSeconds?: number }>>;
  /** Called after every respond and notify invocation (result, records, failed records, duration). */
  onInvoke?: (report: InvocationReport) => void;
  /** Show the functions' own INFO logs and metrics. */
  verbose?: boolean;
  /** Progress lines. Default: none. */
  log?: (line: string) => void;
}

export interface RunSummary {
  /** Distinct audit entries the poller enqueued (its seen-entry records). */
  entriesSeen: number;
  /** Entries re-read in an overlap window (or repeated by Slack) and dropped, by polls that completed. */
  duplicatesDropped: number;
  polls: number;
  /** Ledger decisions by outcome (sessions_ended, notified, ignored, rejected, failed:<code>). */
  outcomes: Record<string, number>;
  /** User IDs whose sessions were ended, one per audit entry acted on, sorted. */
  sessionsEnded: string[];
  /** Per user whose sessions ended (or would have, in a dry run): which sessions ("all", "web", "mobile", "session"). */
  scopes: Record<string, string>;
  /** Emails as read back from the SES emulator. */
  emails: { to: string; subject: string }[];
  /** Slack messages posted (read back from the simulator, else from the ledger's delivery receipts). */
  slackMessages: { channel: string }[];
  deadLetterQueues: { anomalies: number; notifications: number };
  /** HTTP 429s the simulator answered (Slack's rate tiers), by method; absent with an external server. */
  rateLimited?: { total: number; byMethod: Record<string, number> };
  /** Failed invocations, poll errors, unmet scenario expectations. Empty on a clean run. */
  errors: string[];
  /** The scenario's `expect` block, checked when its own config was used. */
  expectations?: { checked: string[]; failed: string[] };
  sesInboxUrl: string;
}

export interface SettleOptions {
  /** Give up after this long in all (default 120 s). */
  timeoutMs?: number;
  /** Give up when every poll has failed for this long (default 60 s). */
  pollFailureLimitMs?: number;
  /** Give up when no message was processed and nothing enqueued for this long while work waits (default 120 s). */
  stallAfterMs?: number;
}

/** The pipeline cannot make progress; the message says why. */
export class SettleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettleError';
  }
}

export interface LocalPipeline {
  simulator?: SlackSimulator;
  emulators: Emulators;
  clients: LocalClients;
  resources: LocalResources;
  /**
   * Poll, process and drain until the audit log yields nothing new and every queue is empty.
   * Throws a SettleError naming the reason when that cannot happen: polls failing for
   * `pollFailureLimitMs`, nothing processed for `stallAfterMs` while work is waiting, or `timeoutMs`.
   */
  runUntilSettled(options?: SettleOptions): Promise<void>;
  /** Start the scheduler (continuous mode): polls every `pollEverySeconds`. */
  startScheduler(): void;
  summary(): Promise<RunSummary>;
  /** The emails this pipeline sent (its own sender), with their text, as the SES emulator stored them. */
  sentEmails(): Promise<SentEmail[]>;
  stop(): Promise<void>;
}

/** One secret per token, as deployed (lib/stateful-stack.ts). */
const SECRET_IDS: Record<TokenName, string> = {
  audit: 'local/slack-anomaly-responder/audit-token',
  admin: 'local/slack-anomaly-responder/admin-token',
  directory: 'local/slack-anomaly-responder/directory-token',
  bot: 'local/slack-anomaly-responder/bot-token',
};

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type ScheduledHandler = (event: unknown, context: Context) => Promise<{ rounds: PollResult[] }>;

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const log = options.log ?? (() => undefined);
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    const emulators = options.emulators ?? (await startEmulators());
    if (!options.emulators) cleanups.push(() => emulators.stop());
    const clients = createLocalClients(emulators.endpoints, emulators.region);
    cleanups.push(() => clients.destroy());

    const prefix = `sar-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix, queueOverrides: options.queueOverrides });
    log(`resources  DynamoDB Local ${emulators.endpoints.dynamodb}: tables ${Object.values(resources.tables).join(', ')}; queues ${Object.values(resources.queues).map((q) => q.name).join(', ')} (+ DLQs)`);

    let simulator: SlackSimulator | undefined;
    let scenario: Scenario | undefined;
    let slackApiUrl: string;
    let slackAuditUrl: string;
    let tokens = options.slackTokens;
    if (options.slackUrl) {
      const base = options.slackUrl.replace(/\/+$/, '');
      slackApiUrl = `${base}/api/`;
      slackAuditUrl = `${base}/audit/v1/`;
      // Default: the tokens this project's simulator accepts, so `--slack-url` works against it run on its own.
      tokens ??= { auditToken: DEFAULT_TOKENS.audit, adminToken: DEFAULT_TOKENS.admin, botToken: DEFAULT_TOKENS.bot };
      log(`slack      external server ${base}`);
    } else {
      scenario = compressTime(loadScenario(options.scenario ?? DEFAULT_SCENARIO_PATH), options.timeScale ?? 1);
      simulator = await startSlackSimulator({ scenario, faults: options.faults ? [...options.faults] : undefined, rateLimits: options.rateLimits ?? true });
      cleanups.push(() => simulator!.stop());
      slackApiUrl = simulator.apiUrl;
      slackAuditUrl = simulator.auditApiUrl;
      tokens = { auditToken: simulator.tokens.audit, adminToken: simulator.tokens.admin, botToken: simulator.tokens.bot };
      log(`slack      simulator ${simulator.url} (${scenario.org.users.length} people, ${scenario.entries.length} anomaly entries from ${scenario.source})`);
    }

    // A sender of its own tells this pipeline's emails apart in an SES emulator shared with other runs.
    const sender = `anomaly-responder+${prefix}@example.com`;
    const sentEmails = async () => (await new SesStore(emulators.endpoints.ses).emails()).filter((e) => e.from.includes(sender));

    // One local secret per token, as deployed. The simulator knows three tokens: without a
    // directory token of its own, notify reads the directory with the admin token.
    const tokenValues: Record<TokenName, string> = { audit: tokens.auditToken, admin: tokens.adminToken, directory: tokens.directoryToken ?? tokens.adminToken, bot: tokens.botToken };
    const secrets: LocalSecretsManager = await startSecretsManager(
      Object.fromEntries((Object.keys(SECRET_IDS) as TokenName[]).map((name) => [SECRET_IDS[name], tokenValues[name]])),
    );
    cleanups.push(() => secrets.stop());

    const configFile = options.config ? undefined : (options.configFile ?? scenarioConfigFile(scenario) ?? resolve(__dirname, '../../config/default-config.json'));
    const config = configFile ? readConfigFile(configFile) : parseOrThrow(responseConfigSchema, options.config, 'config');
    await writeConfig(clients.documents, resources.tables.config, config);
    log(`config     seeded from ${configFile ?? 'the given object'}`);

    Object.assign(process.env, {
      ...emulators.env,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      ...resourceEnv(resources),
      SLACK_AUDIT_TOKEN_SECRET_ID: SECRET_IDS.audit,
      SLACK_ADMIN_TOKEN_SECRET_ID: SECRET_IDS.admin,
      SLACK_DIRECTORY_TOKEN_SECRET_ID: SECRET_IDS.directory,
      SLACK_BOT_TOKEN_SECRET_ID: SECRET_IDS.bot,
      SLACK_API_URL: slackApiUrl,
      SLACK_AUDIT_API_URL: slackAuditUrl,
      SENDER_EMAIL: sender,
      POLL_ROUNDS: '1',
      POLL_INTERVAL_SECONDS: '0',
      // No admin digest unless asked for (functionEnv): the soak's and the tests' checks count one
      // admin message per notification; `npm run bench` turns it on for the burst.
      DIGEST_SEND_ALONE: '0',
      POWERTOOLS_METRICS_DISABLED: options.verbose ? 'false' : 'true',
      POWERTOOLS_LOG_LEVEL: options.verbose ? 'INFO' : 'ERROR',
      ...options.functionEnv,
    });

    // The real handlers, loaded after their environment is in place (they read it once, at init).
    /* eslint-disable @typescript-eslint/no-require-imports */
    const poller = require('../../functions/poll-audit-logs/handler').handler as ScheduledHandler;
    const respond = require('../../functions/respond/handler').handler as SqsHandler;
    const notify = require('../../functions/notify/handler').handler as SqsHandler;
    /* eslint-enable @typescript-eslint/no-require-imports */

    const errors: string[] = [];
    // lastQuiet: the last poll read its whole window and found nothing new (a failed or interrupted poll is not quiet).
    const pollTotals = { enqueued: 0, duplicatesDropped: 0, polls: 0, lastEnqueued: 0, lastQuiet: false };
    // Since when every poll has failed (undefined after a successful one), and the last failure.
    const pollFailures: { since?: number; last?: string } = {};
    let lastInvocationError: string | undefined;
    const pollerSettings = { functionName: 'poll-audit-logs', timeoutSeconds: FUNCTIONS.pollAuditLogs.timeoutSeconds, memoryMiB: FUNCTIONS.pollAuditLogs.memoryMiB };
    const pollAndCount: ScheduledHandler = async (event, context) => {
      pollTotals.lastQuiet = false;
      const result = await poller(event, context);
      const enqueued = result.rounds.reduce((n, r) => n + r.enqueued, 0);
      const dropped = result.rounds.reduce((n, r) => n + r.duplicatesDropped, 0);
      pollTotals.polls++;
      pollTotals.enqueued += enqueued;
      pollTotals.duplicatesDropped += dropped;
      pollTotals.lastEnqueued = enqueued;
      pollTotals.lastQuiet = enqueued === 0 && result.rounds.every((r) => r.completed);
      // Idle polls stay quiet: every poll re-reads its overlap window, so "already seen" alone is no news.
      if (enqueued) log(`poll       ${enqueued} new anomaly entries enqueued${dropped ? `, ${dropped} already seen dropped` : ''}`);
      return result;
    };
    let scheduler: Scheduler | undefined;
    const makeScheduler = (everySeconds: number, runImmediately: boolean) =>
      startScheduler({
        ...pollerSettings,
        handler: pollAndCount,
        everySeconds,
        runImmediately,
        onInvoke: (report) => {
          if (report.result !== 'success') {
            const error = `poll-audit-logs ${report.result}: ${describe(report.error)}`;
            errors.push(error);
            pollFailures.since ??= Date.now();
            pollFailures.last = error;
          } else {
            pollFailures.since = undefined;
          }
        },
      });
    scheduler = makeScheduler(24 * 3600, false);
    cleanups.push(() => scheduler?.stop());

    // The two SQS consumers, wired as the stack wires them (EVENT_SOURCES), reporting failed invocations.
    const consume = (name: 'respond' | 'notify', handler: SqsHandler): EventSource =>
      startEventSource({
        ...eventSourceSettings(name, resources),
        ...options.eventSourceOverrides?.[name],
        sqs: clients.sqs,
        handler,
        pollWaitSeconds: 0,
        onInvoke: (report) => {
          if (report.result === 'error' || report.result === 'timeout' || report.result === 'invalid-response') {
            errors.push(`${name} ${report.result}: ${describe(report.error)}`);
          }
          if (report.result !== 'success') lastInvocationError = `${name} ${report.result}: ${describe(report.error)}`;
          else if (report.failedMessageIds.length) lastInvocationError = `${name} handed ${report.failedMessageIds.length} message(s) back for a retry`;
          options.onInvoke?.(report);
        },
      });
    const sources: Record<'respond' | 'notify', EventSource> = { respond: consume('respond', respond), notify: consume('notify', notify) };
    cleanups.push(() => Promise.all([sources.respond.stop(), sources.notify.stop()]));

    // Progress only prints: without a log it would only cost (it re-reads the SES store every second).
    const progress = options.log ? startProgress({ clients, resources, simulator, names: scenario ? directoryNames(scenario) : {}, sentEmails, log }) : { flush: async () => undefined, stop: async () => undefined };
    cleanups.push(() => progress.stop());

    const pipeline: LocalPipeline = {
      simulator,
      emulators,
      clients,
      resources,
      async runUntilSettled({ timeoutMs = 120_000, pollFailureLimitMs = 60_000, stallAfterMs = 120_000 } = {}) {
        const deadline = Date.now() + timeoutMs;
        const remaining = () => Math.max(1000, deadline - Date.now());
        // Progress: anything enqueued or any message handled. Waiting out a Retry-After is not
        // progress, but it ends well within stallAfterMs; a message failing forever never does.
        const handled = () => pollTotals.enqueued + sources.respond.stats.succeeded + sources.notify.stats.succeeded;
        let lastProgress = handled();
        let lastProgressAt = Date.now();
        const checkStall = async () => {
          if (handled() !== lastProgress) {
            lastProgress = handled();
            lastProgressAt = Date.now();
            return;
          }
          if (Date.now() - lastProgressAt < stallAfterMs) return;
          const waiting = await waitingMessages(clients, resources);
          throw new SettleError(
            `nothing could be processed for ${Math.round(stallAfterMs / 1000)} s while ${waiting} waiting in the queues` +
              (lastInvocationError ? ` (last failure: ${lastInvocationError})` : ''),
          );
        };
        const drain = async (source: EventSource) => {
          for (;;) {
            if (Date.now() > deadline) throw new SettleError(`did not settle within ${Math.round(timeoutMs / 1000)} s`);
            try {
              return await source.drained({ timeoutMs: Math.min(1000, remaining()) });
            } catch {
              await checkStall();
            }
          }
        };
        let quietRounds = 0;
        // Settled: nothing left to arrive (the simulator knows; an external server must stay quiet
        // for two polls), the last poll found nothing new, and both queues are empty.
        for (;;) {
          if (Date.now() > deadline) throw new SettleError(`did not settle within ${Math.round(timeoutMs / 1000)} s`);
          await scheduler!.runOnce();
          if (pollFailures.since !== undefined && Date.now() - pollFailures.since >= pollFailureLimitMs) {
            throw new SettleError(`every audit-log poll failed for ${Math.round(pollFailureLimitMs / 1000)} s (last: ${pollFailures.last})`);
          }
          await drain(sources.respond);
          await drain(sources.notify);
          await progress.flush();
          const nextArrivalMs = simulator ? msUntilNextArrival(simulator) : 0;
          quietRounds = pollTotals.lastQuiet && nextArrivalMs === 0 ? quietRounds + 1 : 0;
          if (quietRounds >= (simulator ? 1 : 2)) return;
          // Entries published late arrive behind the checkpoint: poll again once they are out.
          if (nextArrivalMs > 0) await sleep(Math.min(nextArrivalMs + 50, remaining()));
          // An external server is polled at the scheduler's pace, never in a tight loop: the audit
          // API's budget is org-wide and shared with the org's SIEM.
          else if (!simulator) await sleep(Math.min((options.pollEverySeconds ?? 5) * 1000, remaining()));
        }
      },
      startScheduler() {
        void scheduler?.stop();
        scheduler = makeScheduler(options.pollEverySeconds ?? 5, true);
      },
      async summary() {
        await progress.flush();
        const decisions = await allDecisions(clients, resources);
        const outcomes: Record<string, number> = {};
        for (const d of decisions) outcomes[d.outcome ?? 'unknown'] = (outcomes[d.outcome ?? 'unknown'] ?? 0) + 1;
        const sessionsEnded = decisions.filter((d) => d.outcome === 'sessions_ended').map((d) => d.userId!).sort();
        // Which sessions each reset ended, as the response log records it (the alert says the same).
        const scopes = Object.fromEntries(
          decisions
            .filter((d) => d.outcome === 'sessions_ended' || d.outcome === 'dry_run')
            .map((d) => [d.userId!, `${(d.response as { scope?: string } | undefined)?.scope ?? 'all'}${d.outcome === 'dry_run' ? ' (dry run)' : ''}`]),
        );
        const emails = (await sentEmails()).map((e) => ({ to: e.to.join(', '), subject: e.subject }));
        const slackMessages = simulator
          ? simulator.state().messages.map((m) => ({ channel: m.channel }))
          : (await deliveryReceipts(clients, resources)).filter((r) => r.channel === 'slack').map((r) => ({ channel: r.address }));
        const deadLetterQueues = {
          anomalies: await queueDepth(clients, resources.queues.anomalies.dlqUrl),
          notifications: await queueDepth(clients, resources.queues.notifications.dlqUrl),
        };
        const summary: RunSummary = {
          // Counted from the ledger's seen records: a poll that failed midway enqueued entries too.
          entriesSeen: (await scanLedger(clients, resources, 'begins_with(pk, :seen)', { ':seen': 'seen#' })).length,
          duplicatesDropped: pollTotals.duplicatesDropped,
          polls: pollTotals.polls,
          outcomes,
          sessionsEnded,
          scopes,
          emails,
          slackMessages,
          deadLetterQueues,
          ...(simulator ? { rateLimited: simulator.state().rateLimited } : {}),
          errors: [...errors],
          sesInboxUrl: emulators.sesInboxUrl,
        };
        if (deadLetterQueues.anomalies || deadLetterQueues.notifications) {
          summary.errors.push(`dead-letter queues hold messages: ${JSON.stringify(deadLetterQueues)}`);
        }
        if (scenario?.expect && configFile && configFile === scenarioConfigFile(scenario)) {
          summary.expectations = checkExpectations(scenario, decisions, simulator);
          summary.errors.push(...summary.expectations.failed.map((f) => `expectation not met: ${f}`));
        }
        return summary;
      },
      sentEmails,
      stop: stopAll,
    };
    return pipeline;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The config file a scenario names in `expect.config`, relative to the scenario file. */
function scenarioConfigFile(scenario: Scenario | undefined): string | undefined {
  const name = (scenario?.expect as { config?: unknown } | undefined)?.config;
  if (!scenario || typeof name !== 'string' || scenario.source === '(object)') return undefined;
  return resolve(dirname(scenario.source), name);
}

/** Replay a scenario faster: ages and arrival delays divided by `factor` (whole seconds). */
function compressTime(scenario: Scenario, factor: number): Scenario {
  if (factor === 1) return scenario;
  const scale = (seconds: number) => Math.round(seconds / factor);
  return {
    ...scenario,
    entries: scenario.entries.map((entry) => ({
      ...entry,
      ...(entry.ageSeconds !== undefined ? { ageSeconds: scale(entry.ageSeconds) } : {}),
      arrivalDelaySeconds: scale(entry.arrivalDelaySeconds ?? 0),
    })),
  };
}

/** Milliseconds until the simulator serves its next not-yet-visible entry (0: none pending). */
function msUntilNextArrival(simulator: SlackSimulator): number {
  const state = simulator.state();
  const next = state.entries.items.filter((e) => !e.visible).reduce((min, e) => Math.min(min, e.visibleAt), Infinity);
  return Number.isFinite(next) ? Math.max(1, next * 1000 - state.now) : 0;
}

function checkExpectations(scenario: Scenario, decisions: DecisionRecord[], simulator?: SlackSimulator): { checked: string[]; failed: string[] } {
  const expect = scenario.expect as { sessionsEnded?: string[]; untouched?: string[]; rejected?: string[] };
  const checked: string[] = [];
  const failed: string[] = [];
  // One session ended (admin.users.session.invalidate) counts as a reset too.
  const state = simulator?.state();
  const resets = state
    ? [...state.resets.map((r) => r.userId), ...state.invalidations.map((i) => i.userId)]
    : decisions.filter((d) => d.outcome === 'sessions_ended').map((d) => d.userId!);
  if (expect.sessionsEnded) {
    checked.push('sessionsEnded');
    const actual = [...resets].sort();
    if (JSON.stringify(actual) !== JSON.stringify([...expect.sessionsEnded].sort())) {
      failed.push(`sessionsEnded: expected ${expect.sessionsEnded.join(',')} got ${actual.join(',')}`);
    }
  }
  if (expect.untouched) {
    checked.push('untouched');
    const touched = expect.untouched.filter((u) => resets.includes(u));
    if (touched.length) failed.push(`untouched: sessions ended for ${touched.join(',')}`);
  }
  if (expect.rejected) {
    checked.push('rejected');
    const rejected = new Set(decisions.filter((d) => d.outcome === 'rejected').map((d) => d.entryId));
    const missing = expect.rejected.filter((id) => !rejected.has(id));
    if (missing.length) failed.push(`rejected: not recorded as rejected: ${missing.join(',')}`);
  }
  return { checked, failed };
}

/** Every ledger item matching `filter`, across pages. */
async function scanLedger(clients: LocalClients, resources: LocalResources, filter: string, values: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  return scanAll(clients.documents, {
    TableName: resources.tables.ledger,
    FilterExpression: filter,
    ...(filter.includes('#status') ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
    ExpressionAttributeValues: values,
  });
}

async function allDecisions(clients: LocalClients, resources: LocalResources): Promise<DecisionRecord[]> {
  return (await scanLedger(clients, resources, 'sk = :decision AND #status = :done', { ':decision': 'decision', ':done': 'done' })) as unknown as DecisionRecord[];
}

async function deliveryReceipts(clients: LocalClients, resources: LocalResources): Promise<{ channel: string; address: string }[]> {
  const items = await scanLedger(clients, resources, 'begins_with(sk, :sent) AND #status = :done', { ':sent': 'sent#', ':done': 'sent' });
  return items.map((item) => {
    // sk = sent#<type>#<channel>#<recipientKey>, recipientKey = kind:address
    const [, , channel, recipientKey] = String(item.sk).split('#');
    return { channel, address: recipientKey?.split(':').slice(1).join(':') ?? '' };
  });
}

/** How many messages wait in the two work queues, in words. */
async function waitingMessages(clients: LocalClients, resources: LocalResources): Promise<string> {
  const anomalies = await queueDepth(clients, resources.queues.anomalies.url);
  const notifications = await queueDepth(clients, resources.queues.notifications.url);
  return `${anomalies} anomaly message(s) and ${notifications} notification job(s) are`;
}

async function queueDepth(clients: LocalClients, queueUrl: string): Promise<number> {
  const out = await clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = out.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

/**
 * Prints what the pipeline did, read back from its effects: ledger decisions, sessions the
 * Slack server saw reset, emails in the SES emulator, Slack messages posted.
 */
function startProgress(input: {
  clients: LocalClients;
  resources: LocalResources;
  simulator?: SlackSimulator;
  /** People and channels by id, to say who rather than which id. */
  names: Record<string, string>;
  sentEmails: () => Promise<SentEmail[]>;
  log: (line: string) => void;
}) {
  const who = (id: string) => (input.names[id] ? `${input.names[id]} (${id})` : id);
  const printedDecisions = new Set<string>();
  let resetsPrinted = 0;
  let messagesPrinted = 0;
  let emailsPrinted = 0;
  let since = new Date(Date.now() - 60_000).toISOString();
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    for (const day of new Set([since.slice(0, 10), new Date().toISOString().slice(0, 10)])) {
      const items = await queryAll(input.clients.documents, {
        TableName: input.resources.tables.ledger,
        IndexName: 'byDay',
        KeyConditionExpression: '#day = :day AND decidedAt >= :since',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':day': day, ':since': since },
      });
      for (const d of items as unknown as DecisionRecord[]) {
        if (printedDecisions.has(d.entryId)) continue;
        printedDecisions.add(d.entryId);
        const what = [...(d.events ?? []), ...(d.otherReasons ?? [])].join('+') || d.reason;
        const detail = responseDetails(d);
        input.log(`decide     ${d.entryId.slice(0, 8)} ${d.userId ?? d.entityType ?? '-'} ${what} → ${d.decision} (${d.reason}) ⇒ ${d.outcome}${detail.length ? ` [${detail.join(', ')}]` : ''}`);
        if (d.decidedAt && d.decidedAt > since) since = d.decidedAt;
      }
    }
    if (input.simulator) {
      const state = input.simulator.state();
      for (const reset of state.resets.slice(resetsPrinted)) input.log(`slack      sessions ended for ${who(reset.userId)}`);
      resetsPrinted = state.resets.length;
      for (const message of state.messages.slice(messagesPrinted)) {
        const to = message.userId ? `DM to ${who(message.userId)}` : `post in ${who(message.channel)}`;
        const text = (message.text ?? '').replace(/<@([UW][A-Z0-9]+)>/g, (_m, id: string) => `@${input.names[id] ?? id}`);
        input.log(`slack      ${to}: ${text.slice(0, 100)}`);
      }
      messagesPrinted = state.messages.length;
    }
    const emails = await input.sentEmails();
    for (const email of emails.slice(emailsPrinted)) input.log(`email      to ${email.to.join(', ')}: ${email.subject}`);
    emailsPrinted = emails.length;
  };
  const flush = () => (running = running.then(tick, tick).catch(() => undefined));
  const timer = setInterval(() => void flush(), 1000);
  timer.unref();
  return {
    flush,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/** Real names of the scenario's people and `#names` of its channels, by id. */
function directoryNames(scenario: Scenario): Record<string, string> {
  const names: Record<string, string> = {};
  for (const user of scenario.org.users) names[user.id] = user.real_name;
  for (const channel of scenario.org.channels) names[channel.id] = `#${channel.name}`;
  return names;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

