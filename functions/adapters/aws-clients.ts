import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * AWS clients, created once per container. Endpoints follow the SDK's standard settings
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so the same code runs on AWS and on emulators.
 * SQS gets its endpoint passed explicitly: otherwise the SDK sends each call to the queue URL's
 * host, which emulators make up and which does not resolve.
 */
const maxAttempts = 4;

export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts }), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function sqsClient(): SQSClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
  return new SQSClient({ maxAttempts, ...(endpoint ? { endpoint } : {}) });
}

export function sesClient(): SESClient {
  return new SESClient({ maxAttempts });
}

export function secretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({ maxAttempts });
}
