import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { makeRespondHandler } from '../../../functions/respond/app';
import { RespondDirectory } from '../../../functions/respond/respond';
import { ConfigError } from '../../../functions/domain/errors';
import { defaultConfig } from '../../../functions/domain/config/schema';
import { withObservability } from '../../../functions/runtime/sqs-batch-handler';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { anomalyEntry, message } from '../../support/entries';
import { FakeSlack } from '../../support/fake-slack';
import { InMemoryLedger } from '../../support/in-memory-ledger';
import { RecordingPublisher } from '../../support/recording-publisher';
import { lambdaContext, sqsEvent } from '../../support/sqs-event';
import { INVOCATION_RESERVE_MS, invocationTimeLeftMs } from '../../../functions/runtime/invocation-time';
import type { Context } from 'aws-lambda';

const context = lambdaContext('respond');

function setup(config: () => Promise<ReturnType<typeof defaultConfig>> = async () => defaultConfig()) {
  const sqs = mockClient(SQSClient);
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({});
  // The fake knows only the people it lists (anyone else is user_not_found, as on Slack).
  const slack = new FakeSlack().member(['U0ANA00001', 'U0AAA00001', 'U0BBB00002']);
  const ledger = new InMemoryLedger();
  const logs: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
  }
  const logger = new Logger({ serviceName: 'respond' });
  const metrics = new Metrics({ serviceName: 'respond', namespace: 'Test' });
  const handler = withObservability(
    makeRespondHandler({
      // Wired as handler.ts wires it: the batch handler sets the invocation's deadline, respond reads it.
      deps: { config: { load: config }, decisions: ledger, resets: ledger, slack, directory: new RespondDirectory(slack, 60_000), notifications: new RecordingPublisher(), timeLeftMs: invocationTimeLeftMs },
      sqs: new SQSClient({ region: 'us-east-1' }),
      queueUrl: 'http://127.0.0.1:1/queue/anomalies',
      logger,
      metrics,
    }),
    logger,
    metrics,
  );
  return { handler, sqs, slack, ledger, logs };
}

afterEach(() => jest.restoreAllMocks());

describe('respond handler', () => {
  it('gathers the batch into one bulk sign-out; a malformed entry never fails its batch; a 429 is sent again with its delay, never counted as a receive', async () => {
    const t = setup();
    t.slack.failures.resetSessionsBulk = [
      new SlackError('ratelimited', 'rate_limited', 'admin', 'admin.users.session.resetBulk', { retryAfterSeconds: 42 }),
    ];
    const bodies = [message(anomalyEntry({ id: 'limited', userId: 'U0AAA00001' })), '{"entry": {"id": 7}}', message(anomalyEntry({ id: 'also', userId: 'U0BBB00002' }))];
    const result = await t.handler(sqsEvent(bodies), context);
    // Both people were in one resetBulk call, which Slack refused: both wait, neither failed.
    expect(t.slack.calls.resetSessionsBulk).toBe(1);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(t.slack.resets).toEqual([]);
    const sent = t.sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual(
      expect.arrayContaining([
        { QueueUrl: 'http://127.0.0.1:1/queue/anomalies', MessageBody: bodies[0], DelaySeconds: 42 },
        { QueueUrl: 'http://127.0.0.1:1/queue/anomalies', MessageBody: bodies[2], DelaySeconds: 42 },
      ]),
    );
    expect(sent).toHaveLength(2);
    expect(t.sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    // Nothing was kept: the messages sent again decide afresh.
    expect(t.ledger.decisions.has('limited')).toBe(false);
    expect(t.ledger.resetSlots.size).toBe(0);
  });

  it('reports the records of a failed bulk sign-out as failures (they count as receives); the others succeed', async () => {
    const t = setup();
    t.slack.failures.resetSessionsBulk = [new SlackError('http_503', 'transient', 'admin', 'admin.users.session.resetBulk', { status: 503 })];
    const result = await t.handler(
      sqsEvent([message(anomalyEntry({ id: 'a', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'off', reasons: ['excessive_downloads'] })), message(anomalyEntry({ id: 'b', userId: 'U0BBB00002' }))]),
      context,
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }, { itemIdentifier: 'm2' }] });
    expect(t.ledger.decisions.get('off')).toMatchObject({ status: 'done', decision: 'ignore' });
    expect(t.sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('puts the audit entry id on every log line of its record', async () => {
    const t = setup();
    await t.handler(sqsEvent([message(anomalyEntry({ id: 'entry-42' }))]), context);
    const lines = t.logs.filter((l) => l.startsWith('{') && l.includes('"level"')).map((l) => JSON.parse(l));
    const decided = lines.find((l) => l.message === 'Anomaly decided');
    expect(decided).toMatchObject({ entryId: 'entry-42', decision: 'end_sessions', function_name: 'respond' });
  });

  it('fails every record safe on an invalid config, names the bad fields, and delays the retry', async () => {
    const t = setup(async () => {
      throw new ConfigError(['event#tor.action: Invalid option', 'exclusions.excludedUsers.0: must be a Slack user ID']);
    });
    const result = await t.handler(sqsEvent([message(anomalyEntry({ id: 'a' })), message(anomalyEntry({ id: 'b' }))]), context);
    expect(result.batchItemFailures).toHaveLength(2);
    expect(t.slack.resets).toEqual([]);
    const error = t.logs.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => l.badFields);
    expect(error.badFields).toEqual(['event#tor.action: Invalid option', 'exclusions.excludedUsers.0: must be a Slack user ID']);
    expect(t.sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout)).toEqual([120, 120]);
  });

  it('logs an auth failure naming the token and scope, never the token itself', async () => {
    const t = setup();
    t.slack.failures.resetSessions = [
      new SlackError('missing_scope', 'auth', 'admin', 'admin.users.session.reset', { needed: 'admin.users:write', provided: 'xoxp-sim-admin' }),
    ];
    await t.handler(sqsEvent([message(anomalyEntry({ id: 'a' }))]), context);
    const line = t.logs.find((l) => l.includes('Slack refused a token'));
    expect(JSON.parse(line!)).toMatchObject({ token: 'admin', slackError: 'missing_scope', neededScope: 'admin.users:write' });
    expect(t.logs.join('\n')).not.toMatch(/xox[a-z]-/);
  });

  it('near its timeout starts no work: the batch is sent again for the next invocation (not counted as receives), nothing claimed or reset', async () => {
    const t = setup();
    // The reserve and less than a round's time left: nothing may start.
    const late = { ...context, getRemainingTimeInMillis: () => INVOCATION_RESERVE_MS + 5_000 } as Context;
    const result = await t.handler(sqsEvent([message(anomalyEntry({ id: 'a', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'b', userId: 'U0BBB00002' }))]), late);
    expect(result.batchItemFailures).toEqual([]);
    expect(t.sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.DelaySeconds)).toEqual([1, 1]);
    expect(t.slack.resets).toEqual([]);
    expect(t.ledger.decisions.size).toBe(0);
    // With time, the same batch acts.
    await t.handler(sqsEvent([message(anomalyEntry({ id: 'a', userId: 'U0AAA00001' })), message(anomalyEntry({ id: 'b', userId: 'U0BBB00002' }))]), context);
    expect(t.slack.resets.sort()).toEqual(['U0AAA00001', 'U0BBB00002']);
  });

  it('a handler still running at the function\u2019s timeout fails with an error that says so (not a bare AbortError)', async () => {
    const logger = new Logger({ serviceName: 'respond' });
    const metrics = new Metrics({ serviceName: 'respond', namespace: 'Test' });
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    // Never settles: middy gives up on it just before the timeout, whenever that comes.
    const stuck = withObservability(() => new Promise<never>(() => undefined), logger, metrics);
    const ending = { ...context, getRemainingTimeInMillis: () => 20 } as Context;
    await expect(stuck(sqsEvent([]), ending)).rejects.toMatchObject({ name: 'InvocationTimedOut', message: expect.stringMatching(/ran out of time/) });
  });
});
