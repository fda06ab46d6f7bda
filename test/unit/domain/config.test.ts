import { ANOMALY_EVENT_NAMES, MORE_EVENT_NAMES } from '../../../functions/domain/anomaly-catalogue';
import { CONFIG_ITEM_IDS, configFromItems, configToItems } from '../../../functions/domain/config/items';
import { defaultConfig, NOTIFICATION_TYPES, parseGroupKey, responseConfigSchema, type ResponseConfig } from '../../../functions/domain/config/schema';
import { ConfigError, ValidationError } from '../../../functions/domain/errors';

const SLACK_DEFAULTS: ResponseConfig = {
  events: {
    tor: { action: 'end_sessions', scope: 'all', excludedUsers: [], excludedGroups: [] },
    unexpected_scraping: { action: 'end_sessions', scope: 'all', excludedUsers: [], excludedGroups: [] },
    excessive_downloads: { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] },
    session_fingerprint: { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] },
    spoofed_user_agent: { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] },
    unexpected_api_call_volume: { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] },
    unexpected_user_agent: { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] },
    ...Object.fromEntries(MORE_EVENT_NAMES.map((event) => [event, { action: 'off', scope: 'all', excludedUsers: [], excludedGroups: [] } as const])),
  } as unknown as ResponseConfig['events'],
  exclusions: { excludedUsers: [], excludedGroups: [] },
  notifications: {
    affected_user: { email: true, slack: false },
    sessions_ended: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [] },
    anomaly_not_acted_on: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
    action_failed: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [] },
    app_anomaly: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
    anomaly_response_changed: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
    config_changed: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
  },
  safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 25, dryRun: false },
  trustedNetworks: { cidrs: [], asns: [], syncToSlack: false },
  alerts: {},
};

/** A config that differs from the defaults everywhere it can. */
function customConfig(): ResponseConfig {
  const config = defaultConfig();
  config.events.tor = { action: 'notify_only', scope: 'web', excludedUsers: ['U0ALICE01', 'W0BOB0001'], excludedGroups: ['S0SECTEAM1'] };
  config.events.unexpected_scraping.action = 'off';
  config.events.excessive_downloads = { action: 'end_sessions', scope: 'session', excludedUsers: [], excludedGroups: ['S0DATA001', 'S0ETL0001'] };
  config.events.unexpected_user_agent.action = 'notify_only';
  config.exclusions = { excludedUsers: ['U0BREAKGLS'], excludedGroups: ['S0EXECS01'] };
  config.notifications.affected_user = { email: false, slack: true };
  config.notifications.sessions_ended = { primaryOwner: ['email', 'slack'], securityAdmins: ['slack'], extraEmails: ['soc@example.com'], slackChannel: 'C0SECALERT' };
  config.notifications.anomaly_not_acted_on = { primaryOwner: [], securityAdmins: [], extraEmails: [], slackChannel: 'G0PRIVATE1' };
  config.events.potential_spam = { action: 'notify_only', scope: 'mobile', excludedUsers: [], excludedGroups: [] };
  config.notifications.app_anomaly = { primaryOwner: ['slack'], securityAdmins: [], extraEmails: [] };
  config.safety = { cooldownMinutes: 0, maxSessionResetsPerHour: 500, dryRun: true };
  config.trustedNetworks = { cidrs: ['198.51.100.0/24', '2001:db8::/32'], asns: [64500], syncToSlack: true };
  config.alerts = {
    orgName: 'Acme',
    senderName: 'Acme Security',
    replyTo: 'security@acme.example',
    securityContact: 'https://intranet.acme.example/security',
    timeZone: 'Europe/Berlin',
    auditLogUrl: 'https://acme.enterprise.slack.com/admin/audit_logs',
    adminPersonUrl: 'https://acme.enterprise.slack.com/admin/people/{userId}',
  };
  return config;
}

const itemsOf = (config: ResponseConfig) => configToItems(config) as Record<string, unknown>[];
const item = (items: Record<string, unknown>[], id: string) => items.find((i) => i.id === id)!;

/** The issues `configFromItems` throws for these items. */
function configIssues(items: Record<string, unknown>[]): string[] {
  try {
    configFromItems(items);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected configFromItems to throw');
}

/** These items, and a manifest saying they are the ones present on purpose (the others take their defaults). */
function onPurpose(items: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...items, { id: 'manifest', items: items.map((i) => String(i.id)).filter((id) => CONFIG_ITEM_IDS.includes(id)) }];
}

/** Default items with one item replaced (by id) or added. */
function itemsWith(...replacements: Record<string, unknown>[]): Record<string, unknown>[] {
  const items = itemsOf(defaultConfig()).filter((i) => !replacements.some((r) => r.id === i.id));
  return [...items, ...replacements];
}

describe('defaultConfig', () => {
  it('is Slack\u2019s default: Tor and data scraping end sessions, others off, affected user emailed', () => {
    expect(defaultConfig()).toStrictEqual(SLACK_DEFAULTS);
  });

  it('returns an independent copy every time (mutating one never changes the defaults)', () => {
    const first = defaultConfig();
    first.events.tor.excludedUsers.push('U0LEAK0001');
    first.events.excessive_downloads.excludedGroups.push('S0LEAK0001');
    first.exclusions.excludedUsers.push('U0LEAK0002');
    first.notifications.sessions_ended.primaryOwner.push('slack');
    first.notifications.anomaly_not_acted_on.extraEmails.push('leak@example.com');
    first.notifications.action_failed.securityAdmins.length = 0;
    expect(defaultConfig()).toStrictEqual(SLACK_DEFAULTS);
    // ...nor the defaults filled in for items missing from the table
    expect(configFromItems(onPurpose([{ id: 'safety', cooldownMinutes: 30, maxSessionResetsPerHour: 25 }]))).toStrictEqual(SLACK_DEFAULTS);
  });
});

describe('configToItems', () => {
  it('writes one item per concern, with these ids', () => {
    expect(itemsOf(defaultConfig()).map((i) => i.id)).toEqual([
      ...ANOMALY_EVENT_NAMES.map((e) => `event#${e}`),
      ...MORE_EVENT_NAMES.map((e) => `event#${e}`),
      'exclusions',
      'notify#affected_user',
      'notify#sessions_ended',
      'notify#anomaly_not_acted_on',
      'notify#action_failed',
      'notify#app_anomaly',
      'notify#anomaly_response_changed',
      'notify#config_changed',
      'safety',
      'trustedNetworks',
      'manifest',
      'alerts',
    ]);
    expect(item(itemsOf(defaultConfig()), 'manifest').items).toEqual(CONFIG_ITEM_IDS);
  });

  it('writes plain console-editable attributes: scalars or lists of strings (ASNs: numbers), never nested objects or undefined', () => {
    for (const i of itemsOf(customConfig())) {
      for (const [key, value] of Object.entries(i)) {
        const plain =
          typeof value === 'string' ||
          typeof value === 'number' ||
          typeof value === 'boolean' ||
          (Array.isArray(value) && value.every((v) => typeof v === (key === 'asns' ? 'number' : 'string')));
        expect({ item: i.id, key, plain }).toEqual({ item: i.id, key, plain: true });
      }
      expect(typeof i.description).toBe('string');
    }
  });

  it('puts each concern\u2019s fields on its item', () => {
    const items = itemsOf(customConfig());
    expect(item(items, 'event#tor')).toMatchObject({ action: 'notify_only', excludedUsers: ['U0ALICE01', 'W0BOB0001'], excludedGroups: ['S0SECTEAM1'] });
    expect(item(items, 'exclusions')).toMatchObject({ excludedUsers: ['U0BREAKGLS'], excludedGroups: ['S0EXECS01'] });
    expect(item(items, 'notify#affected_user')).toMatchObject({ email: false, slack: true });
    expect(item(items, 'notify#sessions_ended')).toMatchObject({ slackChannel: 'C0SECALERT', extraEmails: ['soc@example.com'] });
    expect(item(items, 'safety')).toMatchObject({ cooldownMinutes: 0, maxSessionResetsPerHour: 500 });
    expect(Object.keys(item(items, 'notify#action_failed'))).not.toContain('slackChannel');
  });

  it('describes every item for the person reading the console, each notification type in words', () => {
    const items = itemsOf(defaultConfig());
    for (const i of items) expect(String(i.description).trim()).not.toBe('');
    expect(new Set(items.map((i) => i.description)).size).toBe(items.length);
    expect(item(items, 'notify#anomaly_not_acted_on').description).toContain('"anomaly not acted on"');
    expect(item(items, 'notify#affected_user').description).toMatch(/affected user/);
    expect(item(items, 'exclusions').description).toMatch(/excluded/);
    expect(item(items, 'safety').description).toMatch(/circuit breaker/);
  });

  it('mentions the event\u2019s name in its description', () => {
    expect(item(itemsOf(defaultConfig()), 'event#session_fingerprint').description).toContain('Stale or unexpected session cookies');
  });
});

describe('configFromItems', () => {
  it.each([
    ['the defaults', defaultConfig],
    ['a custom config', customConfig],
  ])('round-trips %s', (_name, make) => {
    const config = make();
    expect(configFromItems(itemsOf(config))).toStrictEqual(config);
  });

  it('round-trips through JSON (a console export / import)', () => {
    const config = customConfig();
    expect(configFromItems(JSON.parse(JSON.stringify(itemsOf(config))))).toStrictEqual(config);
  });

  it('takes defaults for missing items', () => {
    const config = configFromItems(onPurpose([{ id: 'event#excessive_downloads', action: 'notify_only' }]));
    expect(config).toStrictEqual({
      ...SLACK_DEFAULTS,
      events: { ...SLACK_DEFAULTS.events, excessive_downloads: { action: 'notify_only', scope: 'all', excludedUsers: [], excludedGroups: [] } },
    });
  });

  it('ignores descriptions', () => {
    expect(configFromItems(onPurpose([{ id: 'safety', description: 'edited by hand', cooldownMinutes: 10 }])).safety).toEqual({ cooldownMinutes: 10, maxSessionResetsPerHour: 25, dryRun: false });
  });

  it('accepts a string set (a JS Set from the document client) as a list', () => {
    const config = configFromItems(
      itemsWith(
        { id: 'event#tor', action: 'end_sessions', excludedUsers: new Set(['U0ALICE01', 'W0BOB0001']), excludedGroups: new Set(['S0SECTEAM1']) },
        { id: 'exclusions', excludedUsers: new Set(['U0BREAKGLS']) },
        { id: 'notify#sessions_ended', primaryOwner: new Set(['slack', 'email']), extraEmails: new Set(['soc@example.com']) },
        { id: 'trustedNetworks', cidrs: new Set(['198.51.100.0/24']), asns: new Set([64500]) },
      ),
    );
    expect(config.trustedNetworks).toEqual({ cidrs: ['198.51.100.0/24'], asns: [64500], syncToSlack: false });
    expect(config.events.tor).toEqual({ action: 'end_sessions', scope: 'all', excludedUsers: ['U0ALICE01', 'W0BOB0001'], excludedGroups: ['S0SECTEAM1'] });
    expect(config.exclusions).toEqual({ excludedUsers: ['U0BREAKGLS'], excludedGroups: [] });
    expect(config.notifications.sessions_ended.primaryOwner).toEqual(['slack', 'email']);
    expect(config.notifications.sessions_ended.extraEmails).toEqual(['soc@example.com']);
  });

  it('validates the members of a string set too', () => {
    expect(configIssues(itemsWith({ id: 'event#tor', action: 'end_sessions', excludedUsers: new Set(['U0ALICE01', 'alice']) }))).toEqual([
      expect.stringMatching(/^event#tor\.excludedUsers\.1: must be a Slack user ID/),
    ]);
  });

  it('takes the alerts item as optional, with or without a manifest: how alerts look never blocks a response', () => {
    const withoutAlerts = itemsOf(customConfig()).filter((i) => i.id !== 'alerts');
    expect(configFromItems(withoutAlerts).alerts).toEqual({});
    expect(configFromItems(withoutAlerts.filter((i) => i.id !== 'manifest')).alerts).toEqual({});
    expect(item(itemsOf(customConfig()), 'manifest').items).not.toContain('alerts');
  });

  it('refuses an empty table: an unseeded deployment must not end sessions', () => {
    expect(configIssues([])).toEqual([expect.stringMatching(/^\(table\): the config table is empty/)]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['unknown event item', { id: 'event#bogus', action: 'end_sessions' }, /^event#bogus: unknown anomaly event "bogus" \(known: tor, /],
    ['a reason code Slack does not document as an event', { id: 'event#search_volume', action: 'end_sessions' }, /^event#search_volume: unknown anomaly event/],
    ['unknown scope', { id: 'event#tor', action: 'end_sessions', scope: 'desktop' }, /^event#tor\.scope: /],
    ['dryRun as a string', { id: 'safety', dryRun: 'yes' }, /^safety\.dryRun: .*boolean/],
    ['a CIDR that is an address', { id: 'trustedNetworks', cidrs: ['198.51.100.0/24', '198.51.100.7'] }, /^trustedNetworks\.cidrs\.1: must be a CIDR range/],
    ['a CIDR with host bits set', { id: 'trustedNetworks', cidrs: ['198.51.100.7/24'] }, /^trustedNetworks\.cidrs\.0: has host bits set past \/24; the network is 198\.51\.100\.0\/24$/],
    ['an IPv4 prefix over 32', { id: 'trustedNetworks', cidrs: ['198.51.100.0/33'] }, /^trustedNetworks\.cidrs\.0: prefix \/33 is longer than an IPv4 address/],
    ['an IPv6 prefix over 128', { id: 'trustedNetworks', cidrs: ['2001:db8::/129'] }, /^trustedNetworks\.cidrs\.0: prefix \/129 is longer than an IPv6 address/],
    ['a bad IPv6 range', { id: 'trustedNetworks', cidrs: ['2001:db8:::/32'] }, /^trustedNetworks\.cidrs\.0: "2001:db8:::" is not an IPv4 or IPv6 address$/],
    ['an octet over 255', { id: 'trustedNetworks', cidrs: ['198.51.256.0/24'] }, /^trustedNetworks\.cidrs\.0: "198\.51\.256\.0" is not/],
    ['an ASN as a string', { id: 'trustedNetworks', asns: ['AS64500'] }, /^trustedNetworks\.asns\.0: /],
    ['ASN zero', { id: 'trustedNetworks', asns: [0] }, /^trustedNetworks\.asns\.0: /],
    ['unknown attribute on trustedNetworks', { id: 'trustedNetworks', cidr: [] }, /^trustedNetworks: Unrecognized key: "cidr"$/],
    ['unknown notification item', { id: 'notify#app_anomalies', securityAdmins: ['email'] }, /^notify#app_anomalies: unknown notification item/],
    ['unknown item id', { id: 'settings' }, /^settings: unknown config item$/],
    ['unknown notification item', { id: 'notify#bogus', primaryOwner: ['email'] }, /^notify#bogus: unknown notification item "bogus"/],
    ['item without an id', { action: 'off' }, /^\(item\): an item has no string `id`$/],
    ['non-string description', { id: 'safety', description: 5 }, /^safety\.description: must be a string$/],
    ['bad user id in excludedUsers', { id: 'event#tor', action: 'end_sessions', excludedUsers: ['alice@example.com'] }, /^event#tor\.excludedUsers\.0: must be a Slack user ID/],
    ['bad user id in global exclusions', { id: 'exclusions', excludedUsers: ['U0OK00001', 'u0lower'] }, /^exclusions\.excludedUsers\.1: must be a Slack user ID/],
    ['bad group id', { id: 'event#unexpected_scraping', action: 'off', excludedGroups: ['U0NOTAGRP'] }, /^event#unexpected_scraping\.excludedGroups\.0: must be a Slack user group ID/],
    ['bad global group id', { id: 'exclusions', excludedGroups: ['security-team'] }, /^exclusions\.excludedGroups\.0: must be a Slack user group ID/],
    ['wrong action value', { id: 'event#tor', action: 'kill' }, /^event#tor\.action: .*end_sessions.*notify_only.*off/],
    ['missing action on an event item', { id: 'event#tor', excludedUsers: [] }, /^event#tor\.action: /],
    ['list given as a string', { id: 'event#tor', action: 'off', excludedUsers: 'U0ALICE01' }, /^event#tor\.excludedUsers: .*array/],
    ['cooldownMinutes as a string', { id: 'safety', cooldownMinutes: '30' }, /^safety\.cooldownMinutes: .*number.*string/],
    ['negative cooldown', { id: 'safety', cooldownMinutes: -1 }, /^safety\.cooldownMinutes: /],
    ['cooldown over a day', { id: 'safety', cooldownMinutes: 24 * 60 + 1 }, /^safety\.cooldownMinutes: /],
    ['fractional cooldown', { id: 'safety', cooldownMinutes: 2.5 }, /^safety\.cooldownMinutes: /],
    ['zero reset budget', { id: 'safety', maxSessionResetsPerHour: 0 }, /^safety\.maxSessionResetsPerHour: /],
    ['bad email in extraEmails', { id: 'notify#sessions_ended', extraEmails: ['soc@example.com', 'not-an-email'] }, /^notify#sessions_ended\.extraEmails\.1: must be an email address$/],
    ['bad slackChannel', { id: 'notify#action_failed', slackChannel: '#security' }, /^notify#action_failed\.slackChannel: must be a Slack channel ID/],
    ['user id as slackChannel', { id: 'notify#anomaly_not_acted_on', slackChannel: 'U0ALICE01' }, /^notify#anomaly_not_acted_on\.slackChannel: must be a Slack channel ID/],
    ['unknown channel', { id: 'notify#sessions_ended', securityAdmins: ['sms'] }, /^notify#sessions_ended\.securityAdmins\.0: /],
    ['affected_user flag as a string', { id: 'notify#affected_user', email: 'yes' }, /^notify#affected_user\.email: .*boolean/],
    ['unknown attribute on an event item', { id: 'event#tor', action: 'off', excludeUsers: ['U0ALICE01'] }, /^event#tor: Unrecognized key: "excludeUsers"$/],
    ['unknown attribute on exclusions', { id: 'exclusions', users: [] }, /^exclusions: Unrecognized key: "users"$/],
    ['unknown attribute on a recipients item', { id: 'notify#sessions_ended', primaryOwners: ['email'] }, /^notify#sessions_ended: Unrecognized key: "primaryOwners"$/],
    ['unknown attribute on affected_user', { id: 'notify#affected_user', primaryOwner: ['email'] }, /^notify#affected_user: Unrecognized key: "primaryOwner"$/],
    ['unknown attribute on safety', { id: 'safety', cooldown: 5 }, /^safety: Unrecognized key: "cooldown"$/],
    ['unknown time zone', { id: 'alerts', timeZone: 'Mars/Olympus' }, /^alerts\.timeZone: must be an IANA time zone/],
    ['http audit log link', { id: 'alerts', auditLogUrl: 'http://acme.enterprise.slack.com/admin' }, /^alerts\.auditLogUrl: must be an https:\/\/ URL$/],
    ['person link without {userId}', { id: 'alerts', adminPersonUrl: 'https://acme.enterprise.slack.com/admin/people' }, /^alerts\.adminPersonUrl: must contain \{userId\}/],
    ['bad reply-to', { id: 'alerts', replyTo: 'security team' }, /^alerts\.replyTo: must be an email address$/],
    ['contact neither email nor https', { id: 'alerts', securityContact: 'call Bob' }, /^alerts\.securityContact: must be an email address or an https:\/\/ URL$/],
    ['sender name with a header break', { id: 'alerts', senderName: 'Acme\r\nBcc: x@evil.example' }, /^alerts\.senderName: must be one line/],
    ['unknown attribute on alerts', { id: 'alerts', from: 'x' }, /^alerts: Unrecognized key: "from"$/],
  ])('names the item and field: %s', (_name, bad, expected) => {
    const found = configIssues(itemsWith(bad));
    expect(found).toEqual([expect.stringMatching(expected)]);
  });

  it('names every item it knows when an item is unknown', () => {
    expect(configIssues(itemsWith({ id: 'notify#bogus' }))).toEqual([`notify#bogus: unknown notification item "bogus" (known: affected_user, ${NOTIFICATION_TYPES.join(', ')})`]);
  });

  it('quotes an unknown attribute as written, even one that looks like a path it rewrites', () => {
    expect(configIssues(itemsWith({ id: 'safety', 'notifications.sessions_ended': 1, 'events.tor': 2 }))).toEqual(['safety: Unrecognized keys: "notifications.sessions_ended", "events.tor"']);
  });

  it('reports every problem at once', () => {
    const found = configIssues(
      onPurpose([
        { id: 'event#tor', action: 'kill' },
        { id: 'event#bogus' },
        { id: 'safety', cooldownMinutes: '30' },
        { id: 'notify#sessions_ended', extraEmails: ['nope'] },
      ]),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^event#tor\.action: /),
        expect.stringMatching(/^event#bogus: /),
        expect.stringMatching(/^safety\.cooldownMinutes: /),
        expect.stringMatching(/^notify#sessions_ended\.extraEmails\.0: /),
      ]),
    );
    expect(found).toHaveLength(4);
  });

  it('says what is wrong in the error message', () => {
    expect(() => configFromItems(itemsWith({ id: 'event#tor', action: 'kill' }))).toThrow(/^response configuration is invalid: event#tor\.action: /);
  });

  it('de-duplicates notification channels', () => {
    expect(configFromItems(onPurpose([{ id: 'notify#sessions_ended', primaryOwner: ['email', 'email', 'slack'] }])).notifications.sessions_ended.primaryOwner).toEqual(['email', 'slack']);
  });

  it('keeps trusted ranges in canonical form (IPv6 compressed, lower case), and the ASNs as given', () => {
    const config = configFromItems(onPurpose([{ id: 'trustedNetworks', cidrs: [' 198.51.100.0/24', '2001:0DB8:0000::/32', '::/0', '0.0.0.0/0', '203.0.113.9/32'], asns: [64500, 4_294_967_295] }]));
    expect(config.trustedNetworks).toEqual({ cidrs: ['198.51.100.0/24', '2001:db8::/32', '::/0', '0.0.0.0/0', '203.0.113.9/32'], asns: [64500, 4_294_967_295], syncToSlack: false });
  });

  it('an extra event item takes a rule like the seven', () => {
    const config = configFromItems(onPurpose([{ id: 'event#excessive_malware_uploads', action: 'end_sessions', scope: 'session' }]));
    expect(config.events.excessive_malware_uploads).toEqual({ action: 'end_sessions', scope: 'session', excludedUsers: [], excludedGroups: [] });
  });

  it('accepts the boundary values', () => {
    const config = configFromItems(
      onPurpose([
        { id: 'safety', cooldownMinutes: 0, maxSessionResetsPerHour: 1 },
        { id: 'notify#action_failed', slackChannel: 'D0DMCHAN1' },
      ]),
    );
    expect(config.safety).toEqual({ cooldownMinutes: 0, maxSessionResetsPerHour: 1, dryRun: false });
    expect(config.notifications.action_failed.slackChannel).toBe('D0DMCHAN1');
    expect(configFromItems(onPurpose([{ id: 'safety', cooldownMinutes: 24 * 60, maxSessionResetsPerHour: 10_000 }])).safety.cooldownMinutes).toBe(1440);
  });
});

describe('a missing config item (deleted in the console)', () => {
  it.each(CONFIG_ITEM_IDS.map((id) => [id]))('%s deleted from a table without a manifest: invalid, naming it (never Slack\u2019s defaults)', (id) => {
    const items = itemsOf(customConfig()).filter((i) => i.id !== id && i.id !== 'manifest');
    expect(configIssues(items)).toEqual([expect.stringMatching(new RegExp(`^${id}: missing \\(restore it, or list the items present on purpose in a \`manifest\` item`))]);
  });

  it('exclusions deleted from a seeded table (its manifest lists it): invalid, so the break-glass accounts are not signed out', () => {
    const config = customConfig();
    const items = itemsOf(config).filter((i) => i.id !== 'exclusions');
    expect(configIssues(items)).toEqual(['exclusions: missing, though the manifest lists it (restore it, or remove it from manifest.items to use its default)']);
    // The same with the manifest's list as a string set, as the console may write it.
    item(items, 'manifest').items = new Set(item(items, 'manifest').items as string[]);
    expect(configIssues(items)).toEqual(['exclusions: missing, though the manifest lists it (restore it, or remove it from manifest.items to use its default)']);
  });

  it('an item the manifest leaves out takes its default, on purpose', () => {
    const items = itemsOf(customConfig()).filter((i) => i.id !== 'safety');
    item(items, 'manifest').items = (item(items, 'manifest').items as string[]).filter((id) => id !== 'safety');
    expect(configFromItems(items).safety).toEqual(defaultConfig().safety);
  });

  it('a manifest naming an unknown item, or not a list, is itself invalid', () => {
    expect(configIssues(itemsWith({ id: 'manifest', items: ['event#tor', 'exclusionz'] }))).toEqual([expect.stringMatching(/^manifest\.items\.1: /)]);
    expect(configIssues(itemsWith({ id: 'manifest', items: 'safety' }))).toEqual([expect.stringMatching(/^manifest\.items: /)]);
    // An unreadable manifest is the one issue: the items it might leave out are not also called missing.
    expect(configIssues(itemsWith({ id: 'manifest', items: 'safety' }).filter((i) => i.id !== 'exclusions'))).toEqual([expect.stringMatching(/^manifest\.items: /)]);
  });
});

describe('responseConfigSchema (the seed file document)', () => {
  it('fills a partial seed document with defaults', () => {
    const seed = {
      events: {
        excessive_downloads: { action: 'notify_only' },
        tor: { action: 'end_sessions', excludedGroups: ['S0SECTEAM1'] },
      },
      exclusions: { excludedUsers: ['U0BREAKGLS'] },
      notifications: { action_failed: { primaryOwner: ['email', 'slack'], securityAdmins: ['email'], slackChannel: 'C0SECALERT' } },
      safety: { maxSessionResetsPerHour: 5 },
    };
    expect(responseConfigSchema.parse(seed)).toStrictEqual({
      events: {
        ...SLACK_DEFAULTS.events,
        tor: { action: 'end_sessions', scope: 'all', excludedUsers: [], excludedGroups: ['S0SECTEAM1'] },
        excessive_downloads: { action: 'notify_only', scope: 'all', excludedUsers: [], excludedGroups: [] },
      },
      exclusions: { excludedUsers: ['U0BREAKGLS'], excludedGroups: [] },
      notifications: {
        ...SLACK_DEFAULTS.notifications,
        action_failed: { primaryOwner: ['email', 'slack'], securityAdmins: ['email'], extraEmails: [], slackChannel: 'C0SECALERT' },
      },
      safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 5, dryRun: false },
      trustedNetworks: { cidrs: [], asns: [], syncToSlack: false },
      alerts: {},
    });
  });

  it('an empty document is Slack\u2019s defaults', () => {
    expect(responseConfigSchema.parse({})).toStrictEqual(SLACK_DEFAULTS);
  });

  it('refuses unknown top-level keys, naming the key', () => {
    const result = responseConfigSchema.safeParse({ rules: {} });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ path: [], code: 'unrecognized_keys', keys: ['rules'] })]);
  });

  it('refuses unknown event names with the path', () => {
    const result = responseConfigSchema.safeParse({ events: { tor: { action: 'off' }, data_scraping: { action: 'end_sessions' } } });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ path: ['events'], code: 'unrecognized_keys', keys: ['data_scraping'] })]);
  });

  it('refuses unknown notification types and bad nested fields with their paths', () => {
    const result = responseConfigSchema.safeParse({
      notifications: { sessions_ended: { primaryOwner: ['pager'] }, weekly_digest: {} },
      events: { tor: { action: 'end_sessions', excludedUsers: ['nobody'] } },
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['notifications', 'notifications.sessions_ended.primaryOwner.0', 'events.tor.excludedUsers.0']));
  });

  it('refuses a recipients rule that is not an object (null, a string, a list) rather than fill it with defaults', () => {
    for (const [rule, received] of [[null, 'null'], ['email', 'string'], [['email'], 'array']] as const) {
      const result = responseConfigSchema.safeParse({ notifications: { sessions_ended: rule } });
      expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['notifications.sessions_ended', `Invalid input: expected object, received ${received}`]]);
    }
  });

  it('refuses a non-object document', () => {
    for (const doc of [null, [], 'tor', 1]) expect(responseConfigSchema.safeParse(doc).success).toBe(false);
  });
});

describe('recipient items edited in the console', () => {
  it('fill a missing attribute from that notification type\u2019s defaults', () => {
    const config = configFromItems(onPurpose([{ id: 'notify#sessions_ended', extraEmails: ['soc@example.com'] }]));
    expect(config.notifications.sessions_ended).toEqual({ primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: ['soc@example.com'] });
    const quiet = configFromItems(onPurpose([{ id: 'notify#anomaly_not_acted_on', primaryOwner: ['slack'] }]));
    expect(quiet.notifications.anomaly_not_acted_on.securityAdmins).toEqual(['email']);
  });
});

describe('excluded user groups name their team (Slack needs it with an org token)', () => {
  it('accepts an org-wide group as "S…" or { id }, and a workspace group as "T…/S…" or { id, team }', () => {
    const config = responseConfigSchema.parse({
      exclusions: { excludedGroups: ['S0ORGWIDE1', { id: 'S0ORGWIDE2' }, 'T0WORKSP01/S0WSGROUP1', { id: 'S0WSGROUP2', team: 'T0WORKSP02' }] },
    });
    expect(config.exclusions.excludedGroups).toEqual(['S0ORGWIDE1', 'S0ORGWIDE2', 'T0WORKSP01/S0WSGROUP1', 'T0WORKSP02/S0WSGROUP2']);
    expect(parseGroupKey('T0WORKSP01/S0WSGROUP1')).toEqual({ id: 'S0WSGROUP1', team: 'T0WORKSP01' });
    expect(parseGroupKey('S0ORGWIDE1')).toEqual({ id: 'S0ORGWIDE1' });
  });

  it('survives the round trip through the table items', () => {
    const config = defaultConfig();
    config.events.tor.excludedGroups.push('T0WORKSP01/S0WSGROUP1', 'S0ORGWIDE1');
    expect(configFromItems(configToItems(config)).events.tor.excludedGroups).toEqual(['T0WORKSP01/S0WSGROUP1', 'S0ORGWIDE1']);
  });

  it.each([
    [{ id: 'S0GROUP001', team: 'X0NOTATEAM' }, /events\.tor\.excludedGroups\.0\.team: must be the group’s workspace ID/],
    ['C0NOTAGRP1', /events\.tor\.excludedGroups\.0: must be a Slack user group ID/],
    [{ id: 'S0GROUP001', workspace: 'T0WORKSP01' }, /events\.tor\.excludedGroups\.0: Unrecognized key: "workspace"/],
  ])('refuses %j, naming the field', (group, message) => {
    const result = responseConfigSchema.safeParse({ events: { tor: { action: 'end_sessions', excludedGroups: [group] } } });
    expect(result.success).toBe(false);
    const error = (() => {
      try {
        configFromItems(onPurpose([{ id: 'event#tor', action: 'end_sessions', excludedGroups: [group] }]));
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.issues.join('\n')).toMatch(new RegExp(message.source.replace('events\\.tor', 'event#tor')));
  });
});
