import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent } from 'aws-lambda';

/**
 * An SQS event as Lambda delivers it, one record per body. Message ids are m0, m1… (receipt
 * handles rh0…) unless `uniqueIds` asks for fresh ones, as separate deliveries have.
 */
export function sqsEvent(bodies: string[], queue: string = 'anomalies', options: { uniqueIds?: boolean } = {}): SQSEvent {
  const queueArn = queue.startsWith('arn:') ? queue : `arn:aws:sqs:us-east-1:123456789012:${queue}`;
  return {
    Records: bodies.map((body, i) => ({
      messageId: options.uniqueIds ? randomUUID() : `m${i}`,
      receiptHandle: options.uniqueIds ? `rh-${randomUUID()}` : `rh${i}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

/** A Lambda context with plenty of time left. */
export function lambdaContext(functionName: string): Context {
  return {
    functionName,
    awsRequestId: 'req-1',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;
}
