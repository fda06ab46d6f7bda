import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { LeaseHeldError, PermanentFailure, RetryLaterError } from '../domain/errors';
import { ConfigError } from '../domain/errors';
import { METRIC, MetricUnit } from './observability';
import { SlackError } from '../adapters/slack/errors';

/**
 * The one place that says how each kind of failure is retried.
 *
 * A queued message that failed comes back (it is given back to SQS with a delay, never slept on
 * in Lambda) after:
 * - rate_limited (Slack 429, or no slot in Slack's budget soon enough): its Retry-After, or
 *   `rateLimitedFallback` when Slack sent none; sent again as a new message, so waiting for
 *   Slack's budget never counts toward the queue's maxReceiveCount (nothing is dead-lettered
 *   because of rate limits, whatever the burst);
 * - auth (a refused token or scope): `auth`, slow enough not to storm Slack, soon enough to
 *   recover once a human fixed the secret;
 * - config (invalid configuration): `config`, until someone fixes it (then the DLQ);
 * - lease_held (a twin delivery of the same message is being handled right now): `leaseHeld`;
 * - retry_later (a RetryLaterError, e.g. SES throttling): the delay it names;
 * - transient (5xx, network, timeout, AWS throttling): the queue's visibility timeout, a bounded
 *   number of times (maxReceiveCount), then the dead-letter queue;
 * - permanent: not retried by the use case (it records the failure).
 *
 * Inside one invocation, only the poller waits and tries again (`IN_RUN_RETRY`), and adapters
 * retry what a batch call left unprocessed with `backoffMs`.
 */
export const RETRY_DELAY_SECONDS = {
  /** A Slack 429 without a usable Retry-After header. */
  rateLimitedFallback: 60,
  auth: 300,
  config: 120,
  leaseHeld: 30,
  /** SES throttled us after its SDK retries were spent. */
  sesThrottled: 5,
  /** SES daily sending quota spent: no point trying again soon. */
  sesDailyQuota: 900,
} as const;

/** Retries inside one invocation. */
export const IN_RUN_RETRY = {
  /** The poller waits out at most this many 429s per page (each only if time allows). */
  rateLimitedWaits: 2,
  /** Transient failures the poller retries per page before giving up this run. */
  pollTransientRetries: 2,
  /** The poller's backoff base for transient failures (250 ms, 500 ms, …). */
  pollTransientBaseMs: 250,
  /** SendMessageBatch entries SQS failed on its side: attempts, and the backoff base. */
  sqsBatchAttempts: 5,
  sqsBatchBaseMs: 50,
} as const;

type FailureKind = 'retry_later' | 'rate_limited' | 'auth' | 'config' | 'lease_held' | 'permanent' | 'transient';

function failureKind(error: unknown): FailureKind {
  if (error instanceof RetryLaterError) return 'retry_later';
  if (error instanceof LeaseHeldError) return 'lease_held';
  if (error instanceof ConfigError) return 'config';
  if (error instanceof PermanentFailure) return 'permanent';
  if (error instanceof SlackError) return error.kind;
  return 'transient';
}

/**
 * Seconds until a message that failed with `error` should come back; undefined when the
 * queue's own visibility timeout and redrive policy apply (transient) or no retry can help
 * (permanent).
 */
export function retryDelaySeconds(error: unknown): number | undefined {
  switch (failureKind(error)) {
    case 'retry_later':
      return (error as RetryLaterError).delaySeconds;
    case 'rate_limited':
      return (error as SlackError).retryAfterSeconds ?? RETRY_DELAY_SECONDS.rateLimitedFallback;
    case 'auth':
      return RETRY_DELAY_SECONDS.auth;
    case 'config':
      return RETRY_DELAY_SECONDS.config;
    case 'lease_held':
      return RETRY_DELAY_SECONDS.leaseHeld;
    default:
      return undefined;
  }
}

/**
 * How a message that failed should come back: as a RetryLaterError with the delay its kind
 * calls for (keeping the original as `cause`), or as is when the queue's visibility timeout
 * applies.
 */
export function asRetry(error: unknown): unknown {
  if (error instanceof RetryLaterError) return error;
  const delay = retryDelaySeconds(error);
  return delay === undefined ? error : new RetryLaterError(delay, (error as Error).message, error, failureKind(error) === 'rate_limited');
}

/**
 * For a caller that may wait inside its invocation (the poller): milliseconds to wait before
 * trying the same call again, or undefined to give up now. `attempt` counts from 0.
 * A 429 is waited out after its Retry-After (at most `IN_RUN_RETRY.rateLimitedWaits` times),
 * a transient failure after an exponential backoff (at most `transientRetries` times);
 * anything else is not retried here.
 */
export function inRunRetryDelayMs(error: unknown, attempt: number, transientRetries: number): number | undefined {
  const kind = failureKind(error);
  if (kind === 'rate_limited') return attempt < IN_RUN_RETRY.rateLimitedWaits ? (retryDelaySeconds(error) as number) * 1000 : undefined;
  if (kind === 'transient' && error instanceof SlackError) return attempt < transientRetries ? backoffMs(attempt, IN_RUN_RETRY.pollTransientBaseMs) : undefined;
  return undefined;
}

/** Exponential backoff: `baseMs · 2^attempt`, at most `capMs`. */
export function backoffMs(attempt: number, baseMs: number, capMs = Number.POSITIVE_INFINITY): number {
  return Math.min(capMs, baseMs * 2 ** attempt);
}

/** Logs and counts a failure by kind, naming the bad fields or the token and scope, never a secret. */
export function reportFailure(error: unknown, observe: { logger: Logger; metrics: Metrics; failureMetric: string; holding: string }): void {
  const { logger, metrics } = observe;
  const cause = error instanceof RetryLaterError && error.cause !== undefined ? error.cause : error;
  const isConfig = cause instanceof ConfigError;
  const isAuth = cause instanceof SlackError && cause.kind === 'auth';
  // A message merely waiting out a rate limit is not a failure: count only what needs a look.
  if (isConfig || isAuth || !(error instanceof RetryLaterError)) metrics.addMetric(observe.failureMetric, MetricUnit.Count, 1);
  if (cause instanceof ConfigError) {
    metrics.addMetric(METRIC.configInvalid, MetricUnit.Count, 1);
    logger.error(`Response configuration is invalid: ${observe.holding} until it is fixed`, { badFields: cause.issues });
  } else if (cause instanceof SlackError && cause.kind === 'auth') {
    metrics.addMetric(METRIC.slackAuthFailures, MetricUnit.Count, 1);
    logger.error('Slack refused a token: fix the token or its scopes in the Slack secret', {
      token: cause.token,
      slackError: cause.code,
      neededScope: cause.extra.needed,
      problem: cause.extra.problem,
      method: cause.method,
    });
  } else if (error instanceof RetryLaterError) {
    logger.warn('Retrying later', { reason: error.message, delaySeconds: error.delaySeconds });
    return;
  } else {
    logger.error('Processing failed; the message will be retried', { error: error as Error });
  }
}
