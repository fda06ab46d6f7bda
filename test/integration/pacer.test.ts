import { LedgerPacer } from '../../functions/adapters/dynamodb/pacer';
import { createLocalClients, createResources, endpointsFromEnv, type LocalClients } from '../../tools/local/aws';

/** The shared per-method schedule against DynamoDB Local: containers racing for slots never overfill a window. */
let clients: LocalClients;
let table: string;
const now = Date.parse('2026-11-24T10:00:00Z');

beforeAll(async () => {
  clients = createLocalClients(endpointsFromEnv());
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix: `pacer-${Date.now().toString(36)}` });
  table = resources.tables.ledger;
});
afterAll(() => clients.destroy());

describe('LedgerPacer on DynamoDB Local', () => {
  it('hands out each slot once when several containers ask at the same moment, and no window holds more than the limit', async () => {
    const rule = { limit: 5, windowMs: 60_000 };
    // Six "containers", each with its own pacer over the one table, asking twice each, at once.
    const containers = Array.from({ length: 6 }, () => new LedgerPacer(clients.documents, table, 'respond', () => now, async () => undefined));
    const grants = await Promise.all(containers.flatMap((pacer) => [pacer.acquire('admin.users.session.resetBulk', rule, 10 * 60_000), pacer.acquire('admin.users.session.resetBulk', rule, 10 * 60_000)]));
    expect(grants.every((g) => g.reserved)).toBe(true);
    const slots = grants.map((g) => now + g.waitMs).sort((a, b) => a - b);
    // 12 calls, 5 a window: 5 now, 5 a window later, 2 two windows later.
    expect(slots).toEqual([...Array(5).fill(now), ...Array(5).fill(now + 60_000), now + 120_000, now + 120_000]);
  });

  it('reserves nothing when the slot lies further than the caller would wait, and keeps methods apart', async () => {
    const rule = { limit: 1, windowMs: 60_000 };
    const pacer = new LedgerPacer(clients.documents, table, 'respond', () => now, async () => undefined);
    await expect(pacer.acquire('users.info', rule, 1000)).resolves.toEqual({ waitMs: 0, reserved: true });
    await expect(pacer.acquire('users.info', rule, 1000)).resolves.toEqual({ waitMs: 60_000, reserved: false });
    // The refusal took no slot: the next caller willing to wait a minute gets the very same one.
    await expect(pacer.acquire('users.info', rule, 60_000)).resolves.toEqual({ waitMs: 60_000, reserved: true });
    await expect(pacer.acquire('admin.users.list', rule, 1000)).resolves.toEqual({ waitMs: 0, reserved: true });
  });
});
