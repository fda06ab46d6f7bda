import { DirectoryCache, planDeliveries, type Delivery } from '../../../functions/notify/recipients';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { FakeSlack, makeConfig, makeJob, person } from './fakes';

const keys = (deliveries: Delivery[]) => deliveries.map((d) => `${d.audience}:${d.recipientKey}`);

function org() {
  const slack = new FakeSlack(
    [person('U0OWNER'), person('U0ADMIN1'), person('U0ADMIN2', { email: undefined }), person('U0GONE', { deleted: true }), person('U0BOT', { isBot: true })],
    'U0OWNER',
    ['U0ADMIN1', 'U0ADMIN2', 'U0GONE', 'U0BOT'],
  );
  let now = 0;
  const clock = { advance: (ms: number) => (now += ms) };
  const directory = new DirectoryCache(slack, 60_000, () => now);
  return { slack, directory, clock };
}

describe('planDeliveries', () => {
  it('fans out per the rule of the notification type', async () => {
    const { directory } = org();
    const config = makeConfig({
      notifications: {
        affected_user: { email: true, slack: true },
        sessions_ended: { primaryOwner: ['email', 'slack'], securityAdmins: ['slack'], extraEmails: ['soc@example.com'], slackChannel: 'C0ALERTS' },
      },
    });
    const plan = await planDeliveries(makeJob(), config, directory);
    expect(keys(plan.deliveries)).toEqual([
      'affected_user:email:ana@example.com',
      'affected_user:slack-dm:U0AFFECTED',
      'admin:email:u0owner@example.com',
      'admin:slack-dm:U0OWNER',
      'admin:slack-dm:U0ADMIN1',
      'admin:slack-dm:U0ADMIN2',
      'admin:email:soc@example.com',
      'admin:slack-channel:C0ALERTS',
    ]);
    expect(plan.deliveries.find((d) => d.recipientKey === 'slack-dm:U0ADMIN1')).toMatchObject({ channel: 'slack', address: 'U0ADMIN1' });
    expect(plan.deliveries.find((d) => d.recipientKey === 'slack-channel:C0ALERTS')).toMatchObject({ channel: 'slack', address: 'C0ALERTS' });
  });

  it('uses the defaults: user, owner and admins by email for sessions_ended; only admins for anomaly_not_acted_on', async () => {
    const { directory } = org();
    const config = makeConfig();
    const ended = await planDeliveries(makeJob(), config, directory);
    expect(keys(ended.deliveries)).toEqual(['affected_user:email:ana@example.com', 'admin:email:u0owner@example.com', 'admin:email:u0admin1@example.com']);
    expect(ended.skipped).toEqual([{ recipient: 'security admin U0ADMIN2', channel: 'email', reason: 'no_email_address' }]);

    const notActed = await planDeliveries(makeJob({ type: 'anomaly_not_acted_on' }), config, directory);
    expect(keys(notActed.deliveries)).toEqual(['admin:email:u0admin1@example.com']);
  });

  it('in a dry run tells the owner and security admins as usual, and never the affected user', async () => {
    const { directory } = org();
    const config = makeConfig({ notifications: { affected_user: { email: true, slack: true } } });
    const plan = await planDeliveries(makeJob({ response: { outcome: 'dry_run', scope: 'all', dryRun: true } }), config, directory);
    expect(keys(plan.deliveries)).toEqual(['admin:email:u0owner@example.com', 'admin:email:u0admin1@example.com']);
  });

  it('tells an app\u2019s anomaly to its own recipients (security admins by default), with no affected person', async () => {
    const { directory } = org();
    const job = makeJob({ type: 'app_anomaly', user: undefined, app: { id: 'A0APP00001', name: 'Exporter' }, response: { outcome: 'held', holdReason: 'app_anomaly' } });
    expect(keys((await planDeliveries(job, makeConfig(), directory)).deliveries)).toEqual(['admin:email:u0admin1@example.com']);
    const own = makeConfig({ notifications: { app_anomaly: { primaryOwner: ['slack'], securityAdmins: [], extraEmails: ['apps@example.com'] } } });
    expect(keys((await planDeliveries(job, own, directory)).deliveries)).toEqual(['admin:slack-dm:U0OWNER', 'admin:email:apps@example.com']);
  });

  it('tells the affected user only when their sessions were ended', async () => {
    const { directory } = org();
    const config = makeConfig({ notifications: { affected_user: { email: true, slack: true } } });
    for (const type of ['anomaly_not_acted_on', 'action_failed'] as const) {
      const plan = await planDeliveries(makeJob({ type }), config, directory);
      expect(plan.deliveries.filter((d) => d.audience === 'affected_user')).toEqual([]);
    }
  });

  it('deduplicates: owner who is also an admin, an extra email equal to an admin’s (any case)', async () => {
    const { directory, slack } = org();
    slack.securityAdminIdList.push('U0OWNER');
    const config = makeConfig({
      notifications: { sessions_ended: { primaryOwner: ['email', 'slack'], securityAdmins: ['email', 'slack'], extraEmails: ['U0Admin1@Example.com'] } },
    });
    const plan = await planDeliveries(makeJob(), config, directory);
    const recipientKeys = plan.deliveries.map((d) => d.recipientKey);
    expect(recipientKeys).toEqual([...new Set(recipientKeys)]);
    expect(recipientKeys.filter((k) => k === 'email:u0owner@example.com')).toHaveLength(1);
    expect(recipientKeys.filter((k) => k === 'email:u0admin1@example.com')).toHaveLength(1);
  });

  it('gives an affected admin only the affected-user version on the channels it uses', async () => {
    const { directory, slack } = org();
    slack.securityAdminIdList.push('U0AFFECTED');
    slack.users.push(person('U0AFFECTED', { email: 'ana@example.com' }));
    const config = makeConfig({ notifications: { affected_user: { email: true, slack: false }, sessions_ended: { securityAdmins: ['email', 'slack'] } } });
    const plan = await planDeliveries(makeJob(), config, directory);
    const ana = plan.deliveries.filter((d) => d.recipientKey.endsWith('ana@example.com') || d.recipientKey.endsWith('U0AFFECTED'));
    expect(keys(ana)).toEqual(['affected_user:email:ana@example.com', 'admin:slack-dm:U0AFFECTED']);
  });

  it('looks up the affected user’s email when the job lacks it, and skips with a reason when there is none', async () => {
    const { directory, slack } = org();
    slack.users.push(person('U0AFFECTED', { email: 'ana.silva@example.com', realName: 'Ana Silva' }), person('U0NOMAIL', { email: undefined }));
    const config = makeConfig({ notifications: { sessions_ended: { primaryOwner: [], securityAdmins: [] } } });

    const found = await planDeliveries(makeJob({ user: { id: 'U0AFFECTED' } }), config, directory);
    expect(keys(found.deliveries)).toEqual(['affected_user:email:ana.silva@example.com']);
    expect(found.affectedUser?.realName).toBe('Ana Silva');

    const none = await planDeliveries(makeJob({ user: { id: 'U0NOMAIL' } }), config, directory);
    expect(none.deliveries).toEqual([]);
    expect(none.skipped).toEqual([{ recipient: 'affected user U0NOMAIL', channel: 'email', reason: 'no_email_address' }]);
  });

  it('keeps the other recipients when a lookup fails, and reports the failure', async () => {
    const { directory, slack } = org();
    const failure = new SlackError('ratelimited', 'rate_limited', 'admin', 'admin.roles.listAssignments', { retryAfterSeconds: 12 });
    slack.securityAdminIds = async () => {
      throw failure;
    };
    const config = makeConfig({ notifications: { sessions_ended: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: ['soc@example.com'] } } });
    const plan = await planDeliveries(makeJob(), config, directory);
    expect(keys(plan.deliveries)).toEqual(['affected_user:email:ana@example.com', 'admin:email:u0owner@example.com', 'admin:email:soc@example.com']);
    expect(plan.lookupFailures).toEqual([{ recipient: 'security admins', error: failure }]);
  });

  it('does not look up roles the rule does not use', async () => {
    const { directory, slack } = org();
    const config = makeConfig({ notifications: { anomaly_not_acted_on: { primaryOwner: [], securityAdmins: [], extraEmails: ['soc@example.com'] } } });
    await planDeliveries(makeJob({ type: 'anomaly_not_acted_on' }), config, directory);
    expect(slack.calls).toEqual({});
  });
});

describe('DirectoryCache', () => {
  it('skips deleted accounts and bots among security admins', async () => {
    const { directory } = org();
    expect((await directory.securityAdmins()).map((u) => u.id)).toEqual(['U0ADMIN1', 'U0ADMIN2']);
  });

  it('serves repeat lookups from memory within the TTL, and refetches after it', async () => {
    const { directory, slack, clock } = org();
    await directory.primaryOwner();
    await directory.securityAdmins();
    expect(slack.calls).toEqual({ primaryOwner: 1, securityAdminIds: 1, getUser: 4 });

    clock.advance(59_999);
    await Promise.all([directory.primaryOwner(), directory.securityAdmins(), directory.user('U0ADMIN1')]);
    expect(slack.calls).toEqual({ primaryOwner: 1, securityAdminIds: 1, getUser: 4 });

    clock.advance(1);
    await directory.primaryOwner();
    await directory.securityAdmins();
    expect(slack.calls).toEqual({ primaryOwner: 2, securityAdminIds: 2, getUser: 8 });
  });

  it('shares one request between concurrent callers', async () => {
    const { directory, slack } = org();
    await Promise.all([directory.primaryOwner(), directory.primaryOwner(), directory.primaryOwner()]);
    expect(slack.calls.primaryOwner).toBe(1);
  });

  it('does not cache a failure', async () => {
    const { directory, slack } = org();
    slack.lookupFailure = new SlackError('internal_error', 'transient', 'admin', 'admin.users.list');
    await expect(directory.primaryOwner()).rejects.toThrow('internal_error');
    slack.lookupFailure = undefined;
    await expect(directory.primaryOwner()).resolves.toMatchObject({ id: 'U0OWNER' });
    expect(slack.calls.primaryOwner).toBe(2);
  });
});
