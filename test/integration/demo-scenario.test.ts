import { resolve } from 'node:path';
import { startLocalPipeline, type LocalPipeline } from '../../tools/local/pipeline';
import { sharedEmulators } from '../support/shared-emulators';

/**
 * The demo scenario's `expect` block, checked by the REAL local pipeline (poller, respond and
 * notify handlers, DynamoDB Local, SQS, SES, the strict Slack simulator): what `npm start -- --once`
 * does. scenario.test.ts only replays the entries through `decide`; this is the end-to-end check,
 * so the scenario file and the code cannot drift apart.
 *
 * Slack's rate tiers stay on (as in `npm start`): the run takes about 70 s on a laptop. The
 * settle limits are generous and nothing here depends on how fast it goes.
 */
const SCENARIO = resolve(__dirname, '../../tools/local/scenarios/default.json');

jest.setTimeout(280_000);

let pipeline: LocalPipeline | undefined;
afterAll(async () => {
  await pipeline?.stop();
});

describe('the demo scenario (tools/local/scenarios/default.json) on the real local pipeline', () => {
  it('meets its own expect block with its own config, with no errors', async () => {
    jest.resetModules(); // the handlers read their environment once, at import: load them afresh for this pipeline
    pipeline = await startLocalPipeline({
      emulators: sharedEmulators(),
      scenario: SCENARIO, // a path, so the scenario's own config (expect.config: default-config.json) is used and its expectations checked
      timeScale: 40, // as `npm start -- --once`
      rateLimits: true,
    });
    await pipeline.runUntilSettled({ timeoutMs: 240_000, stallAfterMs: 120_000, pollFailureLimitMs: 60_000 });
    const summary = await pipeline.summary();

    expect(summary.errors).toEqual([]);
    expect(summary.expectations).toBeDefined();
    expect(summary.expectations!.failed).toEqual([]);
    expect([...summary.expectations!.checked].sort()).toEqual(['rejected', 'sessionsEnded', 'untouched']);
    expect(summary.entriesSeen).toBeGreaterThan(0);
    expect(summary.sessionsEnded.length).toBeGreaterThan(0);
    expect(summary.deadLetterQueues).toEqual({ anomalies: 0, notifications: 0 });
  });
});
