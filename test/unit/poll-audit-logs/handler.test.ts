import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { makePollHandler } from '../../../functions/poll-audit-logs/app';
import { loadEnv, pollerEnvSchema } from '../../../functions/runtime/env';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { FakeAuditLog } from '../../support/fake-audit-log';
import { InMemoryLedger } from '../../support/in-memory-ledger';
import { RecordingPublisher } from '../../support/recording-publisher';

const T0 = 1_800_000_000;

function setup() {
  let nowMs = T0 * 1000;
  const clock = () => nowMs;
  const audit = new FakeAuditLog(clock);
  const ledger = new InMemoryLedger(clock);
  const publisher = new RecordingPublisher();
  const logs: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
  }
  const metrics = new Metrics({ serviceName: 'poll-audit-logs', namespace: 'Test' });
  const added: [string, number][] = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation((name: string, _unit: unknown, value: number) => {
    added.push([name, value]);
    return metrics;
  });
  const sleeps: number[] = [];
  const handler = makePollHandler({
    deps: {
      audit,
      ledger,
      publisher,
      now: clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        nowMs += ms;
      },
      settings: { overlapSeconds: 600, initialLookbackSeconds: 3600, pageLimit: 100, seenRetentionSeconds: 86400, safetyMarginMs: 5000, transientRetries: 1 },
    },
    rounds: 3,
    intervalMs: 20_000,
    logger: new Logger({ serviceName: 'poll-audit-logs' }),
    metrics: metrics as Metrics,
  });
  const context = (remaining: () => number) => ({ getRemainingTimeInMillis: remaining }) as unknown as Context;
  return { handler, audit, ledger, publisher, logs, added, sleeps, context, clock, advance: (ms: number) => (nowMs += ms) };
}

afterEach(() => jest.restoreAllMocks());

describe('poll-audit-logs handler', () => {
  it('polls several rounds within one invocation, spaced by the interval, and reports the checkpoint age', async () => {
    const t = setup();
    t.audit.entries.push({ id: 'a', date_create: T0 - 5 }, { id: 'late', date_create: T0 + 10, visibleFrom: T0 + 25 });
    const started = t.clock();
    const result = await t.handler({}, t.context(() => 90_000 - (t.clock() - started)));
    expect(result.rounds.map((r) => r.enqueued)).toEqual([1, 0, 1]);
    expect(t.sleeps).toEqual([20_000, 20_000]);
    expect(t.added).toEqual(expect.arrayContaining([['EntriesEnqueued', 1], ['CheckpointAgeSeconds', 0]]));
  });

  it('stops the rounds when too little of the invocation is left', async () => {
    const t = setup();
    const result = await t.handler({}, t.context(() => 25_000));
    expect(result.rounds).toHaveLength(1);
  });

  it('on an auth failure logs the token name and needed scope, never the token, counts it, and fails the invocation', async () => {
    const t = setup();
    t.ledger.checkpoint = { checkpoint: T0 - 300 };
    t.audit.failures = [new SlackError('missing_scope', 'auth', 'audit', 'audit.logs', { needed: 'auditlogs:read', provided: 'xoxp-sim-wrong' })];
    await expect(t.handler({}, t.context(() => 90_000))).rejects.toMatchObject({ code: 'missing_scope' });
    const line = JSON.parse(t.logs.find((l) => l.includes('Slack refused the audit-logs token'))!);
    expect(line).toMatchObject({ token: 'audit', slackError: 'missing_scope', neededScope: 'auditlogs:read' });
    expect(t.logs.join('')).not.toMatch(/xox[a-z]-/);
    expect(t.added).toEqual(expect.arrayContaining([['SlackAuthFailures', 1], ['PollFailures', 1], ['CheckpointAgeSeconds', 300]]));
  });
});

describe('poller environment', () => {
  const base = { CONFIG_TABLE_NAME: 'c', LEDGER_TABLE_NAME: 'l', SLACK_AUDIT_TOKEN_SECRET_ID: 's', ANOMALIES_QUEUE_URL: 'q' };
  it('has safe defaults: a 15-minute overlap and seen records that outlive it', () => {
    expect(loadEnv(pollerEnvSchema, base)).toMatchObject({ POLL_OVERLAP_SECONDS: 900, SEEN_RETENTION_HOURS: 72 });
  });
  it('refuses seen-entry retention shorter than the overlap needs, naming the variable', () => {
    expect(() => loadEnv(pollerEnvSchema, { ...base, POLL_OVERLAP_SECONDS: '7200', SEEN_RETENTION_HOURS: '2' })).toThrow(/SEEN_RETENTION_HOURS: must keep/);
  });
  it('names a missing variable', () => {
    expect(() => loadEnv(pollerEnvSchema, { ...base, ANOMALIES_QUEUE_URL: undefined })).toThrow(/ANOMALIES_QUEUE_URL/);
  });
});
