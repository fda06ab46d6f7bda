/** Every error type the domain and the use cases raise; adapters add their own (SlackError). */

/**
 * Raised by a use case when a message must be retried later rather than now, e.g. on a Slack
 * 429: the handler gives the message back to SQS with this delay instead of sleeping in Lambda.
 */
export class RetryLaterError extends Error {
  constructor(
    readonly delaySeconds: number,
    message: string,
    readonly cause?: unknown,
    /**
     * Only waiting for Slack's budget (a 429, or the pacer had no slot soon enough): not a failed
     * attempt, so the message is sent again with the delay rather than handed back, and this
     * wait never counts toward the queue's maxReceiveCount.
     */
    readonly waitingForBudget = false,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/**
 * A failure recorded as final: retrying the message cannot fix it (e.g. SES MessageRejected
 * for one address). The use case records it; the message is not failed.
 */
export class PermanentFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentFailure';
  }
}

/**
 * Another invocation holds the record this one needs (a twin delivery of the same message is
 * being handled): retry later, once it is done.
 */
export class LeaseHeldError extends Error {
  constructor(readonly key: string) {
    super(`${key} is being processed by another invocation; retry later`);
    this.name = 'LeaseHeldError';
  }
}

/** Thrown when input at an edge fails its schema; `issues` name each offending field. */
export class ValidationError extends Error {
  constructor(
    readonly subject: string,
    readonly issues: string[],
  ) {
    super(`${subject} is invalid: ${issues.join('; ')}`);
    this.name = 'ValidationError';
  }
}

/** The response configuration is invalid: fail safe (end no sessions) and name each bad field. */
export class ConfigError extends ValidationError {
  constructor(issues: string[]) {
    super('response configuration', issues);
    this.name = 'ConfigError';
  }
}
