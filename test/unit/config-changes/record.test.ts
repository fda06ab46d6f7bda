import { marshall } from '@aws-sdk/util-dynamodb';
import { configChangeEntryId, recordConfigChange } from '../../../functions/config-changes/record';
import { describeConfigChange } from '../../../functions/domain/config-change';
import { notificationJobSchema } from '../../../functions/domain/messages';
import { renderEmail, renderSlackMessage } from '../../../functions/notify/templates';
import { InMemoryLedger } from '../../support/in-memory-ledger';
import { RecordingPublisher } from '../../support/recording-publisher';

/** A stream record as Lambda hands it over (DynamoDB JSON images, epoch seconds). */
function streamRecord(
  eventID: string,
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
  extra: Record<string, unknown> = {},
) {
  return {
    eventID,
    eventName: !before ? 'INSERT' : !after ? 'REMOVE' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: 1764757200,
      SequenceNumber: '100000000000000000001',
      Keys: marshall({ id: (after ?? before)!.id }),
      ...(before ? { OldImage: marshall(before, { convertClassInstanceToMap: true }) } : {}),
      ...(after ? { NewImage: marshall(after, { convertClassInstanceToMap: true }) } : {}),
    },
    ...extra,
  };
}

function setup() {
  const ledger = new InMemoryLedger();
  const notifications = new RecordingPublisher();
  return { ledger, notifications, deps: { decisions: ledger, notifications } };
}

describe('describeConfigChange', () => {
  it('a rule switched from end_sessions to off is a change and a warning', () => {
    const change = describeConfigChange({ id: 'event#tor', action: 'end_sessions', scope: 'all' }, { id: 'event#tor', action: 'off', scope: 'all' });
    expect(change).toEqual({
      itemId: 'event#tor',
      kind: 'changed',
      changes: [{ field: 'action', before: '"end_sessions"', after: '"off"' }],
      warnings: ['event#tor.action: "end_sessions" \u2192 "off" (a rule no longer ends sessions)'],
    });
  });

  it('an exclusion added, dry run on, a trusted range added, an item removed: each is a warning', () => {
    expect(describeConfigChange({ id: 'exclusions', excludedUsers: ['U1'] }, { id: 'exclusions', excludedUsers: ['U1', 'U2'] }).warnings).toEqual([
      'exclusions.excludedUsers: added U2 (anomalies about them are no longer acted on)',
    ]);
    expect(describeConfigChange({ id: 'safety', dryRun: false }, { id: 'safety', dryRun: true }).warnings).toEqual([
      'safety.dryRun switched on: no session is ended until it is switched off',
    ]);
    expect(describeConfigChange({ id: 'trustedNetworks', cidrs: [] }, { id: 'trustedNetworks', cidrs: ['0.0.0.0/0'] }).warnings).toEqual([
      'trustedNetworks.cidrs: added 0.0.0.0/0 (anomalies about them are no longer acted on)',
    ]);
    const removed = describeConfigChange({ id: 'exclusions', excludedUsers: [] }, undefined);
    expect(removed.kind).toBe('removed');
    expect(removed.warnings[0]).toMatch(/^exclusions was removed/);
    expect(describeConfigChange({ id: 'notify#config_changed', securityAdmins: ['email', 'slack'] }, { id: 'notify#config_changed', securityAdmins: ['slack'] }).warnings).toEqual([
      'notify#config_changed.securityAdmins: no longer told by email',
    ]);
  });

  it('a change that strengthens the response has no warning; an unchanged attribute is not listed', () => {
    const change = describeConfigChange(
      { id: 'event#tor', action: 'off', scope: 'all', description: 'x' },
      { id: 'event#tor', action: 'end_sessions', scope: 'all', description: 'x' },
    );
    expect(change.changes.map((c) => c.field)).toEqual(['action']);
    expect(change.warnings).toEqual([]);
    expect(describeConfigChange({ id: 'exclusions', excludedUsers: ['U1', 'U2'] }, { id: 'exclusions', excludedUsers: ['U1'] }).warnings).toEqual([]);
  });

  it('caps what it keeps: a huge value is cut, not carried whole', () => {
    const change = describeConfigChange(undefined, { id: 'exclusions', excludedUsers: Array.from({ length: 5000 }, (_, i) => `U${i}`) });
    expect(change.kind).toBe('created');
    expect(change.changes[0].after!.length).toBeLessThanOrEqual(300);
    expect(change.warnings[0].length).toBeLessThan(500);
  });
});

describe('recordConfigChange', () => {
  it('records the change once in the response log and queues one config_changed notification, before → after', async () => {
    const t = setup();
    const raw = streamRecord('ev-1', { id: 'event#tor', action: 'end_sessions' }, { id: 'event#tor', action: 'off' });
    const outcome = await recordConfigChange(raw, t.deps);
    expect(outcome).toMatchObject({ kind: 'recorded', entryId: configChangeEntryId('ev-1') });
    const record = t.ledger.decisions.get(configChangeEntryId('ev-1'));
    expect(record).toMatchObject({
      status: 'done',
      entityType: 'config',
      decision: 'recorded',
      reason: 'config_changed',
      outcome: 'changed',
      occurredAt: 1764757200,
      detail: 'event#tor changed: action: "end_sessions" \u2192 "off"',
      notification: 'config_changed',
      notificationQueued: true,
    });
    expect(record?.configChange).toMatchObject({ itemId: 'event#tor', warnings: [expect.stringContaining('no longer ends sessions')] });
    const jobs = t.notifications.bodies();
    expect(jobs).toHaveLength(1);
    const job = notificationJobSchema.parse(jobs[0]);
    expect(job).toMatchObject({ type: 'config_changed', entryId: 'config-change-ev-1', configChange: { itemId: 'event#tor', kind: 'changed' } });
    expect(job.configChange?.changedBy).toBeUndefined();

    // The stream redelivers the record (a retried batch): recorded and told once.
    await expect(recordConfigChange(raw, t.deps)).resolves.toEqual({ kind: 'duplicate', entryId: 'config-change-ev-1' });
    expect(t.notifications.messages).toHaveLength(1);
  });

  it('a notification that failed to queue is queued by the redelivery, not lost', async () => {
    const t = setup();
    const raw = streamRecord('ev-2', undefined, { id: 'safety', dryRun: true });
    t.notifications.failNext = 1;
    await expect(recordConfigChange(raw, t.deps)).rejects.toThrow('SQS unavailable');
    expect(t.ledger.decisions.get('config-change-ev-2')).toMatchObject({ status: 'done', notificationQueued: false });
    await expect(recordConfigChange(raw, t.deps)).resolves.toMatchObject({ kind: 'duplicate' });
    expect(t.notifications.messages).toHaveLength(1);
    expect(t.ledger.decisions.get('config-change-ev-2')?.notificationQueued).toBe(true);
  });

  it('a write that changed nothing (the seed rewrites every item) is neither recorded nor told', async () => {
    const t = setup();
    const item = { id: 'event#tor', action: 'end_sessions', excludedUsers: ['U1'] };
    await expect(recordConfigChange(streamRecord('ev-5', item, { ...item }), t.deps)).resolves.toEqual({
      kind: 'unchanged',
      entryId: 'config-change-ev-5',
      itemId: 'event#tor',
    });
    expect(t.ledger.decisions.size).toBe(0);
    expect(t.notifications.messages).toHaveLength(0);
  });

  it('names who when the stream does (a TTL deletion by DynamoDB)', async () => {
    const t = setup();
    await recordConfigChange(
      streamRecord('ev-3', { id: 'exclusions', excludedUsers: ['U1'] }, undefined, { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } }),
      t.deps,
    );
    const job = notificationJobSchema.parse(t.notifications.bodies()[0]);
    expect(job.configChange).toMatchObject({ kind: 'removed', changedBy: 'Service dynamodb.amazonaws.com (expired by TTL)' });
  });

  it('an unreadable stream record is recorded as rejected, naming the field, and still told', async () => {
    const t = setup();
    const outcome = await recordConfigChange({ eventID: 'ev-4', eventName: 'MODIFY', dynamodb: { SequenceNumber: '1' } }, t.deps);
    expect(outcome).toEqual({ kind: 'rejected', entryId: 'config-change-ev-4', issues: [expect.stringContaining('record.dynamodb.ApproximateCreationDateTime')] });
    expect(t.ledger.decisions.get('config-change-ev-4')).toMatchObject({ decision: 'rejected', outcome: 'rejected', notificationQueued: true });
    expect(notificationJobSchema.parse(t.notifications.bodies()[0]).configChange?.itemId).toBe('(unreadable stream record)');
  });
});

describe('the config_changed alert', () => {
  const job = (before: Record<string, unknown>, after: Record<string, unknown>) =>
    notificationJobSchema.parse({
      entryId: 'config-change-ev-9',
      type: 'config_changed',
      occurredAt: 1764757200,
      configChange: describeConfigChange(before, after),
      events: [],
      otherReasons: [],
      context: {},
      response: { outcome: 'recorded' },
    });

  it('is loud when the response is weakened, says before → after, and that who is in CloudTrail', () => {
    const email = renderEmail(job({ id: 'safety', dryRun: false }, { id: 'safety', dryRun: true }), 'admin');
    expect(email.subject).toBe('[Slack security] WARNING: the response was weakened: configuration item safety changed');
    expect(email.text).toContain('false \u2192 true');
    // The warning quotes the table (item and field names), so it is shown inert: a dotted name defanged like a host.
    expect(email.text).toContain('safety[.]dryRun switched on');
    expect(email.text).toContain('CloudTrail');
    const quiet = renderEmail(job({ id: 'event#tor', action: 'off' }, { id: 'event#tor', action: 'end_sessions' }), 'admin');
    expect(quiet.subject).toBe('[Slack security] configuration item event#tor changed');
  });

  it('values from the table cannot format, link or mention in the alert', () => {
    const hostile = job({ id: 'exclusions', excludedUsers: [] }, { id: 'exclusions', excludedUsers: ['<!channel> <https://evil.example|click>'] });
    const slack = JSON.stringify(renderSlackMessage(hostile, 'admin'));
    expect(slack).not.toContain('<!channel>');
    expect(slack).not.toContain('<https://evil.example');
    expect(renderEmail(hostile, 'admin').html).not.toContain('<https://evil');
  });
});
