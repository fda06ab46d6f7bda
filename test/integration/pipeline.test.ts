import { PollState } from '../../functions/adapters/dynamodb/poll-state';
import { startLocalPipeline, type LocalPipeline, type RunSummary } from '../../tools/local/pipeline';
import { defaultConfig, type ResponseConfigInput } from '../../functions/domain/config/schema';
import { sharedEmulators } from '../support/shared-emulators';
import { anomaly, ORG, userId } from './org';

jest.setTimeout(90_000);

/** Runs the real pipeline over one scenario to completion and returns its summary. */
async function run(
  entries: unknown[],
  config: ResponseConfigInput = defaultConfig(),
  functionEnv: Record<string, string> = {},
  extra: { verbose?: boolean; log?: (line: string) => void } = {},
): Promise<{ summary: RunSummary; pipeline: LocalPipeline }> {
  jest.resetModules(); // the handlers read their environment once, at import: load them afresh per pipeline
  const pipeline = await startLocalPipeline({
    emulators: sharedEmulators(),
    scenario: { org: ORG, entries } as never,
    config,
    functionEnv,
    ...extra,
  });
  pipelines.push(pipeline);
  await pipeline.runUntilSettled({ timeoutMs: 60_000 });
  return { summary: await pipeline.summary(), pipeline };
}

/**
 * Runs `entries` to completion, then publishes a late entry: one dated before the checkpoint the
 * polls have reached (so behind it when it arrives, whatever the machine's speed), and runs again.
 */
async function runWithLateEntry(entries: unknown[], lateId: string, functionEnv: Record<string, string> = {}) {
  const { pipeline } = await run(entries, defaultConfig(), functionEnv);
  const { checkpoint } = await new PollState(pipeline.clients.documents, pipeline.resources.tables.ledger).getCheckpoint();
  expect(checkpoint).toBeDefined();
  pipeline.simulator!.addEntries([{ ...anomaly('cara', ['tor'], { id: lateId }), ageSeconds: undefined, date_create: checkpoint! - 5 }] as never);
  await pipeline.runUntilSettled({ timeoutMs: 60_000 });
  return { summary: await pipeline.summary(), pipeline };
}

const pipelines: LocalPipeline[] = [];
afterAll(async () => {
  for (const p of pipelines) await p.stop();
});

const sorted = (values: string[]) => [...values].sort();

describe('local pipeline, real handlers end to end', () => {
  it("with Slack's default config ends sessions for Tor and data-scraping users only", async () => {
    const { summary, pipeline } = await run([
      anomaly('ana', ['tor']),
      anomaly('ben', ['unexpected_scraping']),
      anomaly('cara', ['excessive_downloads']),
      anomaly('dan', ['session_fingerprint']),
      anomaly('eve', ['spoofed_user_agent', 'unexpected_client']),
      anomaly('fay', ['unexpected_api_call_volume']),
      anomaly('gil', ['unexpected_user_agent', 'user_agent']),
      anomaly('hal', ['asn', 'ip_address']),
      anomaly('U0EXTERN01', ['tor']),
      { ...anomaly('ana', ['tor']), entity: { type: 'app', app: { id: 'A0SCRAPER1', name: 'Scraper' } } },
    ]);
    expect(summary.errors).toEqual([]);
    expect(summary.sessionsEnded).toEqual(sorted([userId('ana'), userId('ben')]));
    expect(sorted(pipeline.simulator!.state().resets.map((r) => r.userId))).toEqual(sorted([userId('ana'), userId('ben')]));
    // The Slack Connect person is not acted on but the security admins are told (anomaly_not_acted_on);
    // so is the app's anomaly (app_anomaly), never acted on.
    expect(summary.outcomes).toEqual({ sessions_ended: 2, ignored: 6, notified: 2 });
    // The user is emailed; the primary owner and both security admins are emailed (defaults); nothing on Slack.
    expect(sorted(summary.emails.map((e) => e.to))).toEqual(
      sorted([
        'ana@testco.example',
        'ben@testco.example',
        ...['olga', 'sam', 'sue'].flatMap((n) => [`${n}@testco.example`, `${n}@testco.example`]),
        ...['sam', 'sue'].map((n) => `${n}@testco.example`),
        ...['sam', 'sue'].map((n) => `${n}@testco.example`), // the app anomaly
      ]),
    );
    expect(summary.slackMessages).toEqual([]);
    expect(summary.deadLetterQueues).toEqual({ anomalies: 0, notifications: 0 });
  });

  it('leaves excluded people and members of excluded groups untouched', async () => {
    const { summary, pipeline } = await run(
      [anomaly('ivy', ['tor']), anomaly('jon', ['tor']), anomaly('kim', ['unexpected_scraping']), anomaly('leo', ['tor'])],
      { events: { tor: { action: 'end_sessions', excludedUsers: [userId('ivy')] } }, exclusions: { excludedGroups: ['S0SECTEAM1'] } },
    );
    expect(summary.errors).toEqual([]);
    expect(pipeline.simulator!.state().resets.map((r) => r.userId)).toEqual([userId('leo')]);
    expect(summary.outcomes).toEqual({ sessions_ended: 1, notified: 3 });
    // Admins hear that an anomaly was not acted on (default: security admins by email).
    const notActedOn = summary.emails.filter((e) => /no action taken/i.test(e.subject));
    expect(sorted(notActedOn.map((e) => e.to))).toEqual(sorted(['sam', 'sue'].flatMap((n) => Array(3).fill(`${n}@testco.example`))));
  });

  it('acts once on entries re-read across overlapping polls, and picks up a late entry inside the overlap window', async () => {
    const { summary, pipeline } = await runWithLateEntry([anomaly('ana', ['tor'], { ageSeconds: 40 }), anomaly('ben', ['tor'], { ageSeconds: 30 })], 'late-entry');
    expect(summary.errors).toEqual([]);
    expect(summary.polls).toBeGreaterThanOrEqual(2);
    expect(summary.duplicatesDropped).toBeGreaterThanOrEqual(2); // ana and ben re-read by the later polls
    expect(summary.entriesSeen).toBe(3);
    // One reset request per person: no entry was acted on twice.
    expect(pipeline.simulator!.state().resetRequests).toEqual({ [userId('ana')]: 1, [userId('ben')]: 1, [userId('cara')]: 1 });
    expect(summary.sessionsEnded).toContain(userId('cara'));
  });

  it('would miss that late entry without the overlap window (why the overlap exists)', async () => {
    const { summary } = await runWithLateEntry([anomaly('ana', ['tor'], { ageSeconds: 40 })], 'late-entry-2', { POLL_OVERLAP_SECONDS: '0' });
    expect(summary.sessionsEnded).toEqual([userId('ana')]);
    expect(summary.entriesSeen).toBe(1);
  });

  it('tells the user, the primary owner and the security admins by the channels the config asks for', async () => {
    const { summary, pipeline } = await run([anomaly('ana', ['tor'], { id: 'tor-ana' })], {
      notifications: {
        affected_user: { email: true, slack: true },
        sessions_ended: { primaryOwner: ['email', 'slack'], securityAdmins: ['slack'], extraEmails: ['soc@testco.example'], slackChannel: 'C0SECALRT1' },
      },
    });
    expect(summary.errors).toEqual([]);
    expect(sorted(summary.emails.map((e) => e.to))).toEqual(['ana@testco.example', 'olga@testco.example', 'soc@testco.example']);
    const state = pipeline.simulator!.state();
    const dmPartners = state.messages.filter((m) => m.channel.startsWith('D')).map((m) => m.userId ?? '');
    expect(sorted(dmPartners)).toEqual(sorted([userId('ana'), 'W0OWNER001', 'W0SECADM01', 'W0SECADM02']));
    expect(state.messages.filter((m) => m.channel === 'C0SECALRT1')).toHaveLength(1);
    // What a security admin reads: who, which anomaly, from where, what was done.
    const adminEmail = summary.emails.find((e) => e.to === 'olga@testco.example')!;
    // By real name from the directory, not by handle (ana).
    expect(adminEmail.subject).toMatch(/Sessions ended for Ana Tester — Tor exit node/);
  });

  it('records a malformed entry as rejected while the rest of its batch goes through', async () => {
    const { summary } = await run([
      anomaly('ana', ['tor']),
      { id: 'malformed-1', raw: true, date_create: Math.floor(Date.now() / 1000) - 30, action: 'anomaly', entity: { type: 'user', user: { name: 'no-id' } }, details: { reason: ['tor'] } },
      { id: 'malformed-2', raw: true, date_create: Math.floor(Date.now() / 1000) - 20, action: 'anomaly', entity: { type: 'user', user: { id: 42 } }, details: { reason: 7 } },
      anomaly('ben', ['unexpected_scraping']),
    ]);
    expect(summary.errors).toEqual([]);
    expect(summary.outcomes).toEqual({ sessions_ended: 2, rejected: 2 });
    expect(summary.sessionsEnded).toEqual(sorted([userId('ana'), userId('ben')]));
    expect(summary.deadLetterQueues).toEqual({ anomalies: 0, notifications: 0 });
  });

  it('never writes a Slack token to any log, even at INFO level with every function logging', async () => {
    const captured: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      captured.push(String(chunk));
      return true;
    };
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
    let summary: RunSummary;
    try {
      ({ summary } = await run([anomaly('ana', ['tor']), anomaly('W0OWNER001', ['tor'])], defaultConfig(), {}, { verbose: true, log: (line) => captured.push(line) }));
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
    expect(summary.outcomes).toEqual({ sessions_ended: 1, protected: 1 });
    const text = captured.join('\n');
    expect(text).toMatch(/"entryId"/); // the functions did log, with the entry id
    expect(text).not.toMatch(/xox[a-z]-[A-Za-z0-9-]+/);
  });
});

describe('local pipeline against an external Slack-compatible server (--slack-url)', () => {
  it('polls and acts through URL/audit/v1/logs and URL/api/<method>, settling after two quiet polls', async () => {
    const { startSlackSimulator } = await import('../../tools/local/slack-simulator');
    const external = await startSlackSimulator({ scenario: { org: ORG, entries: [anomaly('ana', ['tor']), anomaly('ben', ['excessive_downloads'])] } as never });
    try {
      jest.resetModules();
      const pipeline = await startLocalPipeline({ emulators: sharedEmulators(), slackUrl: external.url, config: defaultConfig() });
      pipelines.push(pipeline);
      await pipeline.runUntilSettled({ timeoutMs: 60_000 });
      const summary = await pipeline.summary();
      expect(pipeline.simulator).toBeUndefined();
      expect(summary.errors).toEqual([]);
      expect(summary.sessionsEnded).toEqual([userId('ana')]);
      expect(external.state().resets.map((r) => r.userId)).toEqual([userId('ana')]);
      expect(summary.polls).toBeGreaterThanOrEqual(2);
      const methods = new Set(external.state().calls.map((c) => c.method));
      expect([...methods]).toEqual(expect.arrayContaining(['audit.logs', 'admin.users.session.reset', 'users.info']));
    } finally {
      await external.stop();
    }
  });
});
