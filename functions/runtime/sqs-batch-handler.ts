import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { RetryLaterError } from '../domain/errors';
import { InvocationTimedOut, invocationTimeLeftMs, noTimeLeft, withInvocationDeadline } from './invocation-time';

/** SQS caps a message's visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;
/** SQS caps a message's delivery delay at 15 minutes. */
const MAX_DELAY_SECONDS = 900;

/** The middy stack every function shares: context-enriched JSON logs and flushed EMF metrics. */
export function withObservability<E, R>(handler: (event: E, context: Context) => Promise<R>, logger: Logger, metrics: Metrics) {
  return middy(handler, {
    timeoutEarlyResponse: () => {
      throw new InvocationTimedOut();
    },
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

export interface SqsRecordContext {
  record: SQSRecord;
  context: Context;
}

export interface SqsBatchOptions {
  sqs: SQSClient;
  /** The consumed queue, for giving a message back with a delay. */
  queueUrl: string;
  logger: Logger;
}

/**
 * Runs `handleRecord` over an SQS batch one record at a time (a bound on Slack calls), reporting
 * failed records as partial-batch failures so only they are retried. A RetryLaterError (e.g.
 * Slack 429) gives its message back with the requested delay instead of sleeping in Lambda.
 * Records not started by the invocation's deadline (invocation-time.ts) are sent again for the next.
 */
export function sqsBatchHandler(handleRecord: (input: SqsRecordContext) => Promise<void>, options: SqsBatchOptions) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // One processor per invocation: it holds the batch's records and failures, so a processor
    // shared by overlapping invocations (local mode runs several in one process) would report
    // one batch's failures in another's response and let failed records be deleted as done.
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      try {
        const left = invocationTimeLeftMs();
        if (left !== undefined && left <= 0) throw noTimeLeft('this message');
        await handleRecord({ record, context });
      } catch (error) {
        if (!(await settleFailure(record, error, options))) throw error;
      }
    };
    return withInvocationDeadline(context, () =>
      processPartialResponse(event, recordHandler, processor, {
        context,
        processInParallel: false,
        // A fully failed batch is reported like any other; errors are counted by our own metrics.
        throwOnFullBatchFailure: false,
      }),
    );
  };
}

/**
 * Runs `handleBatch` over the whole SQS batch at once (respond gathers its Slack calls across
 * the batch), which answers each record's error or undefined; failed records are reported as
 * partial-batch failures, after the same retry handling as sqsBatchHandler.
 */
export function sqsWholeBatchHandler(handleBatch: (records: SQSRecord[], context: Context) => Promise<unknown[]>, options: SqsBatchOptions) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // The batch's work runs to the deadline; the reserve after it settles the failed records.
    const errors = await withInvocationDeadline(context, () => handleBatch(event.Records, context));
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    await Promise.all(
      event.Records.map(async (record, i) => {
        const error = errors[i];
        if (error === undefined) return;
        if (!(await settleFailure(record, error, options))) batchItemFailures.push({ itemIdentifier: record.messageId });
      }),
    );
    return { batchItemFailures };
  };
}

/**
 * How a failed record comes back: a wait for Slack's budget is sent again as a new message with
 * its delay (true: the record itself is done, its receive count does not grow); another
 * RetryLaterError is handed back with its delay; anything else after the visibility timeout.
 */
async function settleFailure(record: SQSRecord, error: unknown, options: SqsBatchOptions): Promise<boolean> {
  if (!(error instanceof RetryLaterError)) return false;
  if (error.waitingForBudget && (await sendAgain(record, error, options))) return true;
  await delayRetry(record, error, options);
  return false;
}

async function sendAgain(record: SQSRecord, error: RetryLaterError, options: SqsBatchOptions): Promise<boolean> {
  const delay = Math.max(1, Math.min(MAX_DELAY_SECONDS, Math.ceil(error.delaySeconds)));
  try {
    await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: record.body, DelaySeconds: delay }));
    options.logger.info('Waiting for Slack\u2019s budget: message sent again with a delay', { messageId: record.messageId, delaySeconds: delay, reason: error.message });
    return true;
  } catch (sendError) {
    // Not sent again: the original is handed back instead (it then counts as a receive).
    options.logger.warn('Could not send the message again; handing it back', { messageId: record.messageId, error: (sendError as Error).message });
    return false;
  }
}

async function delayRetry(record: SQSRecord, error: RetryLaterError, options: SqsBatchOptions): Promise<void> {
  const delay = Math.max(1, Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(error.delaySeconds)));
  try {
    await options.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: options.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delay }),
    );
    options.logger.info('Message given back for a delayed retry', { messageId: record.messageId, delaySeconds: delay, reason: error.message });
  } catch (changeError) {
    // Falls back to the queue's visibility timeout: later than asked, never lost.
    options.logger.warn('Could not delay the retry; the queue visibility timeout applies', {
      messageId: record.messageId,
      error: (changeError as Error).message,
    });
  }
}
