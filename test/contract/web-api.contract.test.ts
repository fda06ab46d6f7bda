import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SlackError } from '../../functions/adapters/slack/errors';
import { FAILED_FOR_SOME_USERS, SlackWebApi } from '../../functions/adapters/slack/web-api';
import { SECURITY_ADMIN_ROLE_ID, startSlackSimulator, type SlackSimulator } from '../../tools/local/slack-simulator';
import { FakeClock, rawApi } from '../tools/slack-simulator/helpers';
import { errorExamples, example, extraKeys, fixture, keysOf, sdkTypeKeys, successBodies, type FixtureExample, type Json } from './fixtures';

/**
 * The Web API methods we call, against Slack's own published example responses
 * (test/contract/fixtures/web-api, see its README.md): our client parses each one, and the
 * simulator answers with nothing Slack's material (or its published SDK types) does not show.
 */

const F = (method: string) => `web-api/${method}.json`;
const successOf = (method: string): Json => {
  const bodies = successBodies(F(method));
  if (!bodies.length) throw new Error(`${F(method)} publishes no success body`);
  return bodies[0];
};

// ---------------------------------------------------------------------------------------------
// A fake Slack: POST /api/<method> answers the body the test chose for that method.
// ---------------------------------------------------------------------------------------------

interface SeenRequest {
  method: string;
  params: Record<string, string>;
  authorization?: string;
}

class FakeSlack {
  private server!: Server;
  url = '';
  readonly requests: SeenRequest[] = [];
  private readonly answers = new Map<string, Json>();

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0];
        const text = Buffer.concat(chunks).toString('utf8');
        const params: Record<string, string> = (req.headers['content-type'] ?? '').includes('application/json')
          ? JSON.parse(text || '{}')
          : Object.fromEntries(new URLSearchParams(text));
        this.requests.push({ method, params, authorization: req.headers.authorization });
        const answer = req.method === 'POST' ? this.answers.get(method) : undefined;
        let body: Json = answer ?? { ok: false, error: 'unknown_method' };
        // A follow-up page: the same body without its cursor, so a cursor from a fixture does not loop.
        if (answer && params.cursor) {
          const { response_metadata: _dropped, ...rest } = answer;
          body = rest;
        }
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  answer(method: string, body: Json): void {
    this.answers.set(method, body);
  }

  clear(): void {
    this.answers.clear();
    this.requests.length = 0;
  }

  calls(method: string): SeenRequest[] {
    return this.requests.filter((r) => r.method === method);
  }
}

/** A list parameter as @slack/web-api sends it (a JSON-encoded array) or as a comma list. */
function listParam(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.trim().startsWith('[') ? (JSON.parse(value) as string[]) : value.split(',');
}

async function rejection(promise: Promise<unknown>): Promise<SlackError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SlackError);
  return error as SlackError;
}

/** An enterprise id from Slack's own material: admin.usergroups.fetch's org-level group. */
const EXAMPLE_ENTERPRISE_ID: string = successOf('admin.usergroups.fetch').subteam.enterprise_id;

/**
 * Slack's auth.test examples are workspace tokens and carry no enterprise_id. Our install is
 * org-level, and auth.test on an org-level install always names the enterprise, so the copy
 * used for orgIdentity adds it (AuthTestResponse in @slack/web-api types `enterprise_id`).
 */
function orgAuthTest(): Json {
  return { ...successOf('auth.test'), enterprise_id: EXAMPLE_ENTERPRISE_ID };
}

describe('SlackWebApi parses Slack\'s published example responses', () => {
  const slack = new FakeSlack();
  let invalidated = 0;
  const tokens = {
    get: async () => 'xoxp-test',
    invalidate() {
      invalidated += 1;
    },
  };
  const api = () => new SlackWebApi({ tokens, apiUrl: slack.url + '/api/', timeoutMs: 10_000 });

  beforeAll(() => slack.start());
  afterAll(() => slack.stop());
  beforeEach(() => {
    slack.clear();
    invalidated = 0;
  });

  describe('users.info → getUser', () => {
    it('reads Slack\'s example user: handle, real name, profile email, home team, flags', async () => {
      slack.answer('users.info', successOf('users.info'));
      const user = await api().getUser('W012A3CDE');
      expect(user).toEqual({
        id: 'W012A3CDE',
        name: 'spengler',
        realName: 'Egon Spengler',
        email: 'spengler@ghostbusters.example.com',
        isBot: false,
        deleted: false,
        isPrimaryOwner: false,
        teamId: 'T012AB3C4',
        isStranger: false,
      });
      expect(user?.enterpriseId).toBeUndefined();
      expect(slack.calls('users.info')[0].params.user).toBe('W012A3CDE');
      expect(slack.calls('users.info')[0].authorization).toBe('Bearer xoxp-test');
    });

    it('reads Slack\'s user_not_found example as "no such person" (undefined)', async () => {
      slack.answer('users.info', example(F('users.info'), 'error user_not_found').body);
      await expect(api().getUser('W0NOBODY1')).resolves.toBeUndefined();
    });
  });

  describe('admin.users.list → primaryOwner', () => {
    it('finds no primary owner in Slack\'s example as published (its one user is not one)', async () => {
      slack.answer('admin.users.list', successOf('admin.users.list'));
      await expect(api().primaryOwner()).resolves.toBeUndefined();
      expect(slack.calls('admin.users.list')).toHaveLength(1);
    });

    it('reads username / full_name / is_active: false of Slack\'s example user marked primary owner', async () => {
      // Slack's example has no primary owner; this copy makes its one user the (deactivated)
      // primary owner, to read the fields admin.users.list uses instead of users.info's.
      const body = successOf('admin.users.list');
      body.users[0].is_primary_owner = true;
      body.users[0].is_active = false;
      slack.answer('admin.users.list', body);
      expect(await api().primaryOwner()).toEqual({
        id: 'W0L3P31SP',
        name: 'john_doe',
        realName: 'John Doe',
        email: 'john.doe@slack.com',
        isBot: false,
        deleted: true,
        isPrimaryOwner: true,
        isStranger: false,
      });
    });

    it('reads java-slack-sdk\'s user shape (roles, last_active_ts) and its empty next_cursor as the last page', async () => {
      // The SDK sample is a union-of-fields placeholder with ok:false; its users and
      // response_metadata are put in a success body, and its user made the primary owner.
      const sample = fixture('web-api/admin.users.list.java-sdk-sample.json').examples[0].body;
      const user = { ...sample.users[0], is_primary_owner: true };
      slack.answer('admin.users.list', { ok: true, users: [user], response_metadata: sample.response_metadata });
      const owner = await api().primaryOwner();
      expect(owner).toEqual({ id: 'W00000000', isBot: false, deleted: true, isPrimaryOwner: true, isStranger: false });
      expect(slack.calls('admin.users.list')).toHaveLength(1);
    });
  });

  describe('admin.users.list → listMembers (respond\'s cached directory)', () => {
    it('reads every user of Slack\'s example, with the fields admin.users.list uses', async () => {
      slack.answer('admin.users.list', successOf('admin.users.list'));
      expect(await api().listMembers()).toEqual([
        { id: 'W0L3P31SP', name: 'john_doe', realName: 'John Doe', email: 'john.doe@slack.com', isBot: false, deleted: false, isPrimaryOwner: false, isStranger: false },
      ]);
      expect(slack.calls('admin.users.list')).toHaveLength(1);
    });
  });

  describe('admin.roles.listAssignments → securityAdminIds', () => {
    it('asks for role Rl0J, reads user_id of each assignment, and follows Slack\'s next_cursor once', async () => {
      const body = successOf('admin.roles.listAssignments');
      slack.answer('admin.roles.listAssignments', body);
      // The fake returns the fixture whatever role is asked for (its assignments are Rl0C, Rl0A, …,
      // none of them Rl0J): the client filters again, so none of them counts as a security admin.
      expect(await api().securityAdminIds()).toEqual([]);
      const calls = slack.calls('admin.roles.listAssignments');
      expect(calls).toHaveLength(2);
      expect(listParam(calls[0].params.role_ids)).toContain(SECURITY_ADMIN_ROLE_ID);
      expect(SECURITY_ADMIN_ROLE_ID).toBe('Rl0J');
      expect(calls[0].params.cursor).toBeUndefined();
      expect(calls[1].params.cursor).toBe(body.response_metadata.next_cursor);
      expect(listParam(calls[1].params.role_ids)).toContain('Rl0J');
    });

    it('reads user_id of each Rl0J assignment (a copy of Slack\'s example with one assignment made Rl0J)', async () => {
      const body = structuredClone(successOf('admin.roles.listAssignments'));
      body.role_assignments[3].role_id = SECURITY_ADMIN_ROLE_ID;
      body.role_assignments[3].user_id = 'W0SECADMN1';
      delete body.response_metadata;
      slack.answer('admin.roles.listAssignments', body);
      expect(await api().securityAdminIds()).toEqual(['W0SECADMN1']);
    });
  });

  describe('usergroups.users.list → usergroupMembers', () => {
    it('reads Slack\'s example member ids (U… and W…) and sends the group\'s team_id', async () => {
      slack.answer('usergroups.users.list', successOf('usergroups.users.list'));
      expect(await api().usergroupMembers({ id: 'S0614TZR7', teamId: 'T060RNRCH' })).toEqual(['U060R4BJ4', 'W123A4BC5']);
      const [call] = slack.calls('usergroups.users.list');
      expect(call.params.usergroup).toBe('S0614TZR7');
      expect(call.params.team_id).toBe('T060RNRCH');
    });

    it('sends the org\'s enterprise id (from auth.test) as team_id for an org-wide group', async () => {
      slack.answer('auth.test', orgAuthTest());
      slack.answer('admin.teams.list', successOf('admin.teams.list'));
      slack.answer('usergroups.users.list', successOf('usergroups.users.list'));
      expect(await api().usergroupMembers({ id: 'S0614TZR7' })).toEqual(['U060R4BJ4', 'W123A4BC5']);
      expect(slack.calls('usergroups.users.list')[0].params.team_id).toBe(EXAMPLE_ENTERPRISE_ID);
    });

    it('never reads a success without `users` as "nobody is in the group": it cannot be expanded (fails safe)', async () => {
      slack.answer('usergroups.users.list', { ok: true });
      await expect(api().usergroupMembers({ id: 'S0614TZR7', teamId: 'T060RNRCH' })).rejects.toMatchObject({ code: 'malformed_response', kind: 'permanent' });
    });
  });

  describe('auth.test + admin.teams.list → orgIdentity', () => {
    it('names the enterprise (auth.test, with enterprise_id added) and its workspaces (admin.teams.list: T1234)', async () => {
      slack.answer('auth.test', orgAuthTest());
      slack.answer('admin.teams.list', successOf('admin.teams.list'));
      const org = await api().orgIdentity();
      expect(org.enterpriseId).toBe(EXAMPLE_ENTERPRISE_ID);
      expect([...org.teamIds].sort()).toEqual([EXAMPLE_ENTERPRISE_ID, 'T1234'].sort());
    });

    const published: [string, Json][] = (fixture(F('auth.test')).examples as FixtureExample[]).filter((e) => e.body.ok === true).map((e) => [e.name, e.body]);
    it.each(published)('refuses Slack\'s auth.test "%s" example as published (no enterprise_id): not_an_enterprise', async (_name, body) => {
      slack.answer('auth.test', body);
      const error = await rejection(api().orgIdentity());
      expect(error.code).toBe('not_an_enterprise');
      expect(slack.calls('admin.teams.list')).toHaveLength(0);
    });
  });

  describe('conversations.open → openDirectMessage', () => {
    const successes: [string, Json][] = (fixture(F('conversations.open')).examples as FixtureExample[]).filter((e) => e.body.ok === true).map((e) => [e.name, e.body]);
    it.each(successes)(
      'reads channel.id from Slack\'s "%s" example',
      async (_name, body) => {
        slack.answer('conversations.open', body);
        await expect(api().openDirectMessage('U069C7QF3')).resolves.toBe('D069C7QFK');
        expect(slack.calls('conversations.open')[0].params.users).toBe('U069C7QF3');
      },
    );
  });

  describe('chat.postMessage → postMessage', () => {
    it('accepts Slack\'s success example', async () => {
      slack.answer('chat.postMessage', successOf('chat.postMessage'));
      await expect(api().postMessage('C123ABC456', { text: "Here's a message for you" })).resolves.toBeUndefined();
      const [call] = slack.calls('chat.postMessage');
      expect(call.params.channel).toBe('C123ABC456');
      expect(call.params.text).toBe("Here's a message for you");
    });
  });

  describe('admin.users.session.reset → resetSessions', () => {
    it('accepts {ok:true} (published for admin.users.session.resetBulk; reset itself publishes no body)', async () => {
      expect(fixture(F('admin.users.session.reset')).examples).toEqual([]);
      slack.answer('admin.users.session.reset', successOf('admin.users.session.resetBulk'));
      await expect(api().resetSessions('W012A3CDE')).resolves.toBeUndefined();
      expect(slack.calls('admin.users.session.reset')[0].params.user_id).toBe('W012A3CDE');
    });
  });

  describe('admin.users.session.resetBulk → resetSessionsBulk', () => {
    it('accepts Slack\'s success example, and sends user_ids and the scope as its reference names them', async () => {
      slack.answer('admin.users.session.resetBulk', successOf('admin.users.session.resetBulk'));
      await expect(api().resetSessionsBulk(['W12345678', 'W98765432'], { kind: 'web' })).resolves.toBeUndefined();
      const [call] = slack.calls('admin.users.session.resetBulk');
      expect(JSON.parse(String(call.params.user_ids))).toEqual(['W12345678', 'W98765432']);
      expect(String(call.params.web_only)).toBe('true');
      expect(call.params.mobile_only).toBeUndefined();
    });

    it('reads the documented failed_for_some_users (which names nobody) as a SlackError with that code', async () => {
      expect(fixture(F('admin.users.session.resetBulk')).documented_errors).toContain(FAILED_FOR_SOME_USERS);
      slack.answer('admin.users.session.resetBulk', { ok: false, error: FAILED_FOR_SOME_USERS });
      const error = await rejection(api().resetSessionsBulk(['W12345678', 'W98765432']));
      expect(error.code).toBe(FAILED_FOR_SOME_USERS);
    });
  });

  describe('admin.users.session.invalidate → resetSessions of one session', () => {
    it('accepts Slack\'s success example, sending user_id and the session id as an integer (the reference\'s type)', async () => {
      slack.answer('admin.users.session.invalidate', successOf('admin.users.session.invalidate'));
      await expect(api().resetSessions('W012A3CDE', { kind: 'session', sessionId: '847288190092' })).resolves.toBeUndefined();
      const params = slack.calls('admin.users.session.invalidate')[0].params;
      expect({ user_id: params.user_id, session_id: params.session_id, team_id: params.team_id }).toEqual({ user_id: 'W012A3CDE', session_id: '847288190092', team_id: undefined });
      expect(fixture(F('admin.users.session.invalidate')).documented_errors).toEqual(expect.arrayContaining(['session_not_found', 'cannot_invalidate_primary_owner']));
    });

    it('sends web_only / mobile_only on admin.users.session.reset for the web and mobile scopes', async () => {
      slack.answer('admin.users.session.reset', successOf('admin.users.session.resetBulk'));
      await api().resetSessions('W012A3CDE', { kind: 'web' });
      await api().resetSessions('W012A3CDE', { kind: 'mobile' });
      await api().resetSessions('W012A3CDE');
      expect(slack.calls('admin.users.session.reset').map((c) => [c.params.web_only, c.params.mobile_only])).toEqual([
        ['true', undefined],
        [undefined, 'true'],
        [undefined, undefined],
      ]);
    });
  });

  describe('admin.audit.anomaly.allow.* → anomalyAllowList / setAnomalyAllowList', () => {
    it('reads Slack\'s getItem example: trusted_cidr strings, trusted_asn numbers', async () => {
      slack.answer('admin.audit.anomaly.allow.getItem', successOf('admin.audit.anomaly.allow.getItem'));
      await expect(api().anomalyAllowList()).resolves.toEqual({ cidrs: ['8.8.8.8/24', '8.8.4.4/22'], asns: [34245, 8530] });
    });

    it('never reads a list it cannot understand as empty (it would then be overwritten)', async () => {
      slack.answer('admin.audit.anomaly.allow.getItem', { ok: true, trusted_cidr: 'all', trusted_asn: [] });
      expect((await rejection(api().anomalyAllowList())).code).toBe('malformed_response');
    });

    it('writes the whole list with the reference\'s argument names (trusted_cidr, trusted_asns)', async () => {
      const published = fixture(F('admin.audit.anomaly.allow.updateItem')) as Json;
      expect(Object.keys(published.arguments).sort()).toEqual(['trusted_asns', 'trusted_cidr']);
      slack.answer('admin.audit.anomaly.allow.updateItem', successOf('admin.audit.anomaly.allow.updateItem'));
      await api().setAnomalyAllowList({ cidrs: ['198.51.100.0/24'], asns: [64500] });
      const params = slack.calls('admin.audit.anomaly.allow.updateItem')[0].params;
      expect({ trusted_cidr: JSON.parse(params.trusted_cidr), trusted_asns: JSON.parse(params.trusted_asns) }).toEqual({ trusted_cidr: ['198.51.100.0/24'], trusted_asns: [64500] });
    });
  });

  describe('Slack\'s published error examples become a SlackError with that code', () => {
    /** Which of our calls reads each method (and the method the fake answers it on). */
    const calls: Record<string, { answerOn?: string; run: (a: SlackWebApi) => Promise<unknown> }> = {
      'admin.roles.listAssignments': { run: (a) => a.securityAdminIds() },
      'usergroups.users.list': { run: (a) => a.usergroupMembers({ id: 'S0614TZR7', teamId: 'T060RNRCH' }) },
      'auth.test': { run: (a) => a.orgIdentity() },
      'conversations.open': { run: (a) => a.openDirectMessage('U069C7QF3') },
      'chat.postMessage': { run: (a) => a.postMessage('C123ABC456', { text: 'hi' }) },
      // admin.users.session.reset publishes no error body; its sibling's shows the standard form.
      'admin.users.session.resetBulk': { answerOn: 'admin.users.session.reset', run: (a) => a.resetSessions('W012A3CDE') },
    };
    const cases = Object.keys(calls).flatMap((method) => errorExamples(F(method)).map((e) => [method, e.body.error as string, e.body] as const));

    it('covers every published error body of the methods we call (users.info user_not_found is read as undefined above)', () => {
      expect(cases.map(([m, code]) => `${m} ${code}`).sort()).toEqual([
        'admin.roles.listAssignments invalid_actor',
        'admin.users.session.resetBulk invalid_auth',
        'auth.test invalid_auth',
        'auth.test not_authed',
        'chat.postMessage too_many_attachments',
        'conversations.open channel_not_found',
        'usergroups.users.list invalid_auth',
      ]);
    });

    it.each(cases)('%s: %s', async (method, code, body) => {
      const { answerOn = method, run } = calls[method];
      slack.answer(answerOn, body);
      const error = await rejection(run(api()));
      expect(error.code).toBe(code);
      expect(error.method).toBe(answerOn);
      // A rejected token is forgotten so a rotated one is read next time.
      expect(invalidated).toBe(code === 'invalid_auth' ? 1 : 0);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The simulator against the same material.
// ---------------------------------------------------------------------------------------------

// tools/local/scenarios/default.json
const SOFIA = 'W07SOFIA01';
const SECURITY_TEAM = 'S07SECTEAM'; // org-wide: its team_id is the enterprise id
const ALERTS_CHANNEL = 'C07SECALRT';
const EXTERNAL = 'U09NADIAH1'; // Slack Connect person from another Enterprise org (is_stranger)
const BOT = 'U07DEPLOYB';

/** Keys every Web API answer may carry whatever the method (WebAPICallResult / every *Response type). */
const ENVELOPE = ['response_metadata', 'warning'];

/** Union of the keys of a fixture's success bodies. */
const successKeys = (method: string): string[] => successBodies(F(method)).flatMap((b) => Object.keys(b));
/** Union of the keys of one object inside a fixture's success bodies. */
const fixtureObjectKeys = (method: string, pick: (body: Json) => unknown): string[] => successBodies(F(method)).flatMap((b) => keysOf(pick(b)));

describe('the simulator answers with the shape of Slack\'s examples', () => {
  let sim: SlackSimulator;
  let enterpriseId: string;
  const answers: Record<string, Json> = {};

  beforeAll(async () => {
    sim = await startSlackSimulator({ now: new FakeClock().now, rateLimits: false });
    enterpriseId = sim.scenario.org.enterprise.id;
    const bot = { token: sim.tokens.bot };
    const call = async (key: string, method: string, params: Record<string, unknown>, options: { token?: string } = {}) => {
      const res = await rawApi(sim, method, params, options);
      if (res.status !== 200 || res.body?.ok !== true) throw new Error(`simulator ${method} failed: ${res.status} ${JSON.stringify(res.body)}`);
      answers[key] = res.body;
    };
    await call('users.info', 'users.info', { user: SOFIA });
    await call('users.info external', 'users.info', { user: EXTERNAL });
    await call('users.info bot', 'users.info', { user: BOT });
    await call('admin.users.list', 'admin.users.list', { limit: 1000 });
    await call('admin.roles.listAssignments', 'admin.roles.listAssignments', { role_ids: [SECURITY_ADMIN_ROLE_ID] });
    await call('admin.teams.list', 'admin.teams.list', {});
    await call('auth.test', 'auth.test', {});
    await call('auth.test bot', 'auth.test', {}, bot);
    await call('usergroups.users.list', 'usergroups.users.list', { usergroup: SECURITY_TEAM, team_id: enterpriseId });
    await call('conversations.open', 'conversations.open', { users: SOFIA }, bot);
    await call('conversations.open again', 'conversations.open', { users: SOFIA }, bot);
    await call('chat.postMessage', 'chat.postMessage', { channel: ALERTS_CHANNEL, text: 'contract test' }, bot);
    // One of Sofia's live sessions (her audit entry names it), ended before the reset ends them all.
    await call('admin.users.session.invalidate', 'admin.users.session.invalidate', { user_id: SOFIA, session_id: sim.state().sessions[SOFIA][0] });
    await call('admin.users.session.reset', 'admin.users.session.reset', { user_id: SOFIA });
    await call('admin.audit.anomaly.allow.updateItem', 'admin.audit.anomaly.allow.updateItem', { trusted_cidr: ['198.51.100.0/24'], trusted_asns: [64500] });
    await call('admin.audit.anomaly.allow.getItem', 'admin.audit.anomaly.allow.getItem', {});
  });

  it('admin.audit.anomaly.allow.getItem answers with the list written, as Slack\'s example spells it', () => {
    expect(answers['admin.audit.anomaly.allow.getItem']).toEqual({ ok: true, trusted_cidr: ['198.51.100.0/24'], trusted_asn: [64500] });
  });

  it('admin.audit.anomaly.allow.updateItem refuses what is not an IPv4 CIDR (the reference: IPv4 only) with a documented error', async () => {
    const res = await rawApi(sim, 'admin.audit.anomaly.allow.updateItem', { trusted_cidr: ['2001:db8::/32'], trusted_asns: [] });
    expect(res.body).toEqual({ ok: false, error: 'invalid_field_or_data' });
    expect(fixture(F('admin.audit.anomaly.allow.updateItem')).documented_errors).toContain('invalid_field_or_data');
  });

  it('admin.users.session.invalidate refuses a session id that is not an integer, and an unknown one with a documented error', async () => {
    expect((await rawApi(sim, 'admin.users.session.invalidate', { user_id: SOFIA, session_id: 'web-1' })).body).toMatchObject({ ok: false, error: 'invalid_arguments' });
    const unknown = await rawApi(sim, 'admin.users.session.invalidate', { user_id: SOFIA, session_id: '12345' });
    expect(unknown.body).toEqual({ ok: false, error: 'session_not_found' });
    expect(fixture(F('admin.users.session.invalidate')).documented_errors).toContain('session_not_found');
  });
  afterAll(() => sim?.stop());

  it('the scenario ids used here are the ones the brief names (org-wide group on the enterprise id)', () => {
    expect(enterpriseId).toMatch(/^E/);
    expect(sim.scenario.org.usergroups.find((g) => g.id === SECURITY_TEAM)?.team_id).toBe(enterpriseId);
  });

  /**
   * Extra top-level keys the simulator may send because Slack's published SDK type for that
   * response has them, though the doc example does not show them. Each is checked against the
   * @slack/web-api .d.ts below, so the whitelist cannot drift from the type it cites.
   */
  const TYPED_TOP_LEVEL: Record<string, { type: string; keys: string[] }> = {
    // AuthTestResponse: enterprise_id, is_enterprise_install (org-level install), app_id (bot token).
    'auth.test': { type: 'AuthTestResponse', keys: ['enterprise_id', 'is_enterprise_install', 'app_id'] },
  };

  /** [answer key, fixture method] for every call above. */
  const TOP_LEVEL: [string, string][] = [
    ['users.info', 'users.info'],
    ['users.info external', 'users.info'],
    ['users.info bot', 'users.info'],
    ['admin.users.list', 'admin.users.list'],
    ['admin.roles.listAssignments', 'admin.roles.listAssignments'],
    ['admin.teams.list', 'admin.teams.list'],
    ['auth.test', 'auth.test'],
    ['auth.test bot', 'auth.test'],
    ['usergroups.users.list', 'usergroups.users.list'],
    ['conversations.open', 'conversations.open'],
    ['conversations.open again', 'conversations.open'],
    ['chat.postMessage', 'chat.postMessage'],
    // reset publishes no body; its sibling resetBulk's success is {ok:true}.
    ['admin.users.session.reset', 'admin.users.session.resetBulk'],
    ['admin.users.session.invalidate', 'admin.users.session.invalidate'],
    ['admin.audit.anomaly.allow.updateItem', 'admin.audit.anomaly.allow.updateItem'],
    ['admin.audit.anomaly.allow.getItem', 'admin.audit.anomaly.allow.getItem'],
  ];

  it.each(Object.entries(TYPED_TOP_LEVEL))('the %s whitelist only names keys of its @slack/web-api type', (_method, { type, keys }) => {
    expect(extraKeys(keys, sdkTypeKeys(type))).toEqual([]);
  });

  it.each(TOP_LEVEL)('%s: top-level keys ⊆ Slack\'s %s success keys ∪ {response_metadata, warning}', (key, method) => {
    const allowed = [...successKeys(method), ...ENVELOPE, ...(TYPED_TOP_LEVEL[method]?.keys ?? [])];
    expect(extraKeys(Object.keys(answers[key]), allowed)).toEqual([]);
  });

  describe('users.info', () => {
    // UsersInfoResponse's User type has these; Slack's doc example (a non-Enterprise workspace
    // user) does not show them. enterprise_user / is_stranger are what an Enterprise org answers.
    const TYPED_USER = ['is_email_confirmed', 'is_stranger', 'enterprise_user'];
    // UsersInfoResponse's Profile type: title, and bot_id for a bot user.
    const TYPED_PROFILE = ['title', 'bot_id'];

    it('the user / profile whitelists only name keys of UsersInfoResponse\'s User / Profile types', () => {
      expect(extraKeys(TYPED_USER, sdkTypeKeys('UsersInfoResponse', 'User'))).toEqual([]);
      expect(extraKeys(TYPED_PROFILE, sdkTypeKeys('UsersInfoResponse', 'Profile'))).toEqual([]);
    });

    it.each(['users.info', 'users.info external', 'users.info bot'])('%s: user keys ⊆ Slack\'s example user keys (∪ typed)', (key) => {
      const allowed = [...fixtureObjectKeys('users.info', (b) => b.user), ...TYPED_USER];
      expect(extraKeys(keysOf(answers[key].user), allowed)).toEqual([]);
    });

    it.each(['users.info', 'users.info external', 'users.info bot'])('%s: profile keys ⊆ Slack\'s example profile keys (∪ typed)', (key) => {
      const allowed = [...fixtureObjectKeys('users.info', (b) => b.user.profile), ...TYPED_PROFILE];
      expect(extraKeys(keysOf(answers[key].user.profile), allowed)).toEqual([]);
    });

    it.each(['users.info', 'users.info external'])('%s: enterprise_user keys ⊆ UsersInfoResponse\'s EnterpriseUser type', (key) => {
      expect(answers[key].user.enterprise_user).toBeDefined();
      expect(extraKeys(keysOf(answers[key].user.enterprise_user), sdkTypeKeys('UsersInfoResponse', 'EnterpriseUser'))).toEqual([]);
    });
  });

  describe('admin.users.list', () => {
    it('every user\'s keys ⊆ Slack\'s example user keys ∪ java-slack-sdk sample keys', () => {
      const allowed = [
        ...fixtureObjectKeys('admin.users.list', (b) => b.users[0]),
        ...fixture('web-api/admin.users.list.java-sdk-sample.json').examples.flatMap((e: Json) => keysOf(e.body.users[0])),
      ];
      const users: Json[] = answers['admin.users.list'].users;
      expect(users.length).toBeGreaterThan(1);
      expect(users.flatMap((u) => extraKeys(Object.keys(u), allowed).map((k) => `${u.id}.${k}`))).toEqual([]);
    });

    it('has none of users.info\'s names for the same facts (name, real_name, deleted, profile)', () => {
      for (const user of answers['admin.users.list'].users as Json[]) {
        for (const key of ['name', 'real_name', 'deleted', 'profile']) expect(user).not.toHaveProperty(key);
      }
    });
  });

  it('admin.roles.listAssignments: every assignment\'s keys ⊆ Slack\'s example assignment keys', () => {
    const allowed = fixtureObjectKeys('admin.roles.listAssignments', (b) => b.role_assignments[0]);
    const assignments: Json[] = answers['admin.roles.listAssignments'].role_assignments;
    expect(assignments.length).toBeGreaterThan(0);
    expect(assignments.map((a) => a.role_id)).toEqual(assignments.map(() => SECURITY_ADMIN_ROLE_ID));
    expect(assignments.flatMap((a) => extraKeys(Object.keys(a), allowed))).toEqual([]);
  });

  it('admin.teams.list: every team\'s keys (and primary_owner\'s) ⊆ Slack\'s example team keys', () => {
    const teams: Json[] = answers['admin.teams.list'].teams;
    expect(teams.length).toBeGreaterThan(0);
    const allowed = fixtureObjectKeys('admin.teams.list', (b) => b.teams[0]);
    const ownerAllowed = fixtureObjectKeys('admin.teams.list', (b) => b.teams[0].primary_owner);
    expect(teams.flatMap((t) => extraKeys(Object.keys(t), allowed))).toEqual([]);
    expect(teams.flatMap((t) => extraKeys(keysOf(t.primary_owner), ownerAllowed))).toEqual([]);
  });

  it.each(['conversations.open', 'conversations.open again'])('%s: channel keys ⊆ Slack\'s example channel keys', (key) => {
    expect(extraKeys(keysOf(answers[key].channel), fixtureObjectKeys('conversations.open', (b) => b.channel))).toEqual([]);
  });

  it('chat.postMessage: message keys ⊆ Slack\'s example message keys ∪ ChatPostMessageResponseMessage\'s user / app_id / blocks', () => {
    // ChatPostMessageResponse's message type has user, app_id and blocks; the doc example (a
    // legacy bot_message with attachments) does not show them.
    const typed = ['user', 'app_id', 'blocks'];
    expect(extraKeys(typed, sdkTypeKeys('ChatPostMessageResponse', 'ChatPostMessageResponseMessage'))).toEqual([]);
    const allowed = [...fixtureObjectKeys('chat.postMessage', (b) => b.message), ...typed];
    expect(extraKeys(keysOf(answers['chat.postMessage'].message), allowed)).toEqual([]);
  });
});
