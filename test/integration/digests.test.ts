import { Digests } from '../../functions/adapters/dynamodb/digests';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';
import { InMemoryDigests } from '../support/in-memory-digests';

/** The digest's ledger records on DynamoDB Local, and the in-memory fake held to the same behaviour. */
let clients: LocalClients;
let table: string;

beforeAll(async () => {
  clients = createLocalClients(endpointsFromEnv());
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `digests-${Date.now().toString(36)}` });
  table = resources.tables.ledger;
});
afterAll(() => clients.destroy());

describe.each([
  ['Digests on DynamoDB Local', () => new Digests(clients.documents, table)],
  ['InMemoryDigests', () => new InMemoryDigests()],
])('%s', (_name, make) => {
  it('counts each job once, digests the ones past sendAlone even when they arrive at once, and lists them', async () => {
    const digests = make();
    const id = `sessions_ended#${Date.now()}-${Math.random()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => digests.enter(id, `e${i}`, { entryId: `e${i}` }, 4)));
    expect(answers.filter((a) => a.digested)).toHaveLength(2);
    // A retry gets its first answer back.
    const again = await Promise.all(Array.from({ length: 6 }, (_, i) => digests.enter(id, `e${i}`, { entryId: `e${i}` }, 4)));
    expect(again).toEqual(answers);
    const digested = answers.flatMap((a, i) => (a.digested ? [`e${i}`] : [])).sort();
    expect((await digests.members(id)).map((j) => j.entryId)).toEqual(digested);
  });

  it('gives the duty of scheduling the digest to exactly one caller, until released', async () => {
    const digests = make();
    const id = `action_failed#${Date.now()}-${Math.random()}`;
    const claims = await Promise.all(Array.from({ length: 5 }, () => digests.claimFlush(id)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    await digests.releaseFlush(id);
    await expect(digests.claimFlush(id)).resolves.toBe(true);
  });
});
