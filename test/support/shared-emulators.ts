import { endpointsFromEnv, type Emulators } from '../../tools/local/aws';

/** The emulators jest's globalSetup started, as local mode's Emulators (stopping them is globalTeardown's job). */
export function sharedEmulators(): Emulators {
  const endpoints = endpointsFromEnv();
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('AWS_')) as [string, string][]);
  return {
    region: process.env.AWS_REGION ?? 'us-east-1',
    endpoints,
    env,
    sesStoreUrl: `${endpoints.ses}/store`,
    sesInboxUrl: `${endpoints.ses}/`,
    dynamodbPid: 0,
    stop: async () => undefined,
  };
}
