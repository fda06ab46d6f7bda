import type { ResponseConfigInput } from '../../functions/domain/config/schema';
import type { InvocationReport } from '../../tools/local/aws';
import { startLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from '../../tools/local/pipeline';
import type { FaultRuleInput } from '../../tools/local/slack-simulator';
import { checkIntegrity, collectFacts, countBy, entryIdOfEmail, entryIdOfMessage, integrityFailures } from '../../tools/shared/soak-checks';
import { sharedEmulators } from '../support/shared-emulators';
import { anomaly, ORG, userId } from './org';

/**
 * Fault injection: the real handlers over the local emulators while the Slack simulator
 * answers 429s, 5xx, slow responses and dropped connections on every endpoint the responder
 * uses. Whatever fails is retried (SQS redelivery, Retry-After, the poller's saved window),
 * and the end state must be exact: each entry that should end sessions did so once, nobody
 * excluded was touched, and nobody was told anything twice.
 */

jest.setTimeout(120_000);

const pipelines: LocalPipeline[] = [];
afterAll(async () => {
  for (const p of pipelines) await p.stop();
});

async function start(options: LocalPipelineOptions): Promise<LocalPipeline> {
  jest.resetModules(); // the handlers read their environment once, at import: load them afresh per pipeline
  const pipeline = await startLocalPipeline({
    emulators: sharedEmulators(),
    // The injected failures make the functions log errors by design; TEST_FUNCTION_LOG_LEVEL=ERROR shows them.
    functionEnv: { POWERTOOLS_LOG_LEVEL: process.env.TEST_FUNCTION_LOG_LEVEL ?? 'SILENT' },
    ...options,
  });
  pipelines.push(pipeline);
  return pipeline;
}

/** Failed records come back in seconds, and bounded faults never exhaust the receives. */
const FAST_RETRIES: LocalPipelineOptions['queueOverrides'] = {
  anomalies: { visibilityTimeoutSeconds: 3, maxReceiveCount: 20 },
  notifications: { visibilityTimeoutSeconds: 3, maxReceiveCount: 20 },
};

const SEC_CHANNEL = 'C0SECALRT1';
const CONFIG: ResponseConfigInput = {
  events: {
    tor: { action: 'end_sessions', excludedUsers: [userId('ivy')] },
    unexpected_scraping: { action: 'end_sessions' },
    session_fingerprint: { action: 'end_sessions' },
    excessive_downloads: { action: 'notify_only' },
  },
  // Security team (jon, kim) is excluded from every event.
  exclusions: { excludedGroups: ['S0SECTEAM1'] },
  notifications: {
    affected_user: { email: true, slack: true },
    sessions_ended: { primaryOwner: ['email', 'slack'], securityAdmins: ['email', 'slack'], extraEmails: ['soc@testco.example'], slackChannel: SEC_CHANNEL },
    anomaly_not_acted_on: { primaryOwner: [], securityAdmins: ['email', 'slack'], extraEmails: [], slackChannel: SEC_CHANNEL },
    action_failed: { primaryOwner: ['email'], securityAdmins: ['email', 'slack'], extraEmails: [], slackChannel: SEC_CHANNEL },
  },
  safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 100 },
};
const EXCLUDED = [userId('ivy'), userId('jon'), userId('kim')];

const sorted = (values: Iterable<string>) => [...values].sort();
const callsTo = (pipeline: LocalPipeline, method: string, userIdParam?: string) =>
  pipeline.simulator!.state().calls.filter((c) => c.method === method && (userIdParam === undefined || c.args.user_id === userIdParam));

describe('fault injection: the pipeline under 429s, 5xx, slow responses and dropped connections', () => {
  it('ends each session exactly once, touches no excluded user and sends every notification exactly once', async () => {
    const entries = [
      anomaly('ana', ['tor']),
      anomaly('ben', ['unexpected_scraping']),
      anomaly('cara', ['session_fingerprint']),
      anomaly('dan', ['tor']),
      anomaly('eve', ['tor', 'asn']),
      anomaly('fay', ['unexpected_scraping']),
      anomaly('ivy', ['tor']), // excluded by user id from tor
      anomaly('jon', ['tor']), // excluded by group from everything
      anomaly('kim', ['unexpected_scraping']), // excluded by group from everything
      anomaly('hal', ['excessive_downloads']), // notify only
      anomaly('gil', ['asn']), // no actionable event
      anomaly('U0EXTERN01', ['tor']), // Slack Connect: never acted on
      { ...anomaly('ana', ['unexpected_api_call_volume']), id: 'it-app-1', entity: { type: 'app', app: { id: 'A0SCRAPER1', name: 'Scraper' } } },
      anomaly('W0OWNER001', ['tor']), // primary owner: Slack refuses the reset
      // Published 3 s after start, dated before the first poll: found by the overlap re-read.
      anomaly('leo', ['tor'], { ageSeconds: 10, arrivalDelaySeconds: 13, id: 'it-late-leo' }),
    ];
    const faults: FaultRuleInput[] = [
      // Audit logs: never more than two failures in a row (multiples of 3 and of 4), within the poller's own retries.
      { target: 'audit.logs', kind: 'rate_limit', firstN: 1, retryAfterSeconds: 1, label: 'audit 429' },
      { target: 'audit.logs', kind: 'server_error', status: 503, everyNth: 3, label: 'audit 503' },
      { target: 'audit.logs', kind: 'drop', everyNth: 4, label: 'audit drop' },
      { target: 'audit.logs', kind: 'slow', everyNth: 2, delayMs: 300, label: 'audit slow' },
      // Session resets: refused before any work is done (rate limit, 503, dropped), or slow.
      { target: 'admin.users.session.reset', kind: 'rate_limit', retryAfterSeconds: 1, firstN: 1, match: { user_id: userId('ana') } },
      { target: 'admin.users.session.reset', kind: 'server_error', status: 503, phase: 'before', firstN: 2, match: { user_id: userId('ben') } },
      { target: 'admin.users.session.reset', kind: 'drop', phase: 'before', firstN: 1, match: { user_id: userId('cara') } },
      { target: 'admin.users.session.reset', kind: 'slow', phase: 'before', delayMs: 1500, firstN: 1, match: { user_id: userId('dan') } },
      // Directory lookups.
      { target: 'users.info', kind: 'server_error', status: 500, firstN: 2 },
      { target: 'usergroups.users.list', kind: 'server_error', status: 502, firstN: 1 },
      { target: 'admin.users.list', kind: 'server_error', status: 503, firstN: 1 },
      { target: 'admin.roles.listAssignments', kind: 'drop', firstN: 1 },
      // Notifications.
      { target: 'chat.postMessage', kind: 'rate_limit', retryAfterSeconds: 1, everyNth: 4 },
      { target: 'conversations.open', kind: 'drop', firstN: 2 },
    ];
    const pipeline = await start({
      scenario: { org: ORG, entries } as never,
      config: CONFIG,
      faults,
      queueOverrides: FAST_RETRIES,
      // One record per invocation: each person's sign-out is then a single reset, which the
      // per-person rules above can aim at (bulk sign-out faults: the soak and the unit tests).
      eventSourceOverrides: { respond: { batchSize: 1 } },
    });
    await pipeline.runUntilSettled({ timeoutMs: 90_000 });
    const summary = await pipeline.summary();
    const facts = await collectFacts(pipeline);
    const state = pipeline.simulator!.state();

    // Every rule fired: the run really went through each fault.
    expect(state.faults.filter((f) => f.fired === 0).map((f) => f.label ?? `${f.target} ${f.kind}`)).toEqual([]);
    expect(summary.errors).toEqual([]);

    const report = checkIntegrity(facts, { entryIds: entries.map((e) => e.id), excludedUserIds: EXCLUDED, cooldownMinutes: 30 });
    expect(integrityFailures(report)).toEqual([]);
    expect(report.lostEntryIds).toEqual([]);
    // The primary owner is never reset (protected); the Slack Connect person and the app's anomaly are told, not acted on.
    expect(report.outcomes).toEqual({ sessions_ended: 7, notified: 6, ignored: 1, protected: 1 });

    // Each person whose entry ends sessions was reset exactly once, though many requests failed first.
    const ended = ['ana', 'ben', 'cara', 'dan', 'eve', 'fay', 'leo'].map(userId);
    expect(sorted(state.resets.map((r) => r.userId))).toEqual(sorted(ended));
    expect(sorted(facts.decisions.filter((d) => d.outcome === 'sessions_ended').map((d) => d.userId!))).toEqual(sorted(ended));
    expect(state.resetRequests[userId('ana')]).toBe(2); // 429, then done
    expect(state.resetRequests[userId('ben')]).toBe(3); // 503, 503, then done
    expect(state.resetRequests[userId('cara')]).toBe(2); // dropped, then done
    for (const user of EXCLUDED) expect(state.resetRequests[user]).toBeUndefined();

    // Notifications: 7 × sessions_ended (5 emails, 5 Slack), 6 × not acted on (2, 3): the four held
    // by rules and exclusions, the protected primary owner and the Slack Connect person; and the
    // app's anomaly (app_anomaly: the two security admins by email, the default).
    expect(facts.emails).toHaveLength(7 * 5 + 6 * 2 + 2);
    expect(facts.messages).toHaveLength(7 * 5 + 6 * 3);
    expect(facts.emails.every((e) => entryIdOfEmail(e) !== undefined)).toBe(true);
    expect(facts.messages.every((m) => entryIdOfMessage(m) !== undefined)).toBe(true);
    const perEntryEmails = countBy(facts.emails, (e) => entryIdOfEmail(e)!);
    for (const id of facts.decisions.filter((d) => d.outcome === 'sessions_ended').map((d) => d.entryId)) expect(perEntryEmails.get(id)).toBe(5);
    expect(summary.deadLetterQueues).toEqual({ anomalies: 0, notifications: 0 });
  });

  it('sends a rate-limited reset\u2019s message again after its Retry-After, without sleeping in the function or counting a receive', async () => {
    const reports: InvocationReport[] = [];
    const pipeline = await start({
      scenario: { org: ORG, entries: [anomaly('gil', ['tor'], { id: 'it-retry-after' })] } as never,
      config: CONFIG,
      faults: [{ target: 'admin.users.session.reset', kind: 'rate_limit', retryAfterSeconds: 3, firstN: 1 }],
      // A visibility timeout far longer than Retry-After: a retry after ~3 s can only come from the handler's own delay.
      queueOverrides: { anomalies: { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 } },
      onInvoke: (report) => reports.push(report),
    });
    await pipeline.runUntilSettled({ timeoutMs: 60_000 });

    const resets = callsTo(pipeline, 'admin.users.session.reset');
    expect(resets.map((c) => c.status)).toEqual([429, 200]);
    expect(resets[1].at - resets[0].at).toBeGreaterThanOrEqual(2_900); // not before Retry-After
    // The invocation that met the 429 neither waited nor failed the record: it sent the message
    // again with the delay (a new message, so the wait is no receive toward the DLQ).
    // (How long invocations take belongs in `npm run bench`, not in a test.)
    const responds = reports.filter((r) => r.functionName === 'respond');
    expect(responds.every((r) => r.result === 'success' && r.failedMessageIds.length === 0)).toBe(true);
    expect(new Set(responds.flatMap((r) => r.messageIds)).size).toBe(2);
    expect(pipeline.simulator!.state().resets.map((r) => r.userId)).toEqual([userId('gil')]);
    expect((await pipeline.summary()).errors).toEqual([]);
  });

  it('repeats a reset whose answer was lost (ambiguous failure) but still decides and notifies once', async () => {
    // Documented policy: when Slack may or may not have ended the sessions (the response was
    // lost after the work was done), respond retries the reset rather than risk leaving a Tor
    // user signed in. Signing someone out twice is harmless; the decision and the
    // notifications must still be single.
    const entries = [anomaly('ana', ['tor'], { id: 'it-ambiguous-ana' }), anomaly('ben', ['tor'], { id: 'it-ambiguous-ben' })];
    const pipeline = await start({
      scenario: { org: ORG, entries } as never,
      config: CONFIG,
      faults: [
        { target: 'admin.users.session.reset', kind: 'server_error', status: 502, phase: 'after', firstN: 1, match: { user_id: userId('ana') } },
        { target: 'admin.users.session.reset', kind: 'drop', phase: 'after', firstN: 1, match: { user_id: userId('ben') } },
      ],
      queueOverrides: FAST_RETRIES,
      // One record per invocation: single resets, which the rules above aim at per person.
      eventSourceOverrides: { respond: { batchSize: 1 } },
    });
    await pipeline.runUntilSettled({ timeoutMs: 60_000 });
    const state = pipeline.simulator!.state();
    const facts = await collectFacts(pipeline);

    // One lost answer each → exactly one repeat each (two resets, two requests), no more.
    expect(countBy(state.resets, (r) => r.userId)).toEqual(new Map([[userId('ana'), 2], [userId('ben'), 2]]));
    expect(state.resetRequests).toEqual({ [userId('ana')]: 2, [userId('ben')]: 2 });
    // One decision per entry, one set of notifications per entry.
    expect(sorted(facts.decisions.map((d) => `${d.entryId}:${d.outcome}`))).toEqual(['it-ambiguous-ana:sessions_ended', 'it-ambiguous-ben:sessions_ended']);
    const report = checkIntegrity(facts, { entryIds: entries.map((e) => e.id), excludedUserIds: EXCLUDED, cooldownMinutes: 0 });
    expect(report).toMatchObject({ entriesLost: 0, duplicateEmails: 0, duplicateSlackMessages: 0, notificationsWithoutReceipt: 0, notificationsMissing: 0 });
    expect(report.duplicateResets).toBe(2); // the documented repeats, and nothing else
    expect(facts.emails).toHaveLength(2 * 5);
    expect(facts.messages).toHaveLength(2 * 5);
    expect((await pipeline.summary()).errors).toEqual([]);
  });
});
