import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { LEDGER_KEYS } from '../../../functions/adapters/dynamodb/keys';
import { LedgerPacer } from '../../../functions/adapters/dynamodb/pacer';
import { TableDouble } from '../../support/table-double';

/**
 * The pacer's reservations on the strict table double (test/support/table-double.ts): its
 * conditional writes are evaluated as DynamoDB would, so containers racing for one schedule
 * really collide and retry. test/integration/pacer.test.ts holds it to DynamoDB Local too.
 */
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const now = Date.parse('2026-11-24T10:00:00Z');
const noSleep = async () => undefined;
let table: TableDouble;

beforeEach(() => {
  documents.reset();
  table = new TableDouble('ledger');
  table.wire(documents);
});
afterEach(() => jest.restoreAllMocks());
afterAll(() => documents.restore());

describe('LedgerPacer on the table double', () => {
  it('hands out each slot once when several containers ask at the same moment, and no window holds more than the limit', async () => {
    const rule = { limit: 5, windowMs: 60_000 };
    const containers = Array.from({ length: 6 }, () => new LedgerPacer(db, 'ledger', 'respond', () => now, noSleep));
    const grants = await Promise.all(containers.flatMap((pacer) => [pacer.acquire('admin.users.session.resetBulk', rule, 10 * 60_000), pacer.acquire('admin.users.session.resetBulk', rule, 10 * 60_000)]));
    expect(grants.every((g) => g.reserved)).toBe(true);
    const slots = grants.map((g) => now + g.waitMs).sort((a, b) => a - b);
    expect(slots).toEqual([...Array(5).fill(now), ...Array(5).fill(now + 60_000), now + 120_000, now + 120_000]);
    // One item, under respond's own partition, versioned once per reservation, expiring after its last slot's window.
    const item = table.stored({ ...LEDGER_KEYS.respondPacer('admin.users.session.resetBulk') });
    expect(item).toMatchObject({ version: 12, expiresAt: Math.floor((now + 120_000) / 1000) + 60 + 60 });
    expect(table.all().map((stored) => stored.pk)).toEqual(['pacer#respond#admin.users.session.resetBulk']);
  });

  it('reserves nothing when the slot lies further than the caller would wait, and keeps methods apart', async () => {
    const rule = { limit: 1, windowMs: 60_000 };
    const pacer = new LedgerPacer(db, 'ledger', 'notify', () => now, noSleep);
    await expect(pacer.acquire('users.info', rule, 1000)).resolves.toEqual({ waitMs: 0, reserved: true });
    await expect(pacer.acquire('users.info', rule, 1000)).resolves.toEqual({ waitMs: 60_000, reserved: false });
    // The refusal took no slot: the next caller willing to wait a minute gets the very same one.
    await expect(pacer.acquire('users.info', rule, 60_000)).resolves.toEqual({ waitMs: 60_000, reserved: true });
    await expect(pacer.acquire('admin.users.list', rule, 1000)).resolves.toEqual({ waitMs: 0, reserved: true });
  });

  it('keeps each function to its own schedules: respond\u2019s slots are not notify\u2019s', async () => {
    const rule = { limit: 1, windowMs: 60_000 };
    const respond = new LedgerPacer(db, 'ledger', 'respond', () => now, noSleep);
    const notify = new LedgerPacer(db, 'ledger', 'notify', () => now, noSleep);
    await expect(respond.acquire('users.info', rule, 0)).resolves.toEqual({ waitMs: 0, reserved: true });
    await expect(notify.acquire('users.info', rule, 0)).resolves.toEqual({ waitMs: 0, reserved: true });
    expect(table.all().map((stored) => stored.pk).sort()).toEqual(['pacer#notify#users.info', 'pacer#respond#users.info']);
  });

  it('reads the schedule strongly consistent, so a container sees the slot another just took', async () => {
    const pacer = new LedgerPacer(db, 'ledger', 'respond', () => now, noSleep);
    await pacer.acquire('users.info', { limit: 1, windowMs: 60_000 }, 0);
    expect(documents.commandCalls(GetCommand).every((call) => call.args[0].input.ConsistentRead === true)).toBe(true);
  });

  it('gives up after a bounded number of lost races, pausing a jittered, growing, capped time between them', async () => {
    // Another container always writes first.
    documents.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const pauses: number[] = [];
    const pacer = new LedgerPacer(db, 'ledger', 'respond', () => now, async (ms) => void pauses.push(ms));
    await expect(pacer.acquire('users.info', { limit: 1, windowMs: 60_000 }, 0)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(documents.commandCalls(PutCommand).length).toBeGreaterThan(1);
    // Half of 10 ms doubling per lost race, up to 160 ms: 5, 10, 20, 40, 80, then 80 each time.
    expect(pauses.slice(0, 6)).toEqual([5, 10, 20, 40, 80, 80]);
    expect(pauses.every((ms) => ms <= 80)).toBe(true);
    expect(pauses).toHaveLength(documents.commandCalls(PutCommand).length - 1);
  });

  it('passes on a failure other than a lost race at once, without retrying it', async () => {
    documents.on(PutCommand).rejects(Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' }));
    const pacer = new LedgerPacer(db, 'ledger', 'respond', () => now, noSleep);
    await expect(pacer.acquire('users.info', { limit: 1, windowMs: 60_000 }, 0)).rejects.toThrow(/throughput/);
    expect(documents.commandCalls(PutCommand)).toHaveLength(1);
  });
});
