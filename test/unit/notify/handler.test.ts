import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { INVOCATION_RESERVE_MS } from '../../../functions/runtime/invocation-time';
import { mockClient } from 'aws-sdk-client-mock';
import { makeNotifyHandler } from '../../../functions/notify/app';
import { DirectoryCache } from '../../../functions/notify/recipients';
import { withObservability } from '../../../functions/runtime/sqs-batch-handler';
import { SlackError } from '../../../functions/adapters/slack/errors';
import { FakeLedger, FakeMailer, FakeSlack, makeConfig, makeJob, person, staticConfig } from './fakes';
import { lambdaContext, sqsEvent } from '../../support/sqs-event';

const context = lambdaContext('notify');
const event = (bodies: string[]) => sqsEvent(bodies, 'notifications');

function setup() {
  const sqs = mockClient(SQSClient);
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({});
  const slack = new FakeSlack([person('U0OWNER'), person('U0ADMIN1')], 'U0OWNER', ['U0ADMIN1']);
  const mailer = new FakeMailer();
  const logger = new Logger({ serviceName: 'notify', logLevel: 'SILENT' });
  const metrics = new Metrics({ serviceName: 'notify', namespace: 'Test' });
  const counted: [string, number][] = [];
  jest.spyOn(metrics, 'addMetric').mockImplementation((name: string, _unit: unknown, value: number) => {
    counted.push([name, value]);
    return metrics;
  });
  const config = makeConfig({ notifications: { sessions_ended: { primaryOwner: ['email'], securityAdmins: ['slack'] } } });
  const handler = withObservability(
    makeNotifyHandler({
      deps: { config: staticConfig(config), directory: new DirectoryCache(slack, 60_000), slack, mailer, ledger: new FakeLedger() },
      sqs: new SQSClient({ region: 'us-east-1' }),
      queueUrl: 'http://127.0.0.1:1/000000000000/notifications',
      logger,
      metrics,
    }),
    logger,
    metrics,
  );
  return { handler, sqs, slack, mailer, counted };
}

afterEach(() => jest.restoreAllMocks());

describe('notify handler', () => {
  it('delivers a valid job and fails only an invalid one (kept for the dead-letter queue, not half-sent)', async () => {
    const t = setup();
    const result = await t.handler(event([JSON.stringify(makeJob({ entryId: 'e-1' })), JSON.stringify({ entryId: 'e-2', type: 'bogus' })]), context);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(t.mailer.sent.map((m) => m.to[0]).sort()).toEqual(['ana@example.com', 'u0owner@example.com']);
    expect(t.slack.posted).toHaveLength(1);
    expect(t.counted).toEqual(expect.arrayContaining([['NotificationsSent', 3], ['NotificationFailures', 1]]));
  });

  it('gives a job back after a Slack 429 with its Retry-After, and a refused bot token slowly', async () => {
    const t = setup();
    t.slack.postFailures.set('D-U0ADMIN1', [new SlackError('ratelimited', 'rate_limited', 'bot', 'chat.postMessage', { retryAfterSeconds: 9 })]);
    await t.handler(event([JSON.stringify(makeJob({ entryId: 'e-3' }))]), context);
    t.slack.postFailures.set('D-U0ADMIN1', [new SlackError('token_revoked', 'auth', 'bot', 'chat.postMessage')]);
    await t.handler(event([JSON.stringify(makeJob({ entryId: 'e-4' }))]), context);
    expect(t.sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout)).toEqual([9, 300]);
    expect(t.counted).toEqual(expect.arrayContaining([['SlackAuthFailures', 1]]));
  });

  it('starts no job once the invocation\u2019s deadline has passed: each is sent again for the next invocation, nothing half-delivered', async () => {
    const t = setup();
    const late = { ...context, getRemainingTimeInMillis: () => INVOCATION_RESERVE_MS } as Context;
    const result = await t.handler(event([JSON.stringify(makeJob({ entryId: 'e-5' })), JSON.stringify(makeJob({ entryId: 'e-6' }))]), late);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(t.sqs.commandCalls(SendMessageCommand).map((c) => [JSON.parse(c.args[0].input.MessageBody!).entryId, c.args[0].input.DelaySeconds])).toEqual([
      ['e-5', 1],
      ['e-6', 1],
    ]);
    expect(t.mailer.sent).toEqual([]);
    expect(t.slack.posted).toEqual([]);
  });
});
