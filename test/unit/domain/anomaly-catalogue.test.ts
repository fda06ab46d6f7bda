import {
  ANOMALY_EVENTS,
  ANOMALY_EVENT_NAMES,
  RESPONSE_ACTIONS,
  MORE_EVENT_NAMES,
  RULE_EVENT_NAMES,
  classifyReasons,
  defaultAction,
  eventLabel,
  isAnomalyEvent,
  isRuleEvent,
  reasonLabel,
  type AnomalyEvent,
} from '../../../functions/domain/anomaly-catalogue';

/** Slack's seven configurable anomaly events (help-centre UI names) and the reason code of each. */
const SLACK_EVENTS: [code: string, uiName: string, onByDefault: boolean][] = [
  ['tor', 'Accessing Slack from a Tor exit node', true],
  ['unexpected_scraping', 'Data scraping', true],
  ['excessive_downloads', 'Excessive downloads', false],
  ['session_fingerprint', 'Stale or unexpected session cookies', false],
  ['spoofed_user_agent', 'Spoofed user agents', false],
  ['unexpected_api_call_volume', 'Unexpected API call volume', false],
  ['unexpected_user_agent', 'Unexpected user agents', false],
];

/** Reason codes Slack documents that are NOT one of the seven events. */
const NON_ACTIONABLE = [
  'asn',
  'ip_address',
  'user_agent',
  'unexpected_client',
  'excessive_file_shares',
  'excessive_malware_uploads',
  'potential_spam',
  'search_volume',
  'unexpected_admin_action',
  'unexpected_credential_testing',
  'unexpected_message_deletion',
];

describe('anomaly catalogue', () => {
  it('holds exactly the seven events, in Slack\u2019s order', () => {
    expect(ANOMALY_EVENT_NAMES).toEqual(SLACK_EVENTS.map(([code]) => code));
    expect(Object.keys(ANOMALY_EVENTS)).toHaveLength(7);
  });

  it.each(SLACK_EVENTS)('%s is "%s", on by default: %s', (code, uiName, onByDefault) => {
    expect(isAnomalyEvent(code)).toBe(true);
    if (!isAnomalyEvent(code)) return;
    expect(eventLabel(code)).toBe(uiName);
    expect(reasonLabel(code)).toBe(uiName);
    expect(ANOMALY_EVENTS[code].defaultAction).toBe(onByDefault ? 'end_sessions' : 'off');
  });

  it('only Tor and data scraping end sessions by default', () => {
    const ending = ANOMALY_EVENT_NAMES.filter((e) => ANOMALY_EVENTS[e].defaultAction === 'end_sessions');
    expect(ending).toEqual(['tor', 'unexpected_scraping']);
    expect(ANOMALY_EVENT_NAMES.filter((e) => ANOMALY_EVENTS[e].defaultAction !== 'end_sessions')).toEqual(ANOMALY_EVENT_NAMES.slice(2));
    expect(new Set(ANOMALY_EVENT_NAMES.slice(2).map((e) => ANOMALY_EVENTS[e].defaultAction))).toEqual(new Set(['off']));
  });

  it('offers exactly three response actions', () => {
    expect([...RESPONSE_ACTIONS]).toEqual(['end_sessions', 'notify_only', 'off']);
  });

  it.each(NON_ACTIONABLE)('%s is not an actionable event', (code) => {
    expect(isAnomalyEvent(code)).toBe(false);
  });

  it.each(['', 'TOR', 'Tor', ' tor', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'does not mistake %p (case, whitespace, Object.prototype names) for an event',
    (code) => {
      expect(isAnomalyEvent(code)).toBe(false);
    },
  );

  it('labels other reason codes readably', () => {
    expect(reasonLabel('search_volume')).toBe('search volume');
    expect(reasonLabel('unexpected_credential_testing')).toBe('unexpected credential testing');
    expect(reasonLabel('excessive_file_shares')).toBe('Excessive file shares');
  });
});

describe('more events: the codes beyond the seven that can be given rules', () => {
  const MORE = [
    'unexpected_admin_action',
    'excessive_file_shares',
    'excessive_malware_uploads',
    'unexpected_message_deletion',
    'potential_spam',
    'unexpected_client',
    'ip_address',
    'asn',
    'user_agent',
  ];

  it('are exactly the nine the issue names, all off by default, none one of the seven', () => {
    expect([...MORE_EVENT_NAMES].sort()).toEqual([...MORE].sort());
    for (const code of MORE) {
      expect(isRuleEvent(code)).toBe(true);
      expect(isAnomalyEvent(code)).toBe(false);
      expect(defaultAction(code as AnomalyEvent)).toBe('off');
    }
    expect(RULE_EVENT_NAMES).toEqual([...ANOMALY_EVENT_NAMES, ...MORE_EVENT_NAMES]);
  });

  it('codes Slack documents but that take no rule stay unknown', () => {
    expect(isRuleEvent('search_volume')).toBe(false);
    expect(isRuleEvent('unexpected_credential_testing')).toBe(false);
    expect(isRuleEvent('toString')).toBe(false);
  });

  it('a code beyond the seven is an event only while its rule is on', () => {
    expect(classifyReasons(['tor', 'ip_address', 'potential_spam'])).toEqual({ events: ['tor'], other: ['ip_address', 'potential_spam'] });
    expect(classifyReasons(['tor', 'ip_address', 'potential_spam'], (e) => e === 'potential_spam')).toEqual({
      events: ['tor', 'potential_spam'],
      other: ['ip_address'],
    });
    // The seven are events whatever the rule says (their rule being off is a decision reason of its own).
    expect(classifyReasons(['tor'], () => false)).toEqual({ events: ['tor'], other: [] });
  });
});

describe('classifyReasons', () => {
  it('splits the seven events from every other code', () => {
    const all = [...SLACK_EVENTS.map(([code]) => code), ...NON_ACTIONABLE];
    const result = classifyReasons(all);
    expect(result.events).toEqual(ANOMALY_EVENT_NAMES);
    expect(result.other).toEqual(NON_ACTIONABLE);
  });

  it('returns events in catalogue order whatever order Slack sent them in', () => {
    expect(classifyReasons(['unexpected_user_agent', 'user_agent', 'tor', 'excessive_downloads']).events).toEqual([
      'tor',
      'excessive_downloads',
      'unexpected_user_agent',
    ]);
  });

  it('keeps the companion codes Slack sends with an event as "other"', () => {
    // spoofed_user_agent comes with unexpected_client; unexpected_user_agent with user_agent
    expect(classifyReasons(['spoofed_user_agent', 'unexpected_client'])).toEqual({
      events: ['spoofed_user_agent'],
      other: ['unexpected_client'],
    });
    expect(classifyReasons(['user_agent', 'unexpected_user_agent'])).toEqual({
      events: ['unexpected_user_agent'],
      other: ['user_agent'],
    });
  });

  it('de-duplicates both lists, keeping the first-seen order of other codes', () => {
    expect(classifyReasons(['ip_address', 'tor', 'asn', 'tor', 'ip_address', 'asn'])).toEqual({
      events: ['tor'],
      other: ['ip_address', 'asn'],
    });
  });

  it('has no events for non-actionable codes only, and nothing for an empty list', () => {
    expect(classifyReasons(['asn', 'ip_address'])).toEqual({ events: [], other: ['asn', 'ip_address'] });
    expect(classifyReasons([])).toEqual({ events: [], other: [] });
  });

  it('does not treat prototype names as events', () => {
    expect(classifyReasons(['constructor', 'toString'])).toEqual({ events: [], other: ['constructor', 'toString'] });
  });
});
