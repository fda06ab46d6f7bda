import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { LeaseHeldError } from '../adapters/dynamodb/ledger';
import { ConfigError } from '../domain/config/items';
import { RetryLaterError } from '../domain/errors';
import { METRIC, MetricUnit } from './observability';
import { SlackError } from '../adapters/slack/errors';

/** An invalid configuration is retried at this pace until someone fixes it (then the DLQ). */
export const CONFIG_RETRY_DELAY_SECONDS = 120;
/** A duplicate that found its entry being handled elsewhere comes back after this. */
export const LEASE_RETRY_DELAY_SECONDS = 30;
/** After Slack refused a token: slow enough not to storm Slack, soon enough to recover after a fix. */
export const AUTH_RETRY_DELAY_SECONDS = 300;

/**
 * How a message that failed should come back: a Slack 429 after its Retry-After, a refused
 * token or an invalid configuration slowly (a human must act first), anything else after the
 * queue's visibility timeout, a bounded number of times before the dead-letter queue.
 */
export function asRetry(error: unknown): unknown {
  if (error instanceof RetryLaterError) return error;
  // A twin delivery of the same message is being handled right now: look again once it is done.
  if (error instanceof LeaseHeldError) return new RetryLaterError(LEASE_RETRY_DELAY_SECONDS, error.message, error);
  if (error instanceof ConfigError) return new RetryLaterError(CONFIG_RETRY_DELAY_SECONDS, error.message, error);
  if (error instanceof SlackError && error.kind === 'rate_limited') return new RetryLaterError(error.retryAfterSeconds ?? 30, error.message, error);
  if (error instanceof SlackError && error.kind === 'auth') return new RetryLaterError(AUTH_RETRY_DELAY_SECONDS, error.message, error);
  return error;
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
      method: cause.method,
    });
  } else if (error instanceof RetryLaterError) {
    logger.warn('Retrying later', { reason: error.message, delaySeconds: error.delaySeconds });
    return;
  } else {
    logger.error('Processing failed; the message will be retried', { error: error as Error });
  }
}
