import { planAllowListSync } from '../../../functions/domain/allow-list';
import { responseConfigSchema, type ResponseConfig } from '../../../functions/domain/config/schema';
import { ConfigError } from '../../../functions/domain/errors';
import type { AllowList } from '../../../functions/domain/allow-list';
import { syncAllowList } from '../../../functions/poll-audit-logs/allow-list-sync';
import { FakeSlack } from '../../support/fake-slack';

const trusted = (cidrs: string[], asns: number[] = [], syncToSlack = true) => responseConfigSchema.parse({ trustedNetworks: { cidrs, asns, syncToSlack } });

describe('planAllowListSync: Slack\u2019s allow-list is the configured IPv4 ranges and ASNs', () => {
  const config = trusted(['203.0.113.0/24', '198.51.100.0/24', '2001:db8::/32'], [64501, 64500]);

  it.each<[string, AllowList, AllowList | undefined, { update: boolean; drift: boolean }]>([
    ['never written, Slack empty', { cidrs: [], asns: [] }, undefined, { update: true, drift: false }],
    ['already equal (any order, Slack\u2019s own spelling)', { cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] }, undefined, { update: false, drift: false }],
    ['as we wrote it', { cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] }, { cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] }, { update: false, drift: false }],
    ['someone added a range in Slack', { cidrs: ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24'], asns: [64500, 64501] }, { cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] }, { update: true, drift: true }],
    ['someone emptied it in Slack', { cidrs: [], asns: [] }, { cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] }, { update: true, drift: true }],
    ['the config changed since we wrote (no drift)', { cidrs: ['198.51.100.0/24'], asns: [] }, { cidrs: ['198.51.100.0/24'], asns: [] }, { update: true, drift: false }],
  ])('%s', (_name, found, lastWritten, expected) => {
    const plan = planAllowListSync(config.trustedNetworks, found, lastWritten);
    expect(plan.desired).toEqual({ cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] });
    expect(plan.notSynced).toEqual(['2001:db8::/32']);
    expect({ update: plan.update, drift: plan.drift !== undefined }).toEqual(expected);
  });

  it('reads each range in Slack\u2019s list in canonical form, spaces and a zero-padded prefix aside', () => {
    const plan = planAllowListSync(config.trustedNetworks, { cidrs: [' 198.51.100.0/024', '203.0.113.0/24 '], asns: [64500, 64501] }, undefined);
    expect(plan.update).toBe(false);
  });

  it('compares a range with host bits set (Slack\u2019s own example 8.8.8.8/24) as written, without spaces', () => {
    const lastWritten = { cidrs: ['198.51.100.0/24', '203.0.113.0/24'], asns: [64500, 64501] };
    const plan = planAllowListSync(config.trustedNetworks, { cidrs: [' 8.8.8.8/24 ', ...lastWritten.cidrs], asns: lastWritten.asns }, lastWritten);
    expect(plan.drift?.found).toEqual({ cidrs: ['198.51.100.0/24', '203.0.113.0/24', '8.8.8.8/24'], asns: [64500, 64501] });
    expect(plan.update).toBe(true);
  });
});

describe('syncAllowList', () => {
  function setup(config: ResponseConfig | Error) {
    const slack = new FakeSlack();
    let written: AllowList | undefined;
    const deps = {
      config: { load: async () => (config instanceof Error ? Promise.reject(config) : config) },
      slack,
      state: { lastWrittenAllowList: async () => written, saveWrittenAllowList: async (list: AllowList) => void (written = list) },
    };
    return { slack, deps, written: () => written };
  }

  it('does nothing at all unless syncToSlack is on', async () => {
    const t = setup(trusted(['198.51.100.0/24'], [], false));
    await expect(syncAllowList(t.deps)).resolves.toEqual({ kind: 'off' });
    expect(t.slack.calls).toEqual({});
  });

  it('writes the configured list, then finds it in sync; a change in Slack is drift, written back', async () => {
    const t = setup(trusted(['198.51.100.0/24', '2001:db8::/32'], [64500]));
    await expect(syncAllowList(t.deps)).resolves.toEqual({ kind: 'updated', list: { cidrs: ['198.51.100.0/24'], asns: [64500] }, notSynced: ['2001:db8::/32'] });
    expect(t.slack.allowListWrites).toEqual([{ cidrs: ['198.51.100.0/24'], asns: [64500] }]);
    await expect(syncAllowList(t.deps)).resolves.toMatchObject({ kind: 'in_sync' });
    expect(t.slack.allowListWrites).toHaveLength(1);

    t.slack.allowList = { cidrs: ['198.51.100.0/24', '192.0.2.0/24'], asns: [] }; // changed by hand in Slack
    await expect(syncAllowList(t.deps)).resolves.toEqual({
      kind: 'updated',
      list: { cidrs: ['198.51.100.0/24'], asns: [64500] },
      notSynced: ['2001:db8::/32'],
      drift: { lastWritten: { cidrs: ['198.51.100.0/24'], asns: [64500] }, found: { cidrs: ['192.0.2.0/24', '198.51.100.0/24'], asns: [] } },
    });
    expect(t.slack.allowList).toEqual({ cidrs: ['198.51.100.0/24'], asns: [64500] });
  });

  it('in a dry run reads and compares, and writes nothing to Slack', async () => {
    const config = trusted(['198.51.100.0/24']);
    config.safety.dryRun = true;
    const t = setup(config);
    await expect(syncAllowList(t.deps)).resolves.toMatchObject({ kind: 'would_update', list: { cidrs: ['198.51.100.0/24'], asns: [] } });
    expect(t.slack.allowListWrites).toEqual([]);
    expect(t.written()).toBeUndefined();
  });

  it('a Slack failure is thrown for the caller to count; nothing is recorded as written', async () => {
    const t = setup(trusted(['198.51.100.0/24']));
    t.slack.failures.setAnomalyAllowList = [new (await import('../../../functions/adapters/slack/errors')).SlackError('missing_scope', 'auth', 'admin', 'admin.audit.anomaly.allow.updateItem')];
    await expect(syncAllowList(t.deps)).rejects.toMatchObject({ code: 'missing_scope' });
    expect(t.written()).toBeUndefined();
  });

  it('an invalid configuration is thrown as such (the poller leaves it to respond\u2019s ConfigInvalid alarm)', async () => {
    const t = setup(new ConfigError(['safety.dryRun: expected boolean']));
    await expect(syncAllowList(t.deps)).rejects.toBeInstanceOf(ConfigError);
  });
});
