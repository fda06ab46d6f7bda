import {
  BOUNDED_REASONS,
  BOUNDED_TEXT_LENGTH,
  boundedAuditEntry,
  CUT_MARKER,
  isUsableEntryId,
  MAX_ENTRY_BYTES,
  MAX_ENTRY_ID_LENGTH,
  parseAuditEntry,
  parseSessionEvent,
  type EntryParseResult,
} from '../../../functions/domain/audit-entry';
import { rawEntry } from './helpers';

function ok(result: EntryParseResult) {
  if (!result.ok) throw new Error(`expected the entry to parse, got: ${result.issues.join('; ')}`);
  return result.entry;
}

function issues(result: EntryParseResult): string[] {
  if (result.ok) throw new Error('expected the entry to be rejected');
  return result.issues;
}

/** The entry with one nested field replaced (or removed, with `undefined`). */
function withField(path: string, value: unknown): Record<string, unknown> {
  const entry = rawEntry();
  const keys = path.split('.');
  let node = entry as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return entry;
}

describe('parseAuditEntry: valid entries', () => {
  it('parses and normalises a realistic user anomaly', () => {
    expect(ok(parseAuditEntry(rawEntry()))).toEqual({
      id: '0b5c3c5e-2b53-4b3b-8d1e-0d4f3a8c9e11',
      dateCreate: 1644428305,
      entity: { kind: 'user', userId: 'U123ABC456', name: 'ana', email: 'ana@example.com', team: 'T123ABC456' },
      reasons: ['tor'],
      context: {
        ipAddress: '1.23.45.67',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
        location: 'Reno, Nevada',
        workspace: 'Acme',
        sessionId: '847288190092',
        previousIpAddress: '9.87.65.43',
        previousUserAgent: 'Mozilla/5.0 (Macintosh)',
      },
    });
  });

  it('turns a single reason string into a list', () => {
    expect(ok(parseAuditEntry(withField('details.reason', 'unexpected_scraping'))).reasons).toEqual(['unexpected_scraping']);
  });

  it('keeps several reasons in order and de-duplicates them', () => {
    expect(ok(parseAuditEntry(withField('details.reason', ['user_agent', 'unexpected_user_agent', 'user_agent']))).reasons).toEqual([
      'user_agent',
      'unexpected_user_agent',
    ]);
  });

  it('reads an empty session_id as none, as it does every empty text Slack sends', () => {
    expect(ok(parseAuditEntry(withField('context.session_id', ''))).context.sessionId).toBeUndefined();
    expect(ok(parseAuditEntry(withField('context.session_id', 0))).context.sessionId).toBe('0');
  });

  it('turns a numeric session_id into a string', () => {
    expect(ok(parseAuditEntry(withField('context.session_id', 847288190092))).context.sessionId).toBe('847288190092');
  });

  it('accepts an entry without context or optional details', () => {
    const entry = rawEntry({ context: undefined, details: { reason: ['tor'] } });
    delete entry.context;
    delete entry.actor;
    expect(ok(parseAuditEntry(entry)).context).toEqual({
      ipAddress: undefined,
      userAgent: undefined,
      location: undefined,
      workspace: undefined,
      sessionId: undefined,
      previousIpAddress: undefined,
      previousUserAgent: undefined,
    });
  });

  it('falls back to the workspace domain when it has no name', () => {
    expect(ok(parseAuditEntry(withField('context.location', { type: 'workspace', domain: 'acme' }))).context.workspace).toBe('acme');
  });

  it('tolerates malformed optional context (dropped, not fatal)', () => {
    const entry = rawEntry({ context: { location: 'not-an-object', ua: 42, ip_address: ['x'], session_id: { bad: true } } });
    const context = ok(parseAuditEntry(entry)).context;
    expect(context.workspace).toBeUndefined();
    expect(context.userAgent).toBeUndefined();
    expect(context.ipAddress).toBeUndefined();
    expect(context.sessionId).toBeUndefined();
  });

  it('accepts enterprise (W…) user ids and unknown extra fields', () => {
    const entry = withField('entity.user', { id: 'W0123ABCD', something_new: { nested: true } });
    (entry as { brand_new_field?: number }).brand_new_field = 1;
    expect(ok(parseAuditEntry(entry)).entity).toEqual({ kind: 'user', userId: 'W0123ABCD', name: undefined, email: undefined, team: undefined });
  });

  it('parses an app entity', () => {
    const entry = rawEntry({ entity: { type: 'app', app: { id: 'A0123ABC', name: 'Scraper', is_distributed: false } } });
    expect(ok(parseAuditEntry(entry)).entity).toEqual({ kind: 'app', appId: 'A0123ABC', name: 'Scraper' });
  });

  it.each(['workspace', 'enterprise', 'channel', 'file', 'workflow', 'usergroup'])('records a %s entity as "other"', (type) => {
    const entry = rawEntry({ entity: { type, [type]: { id: 'X123' } } });
    expect(ok(parseAuditEntry(entry)).entity).toEqual({ kind: 'other', type });
  });

  it('accepts an entry exactly at the size limit', () => {
    const entry = rawEntry({ padding: '' });
    const base = Buffer.byteLength(JSON.stringify(entry));
    entry.padding = 'x'.repeat(MAX_ENTRY_BYTES - base);
    expect(Buffer.byteLength(JSON.stringify(entry))).toBe(MAX_ENTRY_BYTES);
    expect(parseAuditEntry(entry).ok).toBe(true);
  });
});

describe('parseAuditEntry: rejections name the field', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['missing id', withField('id', undefined), /^id: /],
    ['empty id', withField('id', ''), /^id: is required$/],
    ['id not a string', withField('id', 123), /^id: /],
    ['date_create as a string', withField('date_create', '1644428305'), /^date_create: .*number/],
    ['date_create negative', withField('date_create', -1), /^date_create: /],
    ['date_create fractional', withField('date_create', 1.5), /^date_create: /],
    ['action not anomaly', withField('action', 'user_login'), /^action: /],
    ['missing entity', withField('entity', undefined), /^entity: /],
    ['missing entity.user', withField('entity.user', undefined), /^entity\.user: /],
    ['missing entity.user.id', withField('entity.user.id', undefined), /^entity\.user\.id: /],
    ['lower-case user id', withField('entity.user.id', 'u123abc456'), /^entity\.user\.id: must be a Slack user ID/],
    ['user id with a wrong prefix', withField('entity.user.id', 'B123ABC456'), /^entity\.user\.id: must be a Slack user ID/],
    ['user id too short', withField('entity.user.id', 'U1'), /^entity\.user\.id: must be a Slack user ID/],
    ['app without id', rawEntry({ entity: { type: 'app', app: { name: 'x' } } }), /^entity\.app\.id: /],
    ['unknown entity type', withField('entity.type', 'spaceship'), /^entity\.type: /],
    ['missing details', withField('details', undefined), /^details: /],
    ['missing reason', withField('details.reason', undefined), /^details\.reason: /],
    ['reason a number', withField('details.reason', 7), /^details\.reason: /],
    ['reason an empty array', withField('details.reason', []), /^details\.reason: /],
    ['reason an empty string', withField('details.reason', ''), /^details\.reason: /],
    ['reason list with a non-string', withField('details.reason', ['tor', 5]), /^details\.reason/],
  ];

  it.each(cases)('%s', (_name, entry, expected) => {
    const result = parseAuditEntry(entry);
    expect(issues(result)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  it('reports the entry id when it has one, so the rejection can be recorded', () => {
    const result = parseAuditEntry(withField('details.reason', 7));
    expect(result).toMatchObject({ ok: false, entryId: '0b5c3c5e-2b53-4b3b-8d1e-0d4f3a8c9e11' });
    expect(parseAuditEntry(withField('id', 5))).toMatchObject({ ok: false, entryId: undefined });
  });

  it.each([
    ['over the DynamoDB key limit', 'e'.repeat(3000)],
    ['one character over the bound', 'e'.repeat(MAX_ENTRY_ID_LENGTH + 1)],
    ['with a newline', 'abc\ndef'],
  ])('refuses an entry id %s, and does not offer it as the key of the rejection', (_name, id) => {
    const result = parseAuditEntry(rawEntry({ id }));
    expect(result).toMatchObject({ ok: false, entryId: undefined });
    expect(issues(result)).toEqual([expect.stringMatching(/^id: must (be at most 200 characters|not contain control characters)/)]);
    expect(parseAuditEntry(rawEntry({ id: 'e'.repeat(MAX_ENTRY_ID_LENGTH) }))).toMatchObject({ ok: true });
  });

  it('reports every bad field, not just the first', () => {
    const entry = rawEntry({ date_create: 'yesterday', action: 'login' });
    const found = issues(parseAuditEntry(entry));
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/^date_create: /), expect.stringMatching(/^action: /)]));
  });

  it('refuses an entry over 64 KiB before validating it, naming its size', () => {
    const entry = rawEntry({ padding: '' });
    const base = Buffer.byteLength(JSON.stringify(entry));
    entry.padding = 'x'.repeat(MAX_ENTRY_BYTES - base + 1);
    const result = parseAuditEntry(entry);
    expect(MAX_ENTRY_BYTES).toBe(64 * 1024);
    expect(result).toMatchObject({ ok: false, entryId: '0b5c3c5e-2b53-4b3b-8d1e-0d4f3a8c9e11' });
    expect(issues(result)).toEqual([`(root): entry is ${MAX_ENTRY_BYTES + 1} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`]);
  });

  it('counts bytes, not characters (multi-byte text)', () => {
    const entry = rawEntry({ padding: '' });
    const base = Buffer.byteLength(JSON.stringify(entry));
    entry.padding = '\u00e9'.repeat(Math.ceil((MAX_ENTRY_BYTES - base) / 2) + 1); // 2 bytes each
    expect(JSON.stringify(entry).length).toBeLessThan(MAX_ENTRY_BYTES);
    expect(issues(parseAuditEntry(entry))[0]).toMatch(/^\(root\): entry is \d+ bytes, over/);
  });

  it.each([
    ['null', null, 'null'],
    ['a string', 'anomaly', 'string'],
    ['an array', [rawEntry()], 'array'],
    ['a number', 42, 'number'],
    ['undefined', undefined, 'undefined'],
  ])('refuses %s at the root', (_name, input, received) => {
    const result = parseAuditEntry(input);
    expect(result).toMatchObject({ ok: false, entryId: undefined });
    expect(issues(result)).toEqual([expect.stringMatching(new RegExp(`^\\(root\\): .*object.*${received}`))]);
  });

  it('refuses what cannot be serialised (BigInt, cycles) without throwing', () => {
    const cyclic = rawEntry();
    cyclic.self = cyclic;
    expect(issues(parseAuditEntry(cyclic))).toEqual(['(root): is not serialisable JSON']);
    expect(issues(parseAuditEntry(rawEntry({ date_create: BigInt(1) })))).toEqual(['(root): is not serialisable JSON']);
  });
});

describe('boundedAuditEntry', () => {
  const huge = (char: string) => char.repeat(100_000);

  it('stays under MAX_ENTRY_BYTES whatever the input: every field huge, in the costliest characters to escape', () => {
    for (const char of ['\u0000', '\u{1F600}', '"', 'x']) {
      const text = huge(char);
      const entry = {
        id: text, date_create: text, action: text,
        entity: { type: text, user: { id: text, name: text, email: text, team: text }, app: { id: text, name: text } },
        context: { location: { type: text, id: text, name: text, domain: text }, ua: text, ip_address: text, session_id: text, extra: text },
        details: { reason: Array.from({ length: 5000 }, (_, i) => `${text.slice(0, 1000)}${i}`), location: text, previous_ip_address: text, previous_ua: text, entity_team: text, extra: text },
        extra: text,
      };
      expect(Buffer.byteLength(JSON.stringify(boundedAuditEntry(entry)))).toBeLessThan(MAX_ENTRY_BYTES);
    }
  });

  it('keeps the fields respond reads, so a valid entry stays valid and decides the same', () => {
    const entry = rawEntry();
    const bounded = boundedAuditEntry(entry);
    const [before, after] = [parseAuditEntry(entry), parseAuditEntry(bounded)];
    expect(after).toEqual(before);
  });

  it('keeps the anomaly events before other reason codes, and cuts long strings with a visible marker', () => {
    const reasons = [...Array.from({ length: 40 }, (_, i) => `noise_${i}`), 'unexpected_scraping', 'tor'];
    const bounded = boundedAuditEntry(rawEntry({ details: { reason: reasons }, context: { ua: 'U'.repeat(1000) } }));
    expect((bounded.details as { reason: string[] }).reason.slice(0, 2)).toEqual(['unexpected_scraping', 'tor']);
    expect((bounded.details as { reason: string[] }).reason).toHaveLength(BOUNDED_REASONS);
    expect((bounded.context as { ua: string }).ua).toBe(`${'U'.repeat(BOUNDED_TEXT_LENGTH)}${CUT_MARKER}`);
  });

  it('copies exactly the fields the pipeline reads: an app anomaly stays an app anomaly, a user anomaly gains no app, absent stays absent', () => {
    const app = { ...rawEntry(), entity: { type: 'app', app: { id: 'A0APP', name: 'Scraper', scopes: ['chat:write'] } }, context: { ua: 'curl' }, details: { reason: 'unexpected_scraping' } };
    // Only what was there and is read: no user invented for the app, no location for a context without one.
    expect(boundedAuditEntry(app)).toEqual({
      id: rawEntry().id, date_create: rawEntry().date_create, action: 'anomaly',
      entity: { type: 'app', app: { id: 'A0APP', name: 'Scraper' } },
      context: { ua: 'curl' },
      details: { reason: 'unexpected_scraping' },
    });
    expect(parseAuditEntry(boundedAuditEntry(app))).toEqual(parseAuditEntry(app));
    const user = boundedAuditEntry(rawEntry());
    expect(user.entity).not.toHaveProperty('app');
    expect(user).not.toHaveProperty('actor'); // not read by the pipeline, so not carried
    expect(user.details).not.toHaveProperty('action_timestamp');
    expect(boundedAuditEntry({})).toEqual({ entity: {}, context: {}, details: {} });
  });

  it('keeps numbers, booleans and null as they are, drops objects and arrays where a scalar belongs, and reads a non-object part as empty', () => {
    const bounded = boundedAuditEntry({
      id: 42, date_create: null, action: true,
      entity: { type: ['user'], user: { id: { nested: 'U1' }, name: 0, email: false, team: null } },
      context: ['not', 'an', 'object'],
      details: { location: 7, previous_ip_address: null, is_external_user: false, entity_team: 'T1' },
    });
    expect(bounded).toEqual({
      id: 42, date_create: null, action: true,
      entity: { user: { name: 0, email: false, team: null } },
      context: {},
      details: { location: 7, previous_ip_address: null, is_external_user: false, entity_team: 'T1' },
    });
    // A flag that is not a boolean is dropped, not carried as text; a user or app that is not an object becomes an empty one.
    expect(boundedAuditEntry({ details: { is_external_user: 'true' }, entity: { user: 'U1', app: ['A1'] } })).toEqual({ entity: { user: {}, app: {} }, context: {}, details: {} });
    expect(boundedAuditEntry({ context: { location: 'Acme' } }).context).toEqual({ location: {} });
  });

  it('cuts a string only when it is longer than the limit, and every carried field is cut', () => {
    const exact = 'e'.repeat(BOUNDED_TEXT_LENGTH);
    const long = `${exact}!`;
    const everyField = (text: string) => ({
      id: text, date_create: text, action: text,
      entity: { type: text, user: { id: text, name: text, email: text, team: text }, app: { id: text, name: text } },
      context: { location: { type: text, id: text, name: text, domain: text }, ua: text, ip_address: text, session_id: text },
      details: { location: text, previous_ip_address: text, previous_ua: text, entity_team: text },
    });
    expect(boundedAuditEntry(everyField(exact))).toEqual(everyField(exact));
    expect(boundedAuditEntry(everyField(long))).toEqual(everyField(`${exact}${CUT_MARKER}`));
  });

  it('bounds reason codes: each code and a lone code cut shorter than other text, repeats once, non-strings left out unless nothing else is there', () => {
    const reasons = (reason: unknown) => (boundedAuditEntry({ details: { reason } }).details as { reason?: unknown }).reason;
    const code = 'r'.repeat(64);
    expect(reasons([code, `${code}x`, 7, null, 'tor', 'tor'])).toEqual(['tor', code, `${code}${CUT_MARKER}`]);
    expect(reasons(`${code}x`)).toBe(`${code}${CUT_MARKER}`);
    expect(reasons([])).toEqual([]); // stays empty, which respond refuses as it would the original
    expect(reasons([1, { a: 1 }])).toEqual([null]);
    expect(reasons(undefined)).toBeUndefined();
    const many = Array.from({ length: BOUNDED_REASONS + 5 }, (_, i) => `code_${i}`);
    expect(reasons(many)).toEqual(many.slice(0, BOUNDED_REASONS));
  });

  it.each([
    ['null', null],
    ['a string', 'x'.repeat(100_000)],
    ['an array', [1, 2, 3]],
    ['reasons that are not strings', { ...rawEntry(), details: { reason: [{ deep: 'x' }] } }],
  ])('leaves %s invalid, so respond records it as rejected', (_name, input) => {
    expect(parseAuditEntry(boundedAuditEntry(input))).toMatchObject({ ok: false });
  });
});


describe('parseAuditEntry: the ASN', () => {
  it.each<[string, number | string | undefined, number | string | undefined, number | undefined]>([
    ['a number', 64500, undefined, 64500],
    ['"AS64500"', 'AS64500', undefined, 64500],
    ['"as64500"', 'as64500', undefined, 64500],
    ['a numeric string', '64500', undefined, 64500],
    ['only in details', undefined, 64501, 64501],
    ['in both: the context\u2019s', 64500, 64501, 64500],
    ['not an ASN: none', 'AS', undefined, undefined],
  ])('%s', (_name, inContext, inDetails, asn) => {
    const entry = withField('context.asn', inContext);
    if (inDetails !== undefined) (entry.details as Record<string, unknown>).asn = inDetails;
    expect(ok(parseAuditEntry(entry)).context.asn).toBe(asn);
  });
});

describe('isUsableEntryId: an id the ledger can key on', () => {
  it.each<[string, unknown, boolean]>([
    ['a UUID', '0b5c3c5e-2b53-4b3b-8d1e-0d4f3a8c9e11', true],
    ['empty', '', false],
    [`${MAX_ENTRY_ID_LENGTH} characters`, 'x'.repeat(MAX_ENTRY_ID_LENGTH), true],
    [`${MAX_ENTRY_ID_LENGTH + 1} characters`, 'x'.repeat(MAX_ENTRY_ID_LENGTH + 1), false],
    ['a space (not a control character)', 'a b', true],
    ['a control character (unit separator)', 'a\u001fb', false],
    ['a newline', 'a\nb', false],
    ['DEL', 'a\u007f', false],
    ['not a string', 42, false],
  ])('%s: %p', (_name, id, usable) => {
    expect(isUsableEntryId(id)).toBe(usable);
  });
});

describe('parseSessionEvent', () => {
  const event = (action: string, details?: unknown) => ({
    id: 'ev-1',
    date_create: 1764757200,
    action,
    actor: { type: 'user', user: { id: 'W0ADMIN01' } },
    entity: { type: 'user', user: { id: 'W0TARGET1' } },
    ...(details === undefined ? {} : { details }),
  });
  const parsed = (raw: unknown) => {
    const result = parseSessionEvent(raw);
    if (!result.ok) throw new Error(result.issues.join('; '));
    return result.event;
  };

  it('says who ended the sessions for a reset, and nobody for a change of the built-in response\u2019s settings', () => {
    expect(parsed(event('user_sessions_reset_by_anomaly_event_response')).resetBy).toBe('slack_anomaly_response');
    expect(parsed(event('user_session_reset_by_admin')).resetBy).toBe('admin');
    expect(parsed(event('pref.anomaly_event_response_changed', { new_value: 'off' }))).not.toHaveProperty('resetBy');
  });

  it('keeps the details as JSON, cut to 1000 characters', () => {
    expect(parsed(event('pref.anomaly_event_response_changed', { new_value: 'off' })).details).toBe('{"new_value":"off"}');
    const long = parsed(event('pref.anomaly_event_response_changed', { note: 'x'.repeat(5000) })).details!;
    expect(long).toHaveLength(1000);
    expect(long.startsWith('{"note":"xxx')).toBe(true);
  });
});
