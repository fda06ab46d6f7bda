import { ConfigError, RetryLaterError } from '../../../functions/domain/errors';
import { defaultConfig, responseConfigSchema, type ResponseConfig, type ResponseConfigInput } from '../../../functions/domain/config/schema';
import type { NotificationJob } from '../../../functions/domain/messages';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { respondToBatch, respondToMessage, RespondDirectory, type RespondDeps } from '../../../functions/respond/respond';
import { outcomeLabel } from '../../../functions/domain/decision/response';
import { GROUP_EXPANSION_CONCURRENCY } from '../../../functions/respond/directory';
import { LeaseHeldError } from '../../../functions/domain/errors';
import { noTimeLeft } from '../../../functions/runtime/invocation-time';
import { anomalyEntry, message } from '../../support/entries';
import { FakeSlack } from '../../support/fake-slack';
import { InMemoryLedger } from '../../support/in-memory-ledger';
import { RecordingPublisher } from '../../support/recording-publisher';

function setup(configInput: ResponseConfigInput | ResponseConfig = defaultConfig()) {
  let nowMs = 1_800_000_100_000;
  const clock = () => nowMs;
  const ledger = new InMemoryLedger(clock);
  const slack = new FakeSlack();
  slack.users.set('U0ANA00001', { name: 'ana', email: 'ana@example.com' });
  // The fake knows only the people it lists (anyone else is user_not_found, as on Slack): the org's other people in these tests.
  slack.member(['U0BOB00002', 'U0AAA00001', 'U0BBB00002', 'U0CCC00003', 'U0OWN00001', 'U0BOT00001', 'U0WSMEMB01', 'U0ORGMEM01', 'U0NOTMEM01']);
  const notifications = new RecordingPublisher();
  let config: ResponseConfig | Error = responseConfigSchema.parse(configInput);
  const deps: RespondDeps = {
    config: { load: async () => (config instanceof Error ? Promise.reject(config) : config) },
    decisions: ledger,
    resets: ledger,
    slack,
    notifications,
    directory: new RespondDirectory(slack, 60_000, clock),
    now: clock,
  };
  return {
    deps,
    ledger,
    slack,
    notifications,
    jobs: () => notifications.bodies<NotificationJob>(),
    advance: (ms: number) => (nowMs += ms),
    setConfig: (c: ResponseConfig | Error) => (config = c),
  };
}

describe('respondToMessage', () => {
  it('ends the sessions of a Tor user by default, records it and queues a sessions_ended job', async () => {
    const t = setup();
    const entry = anomalyEntry({ id: 'e-tor', reasons: ['tor'] });
    const outcome = await respondToMessage(message(entry), t.deps);
    expect(outcome).toMatchObject({ kind: 'decided', outcome: { kind: 'sessions_ended' }, notification: 'sessions_ended' });
    expect(t.slack.resets).toEqual(['U0ANA00001']);
    expect(t.ledger.decisions.get('e-tor')).toMatchObject({
      status: 'done',
      userId: 'U0ANA00001',
      decision: 'end_sessions',
      reason: 'rule_end_sessions',
      outcome: 'sessions_ended',
      events: ['tor'],
      notificationQueued: true,
    });
    const [job] = t.jobs();
    expect(job).toMatchObject({
      entryId: 'e-tor',
      type: 'sessions_ended',
      user: { id: 'U0ANA00001', email: 'ana@example.com' },
      events: ['tor'],
      context: { ipAddress: '198.51.100.23', location: 'Reno, Nevada', previousIpAddress: '203.0.113.7' },
    });
    expect(job.context).not.toHaveProperty('sessionId');
  });

  it('passes the rule\u2019s scope to the reset: one session from the entry, or web / mobile only', async () => {
    const t = setup({ events: { tor: { action: 'end_sessions', scope: 'session' }, unexpected_scraping: { action: 'end_sessions', scope: 'mobile' } } });
    t.slack.sessions.set('U0ANA00001', new Set(['847288190092']));
    await respondToMessage(message(anomalyEntry({ id: 'e-one', reasons: ['tor'] })), t.deps);
    await respondToMessage(message(anomalyEntry({ id: 'e-mob', userId: 'U0BOB00002', reasons: ['unexpected_scraping'] })), t.deps);
    expect(t.slack.resetScopes).toEqual([
      { userId: 'U0ANA00001', scope: { kind: 'session', sessionId: '847288190092' } },
      { userId: 'U0BOB00002', scope: { kind: 'mobile' } },
    ]);
    expect(t.ledger.decisions.get('e-one')).toMatchObject({ outcome: 'sessions_ended', response: { outcome: 'sessions_ended', scope: 'session' } });
    expect(t.jobs().map((j) => j.response.scope)).toEqual(['session', 'mobile']);
  });

  it('in dry run records and tells the decision, and neither ends sessions nor spends the cooldown or the hourly budget', async () => {
    const t = setup({ safety: { dryRun: true, cooldownMinutes: 30, maxSessionResetsPerHour: 1 } });
    for (const id of ['d1', 'd2']) {
      const outcome = await respondToMessage(message(anomalyEntry({ id, reasons: ['tor'] })), t.deps);
      // The same person twice within the cooldown, over a budget of one: both are decided as they would be alone.
      expect(outcome).toMatchObject({ decision: { action: 'end_sessions' }, outcome: { kind: 'dry_run' }, notification: 'sessions_ended' });
    }
    expect(t.slack.resets).toEqual([]);
    expect(t.slack.calls.resetSessions).toBeUndefined();
    expect(t.ledger.resetBudgetUsed).toBe(0);
    expect(t.ledger.decisions.get('d1')).toMatchObject({ decision: 'end_sessions', outcome: 'dry_run', response: { outcome: 'dry_run', scope: 'all', dryRun: true } });
    expect(t.jobs().map((j) => [j.type, j.response.outcome, j.response.dryRun])).toEqual([
      ['sessions_ended', 'dry_run', true],
      ['sessions_ended', 'dry_run', true],
    ]);
    // Switching dry run off acts at once: the dry run left no cooldown behind.
    t.setConfig(responseConfigSchema.parse({ safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 1 } }));
    await respondToMessage(message(anomalyEntry({ id: 'd3', reasons: ['tor'] })), t.deps);
    expect(t.slack.resets).toEqual(['U0ANA00001']);
  });

  it('tells an app\u2019s anomaly with the app\u2019s id and name, and no person', async () => {
    const t = setup();
    await respondToMessage(message(anomalyEntry({ id: 'e-app', entity: { type: 'app', app: { id: 'A0APP00001', name: 'Exporter' } } })), t.deps);
    expect(t.jobs()).toEqual([expect.objectContaining({ type: 'app_anomaly', app: { id: 'A0APP00001', name: 'Exporter' }, response: { outcome: 'held', holdReason: 'app_anomaly' } })]);
    expect(t.jobs()[0]).not.toHaveProperty('user');
    expect(t.slack.resets).toEqual([]);
  });

  describe('coexistence with Slack\u2019s built-in responder', () => {
    const sessionEvent = (id: string, action: string, userId?: string, extra: Record<string, unknown> = {}) => ({
      id,
      date_create: 1_800_000_000,
      action,
      actor: { type: 'user', user: { id: 'W0ADMIN001', name: 'adam' } },
      ...(userId ? { entity: { type: 'user', user: { id: userId, name: 'ana' } } } : { entity: { type: 'enterprise', enterprise: { id: 'E0ORG00001' } } }),
      ...extra,
    });

    it.each([
      ['user_sessions_reset_by_anomaly_event_response', 'slack_anomaly_response', /by Slack\u2019s built-in anomaly event response/],
      ['user_session_reset_by_admin', 'admin', /by an admin/],
    ])('%s: the person is not signed out again within the cooldown, and the log says who did it', async (action, by, words) => {
      const t = setup();
      await expect(respondToMessage(message(sessionEvent('s-1', action, 'U0ANA00001')), t.deps)).resolves.toEqual({ kind: 'recorded', entryId: 's-1', action });
      expect(t.ledger.decisions.get('s-1')).toMatchObject({ decision: 'recorded', reason: action, outcome: `reset_by:${by}`, userId: 'U0ANA00001', notification: 'none' });
      t.advance(5 * 60_000);
      const outcome = await respondToMessage(message(anomalyEntry({ id: 'e-tor', reasons: ['tor'] })), t.deps);
      expect(outcome).toMatchObject({ decision: { action: 'notify_only', reason: 'cooldown', resetBy: by }, notification: 'anomaly_not_acted_on' });
      expect(t.slack.resets).toEqual([]);
      expect(t.jobs()[0].response).toMatchObject({ holdReason: 'cooldown', resetBy: by });
      const { describeResponse } = await import('../../../functions/notify/explain');
      expect(describeResponse(t.jobs()[0].response).explanation).toMatch(words);
    });

    it('after the cooldown the person is signed out as usual', async () => {
      const t = setup();
      await respondToMessage(message(sessionEvent('s-1', 'user_session_reset_by_admin', 'U0ANA00001')), t.deps);
      t.advance(31 * 60_000);
      await respondToMessage(message(anomalyEntry({ id: 'e-tor', reasons: ['tor'] })), t.deps);
      expect(t.slack.resets).toEqual(['U0ANA00001']);
    });

    it('pref.anomaly_event_response_changed is recorded and told to the security admins, with who did it and what the entry says', async () => {
      const t = setup();
      const entry = sessionEvent('p-1', 'pref.anomaly_event_response_changed', undefined, { details: { new_value: 'off', previous_value: 'on' } });
      await expect(respondToMessage(message(entry), t.deps)).resolves.toEqual({ kind: 'recorded', entryId: 'p-1', action: 'pref.anomaly_event_response_changed', notification: 'anomaly_response_changed' });
      expect(t.ledger.decisions.get('p-1')).toMatchObject({ decision: 'recorded', outcome: 'recorded', notification: 'anomaly_response_changed', notificationQueued: true });
      expect(t.jobs()).toEqual([
        expect.objectContaining({
          type: 'anomaly_response_changed',
          settingsChange: { actorId: 'W0ADMIN001', details: '{"new_value":"off","previous_value":"on"}' },
          response: { outcome: 'recorded' },
        }),
      ]);
      const { notificationJobSchema } = await import('../../../functions/domain/messages');
      expect(notificationJobSchema.safeParse(t.jobs()[0]).success).toBe(true);
    });

    it('a bulk reset names nobody in any published entry: recorded only', async () => {
      const t = setup();
      await respondToMessage(message(sessionEvent('b-1', 'bulk_session_reset_by_admin')), t.deps);
      expect(t.ledger.decisions.get('b-1')).toMatchObject({ decision: 'recorded', outcome: 'recorded', notification: 'none' });
      await respondToMessage(message(anomalyEntry({ id: 'e-tor', reasons: ['tor'] })), t.deps);
      expect(t.slack.resets).toEqual(['U0ANA00001']);
    });

    it('a malformed one is rejected like a malformed anomaly, and a duplicate is skipped', async () => {
      const t = setup();
      await expect(respondToMessage(message({ id: 'bad', action: 'user_session_reset_by_admin', date_create: 'yesterday' }), t.deps)).resolves.toMatchObject({ kind: 'rejected' });
      await respondToMessage(message(sessionEvent('s-1', 'user_session_reset_by_admin', 'U0ANA00001')), t.deps);
      await expect(respondToMessage(message(sessionEvent('s-1', 'user_session_reset_by_admin', 'U0ANA00001')), t.deps)).resolves.toMatchObject({ kind: 'duplicate' });
    });
  });

  it('records but does not act on events that are off by default, and sends nothing', async () => {
    const t = setup();
    const outcome = await respondToMessage(message(anomalyEntry({ id: 'e-dl', reasons: ['excessive_downloads'] })), t.deps);
    expect(outcome).toMatchObject({ outcome: { kind: 'ignored' }, decision: { reason: 'rules_off' } });
    expect(t.slack.resets).toEqual([]);
    expect(t.jobs()).toEqual([]);
    expect(t.slack.calls.getUser).toBeUndefined(); // no directory call spent on an ignored entry
  });

  it('notifies without acting when the rule says notify_only', async () => {
    const t = setup({ events: { excessive_downloads: { action: 'notify_only' } } });
    await respondToMessage(message(anomalyEntry({ id: 'e1', reasons: ['excessive_downloads'] })), t.deps);
    expect(t.slack.resets).toEqual([]);
    expect(t.jobs()[0]).toMatchObject({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'rule_notify_only', notifyOnlyEvents: ['excessive_downloads'] } });
  });

  it('leaves excluded people and members of excluded groups untouched', async () => {
    const t = setup({ exclusions: { excludedUsers: ['U0BOB00002'], excludedGroups: [] }, events: { tor: { action: 'end_sessions', excludedGroups: ['S0SEC00001'] } } });
    t.slack.groups.set('S0SEC00001', ['U0ANA00001']);
    await respondToMessage(message(anomalyEntry({ id: 'e1', userId: 'U0ANA00001' })), t.deps);
    await respondToMessage(message(anomalyEntry({ id: 'e2', userId: 'U0BOB00002' })), t.deps);
    expect(t.slack.resets).toEqual([]);
    expect(t.ledger.decisions.get('e1')).toMatchObject({ reason: 'excluded', outcome: 'notified' });
    expect(t.jobs().map((j) => j.response.exclusions)).toEqual([['group S0SEC00001 (tor)'], ['user U0BOB00002 (all events)']]);
  });

  it('never acts on apps or Slack Connect people', async () => {
    const t = setup();
    // From a workspace outside any Enterprise org: not a stranger, no enterprise, another team.
    t.slack.users.set('U0EXT00003', { teamId: 'T0THEIRS01', enterpriseId: undefined });
    await respondToMessage(message(anomalyEntry({ id: 'app', entity: { type: 'app', app: { id: 'A0APP00001', name: 'Scraper' } } })), t.deps);
    await respondToMessage(message(anomalyEntry({ id: 'ext', userId: 'U0EXT00003' })), t.deps);
    expect(t.slack.resets).toEqual([]);
    expect(t.ledger.decisions.get('app')).toMatchObject({ decision: 'notify_only', reason: 'app_anomaly', entityType: 'app', notification: 'app_anomaly' });
    expect(t.ledger.decisions.get('ext')).toMatchObject({ reason: 'external_user' });
  });

  it('acts once per audit entry: a redelivered message is a duplicate', async () => {
    const t = setup();
    const body = message(anomalyEntry({ id: 'e-dup' }));
    await respondToMessage(body, t.deps);
    const again = await respondToMessage(body, t.deps);
    expect(again).toEqual({ kind: 'duplicate', entryId: 'e-dup', outcome: 'sessions_ended' });
    expect(t.slack.resets).toHaveLength(1);
    expect(t.jobs()).toHaveLength(1);
  });

  it('refuses to work on an entry another invocation holds', async () => {
    const t = setup();
    await t.ledger.claimEntry('e-held', 60_000);
    await expect(respondToMessage(message(anomalyEntry({ id: 'e-held' })), t.deps)).rejects.toBeInstanceOf(LeaseHeldError);
    expect(t.slack.resets).toEqual([]);
  });

  it('re-queues a notification whose enqueue failed after the decision was recorded, without a second reset', async () => {
    const t = setup();
    const body = message(anomalyEntry({ id: 'e-n' }));
    t.notifications.failNext = 1;
    await expect(respondToMessage(body, t.deps)).rejects.toThrow('SQS unavailable');
    expect(t.ledger.decisions.get('e-n')).toMatchObject({ status: 'done', notificationQueued: false });
    await respondToMessage(body, t.deps);
    expect(t.slack.resets).toHaveLength(1);
    expect(t.jobs()).toHaveLength(1);
    expect(t.ledger.decisions.get('e-n')?.notificationQueued).toBe(true);
  });

  it('holds back a second reset of the same user within the cooldown (loop protection)', async () => {
    const t = setup();
    await respondToMessage(message(anomalyEntry({ id: 'first' })), t.deps);
    t.advance(5 * 60_000);
    const second = await respondToMessage(message(anomalyEntry({ id: 'second' })), t.deps);
    expect(second).toMatchObject({ decision: { action: 'notify_only', reason: 'cooldown' } });
    t.advance(30 * 60_000);
    await respondToMessage(message(anomalyEntry({ id: 'third' })), t.deps);
    expect(t.slack.resets).toEqual(['U0ANA00001', 'U0ANA00001']);
  });

  it('trips the circuit breaker instead of mass-resetting, and says so as a failure', async () => {
    const t = setup({ safety: { maxSessionResetsPerHour: 2, cooldownMinutes: 30 } });
    for (const [i, user] of ['U0AAA00001', 'U0BBB00002', 'U0CCC00003'].entries()) {
      await respondToMessage(message(anomalyEntry({ id: `e${i}`, userId: user })), t.deps);
    }
    expect(t.slack.resets).toEqual(['U0AAA00001', 'U0BBB00002']);
    expect(t.ledger.decisions.get('e2')).toMatchObject({ reason: 'circuit_breaker', outcome: 'notified' });
    expect(t.jobs()[2]).toMatchObject({ type: 'action_failed', response: { holdReason: 'circuit_breaker', maxSessionResetsPerHour: expect.any(Number) } });
  });

  it('never signs out the primary owner, whoever installed the app: records "protected" and tells the admins why', async () => {
    const t = setup();
    t.slack.primaryOwnerId = 'U0OWN00001';
    const outcome = await respondToMessage(message(anomalyEntry({ id: 'e-owner', userId: 'U0OWN00001' })), t.deps);
    expect(outcome).toMatchObject({ outcome: { kind: 'protected' }, notification: 'anomaly_not_acted_on', decision: { action: 'notify_only', reason: 'protected' } });
    // Not even attempted: with the primary owner's own token Slack would have allowed it.
    expect(t.slack.calls.resetSessions).toBeUndefined();
    expect(t.ledger.decisions.get('e-owner')).toMatchObject({ decision: 'notify_only', reason: 'protected', outcome: 'protected' });
    expect(t.jobs()[0].response).toEqual({ outcome: 'protected', holdReason: 'protected' });
    expect(t.ledger.resetBudgetUsed).toBe(0);
  });

  it('records Slack refusals that cannot succeed and tells people the action failed, without retrying', async () => {
    const t = setup();
    t.slack.failures.resetSessions = [new SlackError('cannot_reset_bot', 'permanent', 'admin', 'admin.users.session.reset')];
    const outcome = await respondToMessage(message(anomalyEntry({ id: 'e-bot', userId: 'U0BOT00001' })), t.deps);
    expect(outcome).toMatchObject({ outcome: { kind: 'reset_refused', code: 'cannot_reset_bot' }, notification: 'action_failed' });
    expect(t.jobs()[0].response).toEqual({ outcome: 'reset_refused', errorCode: 'cannot_reset_bot', scope: 'all' });
    expect(t.ledger.resetBudgetUsed).toBe(0);
  });

  it('gives back the person\u2019s reservation when the circuit breaker holds their sign-out, so their next anomaly can act', async () => {
    const t = setup({ safety: { maxSessionResetsPerHour: 1, cooldownMinutes: 90 } });
    t.slack.users.set('U0BEN00002', { name: 'ben' });
    t.advance(57 * 60_000); // 1:40 before the UTC hour turns
    await respondToMessage(message(anomalyEntry({ id: 'ben-1', userId: 'U0BEN00002' })), t.deps); // spends the budget
    const held = await respondToMessage(message(anomalyEntry({ id: 'ana-1' })), t.deps);
    expect(held).toMatchObject({ decision: { reason: 'circuit_breaker' } });
    expect(t.ledger.resetSlots.has('U0ANA00001')).toBe(false);
    expect(t.ledger.resetBudgetUsed).toBe(1);

    // Five minutes later the clock hour has turned, but the window has not: still held.
    t.advance(5 * 60_000);
    await expect(respondToMessage(message(anomalyEntry({ id: 'ana-2' })), t.deps)).resolves.toMatchObject({ decision: { reason: 'circuit_breaker' } });

    // An hour after ben's reset its unit leaves the window; well within ana's cooldown, had her reservation been kept.
    t.advance(55 * 60_000);
    expect(t.ledger.resetBudgetUsed).toBe(0);
    const next = await respondToMessage(message(anomalyEntry({ id: 'ana-3' })), t.deps);
    expect(next).toMatchObject({ outcome: { kind: 'sessions_ended' }, decision: { reason: 'rule_end_sessions' } });
    expect(t.slack.resets).toEqual(['U0BEN00002', 'U0ANA00001']);
  });

  it.each(['cannot_reset_bot', 'user_not_found'])('records the Slack refusal %s as final, and gives back the reservation and the budget', async (code) => {
    const t = setup();
    t.slack.users.set('U0ODD00001', { name: 'odd' });
    t.slack.failures.resetSessions = [new SlackError(code, 'permanent', 'admin', 'admin.users.session.reset')];
    const outcome = await respondToMessage(message(anomalyEntry({ id: `e-${code}`, userId: 'U0ODD00001' })), t.deps);
    expect(outcome).toMatchObject({ kind: 'decided', outcome: { kind: 'reset_refused', code }, notification: 'action_failed' });
    expect(t.ledger.decisions.get(`e-${code}`)).toMatchObject({ status: 'done', outcome: `failed:${code}` });
    expect(t.jobs()[0]).toMatchObject({ type: 'action_failed', response: { outcome: 'reset_refused', errorCode: code } });
    expect(t.ledger.resetBudgetUsed).toBe(0);
    expect(t.ledger.resetSlots.has('U0ODD00001')).toBe(false);

    // Nothing holds the person back: their next anomaly (within the cooldown) tries again.
    t.advance(60_000);
    await respondToMessage(message(anomalyEntry({ id: `e-${code}-2`, userId: 'U0ODD00001' })), t.deps);
    expect(t.slack.resets).toEqual(['U0ODD00001']);
    expect(t.ledger.resetBudgetUsed).toBe(1);
  });

  it('an invocation that dies after the reset, before recording: after its lease another takes over, without a second reset or budget unit', async () => {
    const t = setup();
    const body = message(anomalyEntry({ id: 'e-crash' }));
    // The first invocation ends the sessions, then dies while recording (the write never returns; no cleanup runs).
    const complete = t.ledger.completeDecision.bind(t.ledger);
    t.ledger.completeDecision = jest.fn().mockReturnValueOnce(new Promise(() => undefined)).mockImplementation(complete);
    void respondToMessage(body, { ...t.deps, leaseMs: 120_000 });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.ledger.completeDecision).toHaveBeenCalledTimes(1);
    expect(t.slack.resets).toEqual(['U0ANA00001']);

    // Its lease still runs: a redelivery waits.
    t.advance(60_000);
    await expect(respondToMessage(body, t.deps)).rejects.toBeInstanceOf(LeaseHeldError);
    // The lease has run out: the next delivery takes the entry over and finishes it.
    t.advance(61_000);
    await expect(respondToMessage(body, t.deps)).resolves.toMatchObject({ kind: 'decided', outcome: { kind: 'sessions_ended' } });
    expect(t.slack.resets).toEqual(['U0ANA00001']);
    expect(t.ledger.resetBudgetUsed).toBe(1);
    expect(t.ledger.decisions.get('e-crash')).toMatchObject({ status: 'done', outcome: 'sessions_ended' });
    expect(t.jobs()).toHaveLength(1);
  });

  it('never signs out someone Slack\u2019s directory does not know, and says so', async () => {
    const t = setup();
    t.slack.missingUsers.add('U0GHOST001');
    const outcome = await respondToMessage(message(anomalyEntry({ id: 'e-ghost', userId: 'U0GHOST001' })), t.deps);
    expect(outcome).toMatchObject({ outcome: { kind: 'held' }, notification: 'anomaly_not_acted_on', decision: { reason: 'not_in_directory' } });
    expect(t.slack.resets).toEqual([]);
    expect(t.jobs()[0].response).toEqual({ outcome: 'held', holdReason: 'not_in_directory' });
  });

  it('expands a workspace group with its workspace and an org-wide group with the org id (Slack requires team_id with an org token)', async () => {
    const config = defaultConfig();
    config.events.tor.excludedGroups.push('T0FAKEWS01/S0WSGROUP1', 'S0ORGWIDE1');
    const t = setup(config);
    t.slack.groups.set('T0FAKEWS01/S0WSGROUP1', ['U0WSMEMB01']);
    t.slack.groups.set('S0ORGWIDE1', ['U0ORGMEM01']);
    await respondToMessage(message(anomalyEntry({ id: 'ws', userId: 'U0WSMEMB01' })), t.deps);
    await respondToMessage(message(anomalyEntry({ id: 'org', userId: 'U0ORGMEM01' })), t.deps);
    await respondToMessage(message(anomalyEntry({ id: 'none', userId: 'U0NOTMEM01' })), t.deps);
    expect(t.slack.groupCalls).toEqual(
      expect.arrayContaining([
        { id: 'S0WSGROUP1', teamId: 'T0FAKEWS01' },
        { id: 'S0ORGWIDE1', teamId: 'E0ORG00001' },
      ]),
    );
    expect(t.ledger.decisions.get('ws')).toMatchObject({ reason: 'excluded' });
    expect(t.ledger.decisions.get('org')).toMatchObject({ reason: 'excluded' });
    expect(t.slack.resets).toEqual(['U0NOTMEM01']);
  });

  it('never ends sessions without the person\'s reservation: a refused reservation the rule would allow is retried, not acted on', async () => {
    const t = setup();
    // The ledger refused (it saw a reset within the cooldown) but by the time it answered, the cooldown had passed.
    const resets: RespondDeps['resets'] = Object.assign(Object.create(t.ledger) as InMemoryLedger, {
      claimReset: async () => ({ claimed: false as const, lastResetAt: 0, checkedAt: 10 * 3600_000 }),
    });
    const deps = { ...t.deps, resets };
    await expect(respondToMessage(message(anomalyEntry({ id: 'e-clock' })), deps)).rejects.toBeInstanceOf(RetryLaterError);
    expect(t.slack.resets).toEqual([]);
    expect(t.ledger.decisions.has('e-clock')).toBe(false);
  });

  it('gives the message back after a Slack 429, with nothing recorded, so the retry acts', async () => {
    const t = setup();
    t.slack.failures.resetSessions = [new SlackError('ratelimited', 'rate_limited', 'admin', 'admin.users.session.reset', { retryAfterSeconds: 42 })];
    const body = message(anomalyEntry({ id: 'e-429' }));
    const error = await respondToMessage(body, t.deps).catch((e) => e);
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error.delaySeconds).toBe(42);
    expect(t.ledger.decisions.has('e-429')).toBe(false);
    expect(t.ledger.resetBudgetUsed).toBe(0);
    await respondToMessage(body, t.deps);
    expect(t.slack.resets).toEqual(['U0ANA00001']);
  });

  it('retries auth failures slowly (no storm) and transient failures as plain errors', async () => {
    const t = setup();
    t.slack.failures.resetSessions = [new SlackError('invalid_auth', 'auth', 'admin', 'admin.users.session.reset')];
    const auth = await respondToMessage(message(anomalyEntry({ id: 'a' })), t.deps).catch((e) => e);
    expect(auth).toBeInstanceOf(RetryLaterError);
    expect(auth.delaySeconds).toBeGreaterThanOrEqual(60);
    t.slack.failures.resetSessions = [new SlackError('http_503', 'transient', 'admin', 'admin.users.session.reset')];
    const transient = await respondToMessage(message(anomalyEntry({ id: 'b' })), t.deps).catch((e) => e);
    expect(transient).toBeInstanceOf(SlackError);
    expect(t.ledger.decisions.size).toBe(0);
  });

  it('fails safe on an invalid configuration: nothing claimed, nothing reset', async () => {
    const t = setup();
    t.setConfig(new ConfigError(['event#tor.action: Invalid option']));
    await expect(respondToMessage(message(anomalyEntry({ id: 'e' })), t.deps)).rejects.toBeInstanceOf(ConfigError);
    expect(t.slack.resets).toEqual([]);
    expect(t.ledger.decisions.size).toBe(0);
  });

  it('fails safe when an excluded group cannot be expanded', async () => {
    const t = setup({ exclusions: { excludedGroups: ['S0GONE0001'] } });
    await expect(respondToMessage(message(anomalyEntry({ id: 'e' })), t.deps)).rejects.toThrow(/S0GONE0001 cannot be expanded/);
    expect(t.slack.resets).toEqual([]);
  });

  it('fails safe, naming the group, when an excluded group lists no members (it would exclude nobody), and asks again next time', async () => {
    const t = setup({ events: { tor: { action: 'end_sessions', excludedGroups: ['S0EMPTY001'] } } });
    t.slack.groups.set('S0EMPTY001', []);
    const error = await respondToMessage(message(anomalyEntry({ id: 'e' })), t.deps).catch((e) => e);
    // Retried at the config-invalid pace; the handler counts ConfigInvalid and logs the issue.
    expect(error).toBeInstanceOf(RetryLaterError);
    expect(error.cause).toBeInstanceOf(ConfigError);
    expect(error.cause.issues).toEqual(['excludedGroups: user group S0EMPTY001 cannot be expanded (Slack listed no members)']);
    expect(t.slack.resets).toEqual([]);
    expect(t.ledger.decisions.size).toBe(0);
    t.slack.groups.set('S0EMPTY001', ['U0OTHER001']);
    await expect(respondToMessage(message(anomalyEntry({ id: 'e' })), t.deps)).resolves.toMatchObject({ kind: 'decided' });
    expect(t.slack.calls.usergroupMembers).toBe(2);
  });

  it.each([
    ['not JSON', '{oops'],
    ['no entry', JSON.stringify({ polledAt: 1 })],
    ['entry without user id', message({ ...anomalyEntry({ id: 'bad-1' }), entity: { type: 'user', user: { name: 'x' } } })],
    ['wrong types', message({ ...anomalyEntry({ id: 'bad-2' }), date_create: 'yesterday' })],
  ])('records a malformed message (%s) as rejected without failing', async (_name, body) => {
    const t = setup();
    const outcome = await respondToMessage(body, t.deps);
    expect(outcome.kind).toBe('rejected');
    const [record] = [...t.ledger.decisions.values()];
    expect(record).toMatchObject({ decision: 'rejected', outcome: 'rejected', detail: expect.any(String) });
    expect(t.slack.resets).toEqual([]);
  });

  it('records an entry whose id is over the ledger key limit as rejected, keyed by a bounded hash', async () => {
    const t = setup();
    const body = message(anomalyEntry({ id: 'x'.repeat(3000) }));
    const outcome = await respondToMessage(body, t.deps);
    expect(outcome).toMatchObject({ kind: 'rejected', entryId: expect.stringMatching(/^sha256-[0-9a-f]{64}$/) });
    const [[key, record]] = [...t.ledger.decisions.entries()];
    expect(key.length).toBeLessThanOrEqual(200);
    expect(record).toMatchObject({ decision: 'rejected', detail: expect.stringContaining('id: must be at most 200 characters') });
    expect(t.slack.resets).toEqual([]);
  });

  it('caches directory lookups (the org\u2019s member list, group members) for their TTL, then refreshes: no users.info per member', async () => {
    const t = setup({ exclusions: { excludedGroups: ['S0SEC00001'] } });
    t.slack.groups.set('S0SEC00001', ['U0SOMEONE1']);
    await respondToMessage(message(anomalyEntry({ id: 'c1', userId: 'U0AAA00001' })), t.deps);
    await respondToMessage(message(anomalyEntry({ id: 'c2', userId: 'U0BBB00002', reasons: ['unexpected_scraping'] })), t.deps);
    expect(t.slack.calls.usergroupMembers).toBe(1);
    expect(t.slack.calls.listMembers).toBe(1);
    expect(t.slack.calls.getUser).toBeUndefined();
    t.advance(61_000);
    await respondToMessage(message(anomalyEntry({ id: 'c3', userId: 'U0CCC00003' })), t.deps);
    expect(t.slack.calls.usergroupMembers).toBe(2);
    expect(t.slack.calls.listMembers).toBe(2);
    expect(t.slack.resets).toEqual(['U0AAA00001', 'U0BBB00002', 'U0CCC00003']);
  });

  it('looks people up one by one when the org\u2019s member list cannot be read within Slack\u2019s budget (a big org), and tries the list again after the cache period', async () => {
    const t = setup();
    // Page after page until the method's budget ran out: no slot soon enough.
    t.slack.failures.listMembers = [new SlackError('paced', 'rate_limited', 'admin', 'admin.users.list', { retryAfterSeconds: 50 })];
    await expect(respondToMessage(message(anomalyEntry({ id: 'big-1', userId: 'U0AAA00001' })), t.deps)).resolves.toMatchObject({ outcome: { kind: 'sessions_ended' } });
    await expect(respondToMessage(message(anomalyEntry({ id: 'big-2', userId: 'U0BBB00002' })), t.deps)).resolves.toMatchObject({ outcome: { kind: 'sessions_ended' } });
    expect(t.slack.calls.listMembers).toBe(1); // not paged again from the start for every entry
    expect(t.slack.calls.getUser).toBe(2);
    t.advance(61_000);
    await respondToMessage(message(anomalyEntry({ id: 'big-3', userId: 'U0CCC00003' })), t.deps);
    expect(t.slack.calls.listMembers).toBe(2);
    expect(t.slack.calls.getUser).toBe(2);
    expect(t.slack.resets).toEqual(['U0AAA00001', 'U0BBB00002', 'U0CCC00003']);
  });

  it('fails the entry (retried) when the member list fails for another reason than Slack\u2019s budget', async () => {
    const t = setup();
    t.slack.failures.listMembers = [new SlackError('http_503', 'transient', 'admin', 'admin.users.list')];
    await expect(respondToMessage(message(anomalyEntry({ id: 'down-1', userId: 'U0AAA00001' })), t.deps)).rejects.toMatchObject({ code: 'http_503' });
    expect(t.slack.calls.getUser).toBeUndefined();
    expect(t.slack.resets).toEqual([]);
  });

  it('looks up only someone the member list does not hold (users.info), and still tells a Slack Connect person apart', async () => {
    const t = setup();
    t.slack.member('U0EXT00001', { enterpriseId: 'E0OTHER001', teamId: 'T0OTHER001' });
    const outcome = await respondToMessage(message(anomalyEntry({ id: 'ext', userId: 'U0EXT00001' })), t.deps);
    expect(t.slack.calls.getUser).toBe(1);
    expect(outcome).toMatchObject({ kind: 'decided', decision: { action: 'notify_only', reason: 'external_user' } });
    expect(t.slack.resets).toEqual([]);
  });

  it('signs a whole batch out with one resetBulk per scope, keeping claims, cooldown and breaker per person', async () => {
    const t = setup({ safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 3 } });
    const bodies = [
      message(anomalyEntry({ id: 'b1', userId: 'U0AAA00001' })),
      message(anomalyEntry({ id: 'b2', userId: 'U0BBB00002' })),
      // The same person twice in one batch: one sign-out, the other held by loop protection.
      message(anomalyEntry({ id: 'b3', userId: 'U0AAA00001', reasons: ['unexpected_scraping'] })),
      message(anomalyEntry({ id: 'b4', userId: 'U0CCC00003' })),
      // Over the breaker's three an hour.
      message(anomalyEntry({ id: 'b5', userId: 'U0ANA00001' })),
    ];
    const results = await respondToBatch(bodies, t.deps);
    expect(t.slack.bulkCalls).toEqual([{ userIds: ['U0AAA00001', 'U0BBB00002', 'U0CCC00003'], scope: { kind: 'all' } }]);
    expect(t.slack.calls.resetSessions).toBeUndefined();
    const outcomes = results.map((r) => (r.ok && r.outcome.kind === 'decided' ? `${outcomeLabel(r.outcome.outcome)} ${r.outcome.decision.reason}` : r));
    expect(outcomes).toEqual([
      'sessions_ended rule_end_sessions',
      'sessions_ended rule_end_sessions',
      'notified cooldown',
      'sessions_ended rule_end_sessions',
      'notified circuit_breaker',
    ]);
    expect(t.ledger.resetBudgetUsed).toBe(3);
    for (const id of ['b1', 'b2', 'b4']) expect(t.ledger.decisions.get(id)).toMatchObject({ status: 'done', outcome: 'sessions_ended', notificationQueued: true });
    expect(t.ledger.resetSlots.get('U0AAA00001')).toMatchObject({ entryId: 'b1', done: true });
  });

  it('asks the hourly budget once per round for everyone it reserved, and after a failed bulk sign-out gives their units back in one write', async () => {
    const t = setup({ safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 3 } });
    const take = jest.spyOn(t.ledger, 'takeResetBudget');
    const refund = jest.spyOn(t.ledger, 'refundResetBudget');
    t.slack.failures.resetSessionsBulk = [new SlackError('service_unavailable', 'transient', 'admin', 'admin.users.session.resetBulk')];
    const people = ['U0AAA00001', 'U0BBB00002', 'U0CCC00003', 'U0ANA00001'];
    const results = await respondToBatch(people.map((userId, i) => message(anomalyEntry({ id: `f${i}`, userId }))), t.deps);
    expect(take.mock.calls).toEqual([[3, people.map((userId, i) => ({ userId, entryId: `f${i}` }))]]);
    // Three got a unit and were in the failed bulk call; the fourth was held by the breaker.
    expect(t.slack.bulkCalls.map((c) => c.userIds)).toEqual([people.slice(0, 3)]);
    expect(refund.mock.calls).toEqual([[3]]);
    expect(t.ledger.resetBudgetUsed).toBe(0);
    expect(results.map((r) => (r.ok ? r.outcome.kind === 'decided' && r.outcome.decision.reason : 'retry'))).toEqual(['retry', 'retry', 'retry', 'circuit_breaker']);
    // Nobody is left holding a reservation: their retries (and other anomalies) may act.
    for (const userId of people) expect(t.ledger.resetSlots.has(userId)).toBe(false);
  });

  it('retries, holding nothing, everyone whose budget could not be asked (the ledger failed)', async () => {
    const t = setup();
    jest.spyOn(t.ledger, 'takeResetBudget').mockRejectedValueOnce(new Error('DynamoDB unavailable'));
    const results = await respondToBatch([message(anomalyEntry({ id: 'g1', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'g2', userId: 'U0BBB00002' }))], t.deps);
    expect(results.map((r) => !r.ok && (r.error as Error).message)).toEqual(['DynamoDB unavailable', 'DynamoDB unavailable']);
    expect(t.slack.bulkCalls).toEqual([]);
    expect(t.ledger.resetSlots.size).toBe(0);
    expect(t.ledger.decisions.size).toBe(0);
    expect(t.ledger.resetBudgetUsed).toBe(0);
  });

  it('falls back to one reset per person when Slack answers failed_for_some_users, recording who could not be signed out; a bot is never put in a bulk call', async () => {
    const t = setup();
    t.slack.member('U0BOT00001', { isBot: true });
    t.slack.failures.resetSessionsBulk = [new SlackError('failed_for_some_users', 'transient', 'admin', 'admin.users.session.resetBulk')];
    const results = await respondToBatch(
      [message(anomalyEntry({ id: 'p1', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'p2', userId: 'U0BOT00001' })), message(anomalyEntry({ id: 'p3', userId: 'U0BBB00002' }))],
      t.deps,
    );
    // The bot alone (Slack would refuse it and fail the whole bulk call); the others in bulk, then one by one.
    expect(t.slack.bulkCalls.map((c) => c.userIds)).toEqual([['U0AAA00001', 'U0BBB00002']]);
    expect(t.slack.calls.resetSessions).toBe(3);
    expect(results.map((r) => r.ok && r.outcome.kind === 'decided' && outcomeLabel(r.outcome.outcome))).toEqual(['sessions_ended', 'failed:cannot_reset_bot', 'sessions_ended']);
    expect(t.slack.resets).toEqual(['U0AAA00001', 'U0BBB00002']);
    expect(t.ledger.resetBudgetUsed).toBe(2);
    expect(t.ledger.resetSlots.has('U0BOT00001')).toBe(false);
    expect(t.jobs().map((j) => j.type).sort()).toEqual(['action_failed', 'sessions_ended', 'sessions_ended']);
  });

  describe('near the invocation’s deadline', () => {
    it('starts no round without time for it: nothing claimed, nobody signed out, every message sent again for the next invocation', async () => {
      const t = setup();
      const deps = { ...t.deps, timeLeftMs: () => 14_999 };
      const results = await respondToBatch([message(anomalyEntry({ id: 'late-1', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'late-2', userId: 'U0BBB00002' }))], deps);
      for (const result of results) {
        expect(result.ok).toBe(false);
        const error = !result.ok && result.error;
        expect(error).toBeInstanceOf(RetryLaterError);
        // Sent again as a new message: waiting for time is not a failed attempt.
        expect(error).toMatchObject({ waitingForBudget: true });
      }
      expect(t.ledger.decisions.size).toBe(0);
      expect(t.ledger.resetSlots.size).toBe(0);
      expect(t.slack.calls.resetSessions ?? 0).toBe(0);
      expect(t.slack.bulkCalls).toEqual([]);
      // The next invocation, with time, acts on both.
      const next = await respondToBatch([message(anomalyEntry({ id: 'late-1', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'late-2', userId: 'U0BBB00002' }))], { ...t.deps, timeLeftMs: () => 45_000 });
      expect(next.map((r) => r.ok && r.outcome.kind === 'decided' && outcomeLabel(r.outcome.outcome))).toEqual(['sessions_ended', 'sessions_ended']);
    });

    it('finishes the round it started and defers the next one when the time runs out between them', async () => {
      const t = setup();
      const left = [45_000, 5_000];
      const deps = { ...t.deps, timeLeftMs: () => left.shift() ?? 5_000 };
      // Two entries about one person: two rounds (the second learns how the first one's sign-out went).
      const results = await respondToBatch([message(anomalyEntry({ id: 'r-1' })), message(anomalyEntry({ id: 'r-2', reasons: ['unexpected_scraping'] }))], deps);
      expect(results[0]).toMatchObject({ ok: true, outcome: { kind: 'decided', outcome: { kind: 'sessions_ended' } } });
      expect(results[1]).toMatchObject({ ok: false, error: { name: 'RetryLaterError', waitingForBudget: true } });
      expect(t.slack.resets).toEqual(['U0ANA00001']);
      expect([...t.ledger.decisions.keys()]).toEqual(['r-1']);
    });

    it('within a round, starts no entry once the time is short: those started are signed out together, the rest deferred unclaimed', async () => {
      const t = setup();
      const left = [45_000, 45_000, 14_999];
      const deps = { ...t.deps, timeLeftMs: () => left.shift() ?? 14_999 };
      const people = ['U0AAA00001', 'U0BBB00002', 'U0CCC00003'];
      const results = await respondToBatch(people.map((userId, i) => message(anomalyEntry({ id: `w${i}`, userId }))), deps);
      expect(results.map((r) => (r.ok ? r.outcome.kind : (r.error as Error).name))).toEqual(['decided', 'decided', 'RetryLaterError']);
      expect(t.slack.bulkCalls.map((c) => c.userIds)).toEqual([people.slice(0, 2)]);
      expect(t.ledger.decisions.has('w2')).toBe(false);
      expect(t.ledger.resetSlots.has('U0CCC00003')).toBe(false);
    });

    it('gives back the reservation and budget of someone whose sign-out the Slack client did not start for want of time', async () => {
      const t = setup();
      t.slack.failures.resetSessions = [noTimeLeft('admin.users.session.reset')];
      const result = await respondToBatch([message(anomalyEntry({ id: 'no-time' }))], t.deps);
      expect(result[0]).toMatchObject({ ok: false, error: { name: 'RetryLaterError', waitingForBudget: true } });
      expect(t.ledger.resetSlots.has('U0ANA00001')).toBe(false);
      expect(t.ledger.resetBudgetUsed).toBe(0);
      expect(t.ledger.decisions.has('no-time')).toBe(false);
    });
  });

  it('ends the sessions once when two anomalies about one person are handled at the same moment (loop protection is atomic)', async () => {
    const t = setup();
    const outcomes = await Promise.all([
      respondToMessage(message(anomalyEntry({ id: 'same-1' })), t.deps),
      respondToMessage(message(anomalyEntry({ id: 'same-2', reasons: ['unexpected_scraping'] })), t.deps),
    ]);
    expect(t.slack.resets).toEqual(['U0ANA00001']);
    expect(outcomes.map((o) => (o.kind === 'decided' ? `${o.outcome.kind}:${o.decision.reason}` : o.kind)).sort()).toEqual([
      'held:cooldown',
      'sessions_ended:rule_end_sessions',
    ]);
    expect(t.ledger.resetBudgetUsed).toBe(1);
  });

  it('does not reset again when a retry follows a reset that went through, and frees the person after a reset that failed', async () => {
    const t = setup();
    const complete = t.ledger.completeDecision.bind(t.ledger);
    t.ledger.completeDecision = jest.fn().mockRejectedValueOnce(new Error('DynamoDB unavailable')).mockImplementation(complete);
    const body = message(anomalyEntry({ id: 'crash-after-reset' }));
    await expect(respondToMessage(body, t.deps)).rejects.toThrow(/unavailable/);
    expect(t.slack.resets).toEqual(['U0ANA00001']);
    await expect(respondToMessage(body, t.deps)).resolves.toMatchObject({ outcome: { kind: 'sessions_ended' } });
    expect(t.slack.resets).toEqual(['U0ANA00001']);
    expect(t.ledger.resetBudgetUsed).toBe(1);

    // A transient failure of the reset itself holds nobody back: another entry about the person may act.
    t.slack.failures.resetSessions = [new SlackError('http_503', 'transient', 'admin', 'admin.users.session.reset')];
    t.slack.users.set('U0BEN00002', { name: 'ben' });
    await expect(respondToMessage(message(anomalyEntry({ id: 'ben-1', userId: 'U0BEN00002' })), t.deps)).rejects.toThrow();
    await expect(respondToMessage(message(anomalyEntry({ id: 'ben-2', userId: 'U0BEN00002' })), t.deps)).resolves.toMatchObject({ outcome: { kind: 'sessions_ended' } });
    expect(t.slack.resets).toEqual(['U0ANA00001', 'U0BEN00002']);
  });
});

describe('RespondDirectory.groupMembers', () => {
  it(`expands many excluded groups at most ${GROUP_EXPANSION_CONCURRENCY} at a time, and still returns every group`, async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const slack = {
      usergroupMembers: async ({ id }: { id: string }) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        // Yield a few turns so every call that could start concurrently has started.
        for (let i = 0; i < 5; i++) await Promise.resolve();
        inFlight--;
        return [`U${id.slice(1)}`];
      },
      getUser: async () => undefined,
      listMembers: async () => [],
      orgIdentity: async () => ({ enterpriseId: 'E0ORG00001', teamIds: new Set(['E0ORG00001']) }),
    };
    const keys = Array.from({ length: 2000 }, (_, i) => `S0G${String(i).padStart(6, '0')}`);
    const members = await new RespondDirectory(slack, 60_000).groupMembers(keys);
    expect(members.size).toBe(2000);
    expect(members.get('S0G001999')).toEqual(new Set(['U0G001999']));
    expect(mostInFlight).toBe(GROUP_EXPANSION_CONCURRENCY);
  });
});
