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
  const app = {
    deps: {
      audit,
      ledger,
      publisher,
      now: clock,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        nowMs += ms;
      },
      settings: { overlapSeconds: 600, initialLookbackSeconds: 3600, pageLimit: 100, seenRetentionSeconds: 86400, safetyMarginMs: 5000, transientRetries: 1 },
    },
    lease: ledger,
    rounds: 3,
    intervalMs: 20_000,
    logger: new Logger({ serviceName: 'poll-audit-logs' }),
    metrics: metrics as Metrics,
  };
  const handler = makePollHandler(app);
  let invocations = 0;
  const context = (remaining: () => number) => ({ getRemainingTimeInMillis: remaining, awsRequestId: `req-${++invocations}` }) as unknown as Context;
  return { app, handler, audit, ledger, publisher, logs, added, sleeps, context, clock, advance: (ms: number) => (nowMs += ms) };
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

  it('polls one invocation at a time: one that finds the lease held does not poll, and the lease is released after a run', async () => {
    const t = setup();
    let letFirstFinish!: () => void;
    const held = new Promise<void>((resolve) => (letFirstFinish = resolve));
    let reached!: () => void;
    const first = new Promise<void>((resolve) => (reached = resolve));
    const calls: string[] = [];
    const audit = {
      fetchAnomalies: async () => {
        calls.push('fetch');
        if (calls.length === 1) {
          reached();
          await held; // the first invocation is mid-poll
        }
        return { entries: [] };
      },
    };
    const handler = makePollHandler({ ...t.app, rounds: 1, deps: { ...t.app.deps, audit } });
    const running = handler({}, t.context(() => 90_000));
    await first;
    await expect(handler({}, t.context(() => 90_000))).resolves.toEqual({ rounds: [], skipped: true });
    expect(calls).toEqual(['fetch']);
    expect(t.logs.some((l) => l.includes('Another invocation holds the poller lease'))).toBe(true);
    letFirstFinish();
    await expect(running).resolves.toMatchObject({ rounds: [{ completed: true }] });
    await expect(handler({}, t.context(() => 90_000))).resolves.toMatchObject({ rounds: [{ completed: true }] });
    expect(calls).toEqual(['fetch', 'fetch']);
  });

  it('takes the lease until its own deadline (a crashed poller holds it no longer), and releases it even when the poll fails', async () => {
    const t = setup();
    t.audit.failures = [new SlackError('invalid_auth', 'auth', 'audit', 'audit.logs')];
    await expect(t.handler({}, t.context(() => 90_000))).rejects.toMatchObject({ code: 'invalid_auth' });
    expect(t.ledger.lease).toMatchObject({ holder: 'req-1', leaseUntil: 0 });
    const crashed = { holder: 'req-crashed', leaseUntil: t.clock() + 30_000, expiresAt: 0 };
    t.ledger.lease = crashed;
    await expect(t.handler({}, t.context(() => 90_000))).resolves.toMatchObject({ skipped: true });
    t.advance(30_001);
    await expect(t.handler({}, t.context(() => 90_000))).resolves.toMatchObject({ rounds: expect.arrayContaining([expect.objectContaining({ completed: true })]) });
  });

  it('counts an abandoned window (AuditWindowsAbandoned, alarmed) and logs it, naming the window', async () => {
    const t = setup();
    t.ledger.checkpoint = { checkpoint: T0 - 300, pending: { oldest: T0 - 900, latest: T0, pages: 0, restarted: true } };
    let calls = 0;
    const looping = { fetchAnomalies: async () => ({ entries: [], nextCursor: calls++ < 50 ? 'same' : undefined }) };
    const handler = makePollHandler({ ...t.app, deps: { ...t.app.deps, audit: looping } });
    await handler({}, t.context(() => 90_000));
    // Two pages to see the loop again and give the window up; the next round restarts its new window after two more.
    expect(calls).toBe(4);
    expect(t.added).toEqual(expect.arrayContaining([['AuditWindowsAbandoned', 1]]));
    const line = JSON.parse(t.logs.find((l) => l.includes('Audit log window given up'))!);
    expect(line).toMatchObject({ level: 'ERROR', abandoned: { oldest: T0 - 900, latest: T0, reason: 'repeated_cursor' } });
  });
});

describe('poller environment', () => {
  const base = { CONFIG_TABLE_NAME: 'c', LEDGER_TABLE_NAME: 'l', SLACK_AUDIT_TOKEN_SECRET_ID: 's', SLACK_ADMIN_TOKEN_SECRET_ID: 'a', ANOMALIES_QUEUE_URL: 'q' };
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
