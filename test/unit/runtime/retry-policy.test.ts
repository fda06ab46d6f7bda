import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ConfigError } from '../../../functions/domain/config/items';
import { RetryLaterError } from '../../../functions/domain/errors';
import { asRetry, reportFailure } from '../../../functions/runtime/retry-policy';
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
