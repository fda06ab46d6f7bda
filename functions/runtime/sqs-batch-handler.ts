import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { RetryLaterError } from '../domain/errors';

/** SQS caps a message's visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

/** The middy stack every function shares: context-enriched JSON logs and flushed EMF metrics. */
export function withObservability<E, R>(handler: (event: E, context: Context) => Promise<R>, logger: Logger, metrics: Metrics) {
  return middy(handler)
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
 */
export function sqsBatchHandler(handleRecord: (input: SqsRecordContext) => Promise<void>, options: SqsBatchOptions) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // One processor per invocation: it holds the batch's records and failures, so a processor
    // shared by overlapping invocations (local mode runs several in one process) would report
    // one batch's failures in another's response and let failed records be deleted as done.
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      try {
        await handleRecord({ record, context });
      } catch (error) {
        if (error instanceof RetryLaterError) await delayRetry(record, error, options);
        throw error;
      }
    };
    return processPartialResponse(event, recordHandler, processor, {
      context,
      processInParallel: false,
      // A fully failed batch is reported like any other; errors are counted by our own metrics.
      throwOnFullBatchFailure: false,
    });
  };
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
