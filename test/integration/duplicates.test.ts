import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { Deliveries } from '../../functions/adapters/dynamodb/deliveries';
import { SqsPublisher, type OutgoingMessage } from '../../functions/adapters/sqs/queue';
import type { ResponseConfigInput } from '../../functions/domain/config/schema';
import type { NotificationJob } from '../../functions/domain/messages';
import { createLambdaContext, type InvocationReport } from '../../tools/local/aws';
import { startLocalPipeline, type LocalPipeline } from '../../tools/local/pipeline';
import { collectFacts, countBy, entryIdOfEmail, entryIdOfMessage, type RunFacts } from '../../tools/shared/soak-checks';
import { sharedEmulators } from '../support/shared-emulators';
import { anomaly, ORG, userId } from './org';
import { sqsEvent } from '../support/sqs-event';

/**
 * Nothing done twice. SQS delivers at least once, so the same anomaly or notification job can
 * reach two invocations at the same moment. Per audit entry the decision and the session reset
 * happen at most once; per (entry, recipient, channel) a notification is sent at most once; and
 * a partly failed notification job retries only what was not sent.
 *
 * Duplicates are delivered two ways: through the real queue to an event source scaled out to
 * five concurrent invocations of one record each (Lambda's worst case), and by invoking the real
 * handlers concurrently with SQS events that hold the same body.
 */

jest.setTimeout(90_000);

const SEC_CHANNEL = 'C0SECALRT1';
const CONFIG: ResponseConfigInput = {
  events: { tor: { action: 'end_sessions' }, unexpected_scraping: { action: 'end_sessions' } },
  notifications: {
    affected_user: { email: true, slack: true },
    sessions_ended: { primaryOwner: ['email', 'slack'], securityAdmins: ['email', 'slack'], extraEmails: ['soc@testco.example'], slackChannel: SEC_CHANNEL },
    anomaly_not_acted_on: { primaryOwner: [], securityAdmins: ['email', 'slack'], extraEmails: [], slackChannel: SEC_CHANNEL },
  },
  safety: { cooldownMinutes: 30, maxSessionResetsPerHour: 100 },
};
/** Who hears about a sessions_ended entry for `name` under CONFIG, by email and on Slack. */
const sessionsEndedEmails = (name: string) => [`${name}@testco.example`, 'olga@testco.example', 'sam@testco.example', 'sue@testco.example', 'soc@testco.example'].sort();
const SLACK_DESTINATIONS = 5; // the user, the owner and two admins by DM, and the channel

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

let pipeline: LocalPipeline;
let respond: SqsHandler;
let notify: SqsHandler;
const reports: InvocationReport[] = [];
const published: OutgoingMessage[] = [];
/** How each claim of a ledger record ended: won, refused because done, or refused because a twin held it. */
type ClaimOutcome = 'won' | 'done' | 'held';
const entryClaims: { entryId: string; outcome: ClaimOutcome }[] = [];
const deliveryClaims: { entryId: string; key: string; outcome: ClaimOutcome }[] = [];
const outcomeOf = async <T>(claim: Promise<T>, won: (value: T) => boolean): Promise<ClaimOutcome> =>
  claim.then(
    (value) => (won(value) ? 'won' : 'done'),
    () => 'held',
  );

beforeAll(async () => {
  pipeline = await startLocalPipeline({
    emulators: sharedEmulators(),
    scenario: { org: ORG, entries: [] } as never,
    config: CONFIG,
    // Lease-held duplicates and failed records come back within seconds.
    queueOverrides: {
      anomalies: { visibilityTimeoutSeconds: 2, maxReceiveCount: 20 },
      notifications: { visibilityTimeoutSeconds: 2, maxReceiveCount: 20 },
    },
    // One record per invocation, five at once: every copy of a message meets its twins concurrently.
    eventSourceOverrides: { respond: { batchSize: 1, concurrency: 5, maxBatchingWindowSeconds: 0 } },
    functionEnv: { POWERTOOLS_LOG_LEVEL: process.env.TEST_FUNCTION_LOG_LEVEL ?? 'SILENT' },
    onInvoke: (report) => reports.push(report),
  });
  // The same modules the pipeline loaded (this file's registry): the real, already configured handlers.
  respond = require('../../functions/respond/handler').handler as SqsHandler;
  notify = require('../../functions/notify/handler').handler as SqsHandler;
  // The ledger's exactly-once gates as the real handlers meet them (this file's registry, as above).
  const claimEntry = DecisionLog.prototype.claimEntry;
  jest.spyOn(DecisionLog.prototype, 'claimEntry').mockImplementation(function (this: DecisionLog, entryId: string, leaseMs: number) {
    const claim = claimEntry.call(this, entryId, leaseMs);
    void outcomeOf(claim, (c) => c.claimed).then((outcome) => entryClaims.push({ entryId, outcome }));
    return claim;
  });
  const claimDelivery = Deliveries.prototype.claimDelivery;
  jest.spyOn(Deliveries.prototype, 'claimDelivery').mockImplementation(function (this: Deliveries, entryId: string, key: string, leaseMs: number) {
    const claim = claimDelivery.call(this, entryId, key, leaseMs);
    void outcomeOf(claim, (won) => won).then((outcome) => deliveryClaims.push({ entryId, key, outcome }));
    return claim;
  });
  const publish = SqsPublisher.prototype.publish;
  jest.spyOn(SqsPublisher.prototype, 'publish').mockImplementation(async function (this: SqsPublisher, messages: OutgoingMessage[]) {
    await publish.call(this, messages);
    published.push(...messages);
  });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await pipeline?.stop();
});

/** An anomaly entry as the audit log serves it, about one of ORG's people. */
function auditEntry(name: string, reasons: string[], id: string) {
  const person = ORG.users.find((u) => u.id === userId(name))!;
  const user = { id: person.id, name: person.name, email: person.email, team: ORG.enterprise.id };
  const now = Math.floor(Date.now() / 1000);
  return {
    id,
    date_create: now - 30,
    action: 'anomaly',
    actor: { type: 'user', user },
    entity: { type: 'user', user },
    context: {
      location: { type: 'enterprise', ...ORG.enterprise },
      ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      ip_address: '198.51.100.23',
      session_id: '1718019876543',
    },
    details: { action_timestamp: now * 1_000_000, location: 'Reno, Nevada', previous_ip_address: '203.0.113.7', reason: reasons },
  };
}
const anomalyBody = (entry: unknown) => JSON.stringify({ entry, polledAt: Date.now() });

/** Separate deliveries of `bodies` from the pipeline's queue, as Lambda receives them. */
const deliveries = (queue: 'anomalies' | 'notifications', bodies: string[]) =>
  sqsEvent(bodies, pipeline.resources.queues[queue].arn, { uniqueIds: true });

/**
 * Each body in its own invocation, all at once; then, like SQS after a visibility timeout,
 * the records that failed again (one at a time) until none fails. Returns each round's failures.
 */
async function deliverConcurrently(handler: SqsHandler, queue: 'anomalies' | 'notifications', bodies: string[]): Promise<number[]> {
  const failuresPerRound: number[] = [];
  let pending = bodies;
  for (let round = 0; pending.length; round++) {
    if (round >= 10) throw new Error(`still failing after 10 deliveries: ${pending.length} record(s)`);
    const context = createLambdaContext({ functionName: queue === 'anomalies' ? 'respond' : 'notify', timeoutSeconds: 60 });
    const responses = await Promise.all(pending.map((body) => handler(deliveries(queue, [body]), context)));
    pending = pending.filter((_, i) => (responses[i].batchItemFailures ?? []).length > 0);
    failuresPerRound.push(pending.length);
    if (pending.length) await new Promise((r) => setTimeout(r, 200));
  }
  return failuresPerRound;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const jobsFor = (entryId: string) => published.filter((m) => (m.body as Partial<NotificationJob>)?.entryId === entryId && 'type' in (m.body as object));
const emailsFor = (facts: RunFacts, entryId: string) => facts.emails.filter((e) => entryIdOfEmail(e) === entryId);
const messagesFor = (facts: RunFacts, entryId: string) => facts.messages.filter((m) => entryIdOfMessage(m) === entryId);
const resetsOf = (user: string) => pipeline.simulator!.state().resets.filter((r) => r.userId === user).length;
const resetRequestsOf = (user: string) => pipeline.simulator!.state().resetRequests[user] ?? 0;

/** Exactly one email per recipient and one Slack message per destination, for this entry. */
function expectNotifiedOnce(facts: RunFacts, entryId: string, emailRecipients: string[], slackDestinations: number) {
  const emails = emailsFor(facts, entryId);
  expect(emails.map((e) => e.to.join(',')).sort()).toEqual(emailRecipients);
  const perChannel = countBy(messagesFor(facts, entryId), (m) => m.channel);
  expect(perChannel.size).toBe(slackDestinations);
  expect([...perChannel.values()].every((n) => n === 1)).toBe(true);
}

describe('nothing done twice under concurrent duplicate delivery', () => {
  it('the same anomaly sent five times at once through SQS: one reset, one decision, one notification job, one message per recipient', async () => {
    const entryId = 'dup-queue-ana';
    const body = anomalyBody(auditEntry('ana', ['tor'], entryId));
    await pipeline.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: pipeline.resources.queues.anomalies.url,
        Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `copy${i}`, MessageBody: body })),
      }),
    );
    await pipeline.runUntilSettled({ timeoutMs: 60_000 });
    const facts = await collectFacts(pipeline);

    // The copies were handled by separate invocations (one record each).
    expect(reports.filter((r) => r.functionName === 'respond').length).toBeGreaterThanOrEqual(5);
    expect(resetsOf(userId('ana'))).toBe(1);
    expect(resetRequestsOf(userId('ana'))).toBe(1);
    expect(facts.decisions.filter((d) => d.entryId === entryId).map((d) => d.outcome)).toEqual(['sessions_ended']);
    expect(jobsFor(entryId)).toHaveLength(1);
    expectNotifiedOnce(facts, entryId, sessionsEndedEmails('ana'), SLACK_DESTINATIONS);
    expect(facts.deadLetterQueues).toEqual({ anomalies: 0, notifications: 0 });
  });

  it('the same anomaly in five concurrent invocations of the respond handler: one reset, one decision, one notification job', async () => {
    const entryId = 'dup-direct-ben';
    const body = anomalyBody(auditEntry('ben', ['unexpected_scraping'], entryId));
    const failures = await deliverConcurrently(respond, 'anomalies', Array(5).fill(body));
    // Every delivery (the five copies and the retries of the failed ones) met the entry's claim; one
    // won. The copies that found it held by a twin failed and were retried, and that was the only
    // reason any delivery failed; the others (and the retries) found it decided.
    const claims = entryClaims.filter((c) => c.entryId === entryId).map((c) => c.outcome);
    expect(claims).toHaveLength(5 + sum(failures));
    expect(claims.filter((c) => c === 'won')).toHaveLength(1);
    expect(claims.filter((c) => c === 'held')).toHaveLength(sum(failures));
    await pipeline.runUntilSettled({ timeoutMs: 60_000 });
    const facts = await collectFacts(pipeline);

    expect(resetsOf(userId('ben'))).toBe(1);
    expect(resetRequestsOf(userId('ben'))).toBe(1);
    expect(facts.decisions.filter((d) => d.entryId === entryId).map((d) => d.outcome)).toEqual(['sessions_ended']);
    expect(jobsFor(entryId)).toHaveLength(1);
    expectNotifiedOnce(facts, entryId, sessionsEndedEmails('ben'), SLACK_DESTINATIONS);
  });

  it('two entries about the same person at the same moment: loop protection holds, one reset', async () => {
    const first = anomalyBody(auditEntry('dan', ['tor'], 'dup-cooldown-dan-1'));
    const second = anomalyBody(auditEntry('dan', ['unexpected_scraping'], 'dup-cooldown-dan-2'));
    const failures = await deliverConcurrently(respond, 'anomalies', [first, second, first, second]);
    for (const entryId of ['dup-cooldown-dan-1', 'dup-cooldown-dan-2']) {
      const claims = entryClaims.filter((c) => c.entryId === entryId).map((c) => c.outcome);
      expect(claims.filter((c) => c === 'won')).toHaveLength(1);
      expect(claims.length).toBeGreaterThanOrEqual(2); // both copies met the claim
    }
    expect(entryClaims.filter((c) => c.entryId.startsWith('dup-cooldown-dan-') && c.outcome === 'held')).toHaveLength(sum(failures));
    await pipeline.runUntilSettled({ timeoutMs: 60_000 });
    const facts = await collectFacts(pipeline);

    expect(resetsOf(userId('dan'))).toBe(1);
    const outcomes = facts.decisions.filter((d) => d.entryId.startsWith('dup-cooldown-dan-')).map((d) => `${d.outcome}:${d.reason}`);
    expect(outcomes.sort()).toEqual(['notified:cooldown', 'sessions_ended:rule_end_sessions']);
  });

  it('the same notification job in five concurrent invocations of the notify handler: each recipient and channel once', async () => {
    const entryId = 'dup-notify-fay';
    const person = ORG.users.find((u) => u.id === userId('fay'))!;
    const job: NotificationJob = {
      entryId,
      type: 'sessions_ended',
      occurredAt: Math.floor(Date.now() / 1000) - 60,
      user: { id: person.id, name: person.name, email: person.email },
      events: ['tor'],
      otherReasons: [],
      context: { ipAddress: '198.51.100.23', location: 'Reno, Nevada' },
      response: { outcome: 'sessions_ended' },
    };
    await deliverConcurrently(notify, 'notifications', Array(5).fill(JSON.stringify(job)));
    // Each delivery was claimed by every copy that reached it, and won by exactly one.
    const byKey = countBy(deliveryClaims.filter((c) => c.entryId === entryId), (c) => c.key);
    expect(byKey.size).toBe(5 + SLACK_DESTINATIONS);
    expect([...byKey.values()].every((n) => n >= 5)).toBe(true);
    const wins = countBy(deliveryClaims.filter((c) => c.entryId === entryId && c.outcome === 'won'), (c) => c.key);
    expect(wins.size).toBe(5 + SLACK_DESTINATIONS);
    expect([...wins.values()].every((n) => n === 1)).toBe(true);
    const facts = await collectFacts(pipeline);

    expectNotifiedOnce(facts, entryId, sessionsEndedEmails('fay'), SLACK_DESTINATIONS);
    const receipts = facts.receipts.filter((r) => r.entryId === entryId);
    expect(receipts).toHaveLength(5 + SLACK_DESTINATIONS);
    expect(receipts.every((r) => r.status === 'sent')).toBe(true);
  });

  it('a notification job whose Slack posts fail while its emails go out: the retry sends only the Slack messages', async () => {
    const entryId = 'dup-partial-gil';
    const sim = pipeline.simulator!;
    sim.setFaults([{ target: 'chat.postMessage', kind: 'server_error', status: 503, firstN: 3 }]);
    const postsBefore = sim.state().calls.filter((c) => c.method === 'chat.postMessage').length;
    const notifyBefore = reports.filter((r) => r.functionName === 'notify').length;
    try {
      sim.addEntries([anomaly('gil', ['tor'], { id: entryId, ageSeconds: 5 })]);
      await pipeline.runUntilSettled({ timeoutMs: 60_000 });
    } finally {
      sim.setFaults([]);
    }
    const facts = await collectFacts(pipeline);

    const posts = sim.state().calls.filter((c) => c.method === 'chat.postMessage').slice(postsBefore);
    expect(posts.filter((c) => c.fault)).toHaveLength(3);
    expect(posts.filter((c) => !c.fault)).toHaveLength(SLACK_DESTINATIONS);
    // The job failed once, then went through: emails were not sent again.
    expect(reports.filter((r) => r.functionName === 'notify').slice(notifyBefore).some((r) => r.result === 'partial-failure')).toBe(true);
    expectNotifiedOnce(facts, entryId, sessionsEndedEmails('gil'), SLACK_DESTINATIONS);
    expect(jobsFor(entryId)).toHaveLength(1);
  });

  it('concurrent invocations of one handler instance each report only their own failed records', async () => {
    const sim = pipeline.simulator!;
    // Every reset of hal fails (503 before the work); everyone else's succeeds.
    sim.setFaults([{ target: 'admin.users.session.reset', kind: 'server_error', status: 503, match: { user_id: userId('hal') } }]);
    try {
      const failing = deliveries('anomalies', ['a', 'b', 'c'].map((x) => anomalyBody(auditEntry('hal', ['tor'], `dup-reentrant-hal-${x}`))));
      const passing = deliveries('anomalies', ['ivy', 'jon', 'kim'].map((name) => anomalyBody(auditEntry(name, ['tor'], `dup-reentrant-${name}`))));
      const context = createLambdaContext({ functionName: 'respond', timeoutSeconds: 60 });
      const [failed, passed] = await Promise.all([respond(failing, context), respond(passing, context)]);
      expect((failed.batchItemFailures ?? []).map((f) => f.itemIdentifier).sort()).toEqual(failing.Records.map((r) => r.messageId).sort());
      expect(passed.batchItemFailures ?? []).toEqual([]);
    } finally {
      sim.setFaults([]);
    }
    await pipeline.runUntilSettled({ timeoutMs: 60_000 });
  });
});
