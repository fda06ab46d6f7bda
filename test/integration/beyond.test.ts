import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DecisionLog, type DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import { startLocalPipeline, type LocalPipeline } from '../../tools/local/pipeline';
import { sharedEmulators } from '../support/shared-emulators';

/**
 * Issue 12 on the real local pipeline (poller, respond and notify handlers, DynamoDB Local, SQS,
 * SES, the strict Slack simulator), with tools/local/scenarios/beyond.json: trusted networks,
 * session scope (web, mobile, one session, the fallback to all), rules for codes beyond the
 * seven, an app's anomaly; and the same scenario in dry run. What `npm start -- --once --scenario
 * tools/local/scenarios/beyond.json [--config …-dry-run-config.json]` shows.
 */
const SCENARIO = resolve(__dirname, '../../tools/local/scenarios/beyond.json');
const DRY_RUN_CONFIG = resolve(__dirname, '../../tools/local/scenarios/beyond-dry-run-config.json');
const expected = JSON.parse(readFileSync(SCENARIO, 'utf8')).expect as { decisions: Record<string, { action: string; reason: string }> };

const CLARA = 'W08CLARA01';
const DAVID = 'W08DAVID01';
const EVA = 'W08EVA0001';
const FREDRIK = 'W08FREDR01';
const AFFECTED = ['clara.moe', 'david.holm', 'eva.strand', 'fredrik.aas'].map((name) => `${name}@fjordline.example`);
const SECURITY_ADMIN = 'samir.haddad@fjordline.example';

jest.setTimeout(200_000);

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
});

async function run(configFile?: string) {
  jest.resetModules(); // the handlers read their environment once, at import: load them afresh for this pipeline
  pipeline = await startLocalPipeline({ emulators: sharedEmulators(), scenario: SCENARIO, configFile, timeScale: 40, rateLimits: false });
  await pipeline.runUntilSettled({ timeoutMs: 150_000, stallAfterMs: 90_000, pollFailureLimitMs: 60_000 });
  const summary = await pipeline.summary();
  const log = new DecisionLog(pipeline.clients.documents, pipeline.resources.tables.ledger);
  const today = new Date().toISOString().slice(0, 10);
  const records = new Map<string, DecisionRecord>((await log.decisionsOnDay(today)).map((r) => [r.entryId, r]));
  const emails = await pipeline.sentEmails();
  return { summary, records, emails, sim: pipeline.simulator!.state() };
}

describe('beyond Slack\u2019s built-in response, on the real local pipeline', () => {
  it('acts per scope, trusts trusted networks, acts on a code beyond the seven, and tells the security admins about an app', async () => {
    const { summary, records, emails, sim } = await run();
    expect(summary.errors).toEqual([]);
    expect(summary.expectations?.failed).toEqual([]);
    for (const [id, want] of Object.entries(expected.decisions)) {
      expect({ id, decision: records.get(id)?.decision, reason: records.get(id)?.reason }).toEqual({ id, decision: want.action, reason: want.reason });
    }

    // Slack was asked exactly for each scope: one session invalidated; web_only, mobile_only and an all-sessions reset.
    expect(sim.invalidations.map((i) => [i.userId, i.sessionId])).toEqual([[CLARA, '1700000000001']]);
    const resets = Object.fromEntries(sim.resets.map((r) => [r.userId, { method: r.method, webOnly: r.webOnly, mobileOnly: r.mobileOnly }]));
    expect(resets).toEqual({
      [DAVID]: { method: 'admin.users.session.reset', webOnly: false, mobileOnly: false },
      [EVA]: { method: 'admin.users.session.reset', webOnly: true, mobileOnly: false },
      [FREDRIK]: { method: 'admin.users.session.reset', webOnly: false, mobileOnly: true },
    });
    expect(summary.scopes).toEqual({ [CLARA]: 'session', [DAVID]: 'all', [EVA]: 'web', [FREDRIK]: 'mobile' });

    // The response log says which scope was used, and why David's was all; and which range was trusted.
    expect(records.get('b12e0004-7a51-4d0c-9a1e-000000000004')?.response).toEqual({ outcome: 'sessions_ended', scope: 'all', scopeFallback: 'no_session_id' });
    expect(records.get('b12e0001-7a51-4d0c-9a1e-000000000001')?.response).toMatchObject({ holdReason: 'trusted_network', trustedNetwork: '198.51.100.0/24' });
    expect(records.get('b12e0002-7a51-4d0c-9a1e-000000000002')?.response).toMatchObject({ holdReason: 'trusted_network', trustedNetwork: '2001:db8:5::/48' });
    expect(records.get('b12e0008-7a51-4d0c-9a1e-000000000008')).toMatchObject({ entityType: 'app', notification: 'app_anomaly' });

    // Coexistence: Slack's built-in response signed Hanna out; the anomaly it acted on is not acted on again.
    expect(records.get('b12e0009-7a51-4d0c-9a1e-000000000009')).toMatchObject({ decision: 'recorded', outcome: 'reset_by:slack_anomaly_response', userId: 'W08HANNA01' });
    expect(records.get('b12e0010-7a51-4d0c-9a1e-000000000010')?.response).toMatchObject({ holdReason: 'cooldown', resetBy: 'slack_anomaly_response' });
    expect(sim.resetRequests['W08HANNA01']).toBeUndefined();

    // The alerts say it too.
    // Alerts name people by their real name from the directory, not by handle.
    const adminMail = (about: string) => emails.find((e) => e.to.includes(SECURITY_ADMIN) && e.subject.includes(about))!;
    expect(adminMail('David Holm').text).toMatch(/names no session: all sessions were ended instead/);
    expect(adminMail('Clara Moe').text).toMatch(/Ended the one Slack session the anomaly was seen in/);
    expect(adminMail('Anja Lund').text).toMatch(/trusted network \(198\.51\.100\.0\/24\)/);
    const app = adminMail('the app Ledger Export');
    expect(app.text).toMatch(/App ID:\s+A08LEDGEX1/);
    expect(emails.filter((e) => e.subject.includes('the app Ledger Export')).flatMap((e) => e.to).sort()).toEqual([SECURITY_ADMIN, 'soc@fjordline.example']);
    expect(emails.find((e) => e.to.includes('eva.strand@fjordline.example'))?.subject).toBe('[Slack security] You were signed out of Slack in your web browsers');
    expect(adminMail('Hanna Dahl').text).toMatch(/by Slack’s built-in anomaly event response; not ending them again/);
    const settings = adminMail('built-in anomaly event response settings were changed');
    expect(settings.text).toMatch(/Changed by:\s+W08SAMIR01/);
    expect(settings.text).toMatch(/tor:notify_only/);

    // syncToSlack: Slack's own allow-list holds the IPv4 range and the ASN (Slack takes no IPv6).
    const TRUSTED = { cidrs: ['198.51.100.0/24'], asns: [64500] };
    expect(sim.allowListUpdates.map(({ cidrs, asns }) => ({ cidrs, asns }))).toEqual([TRUSTED]);
    // Someone changes it in Slack: the next poll finds the drift and writes the configured list back.
    const { rawApi } = await import('../tools/slack-simulator/helpers');
    await rawApi(pipeline!.simulator!, 'admin.audit.anomaly.allow.updateItem', { trusted_cidr: ['192.0.2.0/24'], trusted_asns: [] });
    await pipeline!.runUntilSettled({ timeoutMs: 60_000 });
    expect(pipeline!.simulator!.state().allowListUpdates.map(({ cidrs, asns }) => ({ cidrs, asns }))).toEqual([TRUSTED, { cidrs: ['192.0.2.0/24'], asns: [] }, TRUSTED]);
  });

  it('in dry run decides and tells the same, ends no session and emails no affected person', async () => {
    const { summary, records, emails, sim } = await run(DRY_RUN_CONFIG);
    expect(summary.errors).toEqual([]);
    // The same decisions, except that a dry run applies no loop protection: that is state of real resets.
    const HANNA_TOR = 'b12e0010-7a51-4d0c-9a1e-000000000010';
    for (const [id, want] of Object.entries(expected.decisions)) {
      if (id === HANNA_TOR) continue;
      expect({ id, decision: records.get(id)?.decision, reason: records.get(id)?.reason }).toEqual({ id, decision: want.action, reason: want.reason });
    }
    expect(records.get(HANNA_TOR)).toMatchObject({ decision: 'end_sessions', outcome: 'dry_run' });
    expect(sim.resets).toEqual([]);
    expect(sim.invalidations).toEqual([]);
    expect(sim.resetRequests).toEqual({});
    expect(sim.allowListUpdates).toEqual([]); // nor is Slack's allow-list written
    expect(summary.outcomes).toEqual({ dry_run: 5, notified: 4, recorded: 1, 'reset_by:slack_anomaly_response': 1 });
    expect(summary.scopes).toEqual({ [CLARA]: 'session (dry run)', [DAVID]: 'all (dry run)', [EVA]: 'web (dry run)', [FREDRIK]: 'mobile (dry run)', W08HANNA01: 'all (dry run)' });
    for (const record of records.values()) if (record.response) expect(record.response).toMatchObject({ dryRun: true });

    expect(emails.flatMap((e) => e.to).filter((to) => AFFECTED.includes(to))).toEqual([]);
    expect(emails.length).toBeGreaterThan(0);
    for (const email of emails) {
      expect(email.subject).toMatch(/\[dry run\]|Dry run: would have ended sessions/);
      expect(email.text).toMatch(/Dry run: nothing was done/);
    }
  });
});
