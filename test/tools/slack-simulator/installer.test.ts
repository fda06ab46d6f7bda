import { startSlackSimulator, type ScenarioInput, type SlackSimulator } from '../../../tools/local/slack-simulator';
import { rawApi, smallScenario } from './helpers';

// Slack's reference: cannot_reset_primary_owner "Only primary owner can reset primary owner's
// sessions"; cannot_invalidate_primary_owner "Only the primary owner of an organization can
// invalidate a primary owner's sessions". Whose token it is depends on who installed the app.
const ALICE = 'W0ALICE001'; // primary owner in smallScenario
const BOB = 'W0BOB00001';
const CAROL = 'W0CAROL001'; // another org owner

function orgWith(installedBy?: string): ScenarioInput {
  const base = smallScenario();
  return {
    ...base,
    org: {
      ...base.org,
      users: [
        { ...base.org.users[0], sessions: ['5501'] },
        base.org.users[1],
        { id: CAROL, name: 'carol', real_name: 'Carol Chen', email: 'carol@test.example', is_owner: true, is_admin: true },
      ],
      ...(installedBy ? { app: { installed_by: installedBy } } : {}),
    },
  };
}

describe('who installed the app decides whether the primary owner can be reset', () => {
  let sim: SlackSimulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('defaults to the primary owner: auth.test names them, and their token resets their own sessions', async () => {
    sim = await startSlackSimulator({ scenario: orgWith() });
    expect((await rawApi(sim, 'auth.test')).body).toMatchObject({ ok: true, user_id: ALICE, user: 'alice' });
    expect((await rawApi(sim, 'admin.users.session.reset', { user_id: ALICE })).body).toEqual({ ok: true });
    expect((await rawApi(sim, 'admin.users.session.resetBulk', { user_ids: [ALICE, BOB] })).body).toEqual({ ok: true });
    expect(sim.resetUserIds()).toEqual([ALICE, BOB]);
  });

  it('lets the primary owner invalidate their own session', async () => {
    sim = await startSlackSimulator({ scenario: orgWith(ALICE) });
    expect((await rawApi(sim, 'admin.users.session.invalidate', { user_id: ALICE, session_id: '5501' })).body).toEqual({ ok: true });
    expect(sim.state().invalidations).toEqual([expect.objectContaining({ userId: ALICE, sessionId: '5501' })]);
  });

  it('refuses the primary owner when another owner installed the app, and still resets everyone else', async () => {
    sim = await startSlackSimulator({ scenario: orgWith(CAROL) });
    expect((await rawApi(sim, 'auth.test')).body).toMatchObject({ ok: true, user_id: CAROL, user: 'carol' });
    expect((await rawApi(sim, 'admin.users.session.reset', { user_id: ALICE })).body).toEqual({ ok: false, error: 'cannot_reset_primary_owner' });
    expect((await rawApi(sim, 'admin.users.session.resetBulk', { user_ids: [ALICE, BOB] })).body).toEqual({
      ok: false,
      error: 'failed_for_some_users',
      failed_users: [{ user_id: ALICE, error: 'cannot_reset_primary_owner' }],
    });
    expect((await rawApi(sim, 'admin.users.session.invalidate', { user_id: ALICE, session_id: '5501' })).body).toEqual({
      ok: false,
      error: 'cannot_invalidate_primary_owner',
    });
    expect(sim.resetUserIds()).toEqual([BOB]);
    expect(sim.state().sessions[ALICE]).toEqual(['5501']);
  });

  it('the bot token is not the installer: auth.test still answers as the bot user', async () => {
    sim = await startSlackSimulator({ scenario: orgWith(CAROL) });
    expect((await rawApi(sim, 'auth.test', {}, { token: sim.tokens.bot })).body).toMatchObject({ ok: true, user_id: 'U0SIMBOTUSR', bot_id: 'B0SIMBOTID1' });
  });
});
