import { Logger } from '@aws-lambda-powertools/logger';
import { deliveryKey, notify, type NotifyDeps, type NotifyLogger } from '../../../functions/notify/notify';
import { DirectoryCache } from '../../../functions/notify/recipients';
import { SesConfigurationError } from '../../../functions/adapters/ses/mailer';
import { ConfigError, PermanentFailure, RetryLaterError } from '../../../functions/domain/errors';
import type { NotificationJob } from '../../../functions/domain/messages';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { FakeLedger, FakeMailer, FakeSlack, makeConfig, makeJob, person, staticConfig } from './fakes';

// The Powertools logger the handler passes must satisfy the use case's logger type.
const _loggerFits: NotifyLogger = new Logger({ serviceName: 'type-check', logLevel: 'SILENT' });
void _loggerFits;

const config = makeConfig({
  notifications: {
    affected_user: { email: true, slack: true },
    sessions_ended: { primaryOwner: ['email'], securityAdmins: ['email', 'slack'], extraEmails: ['soc@example.com'], slackChannel: 'C0ALERTS' },
  },
});

function setup() {
  // The affected person is in the directory too, and the bot is in the alerts channel: the fake refuses DMs and posts Slack would refuse.
  const slack = new FakeSlack(
    [person('U0OWNER'), person('U0ADMIN1'), person('U0ADMIN2'), person('U0AFFECTED', { email: 'ana@example.com', realName: 'Ana Silva' })],
    'U0OWNER',
    ['U0ADMIN1', 'U0ADMIN2'],
    ['C0ALERTS'],
  );
  const mailer = new FakeMailer();
  const ledger = new FakeLedger();
  const deps: NotifyDeps = { config: staticConfig(config), directory: new DirectoryCache(slack, 60_000), slack, mailer, ledger, leaseMs: 30_000 };
  /** Messages each destination received, across all runs. */
  const received = () => {
    const counts: Record<string, number> = {};
    for (const mail of mailer.sent) counts[`email:${mail.to[0]}`] = (counts[`email:${mail.to[0]}`] ?? 0) + 1;
    for (const post of slack.posted) counts[`slack:${post.channel}`] = (counts[`slack:${post.channel}`] ?? 0) + 1;
    return counts;
  };
  return { slack, mailer, ledger, deps, received };
}

const everyone = {
  'email:ana@example.com': 1,
  'email:u0owner@example.com': 1,
  'email:u0admin1@example.com': 1,
  'email:u0admin2@example.com': 1,
  'email:soc@example.com': 1,
  'slack:D-U0AFFECTED': 1,
  'slack:D-U0ADMIN1': 1,
  'slack:D-U0ADMIN2': 1,
  'slack:C0ALERTS': 1,
};

describe('notify', () => {
  it('a config change that broke the configuration is still told, to the default recipients (security admins by email)', async () => {
    const { deps, received } = setup();
    const broken = { load: async () => Promise.reject(new ConfigError(['exclusions: missing, though the manifest lists it'])) };
    const change = makeJob({
      type: 'config_changed',
      user: undefined,
      configChange: { itemId: 'exclusions', kind: 'removed', changes: [], warnings: ['exclusions was removed'] },
      events: [],
      response: { outcome: 'recorded' },
    });
    await notify(change, { ...deps, config: broken });
    expect(received()).toEqual({ 'email:u0admin1@example.com': 1, 'email:u0admin2@example.com': 1 });
    // Any other notification waits for the configuration to be fixed (retried, never sent to guessed recipients).
    await expect(notify(makeJob(), { ...deps, config: broken })).rejects.toBeInstanceOf(ConfigError);
  });

  it('sends each planned delivery once, in the right version, and records it', async () => {
    const { deps, mailer, slack, ledger, received } = setup();
    const job = makeJob();
    const result = await notify(job, deps);

    expect(received()).toEqual(everyone);
    expect(result.sent).toHaveLength(9);
    expect(result.failedPermanently).toEqual([]);
    expect(mailer.sent.find((m) => m.to[0] === 'ana@example.com')!.subject).toBe('[Slack security] You were signed out of Slack on all devices');
    expect(mailer.sent.find((m) => m.to[0] === 'soc@example.com')!.subject).toBe('[Slack security] Sessions ended for Ana Silva — Tor exit node');
    expect(mailer.sent.every((m) => m.html.includes('<html') && m.text.length > 0)).toBe(true);
    expect(slack.posted.find((p) => p.channel === 'D-U0AFFECTED')!.text).toBe('Security notice: You were signed out of Slack on all devices — <@U0AFFECTED>');
    expect(slack.posted.find((p) => p.channel === 'C0ALERTS')!.blocks).toBeDefined();
    expect(slack.calls.openDirectMessage).toBe(3); // DMs only; the channel is posted to directly

    expect(ledger.record(job.entryId, 'sessions_ended#email#email:ana@example.com')).toEqual({ status: 'sent', detail: 'ses:msg-1', sentAt: ledger.now, expiresAt: expect.any(Number) });
    expect(ledger.record(job.entryId, 'sessions_ended#slack#slack-channel:C0ALERTS')).toMatchObject({ status: 'sent', detail: 'slack:C0ALERTS' });
  });

  it('never double-sends on a retry of a message that was fully delivered', async () => {
    const { deps, received } = setup();
    await notify(makeJob(), deps);
    const again = await notify(makeJob(), deps);
    expect(received()).toEqual(everyone);
    expect(again.sent).toEqual([]);
    expect(again.skipped.filter((s) => s.reason === 'already_sent')).toHaveLength(9);
  });

  it('after a partial failure, the retry sends only what was not sent', async () => {
    const { deps, mailer, slack, received } = setup();
    mailer.failures.set('u0admin2@example.com', [new Error('SES SendEmail failed (InternalFailure, HTTP 500)')]);
    slack.postFailures.set('C0ALERTS', [new SlackError('ratelimited', 'rate_limited', 'bot', 'chat.postMessage', { retryAfterSeconds: 17 })]);
    slack.postFailures.set('D-U0ADMIN1', [new SlackError('internal_error', 'transient', 'bot', 'chat.postMessage')]);

    const first = notify(makeJob(), deps);
    await expect(first).rejects.toBeInstanceOf(RetryLaterError);
    await expect(first).rejects.toMatchObject({ delaySeconds: 17 });
    expect(received()).toEqual({ ...everyone, 'email:u0admin2@example.com': undefined, 'slack:C0ALERTS': undefined, 'slack:D-U0ADMIN1': undefined });

    const second = await notify(makeJob(), deps);
    expect(second.sent.map((s) => s.recipientKey).sort()).toEqual(['email:u0admin2@example.com', 'slack-channel:C0ALERTS', 'slack-dm:U0ADMIN1']);
    expect(received()).toEqual(everyone);
  });

  it('records a permanent failure as final and does not retry it', async () => {
    const { deps, mailer, slack, ledger, received } = setup();
    mailer.failures.set('soc@example.com', [new PermanentFailure('ses_message_rejected', 'SES rejected the message')]);
    slack.postFailures.set('C0ALERTS', [new SlackError('channel_not_found', 'permanent', 'bot', 'chat.postMessage')]);
    const job = makeJob();

    const result = await notify(job, deps);
    expect(result.failedPermanently.map((f) => [f.recipientKey, f.code]).sort()).toEqual([
      ['email:soc@example.com', 'ses_message_rejected'],
      ['slack-channel:C0ALERTS', 'channel_not_found'],
    ]);
    expect(ledger.record(job.entryId, 'sessions_ended#email#email:soc@example.com')).toMatchObject({ status: 'sent', detail: 'failed:ses_message_rejected' });

    const again = await notify(job, deps);
    expect(again.sent).toEqual([]);
    expect(again.failedPermanently).toEqual([]);
    expect(received()['email:soc@example.com']).toBeUndefined();
    expect(slack.calls.postMessage).toBe(4); // three DMs and the one failed channel post, never again
  });

  it('sent but not recorded: keeps the delivery leased, so the retry does not send it again while the lease runs', async () => {
    const { deps, ledger, received } = setup();
    const job = makeJob();
    const key = 'sessions_ended#email#email:soc@example.com';
    const mark = ledger.markDelivered.bind(ledger);
    const outage = new Error('DynamoDB unavailable');
    ledger.markDelivered = jest.fn(async (entryId: string, deliveryKey: string, detail?: string) => {
      if (deliveryKey === key && (ledger.markDelivered as jest.Mock).mock.calls.filter((c) => c[1] === key).length === 1) throw outage;
      return mark(entryId, deliveryKey, detail);
    });

    await expect(notify(job, deps)).rejects.toBe(outage);
    expect(received()).toEqual(everyone); // it went out
    expect(ledger.record(job.entryId, key)).toMatchObject({ status: 'sending', leaseUntil: ledger.now + 30_000 });

    // The message's retry, while the lease runs: that delivery is waited for, not sent again.
    ledger.now += 10_000;
    await expect(notify(job, deps)).rejects.toMatchObject({ name: 'RetryLaterError' });
    expect(received()).toEqual(everyone);
  });

  it('a permanent failure whose record write fails: retried after its lease (never lost), then recorded as final', async () => {
    const { deps, ledger, mailer, received } = setup();
    const job = makeJob();
    const key = 'sessions_ended#email#email:soc@example.com';
    const rejected = () => new PermanentFailure('ses_message_rejected', 'SES rejected the message');
    mailer.failures.set('soc@example.com', [rejected(), rejected()]);
    const mark = ledger.markDelivered.bind(ledger);
    const outage = new Error('DynamoDB unavailable');
    ledger.markDelivered = jest.fn(async (entryId: string, deliveryKey: string, detail?: string) => {
      if (deliveryKey === key && detail?.startsWith('failed:') && (ledger.markDelivered as jest.Mock).mock.calls.filter((c) => c[1] === key).length === 1) throw outage;
      return mark(entryId, deliveryKey, detail);
    });

    // Not reported as failed for good (it is not recorded so), and the message is retried.
    await expect(notify(job, deps)).rejects.toBe(outage);
    expect(ledger.record(job.entryId, key)).toMatchObject({ status: 'sending' });
    expect(received()['email:soc@example.com']).toBeUndefined();

    // While the lease runs the retry waits; after it, the delivery is tried again and recorded as final.
    await expect(notify(job, deps)).rejects.toMatchObject({ name: 'RetryLaterError' });
    ledger.now += 30_001;
    const retry = await notify(job, deps);
    expect(retry.failedPermanently.map((f) => [f.recipientKey, f.code])).toEqual([['email:soc@example.com', 'ses_message_rejected']]);
    expect(ledger.record(job.entryId, key)).toMatchObject({ status: 'sent', detail: 'failed:ses_message_rejected' });
    expect(retry.sent).toEqual([]);
    expect(received()).toEqual({ ...everyone, 'email:soc@example.com': undefined });
    const third = await notify(job, deps);
    expect(third.failedPermanently).toEqual([]);
    expect(mailer.failures.get('soc@example.com')).toEqual([]); // tried exactly twice
  });

  it('turns Slack 429 and SES throttling into RetryLaterError with the longest delay', async () => {
    const { deps, mailer, slack } = setup();
    mailer.failures.set('soc@example.com', [new RetryLaterError(5, 'SES throttled sending')]);
    slack.postFailures.set('C0ALERTS', [new SlackError('ratelimited', 'rate_limited', 'bot', 'chat.postMessage', { retryAfterSeconds: 42 })]);
    mailer.failures.set('u0owner@example.com', [new Error('socket hang up')]);
    await expect(notify(makeJob(), deps)).rejects.toMatchObject({ name: 'RetryLaterError', delaySeconds: 42 });
  });

  it('rethrows a Slack auth error as is, after the other deliveries went out', async () => {
    const { deps, slack, ledger, received } = setup();
    const auth = new SlackError('invalid_auth', 'auth', 'bot', 'chat.postMessage');
    slack.postFailures.set('D-U0ADMIN1', [auth]);
    slack.postFailures.set('C0ALERTS', [new SlackError('ratelimited', 'rate_limited', 'bot', 'chat.postMessage', { retryAfterSeconds: 3 })]);
    const job = makeJob();

    await expect(notify(job, deps)).rejects.toBe(auth);
    expect(Object.keys(received())).toHaveLength(7);
    // Released, so the retry can claim it at once.
    await expect(ledger.claimDelivery(job.entryId, 'sessions_ended#slack#slack-dm:U0ADMIN1', 1000)).resolves.toBe(true);
  });

  it('rethrows an operator configuration error as is, so its fix reaches the dead-letter reason', async () => {
    const { deps, mailer } = setup();
    const misconfigured = new SesConfigurationError('SES refused to send as alerts@example.com (…); fix: verify the sender', 'MailFromDomainNotVerifiedException');
    for (const address of ['ana@example.com', 'u0owner@example.com']) mailer.failures.set(address, [misconfigured]);
    await expect(notify(makeJob(), deps)).rejects.toBe(misconfigured);
  });

  it('waits for a delivery another invocation is sending, and sends the rest', async () => {
    const { deps, ledger, received } = setup();
    const job = makeJob();
    await ledger.claimDelivery(job.entryId, deliveryKey(job, { channel: 'email', recipientKey: 'email:soc@example.com' }), 30_000);

    await expect(notify(job, deps)).rejects.toMatchObject({ name: 'RetryLaterError', delaySeconds: 30 });
    expect(received()).toEqual({ ...everyone, 'email:soc@example.com': undefined });
  });

  it('sends to the others when a directory lookup fails, and the retry adds the missing ones', async () => {
    const { deps, slack, received } = setup();
    const realIds = slack.securityAdminIds.bind(slack);
    slack.securityAdminIds = async () => {
      throw new SlackError('ratelimited', 'rate_limited', 'admin', 'admin.roles.listAssignments', { retryAfterSeconds: 9 });
    };
    await expect(notify(makeJob(), deps)).rejects.toMatchObject({ delaySeconds: 9 });
    expect(Object.keys(received()).sort()).toEqual(['email:ana@example.com', 'email:soc@example.com', 'email:u0owner@example.com', 'slack:C0ALERTS', 'slack:D-U0AFFECTED']);

    slack.securityAdminIds = realIds;
    await notify(makeJob(), deps);
    expect(received()).toEqual(everyone);
  });

  it('fills in the affected user’s email from the directory for delivery and for the admin version', async () => {
    const { deps, slack, mailer } = setup();
    slack.setUser(person('U0AFFECTED', { email: 'ana.silva@example.com', realName: 'Ana Silva' }));
    await notify(makeJob({ user: { id: 'U0AFFECTED' } }), deps);
    expect(mailer.sent.map((m) => m.to[0])).toContain('ana.silva@example.com');
    const adminMail = mailer.sent.find((m) => m.to[0] === 'soc@example.com')!;
    expect(adminMail.subject).toBe('[Slack security] Sessions ended for Ana Silva — Tor exit node');
    expect(adminMail.text).toContain('ana[.]silva@example[.]com');
  });

  it('names and greets the person by the real name in the directory, not by handle', async () => {
    const { deps, mailer } = setup();
    await notify(makeJob({ user: { id: 'U0AFFECTED', name: 'ana.s', email: 'ana@example.com' } }), deps);
    expect(mailer.sent.find((m) => m.to[0] === 'ana@example.com')!.text).toContain('Hi Ana Silva,');
    expect(mailer.sent.find((m) => m.to[0] === 'soc@example.com')!.subject).toBe('[Slack security] Sessions ended for Ana Silva — Tor exit node');
  });

  it('still sends, naming the person by handle, when the directory cannot say their name', async () => {
    const { deps, mailer, slack } = setup();
    slack.lookupFailure = new SlackError('internal_error', 'transient', 'admin', 'users.info');
    const job = makeJob({ user: { id: 'U0AFFECTED', name: 'ana.s', email: 'ana@example.com' } });
    // The owner and admin lookups fail too and are retried; the name lookup alone never fails the job.
    await expect(notify(job, deps)).rejects.toBeDefined();
    const adminMail = mailer.sent.find((m) => m.to[0] === 'soc@example.com')!;
    expect(adminMail.subject).toBe('[Slack security] Sessions ended for ana.s — Tor exit node');
    expect(mailer.sent.find((m) => m.to[0] === 'ana@example.com')!.text).toContain('Hello,');
  });

  it('sends with the deployment’s sender name and reply-to, the config item winning field by field', async () => {
    const { deps, mailer } = setup();
    const configured = makeConfig({ ...config, alerts: { replyTo: 'soc-replies@example.com', orgName: 'Acme' } });
    await notify(makeJob(), { ...deps, config: staticConfig(configured), alertDefaults: { senderName: 'Acme Security', replyTo: 'noreply@example.com', orgName: 'ACME Inc' } });
    const adminMail = mailer.sent.find((m) => m.to[0] === 'soc@example.com')!;
    expect(adminMail).toMatchObject({ senderName: 'Acme Security', replyTo: 'soc-replies@example.com' });
    expect(adminMail.subject).toBe('[Slack security] Acme: Sessions ended for Ana Silva — Tor exit node');
  });

  it('keeps at most `concurrency` deliveries in flight', async () => {
    const { deps, mailer } = setup();
    let inFlight = 0;
    let peak = 0;
    const send = mailer.send.bind(mailer);
    mailer.send = async (mail) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return send(mail);
    };
    await notify(makeJob(), { ...deps, concurrency: 2 });
    expect(peak).toBe(2);
  });

  it('lets a config error through without sending anything', async () => {
    const { deps, received } = setup();
    const broken = new Error('config is invalid: notifications.sessions_ended.slackChannel: must be a Slack channel ID');
    await expect(notify(makeJob(), { ...deps, config: { load: () => Promise.reject(broken) } })).rejects.toBe(broken);
    expect(received()).toEqual({});
  });

  it('uses one ledger key per type, channel and destination', () => {
    const job: Pick<NotificationJob, 'type'> = { type: 'action_failed' };
    expect(deliveryKey(job, { channel: 'slack', recipientKey: 'slack-dm:U1' })).toBe('action_failed#slack#slack-dm:U1');
  });
});
