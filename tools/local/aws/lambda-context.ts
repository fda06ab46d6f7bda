import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** The account id the emulators put in their ARNs (fauxqs uses it for queue ARNs too). */
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export interface LambdaSettings {
  functionName: string;
  timeoutSeconds: number;
  memoryMiB?: number;
  region?: string;
  accountId?: string;
}

/** A handler as the Node.js runtime sees it: whatever it returns (or resolves to) is the response. */
export type LambdaHandler<TEvent> = (event: TEvent, context: Context) => unknown;

export type InvocationOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'threw'; error: unknown }
  | { kind: 'timed-out'; error: Error };

export interface Invocation {
  context: Context;
  outcome: InvocationOutcome;
  durationMs: number;
}

/** A Context like the Node.js runtime builds for one invocation, with its deadline fixed at creation. */
export function createLambdaContext(settings: LambdaSettings, startedAt = Date.now()): Context {
  const region = settings.region ?? LOCAL_REGION;
  const deadline = startedAt + settings.timeoutSeconds * 1000;
  const day = new Date(startedAt).toISOString().slice(0, 10).replace(/-/g, '/');
  const deprecated = (name: string) => () => {
    throw new Error(`context.${name}() is not supported: return or throw from the handler instead`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: settings.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${settings.accountId ?? LOCAL_ACCOUNT_ID}:function:${settings.functionName}`,
    memoryLimitInMB: String(settings.memoryMiB ?? 128),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${settings.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: deprecated('done'),
    fail: deprecated('fail'),
    succeed: deprecated('succeed'),
  };
}

/**
 * Invokes a handler under its timeout. A timed-out invocation counts as failed, like on Lambda;
 * unlike Lambda its work cannot be frozen, so it may keep running in the background.
 */
export async function invokeWithTimeout<TEvent>(
  handler: LambdaHandler<TEvent>,
  event: TEvent,
  settings: LambdaSettings,
): Promise<Invocation> {
  const startedAt = Date.now();
  const context = createLambdaContext(settings, startedAt);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<InvocationOutcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: 'timed-out', error: new Error(`Task timed out after ${settings.timeoutSeconds.toFixed(2)} seconds`) }),
      settings.timeoutSeconds * 1000,
    );
  });
  // Promise.resolve().then(): a handler that throws synchronously is an invocation error too.
  const run = Promise.resolve()
    .then(() => handler(event, context))
    .then(
      (value): InvocationOutcome => ({ kind: 'returned', value }),
      (error: unknown): InvocationOutcome => ({ kind: 'threw', error }),
    );
  try {
    const outcome = await Promise.race([run, timeout]);
    return { context, outcome, durationMs: Date.now() - startedAt };
  } finally {
    clearTimeout(timer);
  }
}
