import { ConfigError, LeaseHeldError, PermanentFailure, RetryLaterError, ValidationError } from '../../../functions/domain/errors';

/**
 * The error types as the logs and the response log show them: notify records a failure as
 * `<name>: <message>` (functions/notify/notify.ts), so each error must carry its own name, and its
 * message must say what failed without the reader opening the code.
 */
describe('domain errors', () => {
  it('each carries its own name, so a recorded failure says what kind it was', () => {
    const errors = [new RetryLaterError(5, 'later'), new PermanentFailure('MessageRejected', 'no'), new LeaseHeldError('k'), new ValidationError('s', ['x']), new ConfigError(['x'])];
    expect(errors.map((e) => e.name)).toEqual(['RetryLaterError', 'PermanentFailure', 'LeaseHeldError', 'ValidationError', 'ConfigError']);
    expect(errors.every((e) => e instanceof Error)).toBe(true);
  });

  it('a held lease names the record and says to retry later', () => {
    const error = new LeaseHeldError('entry#E1');
    expect(error.key).toBe('entry#E1');
    expect(error.message).toBe('entry#E1 is being processed by another invocation; retry later');
  });

  it('an invalid input names its subject and every offending field; a bad config is one', () => {
    const error = new ValidationError('anomaly message', ['entry.id: required', 'polledAt: expected number']);
    expect(error.message).toBe('anomaly message is invalid: entry.id: required; polledAt: expected number');
    expect(error.subject).toBe('anomaly message');
    const config = new ConfigError(['safety.cooldownMinutes: too small']);
    expect(config).toBeInstanceOf(ValidationError);
    expect(config.subject).toBe('response configuration');
    expect(config.issues).toEqual(['safety.cooldownMinutes: too small']);
    expect(config.message).toBe('response configuration is invalid: safety.cooldownMinutes: too small');
  });

  it('a retry-later keeps its delay and cause; a permanent failure its code', () => {
    const cause = new Error('429');
    expect(new RetryLaterError(30, 'rate limited', cause)).toMatchObject({ delaySeconds: 30, message: 'rate limited', cause });
    expect(new PermanentFailure('MessageRejected', 'address rejected')).toMatchObject({ code: 'MessageRejected', message: 'address rejected' });
  });
});
