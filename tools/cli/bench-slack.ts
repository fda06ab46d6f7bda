import type { ResponseConfigInput } from '../../functions/domain/config/schema';
import { startLocalPipeline, type LocalPipeline } from '../local/pipeline';
import { generateEntries, type GeneratedEntry, type ScenarioInput } from '../local/slack-simulator';
import { seededRandom } from '../local/slack-simulator/random';
import { sleep } from '../../functions/runtime/time';

/**
 * The Slack side of the benchmark: the real pipeline in local mode against the simulator with
 * Slack's rate tiers ON, at the deployed cadence (eight polls a minute, 9,999-entry pages).
 *
 * - burst: 10,000 anomaly entries about 1,000 people, all visible at once; 200 of the people
 *   have an event whose rule ends sessions (tor, data scraping), the rest only events that are
 *   off; breaker raised to 1,000 an hour. Prints time to contain, per-person latency, 429s,
 *   calls per Slack method, audit calls a minute, emails, dead-lettered.
 * - steady: 12 entries appearing one by one, 10 s apart: reaction from an entry becoming
 *   visible to its sessions ending, and the audit calls a minute spent.
 *
 * Figures, not assertions: nothing here fails on a slow machine.
 */

const ENTERPRISE = { id: 'E0BENCHORG', name: 'Bench Org', domain: 'bench-org' };
const WORKSPACE = 'T0BENCHWS1';

function org(people: number) {
  const person = (i: number) => ({ id: `W0BN${i.toString().padStart(6, '0')}`, name: `person.${i}`, real_name: `Person ${i}`, email: `person.${i}@bench.example`, team: WORKSPACE });
  const members = Array.from({ length: people }, (_, i) => person(i + 1));
  return {
    members,
    org: {
      enterprise: ENTERPRISE,
      workspaces: [{ id: WORKSPACE, name: 'Bench HQ', domain: 'bench-hq' }],
      users: [
        { id: 'W0BNOWNER1', name: 'owner', real_name: 'Olive Owner', email: 'owner@bench.example', team: WORKSPACE, is_primary_owner: true, is_owner: true, is_admin: true },
        { id: 'W0BNSECAD1', name: 'secadmin1', real_name: 'Sam Secadmin', email: 'secadmin1@bench.example', team: WORKSPACE, roles: ['security_admin'] },
        { id: 'W0BNSECAD2', name: 'secadmin2', real_name: 'Sue Secadmin', email: 'secadmin2@bench.example', team: WORKSPACE, roles: ['security_admin'] },
        ...members,
      ],
    } satisfies ScenarioInput['org'],
  };
}

const benchConfig: ResponseConfigInput = {
  events: { tor: { action: 'end_sessions' }, unexpected_scraping: { action: 'end_sessions' } },
  notifications: {
    affected_user: { email: true, slack: false },
    sessions_ended: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [] },
    anomaly_not_acted_on: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
    action_failed: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [] },
  },
  safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 1000 },
};

const TAKEN = [['tor'], ['unexpected_scraping'], ['tor', 'asn']];
const OFF = [['excessive_downloads'], ['session_fingerprint'], ['spoofed_user_agent', 'unexpected_client'], ['unexpected_api_call_volume']];

/** The deployed poller cadence, and a respond consumer as deployed (lib/definitions.ts). */
const DEPLOYED_POLLER = { POLL_ROUNDS: '8', POLL_INTERVAL_SECONDS: '7', POLL_PAGE_LIMIT: '9999', POWERTOOLS_LOG_LEVEL: 'SILENT' };

export interface SlackRunFigures {
  run: string;
  signedOut: string;
  timeToContainSeconds?: number;
  latencyP50Seconds?: number;
  latencyP99Seconds?: number;
  rateLimited429: number;
  callsByMethod: Record<string, number>;
  auditCallsPerMinute: number;
  emails: number;
  /** Emails to affected people / to admins one by one / admin digests. */
  emailsBy: { people: number; adminsAlone: number; digests: number };
  deadLettered: { anomalies: number; notifications: number };
  wallSeconds: number;
}

const percentile = (values: number[], p: number) => {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] / 100) / 10;
};

async function observe(started: number, done: () => boolean, timeoutMs: number, progress?: () => string): Promise<void> {
  const deadline = started + timeoutMs;
  let nextReport = Date.now() + 10_000;
  while (!done() && Date.now() < deadline) {
    await sleep(250);
    if (progress && Date.now() >= nextReport) {
      nextReport += 10_000;
      console.error(`  [${Math.round((Date.now() - started) / 1000)} s] ${progress()}`);
    }
  }
}

function progressOf(pipeline: LocalPipeline, signedOut: () => number, target: number, counts: { respond: number; notify: number }) {
  return () => {
    const state = pipeline.simulator!.state();
    return `signed out ${signedOut()} / ${target}; 429s ${state.rateLimited.total}; audit calls ${state.calls.filter((c) => c.method === 'audit.logs').length}; respond records ${counts.respond}, notify jobs ${counts.notify}`;
  };
}

/** The figures every run reports, from the simulator's call log and the pipeline's summary over [from, until]. */
async function runFigures(pipeline: LocalPipeline, from: number, until: number, latencies: number[]) {
  const state = pipeline.simulator!.state();
  const calls = state.calls.filter((c) => c.at >= from && c.at <= until);
  const callsByMethod: Record<string, number> = {};
  for (const c of calls) callsByMethod[c.method] = (callsByMethod[c.method] ?? 0) + 1;
  const auditCalls = calls.filter((c) => c.method === 'audit.logs').length;
  const summary = await pipeline.summary();
  return {
    latencyP50Seconds: percentile(latencies, 50),
    latencyP99Seconds: percentile(latencies, 99),
    rateLimited429: state.rateLimited.total,
    callsByMethod,
    auditCallsPerMinute: Math.round((auditCalls / Math.max(1, (until - from) / 60_000)) * 10) / 10,
    emails: summary.emails.length,
    emailsBy: emailsBy(summary.emails),
    deadLettered: summary.deadLetterQueues,
    wallSeconds: Math.round((until - from) / 1000),
  };
}

export async function burstRun(log: (line: string) => void): Promise<SlackRunFigures> {
  const { org: scenarioOrg, members } = org(1000);
  const random = seededRandom(11);
  const targets = members.slice(0, 200).map((m) => m.id);
  const targetSet = new Set(targets);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const generated = generateEntries({
    count: 10_000,
    seed: 11,
    startSeconds: nowSeconds - 120,
    spanSeconds: 60,
    users: members.map((u) => ({ id: u.id, name: u.name, email: u.email, team: ENTERPRISE.id })),
    enterprise: ENTERPRISE,
    lateFraction: 0,
    appFraction: 0,
  });
  // Every target at least once, then anyone; a target's entries end sessions, anyone else's are off.
  const entries: GeneratedEntry[] = generated.map((entry, i) => {
    const who = i < targets.length ? members[i] : members[Math.floor(random() * members.length)];
    const reasons = targetSet.has(who.id) ? TAKEN[i % TAKEN.length] : OFF[i % OFF.length];
    const e = entry as GeneratedEntry & { entity: { user: Record<string, unknown> }; details: Record<string, unknown> };
    return { ...e, arrivalDelaySeconds: 0, entity: { ...e.entity, user: { ...e.entity.user, id: who.id, name: who.name, email: who.email } }, details: { ...e.details, reason: reasons } };
  });
  log(`burst: 10,000 entries about 1,000 people, ${targets.length} to sign out; rate tiers ON; starting the pipeline…`);
  const counts = { respond: 0, notify: 0 };
  const pipeline = await startLocalPipeline({
    scenario: { description: 'burst', org: scenarioOrg, entries } as unknown as ScenarioInput,
    config: benchConfig,
    rateLimits: true,
    pollEverySeconds: 60,
    // The admin digest as deployed, but over one-minute periods so the run sees a digest go out.
    functionEnv: { ...DEPLOYED_POLLER, POLL_INITIAL_LOOKBACK_SECONDS: '600', DIGEST_SEND_ALONE: '5', DIGEST_PERIOD_SECONDS: '60' },
    onInvoke: (report) => {
      if (report.functionName === 'respond' || report.functionName === 'notify') counts[report.functionName] += report.messageIds.length;
    },
  });
  try {
    const started = Date.now();
    pipeline.startScheduler();
    const signedOut = () => new Set(pipeline.simulator!.state().resets.map((r) => r.userId)).size;
    await observe(started, () => signedOut() >= targets.length, 10 * 60_000, progressOf(pipeline, signedOut, targets.length, counts));
    const containedAt = Date.now();
    // Let the notifications drain (emails, and the digests of the periods of the burst), within reason.
    await observe(containedAt, () => false, 100_000, progressOf(pipeline, signedOut, targets.length, counts));
    const until = Date.now();
    const state = pipeline.simulator!.state();
    const firstRead = state.calls.find((c) => c.method === 'audit.logs' && c.ok && c.at >= started)?.at ?? started;
    const firstReset = new Map<string, number>();
    for (const r of state.resets) if (!firstReset.has(r.userId)) firstReset.set(r.userId, r.at);
    const latencies = targets.flatMap((id) => (firstReset.has(id) ? [firstReset.get(id)! - firstRead] : []));
    const wrong = [...firstReset.keys()].filter((id) => !targetSet.has(id));
    if (wrong.length) log(`burst: ${wrong.length} people signed out who should not have been!`);
    const perPersonResets = state.resets.length - firstReset.size;
    if (perPersonResets) log(`burst: ${perPersonResets} people signed out more than once`);
    return {
      run: 'burst',
      signedOut: `${firstReset.size} / ${targets.length}`,
      timeToContainSeconds: latencies.length === targets.length ? Math.round((Math.max(...latencies) / 1000) * 10) / 10 : undefined,
      ...(await runFigures(pipeline, started, until, latencies)),
    };
  } finally {
    await pipeline.stop();
  }
}

const ADMINS = ['owner@bench.example', 'secadmin1@bench.example', 'secadmin2@bench.example'];
function emailsBy(emails: { to: string; subject: string }[]) {
  const toAdmins = emails.filter((e) => ADMINS.includes(e.to));
  const digests = toAdmins.filter((e) => e.subject.includes('(digest)')).length;
  return { people: emails.length - toAdmins.length, adminsAlone: toAdmins.length - digests, digests };
}

export async function steadyRun(log: (line: string) => void): Promise<SlackRunFigures> {
  const { org: scenarioOrg, members } = org(50);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const count = 12;
  // Entries appear one by one, 10 s apart, starting half a minute after start (the pipeline is polling by then).
  const generated = generateEntries({
    count,
    seed: 12,
    startSeconds: nowSeconds,
    spanSeconds: 1,
    users: members.map((u) => ({ id: u.id, name: u.name, email: u.email, team: ENTERPRISE.id })),
    enterprise: ENTERPRISE,
    lateFraction: 0,
    appFraction: 0,
  });
  const entries = generated.map((entry, i) => {
    const e = entry as GeneratedEntry & { entity: { user: Record<string, unknown> }; details: Record<string, unknown> };
    const who = members[i];
    return { ...e, date_create: nowSeconds + 30 + i * 10, arrivalDelaySeconds: 0, entity: { ...e.entity, user: { ...e.entity.user, id: who.id, name: who.name, email: who.email } }, details: { ...e.details, reason: ['tor'] } };
  });
  log(`steady: ${count} entries appearing one by one, 10 s apart; rate tiers ON; deployed cadence (8 polls a minute)…`);
  const pipeline = await startLocalPipeline({
    scenario: { description: 'steady', org: scenarioOrg, entries } as unknown as ScenarioInput,
    config: benchConfig,
    rateLimits: true,
    pollEverySeconds: 60,
    functionEnv: { ...DEPLOYED_POLLER, POLL_INITIAL_LOOKBACK_SECONDS: '60', DIGEST_SEND_ALONE: '5' },
  });
  try {
    const started = Date.now();
    pipeline.startScheduler();
    const done = () => new Set(pipeline.simulator!.state().resets.map((r) => r.userId)).size >= count;
    await observe(started, done, 6 * 60_000);
    await sleep(5000);
    const until = Date.now();
    const { resets } = pipeline.simulator!.state();
    const visibleAt = new Map(entries.map((e) => [e.entity.user.id as string, (e.date_create as number) * 1000]));
    const latencies = resets.flatMap((r) => (visibleAt.has(r.userId) ? [r.at - visibleAt.get(r.userId)!] : []));
    return {
      run: 'steady',
      signedOut: `${new Set(resets.map((r) => r.userId)).size} / ${count}`,
      ...(await runFigures(pipeline, started, until, latencies)),
    };
  } finally {
    await pipeline.stop();
  }
}

export function printSlackRun(f: SlackRunFigures): void {
  const rows: [string, string][] = [
    ['signed out', f.signedOut],
    ...(f.run === 'burst' ? ([['time to contain (first audit read → last sign-out)', f.timeToContainSeconds === undefined ? 'not contained' : `${f.timeToContainSeconds} s`]] as [string, string][]) : []),
    ['per-person latency p50 / p99', `${f.latencyP50Seconds ?? '-'} s / ${f.latencyP99Seconds ?? '-'} s`],
    ['HTTP 429s from Slack', String(f.rateLimited429)],
    ['calls per Slack method', Object.entries(f.callsByMethod).sort().map(([m, n]) => `${m} ${n}`).join(', ')],
    ['audit calls a minute', String(f.auditCallsPerMinute)],
    ['emails sent (affected people / admins one by one / admin digests)', `${f.emails} (${f.emailsBy.people} / ${f.emailsBy.adminsAlone} / ${f.emailsBy.digests})`],
    ['dead-lettered (anomalies / notifications)', `${f.deadLettered.anomalies} / ${f.deadLettered.notifications}`],
    ['observed for', `${f.wallSeconds} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n${f.run} run`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
