import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Digests } from '../../../functions/adapters/dynamodb/digests';
import { expiresAfter, LEDGER_KEYS } from '../../../functions/adapters/dynamodb/keys';
import { TableDouble } from '../../support/table-double';

/**
 * The admin digest's ledger records (digest#…) on the strict table double
 * (test/support/table-double.ts): its conditional writes, counter and Query are evaluated as
 * DynamoDB would. test/integration/digests.test.ts holds the same behaviour to DynamoDB Local.
 */
const documents = mockClient(DynamoDBDocumentClient);
const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const NOW = Date.parse('2026-11-24T10:20:00.250Z');
const DAY_SECONDS = 24 * 3600;
const ID = 'sessions_ended#1764000000';
const throttled = () => Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' });
let table: TableDouble;

const digests = () => new Digests(db, 'ledger', () => NOW);
const job = (entryId: string) => ({ entryId, type: 'sessions_ended' });

beforeEach(() => {
  documents.reset();
  table = new TableDouble('ledger');
  table.wire(documents);
});
afterAll(() => documents.restore());

describe('Digests.enter', () => {
  it('sends the first sendAlone jobs of a period alone and digests the rest, one count per job, records living a day', async () => {
    const ledger = digests();
    const answers = [];
    for (const id of ['e1', 'e2', 'e3', 'e4']) answers.push((await ledger.enter(ID, id, job(id), 2)).digested);
    expect(answers).toEqual([false, false, true, true]);
    expect(table.stored({ ...LEDGER_KEYS.digestCount(ID) })).toEqual({ ...LEDGER_KEYS.digestCount(ID), count: 4, expiresAt: expiresAfter(NOW, DAY_SECONDS) });
    expect(table.stored({ ...LEDGER_KEYS.digestMember(ID, 'e3') })).toEqual({ ...LEDGER_KEYS.digestMember(ID, 'e3'), job: job('e3'), digested: true, expiresAt: expiresAfter(NOW, DAY_SECONDS) });
    expect(table.stored({ ...LEDGER_KEYS.digestMember(ID, 'e1') })).toMatchObject({ job: job('e1'), digested: false });
  });

  it('gives a retried job its first answer back without counting it again', async () => {
    const ledger = digests();
    await ledger.enter(ID, 'e1', job('e1'), 1);
    await ledger.enter(ID, 'e2', job('e2'), 1);
    await expect(ledger.enter(ID, 'e1', job('e1'), 1)).resolves.toEqual({ digested: false });
    await expect(ledger.enter(ID, 'e2', job('e2'), 1)).resolves.toEqual({ digested: true });
    expect(table.stored({ ...LEDGER_KEYS.digestCount(ID) })).toMatchObject({ count: 2 });
  });

  it('digests every job when none may go alone, and keeps periods apart', async () => {
    const ledger = digests();
    await expect(ledger.enter(ID, 'e1', job('e1'), 0)).resolves.toEqual({ digested: true });
    await expect(ledger.enter('sessions_ended#1764000600', 'e1', job('e1'), 1)).resolves.toEqual({ digested: false });
  });

  it('sends alone a job whose answer was never stored (its count failed), and a retry says so too', async () => {
    documents.on(UpdateCommand).rejectsOnce(throttled());
    const ledger = digests();
    await expect(ledger.enter(ID, 'e1', job('e1'), 0)).rejects.toThrow(/throughput/);
    await expect(ledger.enter(ID, 'e1', job('e1'), 0)).resolves.toEqual({ digested: false });
    expect(table.stored({ ...LEDGER_KEYS.digestCount(ID) })).toBeUndefined();
  });

  it('passes on a failure other than "already entered" instead of answering', async () => {
    documents.on(PutCommand).rejects(throttled());
    await expect(digests().enter(ID, 'e1', job('e1'), 5)).rejects.toThrow(/throughput/);
  });

  it('sends a job alone when the counter write returns no count', async () => {
    documents.on(UpdateCommand).resolves({});
    await expect(digests().enter(ID, 'e1', job('e1'), 0)).resolves.toEqual({ digested: false });
  });
});

describe('Digests.claimFlush / releaseFlush', () => {
  it('gives the duty to one caller, again after a release, without touching the count', async () => {
    const ledger = digests();
    await ledger.enter(ID, 'e1', job('e1'), 0);
    expect(await Promise.all([ledger.claimFlush(ID), ledger.claimFlush(ID), ledger.claimFlush(ID)])).toEqual([true, false, false]);
    await ledger.releaseFlush(ID);
    await expect(ledger.claimFlush(ID)).resolves.toBe(true);
    await expect(ledger.claimFlush('sessions_ended#1764000600')).resolves.toBe(true);
    expect(table.stored({ ...LEDGER_KEYS.digestCount(ID) })).toMatchObject({ count: 1 });
  });

  it('releasing a period never claimed writes nothing and does not fail', async () => {
    await expect(digests().releaseFlush(ID)).resolves.toBeUndefined();
    expect(table.all()).toEqual([]);
  });

  it('passes on failures other than the condition', async () => {
    documents.on(UpdateCommand).rejects(throttled());
    await expect(digests().claimFlush(ID)).rejects.toThrow(/throughput/);
    await expect(digests().releaseFlush(ID)).rejects.toThrow(/throughput/);
  });

  it('reads a refused claim as "someone else has it"', async () => {
    documents.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    await expect(digests().claimFlush(ID)).resolves.toBe(false);
  });
});

describe('Digests.members', () => {
  it('lists the digested jobs of the period only, in entry-id order, across pages, reading its own writes', async () => {
    table = new TableDouble('ledger', 2); // two items a page: the period's records span several pages
    documents.reset();
    table.wire(documents);
    const ledger = digests();
    for (const id of ['e5', 'e1', 'e4', 'e2', 'e3']) await ledger.enter(ID, id, job(id), 2);
    await ledger.enter('sessions_ended#1764000600', 'e9', job('e9'), 0);
    await ledger.claimFlush(ID);
    // e5 and e1 went alone; e4, e2 and e3 into the digest.
    expect(await ledger.members(ID)).toEqual([job('e2'), job('e3'), job('e4')]);
    expect(documents.commandCalls(QueryCommand).length).toBeGreaterThan(1);
    expect(documents.commandCalls(QueryCommand).every((call) => call.args[0].input.ConsistentRead === true)).toBe(true);
  });

  it('lists nothing for a period without digested jobs', async () => {
    await digests().enter(ID, 'e1', job('e1'), 1);
    await expect(digests().members(ID)).resolves.toEqual([]);
  });
});
