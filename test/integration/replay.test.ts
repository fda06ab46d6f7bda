import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { main, parseTime, replayInto } from '../../tools/cli/replay';
import { startLocalPipeline, type LocalPipeline } from '../../tools/local/pipeline';
import { sharedEmulators } from '../support/shared-emulators';

/**
 * `npm run replay` over local mode: a responder deployed just now (its first poll looks back a
 * minute) misses the scenario's entries, which are five to ten minutes old; replaying the window
 * brings them through the same pipeline, and replaying again, even after the seen records are
 * gone (an outage longer than their 72 hours), acts on nothing twice.
 */
// The beyond scenario without its one late arrival (which would keep the run waiting for it at real time).
const beyond = JSON.parse(readFileSync(resolve(__dirname, '../../tools/local/scenarios/beyond.json'), 'utf8'));
const SCENARIO = { ...beyond, entries: beyond.entries.filter((e: { arrivalDelaySeconds?: number }) => !e.arrivalDelaySeconds), expect: undefined };
const ENTRIES = SCENARIO.entries.length;
const OUTCOMES = { sessions_ended: 4, notified: 4, recorded: 1, 'reset_by:slack_anomaly_response': 1 };

jest.setTimeout(200_000);

let pipeline: LocalPipeline | undefined;
afterAll(async () => {
  await pipeline?.stop();
});

describe('npm run replay, over local mode', () => {
  it('brings a missed window through the pipeline once, and never acts twice', async () => {
    jest.resetModules();
    pipeline = await startLocalPipeline({
      emulators: sharedEmulators(),
      scenario: SCENARIO,
      configFile: resolve(__dirname, '../../tools/local/scenarios/beyond-config.json'),
      timeScale: 1,
      rateLimits: false,
      functionEnv: { POLL_INITIAL_LOOKBACK_SECONDS: '60', POLL_OVERLAP_SECONDS: '60' },
    });
    const settle = () => pipeline!.runUntilSettled({ timeoutMs: 120_000, stallAfterMs: 90_000, pollFailureLimitMs: 60_000 });
    await settle();
    expect((await pipeline.summary()).outcomes).toEqual({}); // the poller looked back a minute: every entry is older

    const target = {
      table: pipeline.resources.tables.ledger,
      queueUrl: pipeline.resources.queues.anomalies.url,
      secretId: process.env.SLACK_AUDIT_TOKEN_SECRET_ID!,
      auditUrl: process.env.SLACK_AUDIT_API_URL!,
    };
    const now = Math.floor(Date.now() / 1000);
    const window = { oldest: now - 3600, latest: now };
    const lines: string[] = [];

    const dry = await replayInto(target, window, true, (line) => lines.push(line));
    expect(dry).toMatchObject({ entries: ENTRIES, unseen: ENTRIES, enqueued: 0 });
    await settle();
    expect((await pipeline.summary()).outcomes).toEqual({});

    const first = await replayInto(target, window, false, (line) => lines.push(line));
    expect(first).toMatchObject({ entries: ENTRIES, unseen: ENTRIES, enqueued: ENTRIES });
    await settle();
    const after = await pipeline.summary();
    expect(after.errors).toEqual([]);
    expect(after.outcomes).toEqual(OUTCOMES);
    const resetsAfterFirst = pipeline.simulator!.state().resets.length + pipeline.simulator!.state().invalidations.length;
    expect(resetsAfterFirst).toBe(4);

    // Again: every entry was enqueued before.
    expect(await replayInto(target, window, false, (line) => lines.push(line))).toMatchObject({ entries: ENTRIES, unseen: 0, enqueued: 0 });

    // Long after (the seen records have expired): enqueued again, and respond's response log skips them.
    const { documents } = pipeline.clients;
    const seen = (await documents.send(new ScanCommand({ TableName: target.table, FilterExpression: 'begins_with(pk, :seen)', ExpressionAttributeValues: { ':seen': 'seen#' } }))).Items ?? [];
    expect(seen).toHaveLength(ENTRIES);
    await documents.send(new BatchWriteCommand({ RequestItems: { [target.table]: seen.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })) } }));
    expect(await replayInto(target, window, false, (line) => lines.push(line))).toMatchObject({ enqueued: ENTRIES });
    await settle();
    expect((await pipeline.summary()).outcomes).toEqual(OUTCOMES);
    expect(pipeline.simulator!.state().resets.length + pipeline.simulator!.state().invalidations.length).toBe(resetsAfterFirst);
    expect(pipeline.simulator!.state().resetRequests).toEqual(Object.fromEntries(Object.keys(pipeline.simulator!.state().resetRequests).map((id) => [id, 1])));

    expect(lines.some((line) => line.startsWith(`replay     page 1: ${ENTRIES} entries, ${ENTRIES} new, ${ENTRIES} enqueued`))).toBe(true);
    expect(lines.some((line) => line.includes(`done: ${ENTRIES} entries in the window, 0 already enqueued before, ${ENTRIES} would be enqueued`))).toBe(true);
  });
});

describe('npm run replay: its command line', () => {
  it('reads UTC times, to the minute or the second', () => {
    expect(parseTime('2026-11-30T00:00Z')).toBe(Date.UTC(2026, 10, 30) / 1000);
    expect(parseTime('2026-11-30T00:00:30+01:00')).toBe(Date.UTC(2026, 10, 29, 23, 0, 30) / 1000);
    expect(parseTime('2026-11-30')).toBe(Date.UTC(2026, 10, 30) / 1000);
    for (const bad of ['yesterday', '1764460800', '2026-11-30 00:00', '2026-13-01T00:00Z']) expect(parseTime(bad)).toBeUndefined();
  });

  it.each([
    [['--until', '2026-11-30T00:00Z'], /--since .* must be ISO 8601/],
    [['--since', 'last week'], /must be ISO 8601/],
    [['--since', '2026-11-30T06:00Z', '--until', '2026-11-30T00:00Z'], /must start before it ends/],
    [['--since', '2026-11-30T00:00Z', '--table', 'T'], /Missing queueUrl, secretId/],
  ])('refuses %p', async (argv, message) => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    const saved = { ...process.env };
    try {
      delete process.env.LEDGER_TABLE_NAME;
      delete process.env.ANOMALIES_QUEUE_URL;
      delete process.env.SLACK_AUDIT_TOKEN_SECRET_ID;
      await expect(main(argv, () => undefined)).resolves.toBe(2);
      expect(errors.join('\n')).toMatch(message);
    } finally {
      spy.mockRestore();
      process.env = saved;
    }
  });
});
