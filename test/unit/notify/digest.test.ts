import { notify, sendDigest, type NotifyDeps } from '../../../functions/notify/notify';
import { DIGEST, periodOf, renderDigest, type DigestFlush } from '../../../functions/notify/digest';
import { DirectoryCache } from '../../../functions/notify/recipients';
import { InMemoryDigests } from '../../support/in-memory-digests';
import { FakeLedger, FakeMailer, FakeSlack, makeConfig, makeJob, person, staticConfig } from './fakes';

const config = makeConfig({
  notifications: {
    affected_user: { email: true, slack: false },
    sessions_ended: { primaryOwner: ['email'], securityAdmins: ['email', 'slack'], extraEmails: [], slackChannel: 'C0ALERTS' },
  },
});
const T0 = Date.parse('2026-12-03T10:00:10Z');

function setup() {
  const people = Array.from({ length: 8 }, (_, i) => person(`U0PERSON${i}`, { email: `p${i}@example.com`, realName: `Person ${i}` }));
  const slack = new FakeSlack([person('U0OWNER'), person('U0ADMIN1'), ...people], 'U0OWNER', ['U0ADMIN1'], ['C0ALERTS']);
  const mailer = new FakeMailer();
  const digests = new InMemoryDigests();
  const scheduled: { flush: DigestFlush; delaySeconds: number }[] = [];
  let now = T0;
  const deps: NotifyDeps = {
    config: staticConfig(config),
    directory: new DirectoryCache(slack, 60_000),
    slack,
    mailer,
    ledger: new FakeLedger(),
    digest: { ledger: digests, schedule: async (flush, delaySeconds) => void scheduled.push({ flush, delaySeconds }), now: () => now },
  };
  const job = (i: number) => makeJob({ entryId: `entry-${i}`, user: { id: `U0PERSON${i}`, name: `Person ${i}`, email: `p${i}@example.com` } });
  return { deps, mailer, slack, digests, scheduled, job, advance: (ms: number) => (now += ms) };
}

describe('the admin digest during a burst', () => {
  it('sends a period\u2019s first notifications on their own, then gathers the rest into one digest per admin destination; every person still gets their own email', async () => {
    const t = setup();
    for (let i = 0; i < 8; i++) await notify(t.job(i), t.deps);
    const adminMails = () => t.mailer.sent.filter((m) => ['u0owner@example.com', 'u0admin1@example.com'].includes(m.to[0]));
    // Five alone (owner + admin email each), the other three wait for the digest.
    expect(adminMails()).toHaveLength(2 * DIGEST.sendAlone);
    expect(t.slack.posted.filter((p) => p.channel === 'C0ALERTS')).toHaveLength(DIGEST.sendAlone);
    // Every affected person was told, digest or not.
    for (let i = 0; i < 8; i++) expect(t.mailer.sent.filter((m) => m.to[0] === `p${i}@example.com`)).toHaveLength(1);
    // One digest scheduled, for when the period is over.
    const periodStart = periodOf(T0);
    expect(t.scheduled).toEqual([{ flush: { digest: { type: 'sessions_ended', periodStart } }, delaySeconds: periodStart + DIGEST.periodSeconds + DIGEST.graceSeconds - T0 / 1000 }]);

    const before = t.mailer.sent.length;
    await sendDigest(t.scheduled[0].flush, t.deps);
    const digests = t.mailer.sent.slice(before);
    expect(digests.map((m) => m.to[0]).sort()).toEqual(['u0admin1@example.com', 'u0owner@example.com']);
    expect(digests[0].subject).toBe('[Slack security] Sessions ended for 3 people (digest)');
    for (const i of [5, 6, 7]) expect(digests[0].text).toContain(`Person ${i}`);
    expect(digests[0].text).not.toContain('Person 4');
    expect(t.slack.posted.filter((p) => p.channel === 'C0ALERTS').at(-1)?.text).toContain('3 people');

    // A retried digest message sends nothing twice.
    const after = t.mailer.sent.length;
    await sendDigest(t.scheduled[0].flush, t.deps);
    expect(t.mailer.sent.length).toBe(after);
  });

  it('a retried job keeps its first answer (no second count, no second schedule)', async () => {
    const t = setup();
    for (let i = 0; i < 7; i++) await notify(t.job(i), t.deps);
    await notify(t.job(6), t.deps);
    expect(t.digests.counts.get(`sessions_ended#${periodOf(T0)}`)).toBe(7);
    expect(t.scheduled).toHaveLength(1);
  });

  it('starts afresh in the next period', async () => {
    const t = setup();
    for (let i = 0; i < 6; i++) await notify(t.job(i), t.deps);
    t.advance(DIGEST.periodSeconds * 1000);
    await notify(t.job(6), t.deps);
    expect(t.mailer.sent.filter((m) => m.to[0] === 'u0admin1@example.com')).toHaveLength(DIGEST.sendAlone + 1);
  });

  it('puts attacker-influenced names into the digest escaped, never as markup', () => {
    const evil = makeJob({ entryId: 'e', user: { id: 'U0EVIL', name: '<a href="https://evil.example">*click*</a>', email: 'x@example.com' } });
    const { email, slack } = renderDigest('sessions_ended', periodOf(T0), [evil]);
    expect(email.html).not.toContain('<a href');
    expect(email.html).toContain('&lt;a href=');
    // As in the person's own alert (issue 10's content model): a value, set apart as code, not our words.
    expect(email.html).toMatch(/<code[^>]*>&lt;a href=/);
    expect(email.text).not.toContain('https://evil.example');
    expect(JSON.stringify(slack.blocks)).not.toContain('<a href');
    expect(JSON.stringify(slack.blocks)).toMatch(/`&lt;a href=/);
    expect(slack.text).not.toContain('U0EVIL');
  });
});
