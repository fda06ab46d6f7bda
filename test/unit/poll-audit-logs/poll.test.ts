import { BOUNDED_TEXT_LENGTH, CUT_MARKER, MAX_ENTRY_BYTES, parseAuditEntry } from '../../../functions/domain/audit-entry';
import { pollAuditLog, nextWindow, type PollDeps, type PollSettings } from '../../../functions/poll-audit-logs/poll';
import { SlackError } from '../../../functions/adapters/slack/errors';
import type { AuditLogSource } from '../../../functions/adapters/slack/audit-logs-client';
import { FakeAuditLog } from '../../support/fake-audit-log';
import { InMemoryLedger } from '../../support/in-memory-ledger';
import { RecordingPublisher } from '../../support/recording-publisher';

const T0 = 1_800_000_000; // unix seconds

const settings: PollSettings = {
  overlapSeconds: 600,
  initialLookbackSeconds: 3600,
  pageLimit: 2,
  seenRetentionSeconds: 72 * 3600,
  safetyMarginMs: 5_000,
  transientRetries: 2,
};

function setup() {
  let nowMs = T0 * 1000;
  const clock = () => nowMs;
  const audit = new FakeAuditLog(clock);
  const ledger = new InMemoryLedger(clock);
  const publisher = new RecordingPublisher();
  const sleeps: number[] = [];
  let remaining = 60_000;
  const deps: PollDeps = {
    audit,
    ledger,
    publisher,
    settings,
    now: clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      nowMs += ms;
    },
    remainingMs: () => remaining,
  };
  return {
    deps,
    audit,
    ledger,
    publisher,
    sleeps,
    advance: (seconds: number) => (nowMs += seconds * 1000),
    setRemaining: (ms: number) => (remaining = ms),
    enqueuedIds: () => publisher.bodies<{ entry: { id: string } }>().map((b) => b.entry.id),
  };
}

const entry = (id: string, date_create: number, visibleFrom?: number) => ({ id, date_create, action: 'anomaly', visibleFrom });
/** A whole anomaly entry as Slack sends it (what respond would act on). */
const anomaly = (id: string, date_create: number, userId: string) => ({
  id,
  date_create,
  action: 'anomaly',
  entity: { type: 'user', user: { id: userId, name: 'someone', email: 'someone@example.com', team: 'E0ORG00001' } },
  context: { ua: 'Mozilla/5.0', ip_address: '192.0.2.1' },
  details: { reason: ['tor'] },
});

describe('pollAuditLog', () => {
  it('first poll reads back the initial lookback plus overlap, enqueues everything and advances the checkpoint to the window end', async () => {
    const t = setup();
    t.audit.entries.push(entry('a', T0 - 100), entry('b', T0 - 50), entry('c', T0 - 10), entry('too-old', T0 - 3600 - 601));
    const result = await pollAuditLog(t.deps);
    expect(result.window).toEqual({ oldest: T0 - 3600 - 600, latest: T0 });
    expect(t.enqueuedIds().sort()).toEqual(['a', 'b', 'c']);
    expect(result).toMatchObject({ completed: true, enqueued: 3, duplicatesDropped: 0, pages: 2, checkpoint: T0 });
    expect(t.ledger.checkpoint).toEqual({ checkpoint: T0 });
  });

  it('pages newest first with the cursor and asks for action=anomaly bounds on every page', async () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.audit.entries.push(entry(`e${i}`, T0 - 100 + i));
    await pollAuditLog(t.deps);
    expect(t.audit.calls.map((c) => c.cursor)).toEqual([undefined, expect.any(String), expect.any(String)]);
    expect(new Set(t.audit.calls.map((c) => `${c.oldest}-${c.latest}`)).size).toBe(1);
    expect(t.enqueuedIds()).toEqual(['e4', 'e3', 'e2', 'e1', 'e0']);
  });

  it('re-reads the overlap on the next poll but never enqueues an entry twice', async () => {
    const t = setup();
    t.audit.entries.push(entry('a', T0 - 30), entry('b', T0 - 5));
    await pollAuditLog(t.deps);
    t.advance(60);
    t.audit.entries.push(entry('c', T0 + 30));
    const second = await pollAuditLog(t.deps);
    expect(second.window).toEqual({ oldest: T0 - 600, latest: T0 + 60 });
    expect(second).toMatchObject({ entriesSeen: 3, enqueued: 1, duplicatesDropped: 2 });
    expect(t.enqueuedIds()).toEqual(['b', 'a', 'c']);
  });

  it('picks up an entry that Slack published late, inside the overlap window', async () => {
    const t = setup();
    t.audit.entries.push(entry('late', T0 - 120, T0 + 200), entry('on-time', T0 - 60));
    await pollAuditLog(t.deps);
    expect(t.enqueuedIds()).toEqual(['on-time']);
    t.advance(300);
    await pollAuditLog(t.deps);
    expect(t.enqueuedIds()).toEqual(['on-time', 'late']);
  });

  it('drops an id repeated within one response', async () => {
    const t = setup();
    t.deps.settings = { ...settings, pageLimit: 10 };
    t.audit.entries.push(entry('dup', T0 - 10), entry('dup', T0 - 10));
    const result = await pollAuditLog(t.deps);
    expect(t.enqueuedIds()).toEqual(['dup']);
    expect(result.duplicatesDropped).toBe(1);
  });

  it('de-duplicates entries without an id by content', async () => {
    const t = setup();
    t.audit.entries.push({ date_create: T0 - 5, action: 'anomaly' } as never);
    await pollAuditLog(t.deps);
    t.advance(30);
    await pollAuditLog(t.deps);
    expect(t.publisher.messages).toHaveLength(1);
    expect(t.publisher.messages[0].id).toMatch(/^sha256-[0-9a-f]{64}$/);
  });

  it('waits out a short Retry-After inside the run and carries on', async () => {
    const t = setup();
    t.audit.entries.push(entry('a', T0 - 3), entry('b', T0 - 2), entry('c', T0 - 1));
    t.audit.failures = [undefined, new SlackError('ratelimited', 'rate_limited', 'audit', 'audit.logs', { retryAfterSeconds: 3 })];
    const result = await pollAuditLog(t.deps);
    expect(t.sleeps).toEqual([3000]);
    expect(result.completed).toBe(true);
    expect(t.enqueuedIds().sort()).toEqual(['a', 'b', 'c']);
  });

  it('stops on a long Retry-After, saves the cursor, and resumes the same window next run without a gap or a repeat', async () => {
    const t = setup();
    for (let i = 0; i < 6; i++) t.audit.entries.push(entry(`e${i}`, T0 - 100 + i));
    t.audit.failures = [undefined, new SlackError('ratelimited', 'rate_limited', 'audit', 'audit.logs', { retryAfterSeconds: 120 })];
    const first = await pollAuditLog(t.deps);
    expect(first).toMatchObject({ completed: false, interruptedBy: 'rate_limited', enqueued: 2 });
    expect(t.ledger.checkpoint.checkpoint).toBeUndefined();
    expect(t.ledger.checkpoint.pending).toEqual({ oldest: T0 - 4200, latest: T0, cursor: expect.any(String), pages: 1 });

    const savedCursor = t.ledger.checkpoint.pending?.cursor;
    t.advance(120);
    const second = await pollAuditLog(t.deps);
    expect(second).toMatchObject({ completed: true, window: { oldest: T0 - 4200, latest: T0 }, enqueued: 4 });
    expect(t.audit.calls[2].cursor).toBe(savedCursor);
    expect(t.enqueuedIds().sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
    expect(t.ledger.checkpoint).toEqual({ checkpoint: T0 });
  });

  it('retries transient failures a bounded number of times, then saves progress and fails the run', async () => {
    const t = setup();
    t.audit.entries.push(entry('a', T0 - 3), entry('b', T0 - 2), entry('c', T0 - 1));
    const outage = () => new SlackError('http_503', 'transient', 'audit', 'audit.logs', { status: 503 });
    t.audit.failures = [undefined, outage(), outage(), outage()];
    await expect(pollAuditLog(t.deps)).rejects.toThrow(/http_503/);
    expect(t.sleeps).toHaveLength(2);
    expect(t.ledger.checkpoint.pending?.cursor).toEqual(expect.any(String));
    await pollAuditLog(t.deps);
    expect(t.enqueuedIds().sort()).toEqual(['a', 'b', 'c']);
  });

  it('does not advance the checkpoint or mark entries seen when the enqueue fails', async () => {
    const t = setup();
    t.audit.entries.push(entry('a', T0 - 3));
    t.publisher.failNext = 1;
    await expect(pollAuditLog(t.deps)).rejects.toThrow('SQS unavailable');
    expect(t.ledger.seen.size).toBe(0);
    expect(t.ledger.checkpoint.checkpoint).toBeUndefined();
    await pollAuditLog(t.deps);
    expect(t.enqueuedIds()).toEqual(['a']);
  });

  it('stops before the Lambda deadline and resumes from the saved cursor', async () => {
    const t = setup();
    for (let i = 0; i < 4; i++) t.audit.entries.push(entry(`e${i}`, T0 - 10 + i));
    const remaining = [60_000, 1_000];
    t.deps.remainingMs = () => remaining.shift() ?? 1_000;
    const first = await pollAuditLog(t.deps);
    expect(first).toMatchObject({ interruptedBy: 'deadline', enqueued: 2 });
    t.deps.remainingMs = () => 60_000;
    await pollAuditLog(t.deps);
    expect(t.enqueuedIds().sort()).toEqual(['e0', 'e1', 'e2', 'e3']);
  });

  it('restarts the window when Slack refuses a saved cursor', async () => {
    const t = setup();
    t.audit.entries.push(entry('a', T0 - 3));
    t.ledger.checkpoint = { checkpoint: T0 - 60, pending: { oldest: T0 - 660, latest: T0 - 1, cursor: 'stale' } };
    t.audit.failures = [new SlackError('invalid_cursor', 'permanent', 'audit', 'audit.logs')];
    await expect(pollAuditLog(t.deps)).rejects.toThrow(/cursor was refused/);
    expect(t.ledger.checkpoint).toEqual({ checkpoint: T0 - 60 });
    await pollAuditLog(t.deps);
    expect(t.enqueuedIds()).toEqual(['a']);
  });

  it('enqueues a bounded copy of an entry too large for SQS, with the ordinary entries of its page, and advances the checkpoint', async () => {
    const t = setup();
    const huge = {
      ...anomaly('huge', T0 - 30, 'W0HUGE0001'),
      context: { ua: `Mozilla/5.0 ${'A'.repeat(300_000)}`, ip_address: '192.0.2.7' },
      details: { reason: ['padding'.repeat(5), 'tor'], junk: 'x'.repeat(400_000) },
    };
    t.audit.entries.push(anomaly('before', T0 - 40, 'W0AAAA0001'), huge, anomaly('after', T0 - 20, 'W0BBBB0001'));
    const result = await pollAuditLog(t.deps);
    expect(result).toMatchObject({ completed: true, enqueued: 3, bounded: 1, checkpoint: T0 });
    expect(t.enqueuedIds().sort()).toEqual(['after', 'before', 'huge']);
    const carried = t.publisher.bodies<{ entry: Record<string, unknown> }>().find((b) => b.entry.id === 'huge')!.entry;
    expect(Buffer.byteLength(JSON.stringify(carried))).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(carried).not.toHaveProperty('details.junk');
    // respond acts on it: it parses, names the person and the event, and says what was cut.
    const parsed = parseAuditEntry(carried);
    expect(parsed).toMatchObject({ ok: true, entry: { id: 'huge', entity: { userId: 'W0HUGE0001' }, reasons: ['tor', 'padding'.repeat(5)] } });
    const ua = parsed.ok ? parsed.entry.context.userAgent! : '';
    expect(ua.endsWith(CUT_MARKER)).toBe(true);
    expect(ua.length).toBe(BOUNDED_TEXT_LENGTH + CUT_MARKER.length);
    // Ordinary entries travel as Slack sent them.
    expect(t.publisher.bodies<{ entry: Record<string, unknown> }>().find((b) => b.entry.id === 'before')!.entry).toEqual(anomaly('before', T0 - 40, 'W0AAAA0001'));
  });

  it('enqueues what cannot be parsed at all, bounded, so respond records it as rejected', async () => {
    const t = setup();
    t.audit.entries.push({ id: 'junk', date_create: T0 - 5, blob: 'y'.repeat(500_000) } as never);
    const result = await pollAuditLog(t.deps);
    expect(result).toMatchObject({ completed: true, enqueued: 1, bounded: 1 });
    const [body] = t.publisher.bodies<{ entry: unknown }>();
    expect(parseAuditEntry(body.entry)).toMatchObject({ ok: false, entryId: 'junk' });
  });

  /**
   * An audit log whose pagination goes round in a circle: page `n` of the window names cursor
   * `next(n)`. It refuses to answer past 50 calls, so a poller that never notices fails here
   * instead of looping until its deadline.
   */
  function loopingAudit(next: (page: number) => string | undefined) {
    const calls: (string | undefined)[] = [];
    const source: AuditLogSource = {
      fetchAnomalies: async (query) => {
        calls.push(query.cursor);
        if (calls.length > 50) throw new Error('the poller kept paging a looping cursor');
        const page = query.cursor ? Number(query.cursor.split('-')[1]) : 0;
        return { entries: [entry(`p${page}`, T0 - 10 - page)], nextCursor: next(page) };
      },
    };
    return { source, calls };
  }

  it('restarts the window once when Slack hands back a cursor it gave before, then gives the window up, recorded, and moves on', async () => {
    const t = setup();
    t.ledger.checkpoint = { checkpoint: T0 - 300 };
    const looping = loopingAudit((page) => (page === 0 ? 'c-1' : page === 1 ? 'c-2' : 'c-1')); // 0 → 1 → 2 → 1 → 2 …
    const deps = { ...t.deps, audit: looping.source };

    const first = await pollAuditLog(deps);
    expect(first).toMatchObject({ completed: false, interruptedBy: 'cursor_loop', pages: 3, enqueued: 3, checkpoint: T0 - 300 });
    expect(looping.calls).toEqual([undefined, 'c-1', 'c-2']);
    expect(t.ledger.checkpoint).toEqual({ checkpoint: T0 - 300, pending: { oldest: T0 - 900, latest: T0, pages: 0, restarted: true } });

    t.advance(60);
    const second = await pollAuditLog(deps);
    expect(looping.calls.slice(3)).toEqual([undefined, 'c-1', 'c-2']); // the same window, from its first page
    const abandoned = { oldest: T0 - 900, latest: T0, reason: 'repeated_cursor', at: (T0 + 60) * 1000 };
    expect(second).toMatchObject({ completed: true, abandoned, enqueued: 0, duplicatesDropped: 3, checkpoint: T0 });
    expect(t.ledger.checkpoint).toEqual({ checkpoint: T0, abandoned: [abandoned] });

    // Newer anomalies are read again, and the record of the abandoned window is kept.
    t.audit.entries.push(entry('newer', T0 + 100));
    t.advance(120);
    const third = await pollAuditLog(t.deps);
    expect(third).toMatchObject({ completed: true, enqueued: 1 });
    expect(t.enqueuedIds()).toContain('newer');
    expect(t.ledger.checkpoint).toEqual({ checkpoint: T0 + 180, abandoned: [abandoned] });
  });

  it('caps the pages read in one window, across runs: a cursor that never repeats but never ends is a loop too', async () => {
    const t = setup();
    t.ledger.checkpoint = { checkpoint: T0 - 300 };
    const endless = loopingAudit((page) => `c-${page + 1}`);
    const deps = { ...t.deps, audit: endless.source, settings: { ...settings, maxPagesPerWindow: 4 } };

    // The deadline interrupts after two pages: the count is saved with the cursor.
    let pagesLeft = 2;
    const first = await pollAuditLog({ ...deps, remainingMs: () => (pagesLeft-- > 0 ? 60_000 : 0) });
    expect(first).toMatchObject({ interruptedBy: 'deadline', pages: 2 });
    expect(t.ledger.checkpoint.pending).toMatchObject({ cursor: 'c-2', pages: 2 });

    const second = await pollAuditLog(deps);
    expect(second).toMatchObject({ interruptedBy: 'cursor_loop', pages: 2 });
    expect(t.ledger.checkpoint.pending).toEqual({ oldest: T0 - 900, latest: T0, pages: 0, restarted: true });

    const third = await pollAuditLog(deps);
    expect(third).toMatchObject({ completed: true, pages: 4, abandoned: { reason: 'page_cap' }, checkpoint: T0 });
    expect(endless.calls).toHaveLength(8);
  });

  it('reads a long window that ends within the cap as usual', async () => {
    const t = setup();
    t.ledger.checkpoint = { checkpoint: T0 - 300 };
    for (let i = 0; i < 7; i++) t.audit.entries.push(entry(`e${i}`, T0 - 10 - i));
    const result = await pollAuditLog({ ...t.deps, settings: { ...settings, maxPagesPerWindow: 4 } }); // page limit 2: exactly 4 pages
    expect(result).toMatchObject({ completed: true, pages: 4, enqueued: 7, checkpoint: T0 });
    expect(result.abandoned).toBeUndefined();
  });

  it('rethrows auth failures at once without retrying', async () => {
    const t = setup();
    t.audit.failures = [new SlackError('invalid_auth', 'auth', 'audit', 'audit.logs')];
    await expect(pollAuditLog(t.deps)).rejects.toMatchObject({ code: 'invalid_auth' });
    expect(t.audit.calls).toHaveLength(1);
  });
});

describe('pollAuditLog in a burst', () => {
  it('enqueues the entries that may end sessions ahead of the rest of their page, each group in page order', async () => {
    const t = setup();
    t.deps.settings = { ...settings, pageLimit: 10 };
    t.audit.entries.push(entry('off-1', T0 - 50), entry('urgent-1', T0 - 40), entry('off-2', T0 - 30), entry('urgent-2', T0 - 20));
    await pollAuditLog({ ...t.deps, urgent: (e) => (e as { id: string }).id.startsWith('urgent') });
    expect(t.enqueuedIds()).toEqual(['urgent-2', 'urgent-1', 'off-2', 'off-1']);
  });

  it('re-reads only the recent part of the overlap when asked (not the whole window every poll)', async () => {
    const t = setup();
    t.ledger.checkpoint = { checkpoint: T0 - 5 };
    const result = await pollAuditLog({ ...t.deps, settings: { ...settings, recentOverlapSeconds: 60 }, fullOverlap: false });
    expect(result.window).toEqual({ oldest: T0 - 65, latest: T0 });
    const full = await pollAuditLog({ ...t.deps, settings: { ...settings, recentOverlapSeconds: 60 } });
    expect(full.window.oldest).toBe(T0 - 600);
  });
});

describe('nextWindow', () => {
  it('starts overlap seconds before the checkpoint and ends now', () => {
    expect(nextWindow({ checkpoint: T0 }, T0 + 60, settings)).toEqual({ oldest: T0 - 600, latest: T0 + 60 });
  });
  it('resumes a pending window exactly', () => {
    expect(nextWindow({ checkpoint: T0, pending: { oldest: 5, latest: 9, cursor: 'x' } }, T0 + 60, settings)).toEqual({ oldest: 5, latest: 9 });
  });
  it('never starts after now, even with a checkpoint from the future (clock skew)', () => {
    expect(nextWindow({ checkpoint: T0 + 5000 }, T0, settings)).toEqual({ oldest: T0, latest: T0 });
  });
});
