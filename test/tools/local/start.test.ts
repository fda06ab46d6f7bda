import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm start` as a person runs it, in a child process: Ctrl-C while work is in flight must stop it
 * cleanly — in-flight invocations drained, then the emulators, no stack trace, no ECONNREFUSED
 * from an event source polling an emulator that already stopped. Nothing here waits on a clock:
 * each step waits for the line that says the previous one happened.
 */

// Starting Java and the pipeline can take most of a minute on a loaded 2-core machine: the limit
// only stops a hung test.
jest.setTimeout(240_000);

const root = join(__dirname, '..', '..', '..');

describe('npm start, stopped with Ctrl-C', () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drains, stops the emulators after the event sources, and exits 130 without a stack trace', async () => {
    const stateFile = join(dir, 'local-mode.json');
    // detached: its own process group, which a terminal's Ctrl-C signals as a whole (the emulators
    // it starts in-process and the tsx loader with it; DynamoDB Local has a group of its own).
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['tools/local/start.ts', '--no-rate-limits', '--poll-every', '1'], {
      cwd: root,
      detached: true,
      env: { ...process.env, LOCAL_MODE_STATE_FILE: stateFile, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const signalWhenBusy = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        // The first decision is recorded: the rest of the scenario's entries and their
        // notifications are still in flight.
        if (!signalled && /\] decide /.test(stdout)) {
          signalled = true;
          expect(existsSync(stateFile)).toBe(true);
          process.kill(-child.pid!, 'SIGINT');
          resolve();
        }
      });
    });
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));

    const code = await Promise.race([exited, signalWhenBusy.then(() => exited)]);
    expect({ signalled, code }).toEqual({ signalled: true, code: 130 });
    expect(stdout).toMatch(/DynamoDB Local: http:\/\/127\.0\.0\.1:\d+ \(ledger table /);
    const stopping = stdout.indexOf('stopping: draining in-flight invocations, then the emulators…');
    expect(stopping).toBeGreaterThan(0);
    expect(stdout.slice(stopping)).toMatch(/\] stopped\n/);
    expect(stderr).not.toMatch(/ECONNREFUSED|socket hang up/);
    expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(existsSync(stateFile)).toBe(false);
  });
});
