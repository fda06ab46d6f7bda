import type { Server } from 'node:http';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { importEsm } from './esm';
import { LOCAL_REGION } from './lambda-context';

/** DynamoDB Local accepts only alphanumeric access keys. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface EmulatorEndpoints {
  dynamodb: string;
  sqs: string;
  ses: string;
}

export interface Emulators {
  region: string;
  endpoints: EmulatorEndpoints;
  /** Set these in the functions' environment (process.env) so their standard SDK clients use the emulators. */
  env: Record<string, string>;
  /** GET: sent emails as JSON (`?since=<epoch seconds>`); POST `/clear-store` empties it. */
  sesStoreUrl: string;
  /** The emulator's web inbox, for humans. */
  sesInboxUrl: string;
  /** Pid of the DynamoDB Local Java process (leader of its own process group). */
  dynamodbPid: number;
  /** Stops all three; no process is left behind. Idempotent. */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  region?: string;
  /** Fixed ports; default: free ones. */
  ports?: Partial<Record<keyof EmulatorEndpoints, number>>;
  /**
   * Stop the emulators on SIGINT/SIGTERM/SIGHUP when nobody else handles the signal, and kill
   * Java on process exit in any case. Default true.
   */
  handleProcessExit?: boolean;
}

interface Running {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const region = options.region ?? LOCAL_REGION;
  assertMailStaysLocal();
  // Start in parallel (Java dominates, ~1-3 s); if one fails, stop the ones that started.
  const results = await Promise.allSettled([
    startDynamoDbLocal({ port: options.ports?.dynamodb, region, credentials: LOCAL_CREDENTIALS }),
    startFauxqs(options.ports?.sqs ?? 0, region),
    startSes(options.ports?.ses ?? 0),
  ]);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw failure.reason;
  }
  const [dynamodb, sqs, ses] = started as [DynamoDbLocal, Running, Running];

  let stopping: Promise<void> | undefined;
  const unhook = options.handleProcessExit === false ? () => {} : hookProcessExit(() => stop(), dynamodb);
  const stop = () =>
    (stopping ??= (async () => {
      unhook();
      const outcomes = await Promise.allSettled([dynamodb.stop(), sqs.stop(), ses.stop()]);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    })());

  const endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint, ses: ses.endpoint };
  return {
    region,
    endpoints,
    env: {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SES: endpoints.ses,
      AWS_ENDPOINT_URL_SESV2: endpoints.ses,
    },
    sesStoreUrl: `${endpoints.ses}/store`,
    sesInboxUrl: `${endpoints.ses}/`,
    dynamodbPid: dynamodb.pid,
    stop,
  };
}

/**
 * fauxqs' own startFauxqs() listens on 0.0.0.0; its buildApp() lets us keep it on loopback.
 * Without a configured host it writes queue URLs with the request's host (127.0.0.1:port).
 */
async function startFauxqs(port: number, region: string): Promise<Running> {
  interface FauxqsApp {
    listen(options: { port: number; host: string }): Promise<string>;
    close(): Promise<void>;
  }
  const { buildApp } = await importEsm<{ buildApp(options: { logger: boolean; defaultRegion: string }): FauxqsApp }>('fauxqs');
  const app = buildApp({ logger: false, defaultRegion: region });
  const address = await app.listen({ port, host: '127.0.0.1' });
  return { endpoint: address.replace(/\/$/, ''), stop: () => app.close() };
}

/** The SES emulator alone (in process, loopback, port 0: a free one), e.g. for a test that clears its store. */
export async function startSesEmulator(port = 0): Promise<{ endpoint: string; stop(): Promise<void> }> {
  assertMailStaysLocal();
  return startSes(port);
}

async function startSes(port: number): Promise<Running> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when the SES emulator is started
  const { default: startServer } = require('aws-ses-v2-local') as typeof import('aws-ses-v2-local');
  const server: Server = await startServer({ port, host: '127.0.0.1' });
  const address = server.address();
  // On a busy port it resolves anyway, with a server that is not listening.
  if (!server.listening || !address || typeof address === 'string') {
    server.close();
    throw new Error(`SES emulator could not listen on 127.0.0.1:${port}`);
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets would hold close() open
      }),
  };
}

/** aws-ses-v2-local relays every email to SMTP_TRANSPORT when set: allow only a loopback relay. */
function assertMailStaysLocal(): void {
  const transport = process.env.SMTP_TRANSPORT?.trim();
  if (!transport) return;
  let host: unknown;
  try {
    host = (JSON.parse(transport) as { host?: unknown }).host;
  } catch {
    host = undefined;
  }
  if (!['127.0.0.1', 'localhost', '::1'].includes(String(host))) {
    throw new Error('SMTP_TRANSPORT would relay local-mode email off this machine: unset it or point it at a loopback SMTP server');
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const ourSignalHandlers = new Set<unknown>();

/**
 * On a signal nobody else handles, stop and then die of that signal as the default would.
 * When the app has its own handler, it owns shutdown (handlers may still need the emulators);
 * 'exit' is the backstop that kills Java synchronously however the process ends.
 */
function hookProcessExit(stop: () => Promise<void>, dynamodb: DynamoDbLocal): () => void {
  const onExit = () => dynamodb.killNow();
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listeners(signal).some((listener) => !ourSignalHandlers.has(listener))) return;
    // Once every instance has unhooked, the re-raised signal gets its default action.
    void stop().finally(() => process.kill(process.pid, signal));
  };
  ourSignalHandlers.add(onSignal);
  process.once('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => {
    ourSignalHandlers.delete(onSignal);
    process.off('exit', onExit);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}
