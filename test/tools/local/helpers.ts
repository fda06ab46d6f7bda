import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createLocalClients, endpointsFromEnv, type LocalClients } from '../../../tools/local/aws/clients';
import { startEmulators, type Emulators } from '../../../tools/local/aws/emulators';

/**
 * Emulators for a test file: the ones test/integration/global-setup.ts published in the
 * environment if it ran, otherwise this file's own (started in beforeAll, stopped in afterAll).
 */
export function useEmulators(): { clients: () => LocalClients; endpoints: () => Emulators['endpoints'] } {
  let own: Emulators | undefined;
  let clients: LocalClients | undefined;
  let endpoints: Emulators['endpoints'] | undefined;
  beforeAll(async () => {
    if (!process.env.AWS_ENDPOINT_URL_SQS) {
      own = await startEmulators();
      Object.assign(process.env, own.env);
    }
    endpoints = endpointsFromEnv();
    clients = createLocalClients(endpoints);
  }, 60_000);
  afterAll(async () => {
    clients?.destroy();
    await own?.stop();
  });
  return {
    clients: () => clients ?? fail('emulators not started'),
    endpoints: () => endpoints ?? fail('emulators not started'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/** A resource prefix no other test (or run against the same emulators) uses. */
export function uniquePrefix(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

export async function sendBodies(sqs: SQSClient, queueUrl: string, bodies: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: `m${i + j}`, MessageBody: body })),
      }),
    );
    if (out.Failed?.length) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
    ids.push(...(out.Successful ?? []).map((s) => s.MessageId!));
  }
  return ids;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
