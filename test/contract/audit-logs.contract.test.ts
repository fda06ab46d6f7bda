import { POLLED_ACTIONS } from '../../functions/domain/audit-entry';
import { parseAuditEntry } from '../../functions/domain/audit-entry';
import { AuditLogsClient } from '../../functions/adapters/slack/audit-logs-client';
import { startSlackSimulator, type SlackSimulator } from '../../tools/local/slack-simulator';
import { auditLogs, FakeClock } from '../tools/slack-simulator/helpers';
import { extraKeys, fixture, keysOf, type Json } from './fixtures';

/**
 * The Audit Logs API against Slack's own published material (test/contract/fixtures/audit, see
 * its README.md): our client and entry parser read every example, and the simulator answers
 * with nothing Slack's material does not show.
 */

const AUDIT_FIXTURES = ['audit/anomaly-reference.json', 'audit/elastic-test-audit.json', 'audit/java-sdk-logs.json', 'audit/logs-reference.json'] as const;

interface PublishedEntry {
  source: string;
  entry: Json;
}

/** Every audit entry in a fixture, wherever the fixture keeps it (`entries`, `body.entries`, `examples[].body.entries`). */
function entriesOf(path: string): PublishedEntry[] {
  const f = fixture(path);
  const lists: Json[][] = [f.entries ?? [], f.body?.entries ?? [], ...(f.examples ?? []).map((e: Json) => e.body?.entries ?? [])];
  return lists.flat().map((entry) => ({ source: path, entry }));
}

const published: PublishedEntry[] = AUDIT_FIXTURES.flatMap(entriesOf);
const anomalies = published.filter((p) => p.entry.action === 'anomaly');

/** The one anomaly example on Slack's anomalous-events reference page. */
const referenceAnomaly = (): Json => fixture('audit/anomaly-reference.json').entries[0];
/** elastic/integrations' recorded anomaly entries, by id. */
const elasticEntry = (id: string): Json => fixture('audit/elastic-test-audit.json').entries.find((e: Json) => e.id === id);

const ELASTIC_ASDFASDF = '16f5fb41-c67c-4cf5-a5c4-d90cb58dd5f9';
const ELASTIC_SLACK_SHAPED = 'abc8e17e-c081-4b82-a515-4c54674e3de4';

/**
 * Published anomaly entries we refuse on purpose, by entry id. Each names its user, whose id is
 * not one Slack issues (Slack user ids are U… or W… plus upper-case alphanumerics). The responder
 * ends sessions and notifies people by that id, so an id we cannot trust is never acted on.
 */
const REFUSED_FOR_UNTRUSTED_USER_ID: Record<string, string> = {
  // elastic/integrations' test line 4: entity.user.id is the typed-in placeholder "asdfasdf".
  [ELASTIC_ASDFASDF]: 'asdfasdf',
};

function parsedOk(raw: unknown) {
  const result = parseAuditEntry(raw);
  if (!result.ok) throw new Error(`expected the entry to parse, got: ${result.issues.join('; ')}`);
  return result.entry;
}

describe('AuditLogsClient reads Slack\'s published GET audit/v1/logs answers', () => {
  const tokens = { get: async () => 'xoxp-test', invalidate() {} };
  const query = { oldest: 1_500_000_000, latest: 1_700_000_000, limit: 100 };

  /** A client whose fetch answers `body` with `status`, recording the URLs it was asked for. */
  function clientAnswering(body: unknown, status = 200) {
    const urls: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      urls.push(String(input instanceof Request ? input.url : input));
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { client: new AuditLogsClient({ tokens, baseUrl: 'https://api.slack.test/audit/v1/', fetch: fakeFetch }), urls };
  }

  const successes: { name: string; body: Json }[] = fixture('audit/logs-reference.json').examples.filter((e: Json) => e.status === 200);

  it('the audit-logs reference publishes at least one success body, and it has no `ok` field (unlike the Web API)', () => {
    expect(successes.length).toBeGreaterThan(0);
    for (const { body } of successes) expect(Object.keys(body)).not.toContain('ok');
  });

  it.each(successes.map((s) => [s.name, s.body] as const))('parses the published success "%s" as a page: its entries, and no next cursor', async (_name, body) => {
    const { client, urls } = clientAnswering(body);
    const page = await client.fetchAnomalies(query);
    expect(page.entries).toEqual(body.entries);
    expect(page.nextCursor).toBeUndefined();
    expect(new URL(urls[0]).searchParams.get('action')).toBe(POLLED_ACTIONS.join(','));
  });

  it('reads the empty next_cursor of java-slack-sdk\'s response_metadata shape as "last page"', async () => {
    // java-sdk-logs.json is a union-of-fields placeholder (ok:false with error:""), not a success
    // page; only its response_metadata shape is borrowed here, onto Slack's doc success body.
    const sdk = fixture('audit/java-sdk-logs.json').body;
    const body = { ...successes[0].body, response_metadata: sdk.response_metadata };
    expect(body.response_metadata.next_cursor).toBe('');
    const page = await clientAnswering(body).client.fetchAnomalies(query);
    expect(page.entries).toEqual(successes[0].body.entries);
    expect(page.nextCursor).toBeUndefined();
  });
});

describe('parseAuditEntry reads every published anomaly entry', () => {
  it('the fixtures hold these anomaly entries (anomaly reference: 1, elastic: 2; the logs reference and java-sdk sample have none)', () => {
    // logs-reference.json shows user_login and public_channel_created; java-sdk-logs.json's single
    // entry is a placeholder with action "" (its fields are used below and in the shape test).
    expect(anomalies.map((a) => `${a.source} ${a.entry.id}`)).toEqual([
      'audit/anomaly-reference.json <id>',
      `audit/elastic-test-audit.json ${ELASTIC_ASDFASDF}`,
      `audit/elastic-test-audit.json ${ELASTIC_SLACK_SHAPED}`,
    ]);
    expect(fixture('audit/java-sdk-logs.json').body.entries.map((e: Json) => e.action)).toEqual(['']);
  });

  it.each(anomalies.filter((a) => !(a.entry.id in REFUSED_FOR_UNTRUSTED_USER_ID)).map((a) => [a.entry.id, a.source, a.entry] as const))(
    'accepts anomaly %s (%s)',
    (_id, _source, entry) => {
      const result = parseAuditEntry(entry);
      expect(result).toEqual({ ok: true, entry: expect.objectContaining({ id: entry.id, dateCreate: entry.date_create }) });
    },
  );

  it.each(Object.entries(REFUSED_FOR_UNTRUSTED_USER_ID))('refuses anomaly %s only for its non-Slack user id "%s" (entity.user.id)', (id, userId) => {
    const entry = anomalies.find((a) => a.entry.id === id)!.entry;
    expect(entry.entity.user.id).toBe(userId);
    const result = parseAuditEntry(entry);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.entryId).toBe(id);
    // Nothing else about the entry is a problem: every issue is about entity.user.id.
    expect(result.issues.length).toBeGreaterThan(0);
    for (const issue of result.issues) expect(issue).toMatch(/^entity\.user\.id: /);
  });

  it('reads Slack\'s reference anomaly in full (context.session_id string, reason array, action_timestamp in µs)', () => {
    expect(parsedOk(referenceAnomaly())).toEqual({
      id: '<id>',
      dateCreate: 1644428305,
      entity: { kind: 'user', userId: 'U123ABC456', name: 'Alice Smith', email: 'alice.smith@example.com', team: 'T123ABC456' },
      reasons: ['ip_address'],
      context: {
        ipAddress: '1.23.45.678',
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.186 Safari/537.36',
        location: 'Reno, Nevada',
        workspace: 'Elysium',
        sessionId: '847288190092',
        previousIpAddress: '9.87.65.432',
        previousUserAgent: 'Mozilla/5.0 (X11; Linux i686; rv:10.0) Gecko/20100101 Firefox/10.0',
      },
    });
  });

  it('reads a numeric context.session_id (elastic\'s recorded entry) as its string form', () => {
    const entry = elasticEntry(ELASTIC_SLACK_SHAPED);
    expect(entry.context.session_id).toBe(9982493323637);
    const parsed = parsedOk(entry);
    expect(parsed.context.sessionId).toBe('9982493323637');
    expect(parsed.reasons).toEqual(['asn', 'ip_address']);
    expect(parsed.entity).toEqual({ kind: 'user', userId: 'U04V6RBUPAK', name: 'John Doe', email: 'john@example.com', team: 'Z0937DXQX' });
  });

  it('reads context.session_id null (as on the logs reference\'s app entry) as no session', () => {
    // Slack's only published null session_id is on a non-anomaly entry; graft it onto the anomaly.
    const nullSession = fixture('audit/logs-reference.json').entries[0].context.session_id;
    expect(nullSession).toBeNull();
    const entry = referenceAnomaly();
    entry.context.session_id = nullSession;
    expect(parsedOk(entry).context.sessionId).toBeUndefined();
  });

  it('reads elastic\'s entry with previous_ua "" and no session_id: both as absent (µs vs ms action_timestamp aside)', () => {
    // This published entry is refused for its user id "asdfasdf" (above). To check how its other
    // fields read, give it the Slack-shaped user id of elastic's other anomaly entry.
    const entry = elasticEntry(ELASTIC_ASDFASDF);
    expect(entry.details.previous_ua).toBe('');
    expect('session_id' in entry.context).toBe(false);
    expect(entry.details.action_timestamp).toBe(1673631621862); // 13 digits: milliseconds
    entry.entity.user.id = elasticEntry(ELASTIC_SLACK_SHAPED).entity.user.id;
    const parsed = parsedOk(entry);
    expect(parsed.context.previousUserAgent).toBeUndefined();
    expect(parsed.context.previousIpAddress).toBe('175.16.199.64');
    expect(parsed.context.sessionId).toBeUndefined();
    expect(parsed.reasons).toEqual(['asn', 'ip_address']);
    expect(parsed.dateCreate).toBe(1673631531);
  });

  it('reads details.reason as a string (java-slack-sdk types it so) into a one-item list', () => {
    const sdkReason = fixture('audit/java-sdk-logs.json').body.entries[0].details.reason;
    expect(typeof sdkReason).toBe('string');
    const entry = referenceAnomaly();
    entry.details.reason = 'ip_address';
    expect(parsedOk(entry).reasons).toEqual(['ip_address']);
  });

  it('does not depend on the unit of details.action_timestamp (µs in Slack\'s reference, ms in elastic\'s entry)', () => {
    const micro = referenceAnomaly();
    expect(String(micro.details.action_timestamp)).toHaveLength(16);
    const milli = referenceAnomaly();
    milli.details.action_timestamp = Math.floor(micro.details.action_timestamp / 1000);
    expect(String(milli.details.action_timestamp)).toHaveLength(13);
    expect(parsedOk(milli)).toEqual(parsedOk(micro));
  });
});

describe('the simulator\'s audit answer has Slack\'s shape', () => {
  let sim: SlackSimulator;
  let body: Json;
  let status: number;

  beforeAll(async () => {
    sim = await startSlackSimulator({ now: new FakeClock().now, rateLimits: false });
    // A day on, so entries the scenario delivers late are visible too.
    sim.advanceClock(86_400_000);
    const res = await auditLogs(sim, { action: 'anomaly', limit: 9999 });
    status = res.status;
    body = res.body;
  });
  afterAll(() => sim?.stop());

  /** Keys at one level of the published entries, e.g. `keysAt((e) => e.context)`. */
  const keysAt = (pick: (entry: Json) => unknown): string[] => published.flatMap((p) => keysOf(pick(p.entry)));
  /** Keys the simulator sends at that level that no published entry shows: "entry-id: path.key". */
  const unpublished = (path: string, pick: (entry: Json) => unknown, alsoAllowed: string[] = []): string[] => {
    const allowed = [...keysAt(pick), ...alsoAllowed];
    return (body.entries as Json[]).flatMap((entry) => extraKeys(keysOf(pick(entry)), allowed).map((key) => `${entry.id}: ${path}.${key}`));
  };

  it('answers 200 with only entries and response_metadata at the top (Slack\'s success has no `ok`)', () => {
    expect(status).toBe(200);
    expect(extraKeys(Object.keys(body), ['entries', 'response_metadata'])).toEqual([]);
    expect(body).not.toHaveProperty('ok');
    expect(body.entries.length).toBe(sim.scenario.entries.length);
  });

  it('sends only entry keys that Slack\'s published entries show', () => {
    expect(unpublished('(entry)', (e) => e)).toEqual([]);
  });

  it('sends only context keys (and context.location keys) that Slack\'s published entries show', () => {
    expect(unpublished('context', (e) => e.context)).toEqual([]);
    expect(unpublished('context.location', (e) => e.context?.location)).toEqual([]);
  });

  it('sends only actor.user / entity.user keys that Slack\'s published entries show', () => {
    expect(unpublished('actor.user', (e) => e.actor?.user)).toEqual([]);
    expect(unpublished('entity.user', (e) => e.entity?.user)).toEqual([]);
  });

  it('sends only details keys that Slack\'s published entries or its anomaly reference show', () => {
    // The anomalous-events reference also names detail fields in prose (documented_detail_fields,
    // e.g. "detected_os (not always populated)"): Slack's material, so allowed too.
    const documented: string[] = fixture('audit/anomaly-reference.json').documented_detail_fields.map((text: string) => text.split(' ')[0]);
    expect(documented).toEqual(expect.arrayContaining(['ip_address_details', 'api_call_method', 'detected_client', 'detected_os', 'user_agent_change_details']));
    expect(unpublished('details', (e) => e.details, documented)).toEqual([]);
  });
});
