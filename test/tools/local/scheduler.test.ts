import type { Context } from 'aws-lambda';
import { startScheduler, type Scheduler, type ScheduledInvocationEvent, type ScheduledInvocationReport } from '../../../tools/local/aws/scheduler';
import { sleep } from './helpers';

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

describe('startScheduler', () => {
  it('invokes on schedule with an EventBridge Scheduler event and a timed context, never twice at once', async () => {
    const calls: { event: ScheduledInvocationEvent; context: Context; remainingMs: number }[] = [];
    let active = 0;
    let most = 0;
    scheduler = startScheduler({
      functionName: 'pollAuditLogs',
      timeoutSeconds: 90,
      memoryMiB: 256,
      everySeconds: 0.1,
      handler: async (event, context) => {
        calls.push({ event, context, remainingMs: context.getRemainingTimeInMillis() });
        most = Math.max(most, ++active);
        await sleep(250); // longer than the period: ticks meanwhile are throttled
        active--;
      },
    });
    await sleep(900);
    await scheduler.stop();

    expect(most).toBe(1);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(4);
    expect(scheduler.stats.throttled).toBeGreaterThan(0);
    expect(scheduler.stats.invocations).toBe(calls.length);
    const { event, context, remainingMs } = calls[0];
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: ['arn:aws:scheduler:us-east-1:000000000000:schedule/default/pollAuditLogs'],
      detail: '{}',
    });
    expect(context).toMatchObject({ functionName: 'pollAuditLogs', memoryLimitInMB: '256', logGroupName: '/aws/lambda/pollAuditLogs' });
    expect(remainingMs).toBeGreaterThan(89_000);
    expect(remainingMs).toBeLessThanOrEqual(90_000);
  });

  it('runOnce() waits for the invocation under way, then runs its own; failures and timeouts are reported', async () => {
    let n = 0;
    const reports: ScheduledInvocationReport[] = [];
    scheduler = startScheduler({
      functionName: 'poller',
      timeoutSeconds: 0.3,
      everySeconds: 3600,
      runImmediately: false,
      onInvoke: (report) => reports.push(report),
      handler: async () => {
        n++;
        if (n === 1) throw new Error('boom');
        if (n === 2) await sleep(600);
      },
    });
    const [first, second, third] = await Promise.all([scheduler.runOnce(), scheduler.runOnce(), scheduler.runOnce()]);
    expect([first.result, second.result, third.result]).toEqual(['error', 'timeout', 'success']);
    expect(String(first.error)).toMatch(/boom/);
    expect(String(second.error)).toMatch(/Task timed out after 0.30 seconds/);
    expect(reports).toHaveLength(3);
    expect(scheduler.stats).toMatchObject({ invocations: 3, failures: 2, throttled: 0 });
  });

  it('stop() waits for the invocation under way', async () => {
    let finished = false;
    scheduler = startScheduler({
      functionName: 'poller',
      timeoutSeconds: 5,
      everySeconds: 3600,
      handler: async () => {
        await sleep(300);
        finished = true;
      },
    });
    await sleep(50);
    await scheduler.stop();
    expect(finished).toBe(true);
  });
});
