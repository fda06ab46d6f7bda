import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ConfigError } from '../../../functions/domain/errors';
import { LeaseHeldError, PermanentFailure, RetryLaterError } from '../../../functions/domain/errors';
import { asRetry, backoffMs, inRunRetryDelayMs, reportFailure, retryDelaySeconds, RETRY_DELAY_SECONDS } from '../../../functions/runtime/retry-policy';
import { SlackError } from '../../../functions/adapters/slack/errors';

describe('asRetry', () => {
  it('gives a Slack 429 back after its Retry-After', () => {
    const error = asRetry(new SlackError('ratelimited', 'rate_limited', 'admin', 'x', { retryAfterSeconds: 17 }));
    expect(error).toBeInstanceOf(RetryLaterError);
    expect((error as RetryLaterError).delaySeconds).toBe(17);
  });
  it('retries refused tokens and invalid configuration slowly, keeping the cause', () => {
    const auth = asRetry(new SlackError('token_revoked', 'auth', 'bot', 'chat.postMessage')) as RetryLaterError;
    expect(auth.delaySeconds).toBe(300);
    expect(auth.cause).toBeInstanceOf(SlackError);
    const config = asRetry(new ConfigError(['event#tor.action: bad'])) as RetryLaterError;
    expect(config.delaySeconds).toBe(120);
  });
  it('leaves transient failures to the queue\u2019s own retry and dead-letter policy', () => {
    const transient = new SlackError('http_503', 'transient', 'admin', 'x');
    expect(asRetry(transient)).toBe(transient);
    const plain = new Error('DynamoDB throttled');
    expect(asRetry(plain)).toBe(plain);
  });
});

describe('retryDelaySeconds', () => {
  it('says when each kind of failure comes back', () => {
    expect(retryDelaySeconds(new SlackError('ratelimited', 'rate_limited', 'admin', 'x', { retryAfterSeconds: 7 }))).toBe(7);
    expect(retryDelaySeconds(new SlackError('ratelimited', 'rate_limited', 'admin', 'x'))).toBe(RETRY_DELAY_SECONDS.rateLimitedFallback);
    expect(retryDelaySeconds(new SlackError('invalid_auth', 'auth', 'admin', 'x'))).toBe(300);
    expect(retryDelaySeconds(new ConfigError(['x: bad']))).toBe(120);
    expect(retryDelaySeconds(new LeaseHeldError('entry#1'))).toBe(30);
    expect(retryDelaySeconds(new RetryLaterError(11, 'SES throttled'))).toBe(11);
    expect(retryDelaySeconds(new SlackError('http_503', 'transient', 'admin', 'x'))).toBeUndefined();
    expect(retryDelaySeconds(new SlackError('cannot_reset_bot', 'permanent', 'admin', 'x'))).toBeUndefined();
    expect(retryDelaySeconds(new PermanentFailure('ses_message_rejected', 'no'))).toBeUndefined();
    expect(retryDelaySeconds(new Error('socket hang up'))).toBeUndefined();
  });
  it('gives a held lease back shortly, keeping the cause; leaves permanent failures as they are', () => {
    const held = new LeaseHeldError('entry#1');
    expect(asRetry(held)).toMatchObject({ name: 'RetryLaterError', delaySeconds: 30, cause: held });
    const permanent = new SlackError('cannot_reset_bot', 'permanent', 'admin', 'x');
    expect(asRetry(permanent)).toBe(permanent);
  });
});

describe('inRunRetryDelayMs', () => {
  const rateLimited = new SlackError('ratelimited', 'rate_limited', 'audit', 'audit.logs', { retryAfterSeconds: 3 });
  const outage = new SlackError('http_503', 'transient', 'audit', 'audit.logs');
  it('waits out a 429 twice at most, after its Retry-After', () => {
    expect([0, 1, 2].map((attempt) => inRunRetryDelayMs(rateLimited, attempt, 5))).toEqual([3000, 3000, undefined]);
  });
  it('backs off transient Slack failures exponentially, `transientRetries` times', () => {
    expect([0, 1, 2].map((attempt) => inRunRetryDelayMs(outage, attempt, 2))).toEqual([250, 500, undefined]);
  });
  it('never retries auth, permanent or non-Slack failures inside the run', () => {
    expect(inRunRetryDelayMs(new SlackError('invalid_auth', 'auth', 'audit', 'audit.logs'), 0, 2)).toBeUndefined();
    expect(inRunRetryDelayMs(new SlackError('invalid_cursor', 'permanent', 'audit', 'audit.logs'), 0, 2)).toBeUndefined();
    expect(inRunRetryDelayMs(new Error('SQS unavailable'), 0, 2)).toBeUndefined();
  });
  it('backoffMs doubles from its base up to the cap', () => {
    expect([1, 2, 3, 6].map((attempt) => backoffMs(attempt, 50, 2000))).toEqual([100, 200, 400, 2000]);
  });
});

describe('reportFailure', () => {
  function observe() {
    const logger = new Logger({ serviceName: 't' });
    const metrics = new Metrics({ serviceName: 't', namespace: 'T' });
    const counted: string[] = [];
    const logged: [string, string, unknown][] = [];
    jest.spyOn(metrics, 'addMetric').mockImplementation((name: string) => {
      counted.push(name);
      return metrics;
    });
    for (const level of ['error', 'warn'] as const) {
      jest.spyOn(logger, level).mockImplementation(((message: string, attrs: unknown) => void logged.push([level, message, attrs])) as never);
    }
    return { logger, metrics, counted, logged, failureMetric: 'Failures', holding: 'nothing happens' };
  }
  afterEach(() => jest.restoreAllMocks());

  it('names each bad config field and counts ConfigInvalid', () => {
    const o = observe();
    reportFailure(asRetry(new ConfigError(['safety.cooldownMinutes: expected number'])), o);
    expect(o.counted).toEqual(['Failures', 'ConfigInvalid']);
    expect(o.logged[0]).toEqual(['error', expect.stringContaining('nothing happens'), { badFields: ['safety.cooldownMinutes: expected number'] }]);
  });
  it('names the token and the missing scope of an auth failure, and counts SlackAuthFailures', () => {
    const o = observe();
    reportFailure(new SlackError('missing_scope', 'auth', 'admin', 'admin.users.session.reset', { needed: 'admin.users:write' }), o);
    expect(o.counted).toEqual(['Failures', 'SlackAuthFailures']);
    expect(o.logged[0][2]).toEqual({ token: 'admin', slackError: 'missing_scope', neededScope: 'admin.users:write', method: 'admin.users.session.reset' });
  });
  it('does not count a rate-limited retry as a failure', () => {
    const o = observe();
    reportFailure(asRetry(new SlackError('ratelimited', 'rate_limited', 'admin', 'x', { retryAfterSeconds: 3 })), o);
    expect(o.counted).toEqual([]);
    expect(o.logged[0][0]).toBe('warn');
  });
});
