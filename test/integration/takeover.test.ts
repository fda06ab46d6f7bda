import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DecisionLog } from '../../functions/adapters/dynamodb/decision-log';
import { LEDGER_KEYS } from '../../functions/adapters/dynamodb/keys';
import { BUDGET_WINDOW_MS } from '../../functions/adapters/dynamodb/reset-guard';
import { ResetGuard } from '../../functions/adapters/dynamodb/reset-guard';
import { defaultConfig, responseConfigSchema } from '../../functions/domain/config/schema';
import { LeaseHeldError } from '../../functions/domain/errors';
import { respondToMessage, RespondDirectory, type RespondDeps } from '../../functions/respond/respond';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';
import { anomalyEntry, message } from '../support/entries';
import { FakeSlack } from '../support/fake-slack';
import { RecordingPublisher } from '../support/recording-publisher';

/**
 * A crash mid-decision, on the real ledger (DynamoDB Local): an invocation claims an entry,
 * reserves the person's reset and takes a unit of the hourly budget, then dies (no cleanup runs,
 * as when Lambda times out or the process is killed). Once its lease has run out another
 * invocation takes the entry over; it must not take the reservation or the budget twice, and the
 * sessions end exactly once.
 */
let clients: LocalClients;
let table: string;

beforeAll(async () => {
  clients = createLocalClients(endpointsFromEnv());
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `takeover-${Date.now().toString(36)}` });
  table = resources.tables.ledger;
});
afterAll(() => clients.destroy());

const never = () => new Promise<never>(() => undefined);
const LEASE_MS = 120_000;

/** `start`: each test in an hour of its own, so that it reads only its own budget counter. */
function setup(userId: string, start: string) {
  let nowMs = Date.parse(start);
  const clock = () => nowMs;
  const slack = new FakeSlack();
  slack.users.set(userId, { name: 'ana', email: 'ana@example.com' });
  const notifications = new RecordingPublisher();
  const config = responseConfigSchema.parse(defaultConfig());
  const deps = (overrides: Partial<RespondDeps> = {}): RespondDeps => ({
    config: { load: async () => config },
    decisions: new DecisionLog(clients.documents, table, 400, clock),
    resets: new ResetGuard(clients.documents, table, clock),
    slack,
    notifications,
    directory: new RespondDirectory(slack, 60_000, clock),
    leaseMs: LEASE_MS,
    now: clock,
    ...overrides,
  });
  const item = async (key: { pk: string; sk: string }) => (await clients.documents.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  return {
    slack,
    notifications,
    deps,
    advance: (ms: number) => (nowMs += ms),
    budgetUsed: async () => (((await item(LEDGER_KEYS.breaker()))?.units as number[] | undefined) ?? []).filter((at) => at > nowMs - BUDGET_WINDOW_MS).length,
    reservation: () => item(LEDGER_KEYS.lastReset(userId)),
    decision: (entryId: string) => item(LEDGER_KEYS.decision(entryId)),
  };
}

/** A promise and its resolve: resolved when the abandoned invocation reaches the point where it hangs. */
function reached(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('a crash mid-decision and the lease takeover (DynamoDB Local)', () => {
  it('dies after reserving the reset and taking the budget, before ending the sessions: the takeover ends them once, without a second unit', async () => {
    const user = 'W0CRASH001';
    const t = setup(user, '2026-11-24T10:10:00Z');
    const body = message(anomalyEntry({ id: 'crash-before-reset', userId: user }));
    const hung = reached();
    let slackCalls = 0;
    const dying = {
      resetSessions: (id: string) => (slackCalls++ === 0 ? (hung.resolve(), never()) : t.slack.resetSessions(id)),
      resetSessionsBulk: (ids: readonly string[]) => t.slack.resetSessionsBulk(ids),
    };
    void respondToMessage(body, t.deps({ slack: dying }));
    await hung.promise;
    expect(await t.budgetUsed()).toBe(1);
    expect(await t.reservation()).toMatchObject({ entryId: 'crash-before-reset' });

    // While its lease runs, a redelivery waits.
    t.advance(LEASE_MS / 2);
    await expect(respondToMessage(body, t.deps({ slack: dying }))).rejects.toBeInstanceOf(LeaseHeldError);
    // After it, the redelivery takes the entry over.
    t.advance(LEASE_MS);
    await expect(respondToMessage(body, t.deps({ slack: dying }))).resolves.toMatchObject({ kind: 'decided', outcome: { kind: 'sessions_ended' } });

    expect(t.slack.resets).toEqual([user]);
    expect(await t.budgetUsed()).toBe(1);
    expect(await t.reservation()).toMatchObject({ entryId: 'crash-before-reset', done: true });
    expect(await t.decision('crash-before-reset')).toMatchObject({ status: 'done', outcome: 'sessions_ended' });
    expect(t.notifications.messages).toHaveLength(1);
  });

  it('dies after ending the sessions, before recording: the takeover records it without a second reset or unit', async () => {
    const user = 'W0CRASH002';
    const t = setup(user, '2026-11-24T12:10:00Z');
    const body = message(anomalyEntry({ id: 'crash-before-record', userId: user }));
    const decisions = t.deps().decisions as DecisionLog;
    const hung = reached();
    let recordCalls = 0;
    const dyingLog = Object.assign(Object.create(decisions) as DecisionLog, {
      completeDecision: (record: Parameters<DecisionLog['completeDecision']>[0]) => (recordCalls++ === 0 ? (hung.resolve(), never()) : decisions.completeDecision(record)),
    });
    void respondToMessage(body, t.deps({ decisions: dyingLog }));
    await hung.promise;
    expect(t.slack.resets).toEqual([user]);

    t.advance(LEASE_MS + 1);
    await expect(respondToMessage(body, t.deps({ decisions: dyingLog }))).resolves.toMatchObject({ kind: 'decided', outcome: { kind: 'sessions_ended' } });
    expect(t.slack.resets).toEqual([user]);
    expect(await t.budgetUsed()).toBe(1);
    expect(await t.decision('crash-before-record')).toMatchObject({ status: 'done', outcome: 'sessions_ended' });
    expect(t.notifications.messages).toHaveLength(1);
  });
});
