import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';
import { RetryLaterError } from '../domain/errors';

/**
 * The running invocation's deadline for starting work. Lambda stops an invocation at its timeout
 * wherever it is (and middy fails it a moment before): a batch cut off there is failed whole,
 * its claims are held until their lease runs out, and its messages come back only after the
 * visibility timeout. So work that could not finish in time (a Slack call that would wait for its
 * slot and then for its answer, a new round of a batch) is not started: its message is sent again
 * for the next invocation instead, which is not a failed attempt (RetryLaterError, waitingForBudget).
 *
 * The deadline is kept per invocation (AsyncLocalStorage), not per container: local mode runs
 * several invocations of one function in one process at once.
 */
const deadlines = new AsyncLocalStorage<number>();

/**
 * Kept back from the function's timeout for what follows the last piece of work: recording each
 * message's outcome and queueing its notification, then sending deferred messages again.
 */
export const INVOCATION_RESERVE_MS = 10_000;

/** Runs `work` with the deadline `context` gives (its remaining time less `reserveMs`). */
export function withInvocationDeadline<T>(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined, work: () => Promise<T>, reserveMs = INVOCATION_RESERVE_MS): Promise<T> {
  // A caller without a Lambda context (a script, a test that does not care) gets no deadline.
  if (typeof context?.getRemainingTimeInMillis !== 'function') return work();
  return deadlines.run(Date.now() + context.getRemainingTimeInMillis() - reserveMs, work);
}

/**
 * Milliseconds left before the running invocation's deadline (negative once it has passed);
 * undefined outside an invocation, where nothing bounds the work.
 */
export function invocationTimeLeftMs(): number | undefined {
  const deadline = deadlines.getStore();
  return deadline === undefined ? undefined : deadline - Date.now();
}

/** Seconds a message deferred for want of time waits before the next invocation takes it. */
const DEFERRED_DELAY_SECONDS = 1;

/**
 * The error for work not started because the invocation's deadline is near: its message is sent
 * again for the next invocation, which does not count as a receive (nothing was tried).
 */
export function noTimeLeft(what: string): RetryLaterError {
  return new RetryLaterError(DEFERRED_DELAY_SECONDS, `No time left in this invocation for ${what}; sent again for the next one`, undefined, true);
}

/**
 * What middy throws when the handler is still running as the function's timeout arrives (its
 * default is a bare "[AbortError]: The operation was aborted."): the log says what happened.
 */
export class InvocationTimedOut extends Error {
  constructor() {
    super('The invocation ran out of time: the handler was still running at the function\u2019s timeout; its messages come back after their visibility timeout');
    this.name = 'InvocationTimedOut';
  }
}
