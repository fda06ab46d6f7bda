import { parseArgs } from 'node:util';
import type { ResponseConfigInput } from '../../functions/domain/config/schema';
import type { InvocationReport } from '../local/aws';
import { startLocalPipeline, type LocalPipeline } from '../local/pipeline';
import { generateEntries, type FaultRuleInput, type FaultRuleStatus, type ScenarioInput } from '../local/slack-simulator';
import { checkIntegrity, collectFacts, countBy, integrityFailures, type IntegrityReport } from '../shared/soak-checks';

/**
 * Soak: pushes N generated anomaly entries (default 10,000) through local mode (the real
 * handlers over DynamoDB Local, fauxqs, the SES emulator and the Slack simulator) while the
 * simulator injects seeded faults (audit-log 429/5xx/drops/slow pages, session-reset 429/503,
 * Slack message 429s, directory 5xx, dropped DM opens), then reads back what happened and
 * reports entries lost, duplicate resets, duplicate notifications and excluded users touched.
 * Every one of those must be 0: the exit status is 1 otherwise.
 *
 *   npm run soak [-- --entries 10000] [--seed 1] [--users 2000] [--timeout-minutes 20]
 *
 * Starts and stops its own emulators; everything listens on 127.0.0.1.
 */

const USAGE = `Usage: npm run soak -- [--entries N] [--seed S] [--users U] [--timeout-minutes M]

  --entries N          anomaly entries to generate (default 10000)
  --seed S             seed for the entries and the fault schedule (default 1)
  --users U            people in the generated org (default 2000)
  --timeout-minutes M  give up settling after M minutes (default 20)

Prints a table and, as the last line of stdout, a JSON report. Exit 1 when any entry was lost,
any session reset or notification was duplicated, or an excluded user was touched.`;

interface Options {
  entries: number;
  seed: number;
  users: number;
  timeoutMinutes: number;
}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      users: { type: 'string', default: '2000' },
      'timeout-minutes': { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const int = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes an integer ≥ ${min}, got ${text}`);
    return n;
  };
  return {
    entries: int('entries', values.entries, 1),
    seed: int('seed', values.seed, 0),
    users: int('users', values.users, 10),
    timeoutMinutes: int('timeout-minutes', values['timeout-minutes'], 1),
  };
}

const ENTERPRISE = { id: 'E0SOAKORG1', name: 'Soak Org', domain: 'soak-org' };
const WORKSPACE = 'T0SOAKHQ01';
const ALERT_CHANNEL = 'C0SOAKALRT';
const EXCLUDED_GROUP = 'S0SOAKCTR1';
const COOLDOWN_MINUTES = 30;

/** A generated org: a primary owner, two security admins, `count` people; two excluded people and an excluded group of five. */
function buildOrg(count: number) {
  const person = (i: number) => ({
    id: `W0SK${i.toString().padStart(6, '0')}`,
    name: `person.${i}`,
    real_name: `Person ${i}`,
    email: `person.${i}@soak.example`,
    team: WORKSPACE,
  });
  const people = Array.from({ length: count }, (_, i) => person(i + 1));
  const users = [
    { id: 'W0SKOWNER1', name: 'owner', real_name: 'Olive Owner', email: 'owner@soak.example', team: WORKSPACE, is_primary_owner: true, is_owner: true, is_admin: true },
    { id: 'W0SKSECAD1', name: 'secadmin1', real_name: 'Sam Secadmin', email: 'secadmin1@soak.example', team: WORKSPACE, roles: ['security_admin'] },
    { id: 'W0SKSECAD2', name: 'secadmin2', real_name: 'Sue Secadmin', email: 'secadmin2@soak.example', team: WORKSPACE, roles: ['security_admin'] },
    ...people,
  ];
  const excludedUsers = [people[0].id, people[1].id];
  const groupMembers = people.slice(2, 7).map((p) => p.id);
  const org = {
    enterprise: ENTERPRISE,
    workspaces: [{ id: WORKSPACE, name: 'Soak HQ', domain: 'soak-hq' }],
    users,
    usergroups: [{ id: EXCLUDED_GROUP, name: 'Contractors', handle: 'contractors', users: groupMembers }],
    channels: [{ id: ALERT_CHANNEL, name: 'security-alerts', is_private: true }],
  } satisfies ScenarioInput['org'];
  return { org, users, excludedUsers, groupMembers };
}

function soakConfig(excludedUsers: string[]): ResponseConfigInput {
  return {
    events: {
      tor: { action: 'end_sessions' },
      unexpected_scraping: { action: 'end_sessions' },
      session_fingerprint: { action: 'end_sessions' },
      excessive_downloads: { action: 'notify_only' },
    },
    exclusions: { excludedUsers, excludedGroups: [EXCLUDED_GROUP] },
    notifications: {
      affected_user: { email: true, slack: false },
      sessions_ended: { primaryOwner: [], securityAdmins: ['email', 'slack'], extraEmails: [], slackChannel: ALERT_CHANNEL },
      anomaly_not_acted_on: { primaryOwner: [], securityAdmins: [], extraEmails: [], slackChannel: ALERT_CHANNEL },
      action_failed: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [], slackChannel: ALERT_CHANNEL },
    },
    // The breaker must not hold back a soak's worth of resets; the cooldown holds repeats per person by design.
    safety: { cooldownMinutes: COOLDOWN_MINUTES, maxSessionResetsPerHour: 10_000 },
  };
}

/** Seeded faults on every Slack endpoint the responder uses. Reset faults are all `before`: no ambiguous outcome. */
function soakFaults(seed: number): FaultRuleInput[] {
  const rule = (r: FaultRuleInput, i: number): FaultRuleInput => ({ ...r, seed: seed * 1000 + i });
  return (
    [
      { target: 'audit.logs', kind: 'rate_limit', probability: 0.05, retryAfterSeconds: 1, label: 'audit 429' },
      { target: 'audit.logs', kind: 'server_error', status: 503, probability: 0.05, label: 'audit 503' },
      { target: 'audit.logs', kind: 'drop', probability: 0.03, label: 'audit dropped' },
      { target: 'audit.logs', kind: 'slow', delayMs: 250, probability: 0.1, label: 'audit slow' },
      { target: 'admin.users.session.reset', kind: 'rate_limit', probability: 0.05, retryAfterSeconds: 1, label: 'reset 429' },
      { target: 'admin.users.session.reset', kind: 'server_error', status: 503, phase: 'before', probability: 0.05, label: 'reset 503' },
      { target: 'admin.users.session.reset', kind: 'drop', phase: 'before', probability: 0.02, label: 'reset dropped' },
      // Bulk sign-out: Slack's 429, a 5xx, and a partial failure that names nobody (everyone is then reset one by one).
      { target: 'admin.users.session.resetBulk', kind: 'rate_limit', probability: 0.1, retryAfterSeconds: 1, label: 'resetBulk 429' },
      { target: 'admin.users.session.resetBulk', kind: 'server_error', status: 503, phase: 'before', probability: 0.1, label: 'resetBulk 503' },
      { target: 'admin.users.session.resetBulk', kind: 'error', error: 'failed_for_some_users', phase: 'before', everyNth: 6, label: 'resetBulk failed_for_some_users' },
      { target: 'users.info', kind: 'server_error', status: 500, probability: 0.03, label: 'users.info 500' },
      { target: 'admin.users.list', kind: 'server_error', status: 500, probability: 0.03, label: 'admin.users.list 500' },
      { target: 'chat.postMessage', kind: 'rate_limit', probability: 0.03, retryAfterSeconds: 1, label: 'chat.postMessage 429' },
      { target: 'conversations.open', kind: 'drop', probability: 0.02, label: 'conversations.open dropped' },
    ] satisfies FaultRuleInput[]
  ).map(rule);
}

interface Progress {
  respond: { invocations: number; records: number; failed: number };
  notify: { invocations: number; records: number; failed: number };
}

async function main(): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const started = Date.now();
  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);

  // Entries over the last hour and the next minute; 10% published up to two minutes late.
  const nowSeconds = Math.floor(Date.now() / 1000);
  const spanSeconds = 3600;
  const liveSeconds = 60;
  const { org, users, excludedUsers, groupMembers } = buildOrg(options.users);
  const entries = generateEntries({
    count: options.entries,
    seed: options.seed,
    startSeconds: nowSeconds - spanSeconds + liveSeconds,
    spanSeconds,
    users: users.map((u) => ({ id: u.id, name: u.name, email: u.email, team: ENTERPRISE.id })),
    enterprise: ENTERPRISE,
    lateFraction: 0.1,
    maxArrivalDelaySeconds: 120,
  });
  const faults = soakFaults(options.seed);
  log(`generated ${entries.length} entries about ${users.length} people (seed ${options.seed}); starting emulators and the pipeline…`);
  log('Slack\u2019s rate tiers are on: every Slack call is paced, sign-outs go in bulk, admins get digests during the burst');

  const progress: Progress = { respond: { invocations: 0, records: 0, failed: 0 }, notify: { invocations: 0, records: 0, failed: 0 } };
  const onInvoke = (report: InvocationReport) => {
    const p = progress[report.functionName as keyof Progress];
    if (!p) return;
    p.invocations++;
    p.records += report.messageIds.length;
    p.failed += report.failedMessageIds.length;
  };

  let pipeline: LocalPipeline | undefined;
  const stop = async () => {
    const p = pipeline;
    pipeline = undefined;
    await p?.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

  try {
    pipeline = await startLocalPipeline({
      scenario: { description: 'soak', org, entries } as unknown as ScenarioInput,
      config: soakConfig(excludedUsers),
      faults,
      // Slack's tiers on, as on Slack: ten thousand entries need the pacer, bulk sign-out and the
      // admin digest; a 429 that still happens (a fault rule, or a wrong pace) is waited out.
      rateLimits: true,
      // Failed records come back in seconds rather than the deployed six minutes; bounded, seeded
      // faults never need 20 receives, so nothing reaches a DLQ unless something is wrong.
      queueOverrides: {
        anomalies: { visibilityTimeoutSeconds: 10, maxReceiveCount: 20 },
        notifications: { visibilityTimeoutSeconds: 20, maxReceiveCount: 20 },
      },
      functionEnv: {
        POLL_INITIAL_LOOKBACK_SECONDS: String(spanSeconds + 600),
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        // The admin digest, over one-minute periods so every digest goes out within the run.
        DIGEST_SEND_ALONE: '5',
        DIGEST_PERIOD_SECONDS: '60',
      },
      onInvoke,
    });
    const readyAt = Date.now();
    log(`ready in ${((readyAt - started) / 1000).toFixed(1)} s; processing…`);
    const ticker = setInterval(() => {
      const { respond, notify } = progress;
      log(`respond ${respond.records} records in ${respond.invocations} invocations (${respond.failed} retried); notify ${notify.records} jobs (${notify.failed} retried)`);
    }, 15_000);
    ticker.unref();
    try {
      await pipeline.runUntilSettled({ timeoutMs: options.timeoutMinutes * 60_000 });
    } finally {
      clearInterval(ticker);
    }
    const settledAt = Date.now();
    log(`settled after ${((settledAt - readyAt) / 1000).toFixed(1)} s; reading back what happened…`);

    const summary = await pipeline.summary();
    const facts = await collectFacts(pipeline);
    const excluded = [...excludedUsers, ...groupMembers];
    const integrity = checkIntegrity(facts, { entryIds: entries.map((e) => e.id), excludedUserIds: excluded, cooldownMinutes: COOLDOWN_MINUTES });
    const state = pipeline.simulator!.state();
    const processingSeconds = (settledAt - readyAt) / 1000;
    const report = {
      soak: {
        entries: options.entries,
        seed: options.seed,
        people: users.length,
        excludedUsers: excluded.length,
        lateEntries: entries.filter((e) => e.arrivalDelaySeconds > 0).length,
      },
      entriesGenerated: integrity.entriesGenerated,
      entriesLost: integrity.entriesLost,
      duplicateResets: integrity.duplicateResets,
      duplicateNotifications: integrity.duplicateEmails + integrity.duplicateSlackMessages,
      duplicateEmails: integrity.duplicateEmails,
      duplicateSlackMessages: integrity.duplicateSlackMessages,
      notificationsWithoutReceipt: integrity.notificationsWithoutReceipt,
      notificationsMissing: integrity.notificationsMissing,
      excludedUsersTouched: integrity.excludedUsersTouched.length,
      cooldownViolations: integrity.cooldownViolations,
      deadLetterQueues: integrity.deadLetterQueues,
      outcomes: integrity.outcomes,
      sessionsEnded: integrity.resets,
      resetRequests: integrity.resetRequests,
      rateLimited429: state.rateLimited.total,
      callsByMethod: Object.fromEntries(countBy(state.calls, (c) => c.method)),
      emails: integrity.emails,
      slackMessages: integrity.slackMessages,
      polls: summary.polls,
      respondRecords: progress.respond.records,
      respondRetries: progress.respond.failed,
      notifyJobs: progress.notify.records,
      notifyRetries: progress.notify.failed,
      faultsInjected: Object.fromEntries(state.faults.map((f: FaultRuleStatus) => [f.label ?? `${f.target} ${f.kind}`, f.fired])),
      // Poll invocations that ran out of retries; the next poll resumes the saved window (informational).
      pollFailures: summary.errors.filter((e) => e.startsWith('poll-audit-logs')).length,
      // Failed invocations (not records): none is expected. Grouped by kind, ids elided.
      otherErrors: Object.fromEntries(
        countBy(
          summary.errors.filter((e) => !e.startsWith('poll-audit-logs') && !e.startsWith('dead-letter')),
          (e) => e.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '…').slice(0, 200),
        ),
      ),
      wallSeconds: round((Date.now() - started) / 1000),
      processingSeconds: round(processingSeconds),
      entriesPerSecond: round(options.entries / processingSeconds),
    };
    const failures = [...integrityFailures(integrity), ...Object.entries(report.otherErrors).map(([e, n]) => `${n} × ${e}`)];
    printTable(report, integrity);
    if (failures.length) {
      console.log(`\nFAILED: ${failures.join('; ')}`);
      if (integrity.lostEntryIds.length) console.log(`lost entries (first 20): ${integrity.lostEntryIds.slice(0, 20).join(', ')}`);
    } else {
      console.log('\nOK: no entry lost, nothing done twice, no excluded user touched.');
    }
    console.log(JSON.stringify({ ok: failures.length === 0, failures, ...report }));
    return failures.length ? 1 : 0;
  } finally {
    await stop();
  }
}

function printTable(report: Record<string, unknown> & { deadLetterQueues: { anomalies: number; notifications: number }; faultsInjected: Record<string, number> }, integrity: IntegrityReport) {
  const rows: [string, string | number][] = [
    ['entries generated', integrity.entriesGenerated],
    ['entries lost (no ledger decision)', integrity.entriesLost],
    ['duplicate session resets', integrity.duplicateResets],
    ['duplicate notifications (email + Slack)', integrity.duplicateEmails + integrity.duplicateSlackMessages],
    ['excluded users touched', integrity.excludedUsersTouched.length],
    ['notifications without a ledger receipt', integrity.notificationsWithoutReceipt],
    ['notifications missing', integrity.notificationsMissing],
    ['cooldown violations', integrity.cooldownViolations],
    ['DLQ depth (anomalies / notifications)', `${report.deadLetterQueues.anomalies} / ${report.deadLetterQueues.notifications}`],
    ['', ''],
    ['decisions', Object.entries(integrity.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['sessions ended / reset requests', `${integrity.resets} / ${integrity.resetRequests}`],
    ['HTTP 429s from Slack\u2019s tiers (not fault rules)', String(report.rateLimited429)],
    ['calls per Slack method', Object.entries(report.callsByMethod as Record<string, number>).sort().map(([k, v]) => `${k} ${v}`).join(', ')],
    ['emails / Slack messages', `${integrity.emails} / ${integrity.slackMessages}`],
    ['respond records / retried', `${report.respondRecords} / ${report.respondRetries}`],
    ['notify jobs / retried', `${report.notifyJobs} / ${report.notifyRetries}`],
    ['polls completed / failed (resumed by the next)', `${report.polls} / ${report.pollFailures}`],
    ['faults injected', Object.entries(report.faultsInjected).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['wall time', `${report.wallSeconds} s (processing ${report.processingSeconds} s)`],
    ['throughput', `${report.entriesPerSecond} entries/s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('\nSoak report');
  for (const [key, value] of rows) console.log(key ? `  ${key.padEnd(width)}  ${value}` : '');
}

const round = (n: number) => Math.round(n * 10) / 10;

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
