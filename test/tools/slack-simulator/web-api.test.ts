import { SlackError, type TokenName } from '../../../functions/adapters/slack/errors';
import { SlackWebApi } from '../../../functions/adapters/slack/web-api';
import { SECURITY_ADMIN_ROLE_ID, startSlackSimulator, type SlackSimulator } from '../../../tools/local/slack-simulator';
import { FakeClock, rawApi, webApi } from './helpers';

// The default scenario (tools/local/scenarios/default.json): Halvard Logistics.
const PRIMARY_OWNER = 'W07PRIYA01';
// default.json sets org.app.installed_by: the user tokens are Daniel's (an org owner), not Priya's.
const INSTALLER = 'W07DANIEL1';
const ENTERPRISE = 'E07HALVRD1';
const OPS_WORKSPACE = 'T07HLVOPS1';
const SOFIA = 'W07SOFIA01';
const TOM = 'W07TOMBK01';
const BOT = 'U07DEPLOYB';
const EXTERNAL = 'U09NADIAH1';
const DELETED = 'W07MATEO01';

async function slackError(promise: Promise<unknown>): Promise<SlackError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SlackError);
  return error as SlackError;
}

describe('Web API, driven by the project SlackWebApi client', () => {
  let clock: FakeClock;
  let sim: SlackSimulator;

  beforeEach(async () => {
    clock = new FakeClock();
    sim = await startSlackSimulator({ now: clock.now });
  });
  afterEach(() => sim.stop());

  describe('admin.users.session.reset', () => {
    it('ends the sessions of a member and records it', async () => {
      const { api } = webApi(sim);
      expect(sim.state().sessions[SOFIA]?.length).toBeGreaterThan(0);
      clock.advanceSeconds(5);
      await api.resetSessions(SOFIA);
      const state = sim.state();
      expect(state.resets).toEqual([{ userId: SOFIA, at: clock.ms, method: 'admin.users.session.reset', mobileOnly: false, webOnly: false }]);
      expect(state.resetRequests).toEqual({ [SOFIA]: 1 });
      expect(state.sessions[SOFIA]).toBeUndefined();
      expect(sim.resetUserIds()).toEqual([SOFIA]);
    });

    it.each([
      [PRIMARY_OWNER, 'cannot_reset_primary_owner'],
      [BOT, 'cannot_reset_bot'],
      [EXTERNAL, 'user_not_found'],
      ['W0NOBODY01', 'user_not_found'],
    ])('refuses %s with %s (a permanent error) and records no reset', async (userId, code) => {
      const { api } = webApi(sim);
      const error = await slackError(api.resetSessions(userId));
      expect(error.code).toBe(code);
      expect(error.kind).toBe('permanent');
      const state = sim.state();
      expect(state.resets).toEqual([]);
      expect(state.resetRequests).toEqual({ [userId]: 1 });
    });
  });

  describe('users.info', () => {
    it('reports people, bots, deleted users and unknown ids as Slack does', async () => {
      const info = async (user: string) => (await rawApi(sim, 'users.info', { user })).body;
      expect((await info(SOFIA)).user).toMatchObject({
        id: SOFIA,
        name: 'sofia.alvarez',
        real_name: 'Sofia Alvarez',
        team_id: 'T07HLVHQ01',
        is_bot: false,
        deleted: false,
        is_primary_owner: false,
        profile: { email: 'sofia.alvarez@halvard.example' },
      });
      expect((await info(PRIMARY_OWNER)).user.is_primary_owner).toBe(true);
      expect((await info(BOT)).user).toMatchObject({ is_bot: true });
      expect((await info(DELETED)).user).toMatchObject({ deleted: true });
      expect(await info('W0NOBODY01')).toEqual({ ok: false, error: 'user_not_found' });
    });

    it('returns the raw shape Slack does', async () => {
      const res = await rawApi(sim, 'users.info', { user: EXTERNAL });
      expect(res.body.user).toMatchObject({
        id: EXTERNAL,
        is_stranger: true,
        profile: { email: 'nadia.haddad@meridian.example' },
        enterprise_user: { enterprise_id: 'E09MERIDN1' },
      });
      const member = await rawApi(sim, 'users.info', { user: SOFIA });
      expect(member.body.user.enterprise_user.enterprise_id).toBe('E07HALVRD1');
      expect(member.body.user).not.toHaveProperty('is_stranger');
    });
  });

  it('auth.test returns the enterprise id for each token, and the installer for user tokens', async () => {
    const admin = await rawApi(sim, 'auth.test', {});
    expect(admin.body).toMatchObject({ ok: true, enterprise_id: 'E07HALVRD1', user_id: INSTALLER, user: 'daniel.okafor', is_enterprise_install: true });
    const audit = await rawApi(sim, 'auth.test', {}, { token: sim.tokens.audit });
    expect(audit.body).toMatchObject({ ok: true, user_id: INSTALLER });
    const bot = await rawApi(sim, 'auth.test', {}, { token: sim.tokens.bot });
    expect(bot.body).toMatchObject({ ok: true, enterprise_id: 'E07HALVRD1', user_id: 'U07RESPBOT', bot_id: 'B07RESPBOT' });
  });

  describe('usergroups.users.list (org-level token: team_id is required)', () => {
    const list = (args: Record<string, unknown>) => rawApi(sim, 'usergroups.users.list', args).then((r) => r.body);

    it("expands a group when called with the group's own team: the enterprise id for an org-wide group, the workspace for a workspace group", async () => {
      const security = await list({ usergroup: 'S07SECTEAM', team_id: ENTERPRISE });
      expect(security.ok).toBe(true);
      expect(security.users.sort()).toEqual(['W07ELENA01', 'W07JONAS01', 'W07MARCUS1']);
      expect(await list({ usergroup: 'S07SVCACCT', team_id: OPS_WORKSPACE })).toEqual({ ok: true, users: ['W07SVCETL1', BOT] });
      // A group without team_id in the scenario is org-wide.
      expect((await list({ usergroup: 'S07LEADERS', team_id: ENTERPRISE })).ok).toBe(true);
    });

    it('answers invalid_arguments without team_id, the way it does without usergroup', async () => {
      expect(await list({ usergroup: 'S07SECTEAM' })).toMatchObject({ ok: false, error: 'invalid_arguments' });
      expect(await list({ team_id: ENTERPRISE })).toMatchObject({ ok: false, error: 'invalid_arguments' });
    });

    it("answers no_such_subteam for an unknown group, and for a team that is not the group's", async () => {
      expect(await list({ usergroup: 'S0NOSUCH01', team_id: ENTERPRISE })).toEqual({ ok: false, error: 'no_such_subteam' });
      expect(await list({ usergroup: 'S07SVCACCT', team_id: ENTERPRISE })).toEqual({ ok: false, error: 'no_such_subteam' });
      expect(await list({ usergroup: 'S07SECTEAM', team_id: OPS_WORKSPACE })).toEqual({ ok: false, error: 'no_such_subteam' });
      expect(await list({ usergroup: 'S07SVCACCT', team_id: 'T07HLVHQ01' })).toEqual({ ok: false, error: 'no_such_subteam' });
    });
  });

  it('finds the primary owner through admin.users.list and the security admins through admin.roles.listAssignments', async () => {
    const { api } = webApi(sim);
    expect(await api.primaryOwner()).toMatchObject({ id: PRIMARY_OWNER, email: 'priya.raman@halvard.example' });
    expect((await api.securityAdminIds()).sort()).toEqual(['W07ELENA01', 'W07MARCUS1']);
    // The client sends role_ids as a JSON-encoded form field: it must have been understood as a filter.
    const call = sim.state().calls.find((c) => c.method === 'admin.roles.listAssignments');
    expect(call?.args.role_ids).toBe(JSON.stringify([SECURITY_ADMIN_ROLE_ID]));
  });

  it('paginates admin.users.list (org members only) and admin.roles.listAssignments with cursors', async () => {
    const ids: string[] = [];
    let cursor = '';
    let pages = 0;
    do {
      const res = await rawApi(sim, 'admin.users.list', { limit: 5, ...(cursor ? { cursor } : {}) });
      expect(res.body.ok).toBe(true);
      ids.push(...res.body.users.map((u: { id: string }) => u.id));
      cursor = res.body.response_metadata.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(4);
    expect(ids).toHaveLength(17);
    expect(new Set(ids).size).toBe(17);
    expect(ids).not.toContain(EXTERNAL);

    const first = await rawApi(sim, 'admin.roles.listAssignments', { role_ids: ['Rl0J'], limit: 1 });
    expect(first.body.role_assignments).toEqual([
      { role_id: 'Rl0J', entity_id: 'E07HALVRD1', user_id: expect.any(String), date_create: expect.any(Number) },
    ]);
    const second = await rawApi(sim, 'admin.roles.listAssignments', { role_ids: ['Rl0J'], limit: 1, cursor: first.body.response_metadata.next_cursor });
    expect(second.body.response_metadata.next_cursor).toBe('');
    expect([first.body.role_assignments[0].user_id, second.body.role_assignments[0].user_id].sort()).toEqual(['W07ELENA01', 'W07MARCUS1']);
    expect((await rawApi(sim, 'admin.roles.listAssignments', { role_ids: 'Rl0X' })).body.role_assignments).toEqual([]);
    expect((await rawApi(sim, 'admin.users.list', { cursor: 'bogus' })).body).toEqual({ ok: false, error: 'invalid_cursor' });
  });

  describe('notifications (bot token)', () => {
    it('conversations.open gives one stable DM channel per user', async () => {
      const { api } = webApi(sim);
      const channel = await api.openDirectMessage(SOFIA);
      expect(channel).toMatch(/^D[A-Z0-9]{10}$/);
      expect(await api.openDirectMessage(SOFIA)).toBe(channel);
      expect(await api.openDirectMessage(TOM)).not.toBe(channel);
      expect(sim.state().dms).toEqual([
        { channel, userIds: [SOFIA], at: clock.ms, opens: 2 },
        expect.objectContaining({ userIds: [TOM], opens: 1 }),
      ]);
      const again = await startSlackSimulator({ now: clock.now });
      try {
        expect(await webApi(again).api.openDirectMessage(SOFIA)).toBe(channel);
      } finally {
        await again.stop();
      }
      expect((await slackError(api.openDirectMessage(BOT))).code).toBe('cannot_dm_bot');
      expect((await slackError(api.openDirectMessage('W0NOBODY01'))).code).toBe('user_not_found');
    });

    it('chat.postMessage records text and blocks per channel', async () => {
      const { api } = webApi(sim);
      const dm = await api.openDirectMessage(SOFIA);
      const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Your sessions were ended*' } }];
      await api.postMessage(dm, { text: 'Your Slack sessions were ended', blocks });
      await api.postMessage('C07SECALRT', { text: 'Sessions ended for Sofia Alvarez' });
      const { messages } = sim.state();
      expect(messages).toEqual([
        { channel: dm, userId: SOFIA, text: 'Your Slack sessions were ended', blocks, ts: expect.stringMatching(/^\d+\.\d{6}$/), at: clock.ms },
        expect.objectContaining({ channel: 'C07SECALRT', text: 'Sessions ended for Sofia Alvarez', blocks: undefined }),
      ]);
      expect(messages[0].ts).not.toBe(messages[1].ts);
    });

    it('chat.postMessage refuses unknown channels, channels without the bot, unopened DMs and empty messages', async () => {
      const { api } = webApi(sim);
      expect((await slackError(api.postMessage('C0UNKNOWN1', { text: 'hi' }))).code).toBe('channel_not_found');
      expect((await slackError(api.postMessage('C07GENERAL', { text: 'hi' }))).code).toBe('not_in_channel');
      expect((await slackError(api.postMessage('D0NEVEROPEN', { text: 'hi' }))).code).toBe('channel_not_found');
      expect((await slackError(api.postMessage('C07SECALRT', { text: '' }))).code).toBe('no_text');
      const badBlocks = await rawApi(sim, 'chat.postMessage', { channel: 'C07SECALRT', text: 'x', blocks: '[{not json' }, { token: sim.tokens.bot });
      expect(badBlocks.body).toMatchObject({ ok: false, error: 'invalid_blocks' });
      expect(sim.state().messages).toEqual([]);
    });

    it('chat.postMessage to a user id lands in their DM', async () => {
      const res = await rawApi(sim, 'chat.postMessage', { channel: TOM, text: 'hello' }, { token: sim.tokens.bot });
      expect(res.body.ok).toBe(true);
      expect(res.body.channel).toMatch(/^D/);
      expect(sim.state().messages[0]).toMatchObject({ channel: res.body.channel, userId: TOM });
    });
  });

  describe('tokens and scopes', () => {
    it("notify's wiring: directory reads use the directory token, messages the bot token, and it has no token to end sessions with", async () => {
      const asked: string[] = [];
      // As deployed: notify is given the directory and bot secrets only (the simulator's directory token is its admin token).
      const given: Partial<Record<TokenName, string>> = { directory: sim.tokens.admin, bot: sim.tokens.bot };
      const tokens = {
        get: async (name: TokenName) => {
          asked.push(name);
          const token = given[name];
          if (!token) throw new Error(`This function is given no ${name} token`);
          return token;
        },
        invalidate: () => undefined,
      };
      const api = new SlackWebApi({ tokens, apiUrl: sim.url + '/api/', timeoutMs: 5000, readToken: 'directory' });
      expect(await api.primaryOwner()).toMatchObject({ id: PRIMARY_OWNER });
      expect(await api.getUser(SOFIA)).toMatchObject({ id: SOFIA });
      await api.postMessage('C07SECALRT', { text: 'hi' });
      expect([...new Set(asked)].sort()).toEqual(['bot', 'directory']);
      await expect(api.resetSessions(SOFIA)).rejects.toThrow('This function is given no admin token');
      expect(sim.state().resets).toEqual([]);
    });

    it('refuses admin methods with the bot token (not_allowed_token_type, an auth error)', async () => {
      const { api } = webApi(sim, { overrides: { admin: sim.tokens.bot } });
      const error = await slackError(api.resetSessions(SOFIA));
      expect(error).toMatchObject({ code: 'not_allowed_token_type', kind: 'auth' });
      expect(sim.state().resets).toEqual([]);
    });

    it('answers missing_scope with needed and provided', async () => {
      const { api } = webApi(sim, { overrides: { bot: sim.tokens.admin } });
      const error = await slackError(api.postMessage('C07SECALRT', { text: 'hi' }));
      expect(error.code).toBe('missing_scope');
      expect(error.extra.needed).toBe('chat:write');
      expect(error.extra.provided).toContain('admin.users:write');
      const raw = await rawApi(sim, 'users.info', { user: SOFIA }, { token: sim.tokens.bot });
      expect(raw.status).toBe(200);
      expect(raw.body).toEqual({ ok: false, error: 'missing_scope', needed: 'users:read', provided: 'chat:write,im:write' });
    });

    it('answers invalid_auth to an unknown token, and the client drops its cached tokens', async () => {
      const { api, tokens } = webApi(sim, { overrides: { admin: 'xoxp-sim-revoked' } });
      const error = await slackError(api.resetSessions(SOFIA));
      expect(error).toMatchObject({ code: 'invalid_auth', kind: 'auth' });
      expect(tokens.invalidated).toBe(1);
      expect((await rawApi(sim, 'auth.test', {}, { token: null })).body).toEqual({ ok: false, error: 'not_authed' });
    });
  });

  describe('request encodings', () => {
    it('accepts JSON bodies, GET queries and a token parameter', async () => {
      const json = await rawApi(sim, 'admin.roles.listAssignments', { role_ids: ['Rl0J'] }, { as: 'json' });
      expect(json.body.role_assignments).toHaveLength(2);
      const get = await rawApi(sim, 'usergroups.users.list', { usergroup: 'S07SECTEAM', team_id: ENTERPRISE }, { as: 'get' });
      expect(get.body.users).toHaveLength(3);
      const tokenParam = await rawApi(sim, 'users.info', { user: SOFIA, token: sim.tokens.admin }, { token: null });
      expect(tokenParam.body.ok).toBe(true);
      const comma = await rawApi(sim, 'admin.users.session.resetBulk', { user_ids: `${SOFIA},${TOM}` });
      expect(comma.body).toEqual({ ok: true });
    });

    it('answers unknown_method for a method it does not simulate', async () => {
      const res = await rawApi(sim, 'admin.conversations.search', {});
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: false, error: 'unknown_method' });
    });
  });

  describe('other session methods', () => {
    it('admin.users.session.invalidate ends one known session', async () => {
      // Sofia's tor entry in the default scenario carries session 1718012345678.
      const args = { user_id: SOFIA, session_id: '1718012345678' };
      expect((await rawApi(sim, 'admin.users.session.invalidate', args)).body).toEqual({ ok: true });
      expect((await rawApi(sim, 'admin.users.session.invalidate', args)).body).toEqual({ ok: false, error: 'session_not_found' });
      const owner = await rawApi(sim, 'admin.users.session.invalidate', { user_id: PRIMARY_OWNER, session_id: '1718019876543' });
      expect(owner.body.error).toBe('cannot_invalidate_primary_owner');
      expect(sim.state().invalidations).toEqual([{ userId: SOFIA, sessionId: '1718012345678', at: clock.ms }]);
      expect(sim.state().resets).toEqual([]);
    });

    it('admin.users.session.resetBulk resets the users it can and names the ones it cannot', async () => {
      const res = await rawApi(sim, 'admin.users.session.resetBulk', { user_ids: [SOFIA, PRIMARY_OWNER, TOM] });
      expect(res.body).toEqual({ ok: false, error: 'failed_for_some_users', failed_users: [{ user_id: PRIMARY_OWNER, error: 'cannot_reset_primary_owner' }] });
      expect(sim.resetUserIds()).toEqual([SOFIA, TOM]);
      expect(sim.state().resets.every((r) => r.method === 'admin.users.session.resetBulk')).toBe(true);
      const tooMany = await rawApi(sim, 'admin.users.session.resetBulk', { user_ids: Array.from({ length: 1001 }, (_, i) => `W0BULK${i}`) });
      expect(tooMany.body.error).toBe('invalid_arguments');
    });
  });
});
