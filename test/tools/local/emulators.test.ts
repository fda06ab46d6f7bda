import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { createLocalClients } from '../../../tools/local/aws/clients';
import { freePort } from '../../../tools/local/aws/dynamodb-local';
import { startEmulators } from '../../../tools/local/aws/emulators';

/** Pids of running processes whose command line matches. */
function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
// Other processes on the machine (a parallel jest run, local mode) may start and stop their own
// DynamoDB Local at any time: only processes tied to what this test started are counted.
const dynamoDbLocalPids = () => pgrep('DynamoDBLocal');
const dynamoDbLocalPidsOnPort = (port: number) => pgrep(`DynamoDBLocal.* -port ${port}( |$)`);
const watchdogPidsFor = (javaPid: number) => pgrep(`dynamodb-local-watchdog ${javaPid}$`);

/**
 * The local addresses of every socket listening on `port`, read from the kernel's tables
 * (/proc/net/tcp and tcp6), so no connection to a non-loopback address is ever made.
 */
function listeningAddresses(port: number): string[] {
  const addresses: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local) continue; // 0A: LISTEN
      const [hex, portHex] = local.split(':');
      if (parseInt(portHex, 16) === port) addresses.push(hex);
    }
  }
  return addresses;
}
/** 127.0.0.1 as /proc/net shows it: little-endian IPv4, or IPv4-mapped in IPv6. */
const LOOPBACK = new Set(['0100007F', '0000000000000000FFFF00000100007F']);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Starting and stopping a JVM can take most of a minute on a loaded 2-core machine: the limit only
// stops a hung test, it measures nothing.
jest.setTimeout(180_000);

describe('startEmulators', () => {
  it('starts DynamoDB Local, fauxqs and SES on loopback and stops them without leaving a process', async () => {
    const startedAt = Date.now();
    const emulators = await startEmulators();
    const startMs = Date.now() - startedAt;
    const clients = createLocalClients(emulators.endpoints);
    try {
      expect(emulators.env).toMatchObject({
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
        AWS_ENDPOINT_URL_SQS: emulators.endpoints.sqs,
        AWS_ENDPOINT_URL_SES: emulators.endpoints.ses,
      });
      expect(emulators.env.AWS_ACCESS_KEY_ID).toMatch(/^[A-Za-z0-9]+$/);
      for (const endpoint of Object.values(emulators.endpoints)) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await expect(clients.dynamodb.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
      await expect(clients.sqs.send(new ListQueuesCommand({}))).resolves.toBeDefined();
      expect((await fetch(emulators.sesStoreUrl)).status).toBe(200);
      expect(dynamoDbLocalPids()).toContain(emulators.dynamodbPid);
      // DynamoDB Local's own entry point listens on every interface (0.0.0.0 / ::): only loopback here.
      const dynamodbPort = Number(new URL(emulators.endpoints.dynamodb).port);
      const listening = listeningAddresses(dynamodbPort);
      expect(listening.length).toBeGreaterThan(0);
      expect(listening.filter((address) => !LOOPBACK.has(address))).toEqual([]);
      expect(watchdogPidsFor(emulators.dynamodbPid)).toHaveLength(1);
      // The pattern the next test relies on to find a leaked Java really finds a running one.
      expect(dynamoDbLocalPidsOnPort(Number(new URL(emulators.endpoints.dynamodb).port))).toEqual([emulators.dynamodbPid]);
    } finally {
      clients.destroy();
      const stoppedAt = Date.now();
      await emulators.stop();
      console.log(`emulators: start ${startMs} ms, stop ${Date.now() - stoppedAt} ms`);
    }
    expect(isAlive(emulators.dynamodbPid)).toBe(false);
    expect(dynamoDbLocalPids()).not.toContain(emulators.dynamodbPid);
    expect(watchdogPidsFor(emulators.dynamodbPid)).toEqual([]);
    await expect(fetch(emulators.sesStoreUrl)).rejects.toThrow();
    await expect(emulators.stop()).resolves.toBeUndefined(); // idempotent
  });

  it('stops what it started when one emulator cannot start', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as { port: number }).port;
    const dynamodbPort = await freePort();
    try {
      await expect(startEmulators({ ports: { ses: busyPort, dynamodb: dynamodbPort } })).rejects.toThrow(/SES emulator could not listen/);
    } finally {
      busy.close();
    }
    expect(dynamoDbLocalPidsOnPort(dynamodbPort)).toEqual([]);
  });

  // Both in one test, in parallel: each needs its own Java start (~2 s).
  it('takes DynamoDB Local down when its process dies of SIGTERM (exit hooks) or SIGKILL (watchdog)', async () => {
    const [term, kill] = await Promise.all([holdEmulators(), holdEmulators()]);
    try {
      term.child.kill('SIGTERM');
      kill.child.kill('SIGKILL'); // no exit hooks run: only the watchdog can clean up
      const termExit = await term.exited;
      await waitUntilDead(term.dynamodbPid);
      await waitUntilDead(kill.dynamodbPid);
      // Nobody else handled SIGTERM: the process stopped the emulators, then died of the signal.
      expect(termExit).toEqual({ code: null, signal: 'SIGTERM' });
      expect(isAlive(term.dynamodbPid)).toBe(false);
      expect(isAlive(kill.dynamodbPid)).toBe(false);
    } finally {
      for (const held of [term, kill]) {
        held.child.kill('SIGKILL');
        if (isAlive(held.dynamodbPid)) process.kill(-held.dynamodbPid, 'SIGKILL'); // a failed test leaves no Java behind
      }
    }
  });
});

/** A separate process holding emulators (one process: the tsx CLI would add a parent of its own). */
async function holdEmulators() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/hold-emulators.ts')], {
    cwd: join(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out);
    });
    void exited.then((how) => reject(new Error(`fixture exited early: ${JSON.stringify(how)}`)));
  });
  const { dynamodbPid } = JSON.parse(line) as { dynamodbPid: number };
  expect(isAlive(dynamodbPid)).toBe(true);
  return { child, exited, dynamodbPid };
}

async function waitUntilDead(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
