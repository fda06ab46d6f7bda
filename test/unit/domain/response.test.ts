import { decide, type Decision, type PersonFacts } from '../../../functions/domain/decision/decide';
import { mustAct, outcomeLabel, outcomeOf, reportResponse, type Outcome } from '../../../functions/domain/decision/response';
import { describeResponse } from '../../../functions/notify/explain';
import { appEntry, configWith, MEMBER, ORG, userEntry } from './helpers';

/** What each outcome means for the response log and the people told (the README's decision table, last column), and the words they read. */
describe('reportResponse: the notification and the words for each outcome', () => {
  const config = configWith({ tor: { action: 'end_sessions' }, excessive_downloads: { action: 'notify_only' } });
  const decided = (reasons: string[], person: PersonFacts = MEMBER): Decision => decide({ entry: userEntry(reasons), config, groupMembers: new Map(), person, org: ORG });
  const held = (reason: 'cooldown' | 'circuit_breaker'): Decision => ({
    action: 'notify_only',
    reason,
    events: ['tor'],
    otherReasons: [],
    heldEvents: ['tor'],
    exclusions: [],
  });

  it.each<[string, Decision, Outcome, string, string | undefined, RegExp | undefined]>([
    ['sessions ended', decided(['tor']), { kind: 'sessions_ended' }, 'sessions_ended', 'sessions_ended', undefined],
    ['Slack refused (a bot)', decided(['tor']), { kind: 'reset_refused', code: 'cannot_reset_bot' }, 'failed:cannot_reset_bot', 'action_failed', /bot/],
    ['rule is notify only', decided(['excessive_downloads']), { kind: 'held' }, 'notified', 'anomaly_not_acted_on', /Excessive downloads.*notify only/],
    ['primary owner', decided(['tor'], { ...MEMBER, isPrimaryOwner: true }), { kind: 'protected' }, 'protected', 'anomaly_not_acted_on', /primary owner/],
    ['not in the directory', decided(['tor'], { found: false }), { kind: 'held' }, 'notified', 'anomaly_not_acted_on', /directory does not know/],
    ['Slack Connect', decided(['tor'], { ...MEMBER, isStranger: true }), { kind: 'held' }, 'notified', 'anomaly_not_acted_on', /another organisation/],
    ['loop protection', held('cooldown'), { kind: 'held' }, 'notified', 'anomaly_not_acted_on', /within the last 30 minutes/],
    ['circuit breaker: a failure to act', held('circuit_breaker'), { kind: 'held' }, 'notified', 'action_failed', /automatic resets are paused/],
    ['ignored', decided(['asn']), { kind: 'ignored' }, 'ignored', undefined, undefined],
  ])('%s', (_name, decision, outcome, label, notification, explanation) => {
    const report = reportResponse(decision, outcome, config);
    expect(outcomeLabel(outcome)).toBe(label);
    expect(report.notification).toBe(notification);
    // The facts carry no English; the notifier's explain.ts puts them into the words people read.
    const words = report.facts ? describeResponse(report.facts).explanation : undefined;
    if (explanation) expect(words).toMatch(explanation);
    else expect(words).toBeUndefined();
  });

  it('carries out only a decision to end sessions', () => {
    expect(mustAct(decided(['tor']), config)).toBe(true);
    for (const decision of [decided(['excessive_downloads']), decided(['tor'], { ...MEMBER, isPrimaryOwner: true }), decided(['asn'])]) {
      expect(decision.action).not.toBe('end_sessions');
      expect(mustAct(decision, config)).toBe(false);
    }
  });

  it('reports the scope used, and the fallback when the entry named no session', () => {
    const scoped = configWith({ tor: { action: 'end_sessions', scope: 'session' } });
    const withSession = decide({ entry: { ...userEntry(['tor']), context: { sessionId: '42' } }, config: scoped, groupMembers: new Map(), person: MEMBER, org: ORG });
    const without = decide({ entry: userEntry(['tor']), config: scoped, groupMembers: new Map(), person: MEMBER, org: ORG });
    expect(reportResponse(withSession, { kind: 'sessions_ended' }, scoped).facts).toEqual({ outcome: 'sessions_ended', scope: 'session' });
    expect(reportResponse(without, { kind: 'sessions_ended' }, scoped).facts).toEqual({ outcome: 'sessions_ended', scope: 'all', scopeFallback: 'no_session_id' });
    expect(describeResponse({ outcome: 'sessions_ended', scope: 'session' }).actionTaken).toBe('Ended the one Slack session the anomaly was seen in');
    expect(describeResponse({ outcome: 'sessions_ended', scope: 'all', scopeFallback: 'no_session_id' }).explanation).toMatch(/names no session: all sessions were ended instead/);
    expect(describeResponse({ outcome: 'reset_refused', errorCode: 'session_not_found', scope: 'session' }).actionTaken).toMatch(/Tried to end the one Slack session/);
  });

  it('a trusted network is held and named; an app is told as app_anomaly', () => {
    const trusting = configWith({ tor: { action: 'end_sessions' } });
    trusting.trustedNetworks = { cidrs: ['1.23.45.0/24'], asns: [], syncToSlack: false };
    const trusted = decide({ entry: userEntry(['tor']), config: trusting, groupMembers: new Map() });
    const report = reportResponse(trusted, outcomeOf(trusted, trusting), trusting);
    expect(report).toEqual({ outcome: { kind: 'held' }, notification: 'anomaly_not_acted_on', facts: { outcome: 'held', holdReason: 'trusted_network', trustedNetwork: '1.23.45.0/24' } });
    expect(describeResponse(report.facts!).explanation).toMatch(/trusted network \(1\.23\.45\.0\/24\)/);
    const app = decide({ entry: appEntry(['tor']), config: trusting, groupMembers: new Map() });
    expect(reportResponse(app, outcomeOf(app, trusting), trusting)).toEqual({ outcome: { kind: 'held' }, notification: 'app_anomaly', facts: { outcome: 'held', holdReason: 'app_anomaly' } });
  });

  describe('dry run (safety.dryRun)', () => {
    const dry = configWith({ tor: { action: 'end_sessions', scope: 'web' }, excessive_downloads: { action: 'notify_only' } });
    dry.safety.dryRun = true;
    const decidedDry = (reasons: string[]) => decide({ entry: userEntry(reasons), config: dry, groupMembers: new Map(), person: MEMBER, org: ORG });

    it('the decision is the same; it is not carried out, and its outcome is dry_run', () => {
      const decision = decidedDry(['tor']);
      const wet = { ...dry, safety: { ...dry.safety, dryRun: false } };
      expect(decision).toEqual(decide({ entry: userEntry(['tor']), config: wet, groupMembers: new Map(), person: MEMBER, org: ORG }));
      expect(decision).toMatchObject({ action: 'end_sessions', scope: { kind: 'web' } });
      expect(mustAct(decision, dry)).toBe(false);
      expect(mustAct(decision, wet)).toBe(true);
      expect(outcomeOf(decision, dry)).toEqual({ kind: 'dry_run' });
      expect(outcomeLabel({ kind: 'dry_run' })).toBe('dry_run');
    });

    it('is told to whoever sessions_ended goes to, marked dry run, with the scope it would have used', () => {
      const decision = decidedDry(['tor']);
      const report = reportResponse(decision, outcomeOf(decision, dry), dry);
      expect(report).toEqual({ outcome: { kind: 'dry_run' }, notification: 'sessions_ended', facts: { outcome: 'dry_run', scope: 'web', dryRun: true } });
      expect(describeResponse(report.facts!).actionTaken).toBe('Dry run: nothing was done. Would have ended the user\u2019s Slack web (browser) sessions');
    });

    it('marks every other report too; an ignored entry still tells nobody', () => {
      const held = decidedDry(['excessive_downloads']);
      expect(reportResponse(held, outcomeOf(held, dry), dry).facts).toMatchObject({ outcome: 'held', holdReason: 'rule_notify_only', dryRun: true });
      expect(reportResponse(decidedDry(['asn']), { kind: 'ignored' }, dry)).toEqual({ outcome: { kind: 'ignored' } });
    });
  });

  it('the outcome of a decision that ends no sessions follows from the decision alone', () => {
    expect(outcomeOf(decided(['asn']), config)).toEqual({ kind: 'ignored' });
    expect(outcomeOf(decided(['tor'], { ...MEMBER, isPrimaryOwner: true }), config)).toEqual({ kind: 'protected' });
    expect(() => outcomeOf(decided(['tor']), config)).toThrow(/once Slack has answered/);
  });
});

describe('reportResponse: each fact only for its own reason', () => {
  const config = configWith({ tor: { action: 'end_sessions' }, excessive_downloads: { action: 'notify_only' }, unexpected_scraping: { action: 'notify_only' } });
  const hold = (reason: Extract<Decision, { action: 'notify_only' }>['reason'], more: Partial<Extract<Decision, { action: 'notify_only' }>> = {}): Decision => ({
    action: 'notify_only',
    reason,
    events: ['tor', 'unexpected_scraping', 'excessive_downloads'],
    otherReasons: [],
    heldEvents: ['tor'],
    exclusions: [],
    ...more,
  });

  it('names the notify-only events (only those whose rule is notify only) for rule_notify_only, and nothing else', () => {
    expect(reportResponse(hold('rule_notify_only'), { kind: 'held' }, config)).toEqual({
      outcome: { kind: 'held' },
      notification: 'anomaly_not_acted_on',
      facts: { outcome: 'held', holdReason: 'rule_notify_only', notifyOnlyEvents: ['unexpected_scraping', 'excessive_downloads'] },
    });
  });

  it('gives the cooldown for loop protection and the hourly limit for the circuit breaker, each only there', () => {
    expect(reportResponse(hold('cooldown'), { kind: 'held' }, config).facts).toEqual({ outcome: 'held', holdReason: 'cooldown', cooldownMinutes: config.safety.cooldownMinutes });
    expect(reportResponse(hold('circuit_breaker'), { kind: 'held' }, config).facts).toEqual({
      outcome: 'held',
      holdReason: 'circuit_breaker',
      maxSessionResetsPerHour: config.safety.maxSessionResetsPerHour,
    });
  });

  it('lists the matching exclusions and the external evidence only when there are some', () => {
    expect(reportResponse(hold('excluded', { exclusions: ['user U0TARGET01 (tor)'] }), { kind: 'held' }, config).facts).toEqual({
      outcome: 'held',
      holdReason: 'excluded',
      exclusions: ['user U0TARGET01 (tor)'],
    });
    expect(reportResponse(hold('external_user', { externalBecause: { fact: 'stranger' } }), { kind: 'held' }, config).facts).toEqual({
      outcome: 'held',
      holdReason: 'external_user',
      external: { fact: 'stranger' },
    });
    expect(reportResponse(hold('not_in_directory'), { kind: 'held' }, config).facts).toEqual({ outcome: 'held', holdReason: 'not_in_directory' });
  });

  it('reports a protected person as protected (a deliberate hold, not a failure), and a hold as held', () => {
    expect(reportResponse(hold('protected'), { kind: 'protected' }, config)).toEqual({
      outcome: { kind: 'protected' },
      notification: 'anomaly_not_acted_on',
      facts: { outcome: 'protected', holdReason: 'protected' },
    });
    expect(outcomeOf(hold('excluded'), config)).toEqual({ kind: 'held' });
    expect(outcomeOf(hold('protected'), config)).toEqual({ kind: 'protected' });
  });

  it('refuses a held or protected outcome for a decision that was not to hold', () => {
    const ended: Decision = { action: 'end_sessions', reason: 'rule_end_sessions', events: ['tor'], otherReasons: [], triggeringEvents: ['tor'], scope: { kind: 'all' } };
    expect(() => reportResponse(ended, { kind: 'held' }, config)).toThrow(/a held outcome needs a notify_only decision/);
    expect(() => reportResponse(ended, { kind: 'protected' }, config)).toThrow(/a protected outcome needs a notify_only decision/);
  });

  it('tells about a refused reset with Slack\u2019s error, and about ended sessions, with the sessions\u2019 scope and nothing more', () => {
    const ended: Decision = { action: 'end_sessions', reason: 'rule_end_sessions', events: ['tor'], otherReasons: [], triggeringEvents: ['tor'], scope: { kind: 'all' } };
    expect(reportResponse(ended, { kind: 'reset_refused', code: 'user_not_found' }, config)).toEqual({
      outcome: { kind: 'reset_refused', code: 'user_not_found' },
      notification: 'action_failed',
      facts: { outcome: 'reset_refused', errorCode: 'user_not_found', scope: 'all' },
    });
    expect(reportResponse(ended, { kind: 'sessions_ended' }, config)).toEqual({ outcome: { kind: 'sessions_ended' }, notification: 'sessions_ended', facts: { outcome: 'sessions_ended', scope: 'all' } });
    expect(reportResponse({ action: 'ignore', reason: 'rules_off', events: [], otherReasons: [] }, { kind: 'ignored' }, config)).toEqual({ outcome: { kind: 'ignored' } });
  });
});
