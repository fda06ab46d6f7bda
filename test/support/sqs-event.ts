import type { Context, SQSEvent } from 'aws-lambda';

/** An SQS event as Lambda delivers it, one record per body (message ids m0, m1…, receipt handles rh0…). */
export function sqsEvent(bodies: string[], queueName = 'anomalies'): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i}`,
      receiptHandle: `rh${i}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queueName}`,
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
