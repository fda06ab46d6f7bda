import { startEmulators, type Emulators } from '../../tools/local/aws/emulators';

declare global {
  // Read by global-teardown.ts (globalSetup and globalTeardown share the jest parent process).
  var __localAwsEmulators: Emulators | undefined;
}

/**
 * Starts DynamoDB Local, fauxqs and the SES emulator once for the whole jest run. Test workers
 * are forked afterwards and inherit process.env: the functions' SDK clients find the emulators
 * through AWS_ENDPOINT_URL_*, and tests through endpointsFromEnv() (local/aws/clients.ts).
 */
export default async function globalSetup(): Promise<void> {
  const startedAt = Date.now();
  const emulators = await startEmulators();
  globalThis.__localAwsEmulators = emulators;
  Object.assign(process.env, emulators.env);
  // LOCAL_AWS_VERBOSE=1 prints how long the start took and where the emulators listen.
  if (process.env.LOCAL_AWS_VERBOSE) console.log(`\nAWS emulators up in ${Date.now() - startedAt} ms: ${JSON.stringify(emulators.endpoints)}`);
}
