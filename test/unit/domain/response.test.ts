import { decide, type Decision, type PersonFacts } from '../../../functions/domain/decision/decide';
import { outcomeLabel, outcomeOf, reportResponse, type Outcome } from '../../../functions/domain/decision/response';
import { describeResponse } from '../../../functions/notify/explain';
import { configWith, MEMBER, ORG, userEntry } from './helpers';

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

  it('the outcome of a decision that ends no sessions follows from the decision alone', () => {
    expect(outcomeOf(decided(['asn']), config)).toEqual({ kind: 'ignored' });
    expect(outcomeOf(decided(['tor'], { ...MEMBER, isPrimaryOwner: true }), config)).toEqual({ kind: 'protected' });
    expect(() => outcomeOf(decided(['tor']), config)).toThrow(/once Slack has answered/);
  });
});
