import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from 'aws-lambda';
import { invokeWithTimeout, LOCAL_ACCOUNT_ID, LOCAL_REGION, type LambdaHandler, type LambdaSettings } from './lambda-context';

/** What EventBridge Scheduler sends a Lambda target that has no Input of its own. */
export type ScheduledInvocationEvent = EventBridgeEvent<'Scheduled Event', unknown>;

export interface SchedulerOptions extends LambdaSettings {
  handler: LambdaHandler<ScheduledInvocationEvent>;
  everySeconds: number;
  scheduleName?: string;
  /** Invoke at start too, rather than only after the first period. Default true. */
  runImmediately?: boolean;
  onInvoke?: (report: ScheduledInvocationReport) => void;
}

export interface ScheduledInvocationReport {
  functionName: string;
  requestId: string;
  result: 'success' | 'error' | 'timeout';
  error?: unknown;
  durationMs: number;
}

export interface SchedulerStats {
  invocations: number;
  failures: number;
  /** Ticks skipped because the previous invocation was still running (the poller's lease would skip them anyway). */
  throttled: number;
}

export interface Scheduler {
  readonly stats: Readonly<SchedulerStats>;
  /** Invokes now, after any invocation under way: never two at once. */
  runOnce(): Promise<ScheduledInvocationReport>;
  /** Stops ticking and waits for the invocation under way. */
  stop(): Promise<void>;
}

/**
 * Invokes a scheduled handler every `everySeconds` like EventBridge Scheduler, but never two at
 * once: a tick that finds an invocation running is dropped (the poller's ledger lease would make
 * the second one return without polling; dropping it keeps local mode's output readable).
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const region = options.region ?? LOCAL_REGION;
  const account = options.accountId ?? LOCAL_ACCOUNT_ID;
  const scheduleArn = `arn:aws:scheduler:${region}:${account}:schedule/default/${options.scheduleName ?? options.functionName}`;
  const stats: SchedulerStats = { invocations: 0, failures: 0, throttled: 0 };
  let running: Promise<ScheduledInvocationReport> | undefined;
  let stopped = false;

  const invoke = async (): Promise<ScheduledInvocationReport> => {
    const event: ScheduledInvocationEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [scheduleArn],
      detail: '{}',
    };
    const { context, outcome, durationMs } = await invokeWithTimeout(options.handler, event, { ...options, region, accountId: account });
    const result = outcome.kind === 'returned' ? 'success' : outcome.kind === 'threw' ? 'error' : 'timeout';
    stats.invocations++;
    if (result !== 'success') stats.failures++;
    const report: ScheduledInvocationReport = {
      functionName: options.functionName,
      requestId: context.awsRequestId,
      result,
      ...(outcome.kind === 'returned' ? {} : { error: outcome.error }),
      durationMs,
    };
    try {
      options.onInvoke?.(report);
    } catch (error) {
      console.error(`[${options.functionName} scheduler] onInvoke failed`, error);
    }
    return report;
  };

  const start = (): Promise<ScheduledInvocationReport> => {
    const current = invoke().finally(() => {
      if (running === current) running = undefined;
    });
    running = current;
    return current;
  };

  const tick = () => {
    if (stopped) return;
    if (running) stats.throttled++;
    else void start();
  };

  const timer = setInterval(tick, options.everySeconds * 1000);
  if (options.runImmediately ?? true) setImmediate(tick);

  return {
    stats,
    runOnce: async () => {
      // Chained so that queued runOnce calls still never overlap one another.
      while (running) await running.catch(() => undefined);
      return start();
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      while (running) await running.catch(() => undefined);
    },
  };
}
