import { notificationJobSchema, type NotificationJob } from '../../../functions/domain/messages';
import { makeJob } from '../notify/fakes';

/** A notification job names exactly what it is about: the person, the app, or the settings or config change. */
describe('notificationJobSchema: what a job is about', () => {
  const { user: _user, ...withoutUser } = makeJob();
  const app = { id: 'A0123ABC', name: 'Scraper' };
  const configChange = { itemId: 'event#tor', kind: 'changed' as const, changes: [], warnings: [] };

  it.each<[string, Partial<NotificationJob> & Record<string, unknown>, boolean]>([
    ['a person\u2019s anomaly, with the person', makeJob(), true],
    ['a person\u2019s anomaly, without the person', withoutUser, false],
    ['an app\u2019s anomaly, with the app and no person', { ...withoutUser, type: 'app_anomaly', app }, true],
    ['an app\u2019s anomaly, with the app and a person too', { ...makeJob(), type: 'app_anomaly', app }, false],
    ['a config change, with the change', { ...withoutUser, type: 'config_changed', configChange }, true],
    ['a config change, without it', { ...withoutUser, type: 'config_changed' }, false],
    ['a settings change, with it', { ...withoutUser, type: 'anomaly_response_changed', settingsChange: { actorId: 'W0ADMIN01' } }, true],
    ['a settings change, without it', { ...withoutUser, type: 'anomaly_response_changed' }, false],
  ])('%s: %p', (_name, job, valid) => {
    expect(notificationJobSchema.safeParse(job).success).toBe(valid);
  });
});
