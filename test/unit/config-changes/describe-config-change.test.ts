import { CONFIG_CHANGE_LIMITS, describeConfigChange, summariseConfigChange } from '../../../functions/domain/config-change';

/**
 * describeConfigChange field by field: what each change of a config item is recorded as (toStrictEqual,
 * so a field that did not exist has no `before`/`after` at all), and which changes are warnings.
 */
const warningsOf = (before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) => describeConfigChange(before, after).warnings;

describe('describeConfigChange: the changes', () => {
  it('lists the changed attributes in name order, never the id, with no before for a new one and no after for a removed one', () => {
    const change = describeConfigChange(
      { id: 'safety', dryRun: false, cooldownMinutes: 5, maxSessionResetsPerHour: 25 },
      { maxSessionResetsPerHour: 25, id: 'safety', description: 'paused', cooldownMinutes: 10 },
    );
    expect(change).toStrictEqual({
      itemId: 'safety',
      kind: 'changed',
      changes: [
        { field: 'cooldownMinutes', before: '5', after: '10' },
        { field: 'description', after: '"paused"' },
        { field: 'dryRun', before: 'false' },
      ],
      warnings: [],
    });
  });

  it('a new item lists its attributes (not its id); an item without an id is named "(no id)"', () => {
    expect(describeConfigChange(undefined, { id: 'trustedNetworks', cidrs: [] }).changes).toStrictEqual([{ field: 'cidrs', after: '[]' }]);
    expect(describeConfigChange(undefined, { cooldownMinutes: 5 }).itemId).toBe('(no id)');
  });

  it('writes a string set as a sorted list', () => {
    expect(describeConfigChange({ id: 'exclusions', excludedUsers: new Set(['W2', 'U1']) }, { id: 'exclusions', excludedUsers: new Set(['W2']) }).changes).toStrictEqual([
      { field: 'excludedUsers', before: '["U1","W2"]', after: '["W2"]' },
    ]);
  });

  it(`keeps a value of up to ${CONFIG_CHANGE_LIMITS.value} characters whole, and cuts a longer one to that length, marked`, () => {
    const exactly = 'x'.repeat(CONFIG_CHANGE_LIMITS.value - 2); // its JSON has the two quotes
    expect(describeConfigChange(undefined, { id: 'alerts', orgName: exactly }).changes[0].after).toBe(`"${exactly}"`);
    const longer = describeConfigChange(undefined, { id: 'alerts', orgName: `${exactly}y` }).changes[0].after!;
    expect(longer).toBe(`"${exactly}\u2026`);
    expect(longer).toHaveLength(CONFIG_CHANGE_LIMITS.value);
  });

  it(`keeps at most ${CONFIG_CHANGE_LIMITS.fields} changed attributes`, () => {
    const after = Object.fromEntries([['id', 'alerts'], ...Array.from({ length: CONFIG_CHANGE_LIMITS.fields + 5 }, (_, i) => [`f${String(i).padStart(2, '0')}`, i])]);
    const change = describeConfigChange(undefined, after);
    expect(change.changes).toHaveLength(CONFIG_CHANGE_LIMITS.fields);
    expect(change.changes[0]).toStrictEqual({ field: 'f00', after: '0' });
  });
});

describe('describeConfigChange: the warnings (what weakens the response)', () => {
  it('a rule\u2019s action removed is a rule that no longer ends sessions', () => {
    expect(warningsOf({ id: 'event#tor', action: 'end_sessions' }, { id: 'event#tor' })).toEqual(['event#tor.action: "end_sessions" \u2192 (none) (a rule no longer ends sessions)']);
  });

  it('only a rule\u2019s action: the same words in another attribute, or in an item that is not a rule, are no warning', () => {
    expect(warningsOf({ id: 'event#tor', description: 'end_sessions' }, { id: 'event#tor', description: 'off' })).toEqual([]);
    expect(warningsOf({ id: 'exclusions', action: 'end_sessions' }, { id: 'exclusions', action: 'off' })).toEqual([]);
  });

  it('only safety.dryRun switched on: dry run added as off, another item\u2019s dryRun, or another switch turned on are no warning', () => {
    expect(warningsOf({ id: 'safety' }, { id: 'safety', dryRun: false })).toEqual([]);
    expect(warningsOf({ id: 'exclusions', dryRun: false }, { id: 'exclusions', dryRun: true })).toEqual([]);
    expect(warningsOf({ id: 'trustedNetworks', syncToSlack: false }, { id: 'trustedNetworks', syncToSlack: true })).toEqual([]);
    expect(warningsOf({ id: 'safety', paused: false }, { id: 'safety', paused: true })).toEqual([]);
    expect(warningsOf({ id: 'safety' }, { id: 'safety', dryRun: true })).toEqual(['safety.dryRun switched on: no session is ended until it is switched off']);
  });

  it('names every entry added to an exclusion or trusted list, as a set, a list or a single value', () => {
    expect(warningsOf({ id: 'exclusions', excludedUsers: ['U1'] }, { id: 'exclusions', excludedUsers: ['U1', 'U2', 'U3'] })).toEqual([
      'exclusions.excludedUsers: added U2, U3 (anomalies about them are no longer acted on)',
    ]);
    expect(warningsOf({ id: 'exclusions', excludedGroups: new Set(['S1']) }, { id: 'exclusions', excludedGroups: new Set(['S1', 'S2']) })).toEqual([
      'exclusions.excludedGroups: added S2 (anomalies about them are no longer acted on)',
    ]);
    expect(warningsOf({ id: 'trustedNetworks', asns: 64500 }, { id: 'trustedNetworks', asns: 64501 })).toEqual([
      'trustedNetworks.asns: added 64501 (anomalies about them are no longer acted on)',
    ]);
    expect(warningsOf({ id: 'exclusions', excludedUsers: [{ id: 'U1' }] }, { id: 'exclusions', excludedUsers: [{ id: 'U1' }, { id: 'U2' }] })).toEqual([
      'exclusions.excludedUsers: added {"id":"U2"} (anomalies about them are no longer acted on)',
    ]);
  });

  it('a list removed, or a value that only changed type (64500 written as "64500"), adds nothing', () => {
    expect(warningsOf({ id: 'exclusions', excludedUsers: ['U1'] }, { id: 'exclusions' })).toEqual([]);
    expect(warningsOf({ id: 'trustedNetworks', asns: ['64500'] }, { id: 'trustedNetworks', asns: [64500] })).toEqual([]);
  });

  it('names whoever is no longer told, primary owner and security admins alike, on a notification item only', () => {
    expect(warningsOf({ id: 'notify#sessions_ended', primaryOwner: ['email', 'slack'] }, { id: 'notify#sessions_ended', primaryOwner: [] })).toEqual([
      'notify#sessions_ended.primaryOwner: no longer told by email, slack',
    ]);
    expect(warningsOf({ id: 'notify#sessions_ended', securityAdmins: ['slack'] }, { id: 'notify#sessions_ended', securityAdmins: ['slack', 'email'] })).toEqual([]);
    expect(warningsOf({ id: 'notify#sessions_ended', description: 'old words' }, { id: 'notify#sessions_ended', description: 'new words' })).toEqual([]);
    expect(warningsOf({ id: 'alerts', securityAdmins: ['email'] }, { id: 'alerts', securityAdmins: [] })).toEqual([]);
  });
});

describe('summariseConfigChange', () => {
  it('one line: each changed attribute before \u2192 after, (none) where there was none, or the kind alone', () => {
    expect(summariseConfigChange(describeConfigChange({ id: 'safety', dryRun: false }, { id: 'safety', cooldownMinutes: 10 }))).toBe(
      'safety changed: cooldownMinutes: (none) \u2192 10; dryRun: false \u2192 (none)',
    );
    expect(summariseConfigChange(describeConfigChange({ id: 'safety' }, { id: 'safety' }))).toBe('safety changed');
  });
});
