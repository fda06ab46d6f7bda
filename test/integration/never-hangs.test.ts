import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SettleError, startLocalPipeline, type LocalPipeline } from '../../tools/local/pipeline';
import { defaultConfig } from '../../functions/domain/config/schema';
import { sharedEmulators } from '../support/shared-emulators';
import { anomaly, ORG } from './org';

/**
 * `npm start -- --once` must end, with the reason, when the pipeline cannot make progress:
 * before, a server that refused every audit-log poll kept it polling about once a second until
 * it was killed. The limits are made short here so the test is quick; what it asserts (that the
 * run gives up and says why) does not depend on how fast the machine is.
 */
jest.setTimeout(90_000);

const pipelines: LocalPipeline[] = [];
afterAll(async () => {
  for (const p of pipelines) await p.stop();
});

/** A server that answers everything with 401 and no body, as Slack's audit API does for a bad token. */
async function refusingServer(): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const server: Server = createServer((_req, res) => {
    calls++;
    res.writeHead(401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls: () => calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('--once never hangs', () => {
  it('gives up when every audit-log poll has failed for the limit, naming the failure, without polling in a tight loop', async () => {
    const server = await refusingServer();
    try {
      jest.resetModules();
      const pipeline = await startLocalPipeline({ emulators: sharedEmulators(), slackUrl: server.url, config: defaultConfig(), pollEverySeconds: 1 });
      pipelines.push(pipeline);
      const error = await pipeline.runUntilSettled({ timeoutMs: 60_000, pollFailureLimitMs: 3_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SettleError);
      expect((error as Error).message).toMatch(/every audit-log poll failed for 3 s \(last: poll-audit-logs error: .*http_401/);
      // Paced at the scheduler's period (1 s here), not hammering: a handful of polls, each one call.
      expect(server.calls()).toBeLessThan(10);
      const summary = await pipeline.summary();
      expect(summary.errors.join('\n')).toMatch(/http_401/);
    } finally {
      await server.close();
    }
  });

  it('gives up when nothing can be processed while work waits, naming what waits', async () => {
    jest.resetModules();
    const pipeline = await startLocalPipeline({
      emulators: sharedEmulators(),
      scenario: { org: ORG, entries: [anomaly('ana', ['tor'])] } as never,
      config: defaultConfig(),
      // The admin token is refused on every directory lookup: respond retries slowly, forever.
      faults: [{ target: 'admin.users.list', kind: 'error', error: 'invalid_auth' }],
    });
    pipelines.push(pipeline);
    const error = await pipeline.runUntilSettled({ timeoutMs: 60_000, stallAfterMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettleError);
    expect((error as Error).message).toMatch(/nothing could be processed for 3 s while 1 anomaly message\(s\) and 0 notification job\(s\) are waiting/);
  });
});
