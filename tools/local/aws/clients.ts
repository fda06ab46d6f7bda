import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, type EmulatorEndpoints } from './emulators';
import { LOCAL_REGION } from './lambda-context';

export interface LocalClients {
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  sqs: SQSClient;
  ses: SESClient;
  /** Closes their sockets, so that jest and `npm start` can exit. */
  destroy(): void;
}

/** SDK clients for setup, inspection and tests, pointed explicitly at the emulators. */
export function createLocalClients(endpoints: EmulatorEndpoints, region = LOCAL_REGION): LocalClients {
  const common = { region, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqs });
  const ses = new SESClient({ ...common, endpoint: endpoints.ses });
  return {
    dynamodb,
    documents,
    sqs,
    ses,
    destroy: () => {
      documents.destroy();
      dynamodb.destroy();
      sqs.destroy();
      ses.destroy();
    },
  };
}

/** The endpoints jest's globalSetup (or local mode) published in the environment. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): EmulatorEndpoints {
  const endpoints = { dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB, sqs: env.AWS_ENDPOINT_URL_SQS, ses: env.AWS_ENDPOINT_URL_SES };
  if (!endpoints.dynamodb || !endpoints.sqs || !endpoints.ses) {
    throw new Error(
      'AWS emulator endpoints are not set (AWS_ENDPOINT_URL_DYNAMODB/_SQS/_SES): run jest with globalSetup test/integration/global-setup.ts',
    );
  }
  return endpoints as EmulatorEndpoints;
}
