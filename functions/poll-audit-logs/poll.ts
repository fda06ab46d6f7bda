import { createHash } from 'node:crypto';
import type { AbandonedWindow, Checkpoint, PollState } from '../adapters/dynamodb/poll-state';
import type { MessagePublisher } from '../adapters/sqs/queue';
import { boundedAuditEntry, isUsableEntryId, MAX_ENTRY_BYTES } from '../domain/audit-entry';
import type { AnomalyMessage } from '../domain/messages';
import { isSlackError, SlackError } from '../adapters/slack/errors';
import type { AuditLogSource } from '../adapters/slack/audit-logs-client';
import { inRunRetryDelayMs } from '../runtime/retry-policy';
import { sleep as realSleep } from '../runtime/time';

export interface PollSettings {
  /** Re-read this far behind the checkpoint: Slack publishes some entries late. */
  overlapSeconds: number;
  /**
   * The re-read of a poll that is not a full sweep (PollDeps.fullOverlap false): the last
   * stretch only, so frequent polls do not page through the whole overlap every time.
   */
  recentOverlapSeconds?: number;
  /** How far back the very first poll looks. */
  initialLookbackSeconds: number;
  pageLimit: number;
  /** Lifetime of seen-entry records; must exceed the overlap by far. */
  seenRetentionSeconds: number;
  /** Stop starting new pages when less than this is left of the invocation. */
  safetyMarginMs: number;
  /** Transient failures (5xx, network, timeout) retried per page before giving up this run. */
  transientRetries: number;
  /**
   * Pages read in one window (across runs) before it counts as a cursor loop, as a repeated
   * cursor does: the window restarts once, then is given up. Default 100.
   */
  maxPagesPerWindow?: number;
}

const DEFAULT_MAX_PAGES_PER_WINDOW = 100;
/** Abandoned windows kept in the checkpoint record. */
const ABANDONED_KEPT = 10;

export interface PollDeps {
  audit: AuditLogSource;
  ledger: Pick<PollState, 'getCheckpoint' | 'saveCheckpoint' | 'filterUnseen' | 'markSeen'>;
  publisher: MessagePublisher;
  settings: PollSettings;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds left in this invocation. */
  remainingMs: () => number;
  /** Re-read the whole overlap (default), or only `recentOverlapSeconds` of it. */
  fullOverlap?: boolean;
  /** Entries to enqueue ahead of the rest of their page (those that may end sessions). Default: page order. */
  urgent?: (entry: unknown) => boolean;
}

export interface PollResult {
  /** Entries returned by the API in this run, including repeats from the overlap. */
  entriesSeen: number;
  enqueued: number;
  /** Entries too large to carry, enqueued as their bounded copy (boundedAuditEntry). */
  bounded: number;
  duplicatesDropped: number;
  pages: number;
  /** The window was read to the end and the checkpoint advanced to its upper bound. */
  completed: boolean;
  /** Why the run stopped early, if it did; the saved cursor resumes it next time (a cursor loop: the window restarts). */
  interruptedBy?: 'deadline' | 'rate_limited' | 'cursor_loop';
  /** A window given up after its cursor looped twice: the checkpoint moved past it, the alarm says so. */
  abandoned?: AbandonedWindow;
  checkpoint?: number;
  window: { oldest: number; latest: number };
}

/**
 * One poll of the audit log: read the window [checkpoint − overlap, now] page by page (Slack
 * returns newest first), enqueue entries no earlier poll enqueued, and only when the whole
 * window is durably enqueued advance the checkpoint. An interrupted window saves its bounds
 * and cursor and is resumed next time, so a 429, a 5xx or the Lambda deadline never leaves a
 * gap, and a cursor cannot stall: an unusable one restarts the window. A cursor that loops (Slack
 * hands back one it gave before, or the window runs past the page cap) restarts the window once;
 * if it loops again the window is given up (recorded and alarmed) so newer anomalies are read.
 */
export async function pollAuditLog(deps: PollDeps): Promise<PollResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const { settings } = deps;
  const maxPages = settings.maxPagesPerWindow ?? DEFAULT_MAX_PAGES_PER_WINDOW;
  const state = await deps.ledger.getCheckpoint();
  const overlapSeconds = deps.fullOverlap === false ? Math.min(settings.overlapSeconds, settings.recentOverlapSeconds ?? settings.overlapSeconds) : settings.overlapSeconds;
  const window = nextWindow(state, Math.floor(now() / 1000), { ...settings, overlapSeconds });
  let cursor = state.pending?.cursor;
  const restarted = state.pending?.restarted === true;
  const pagesBefore = state.pending?.pages ?? 0;
  // Every cursor this run sent: Slack handing one back again means the pages go round in a circle.
  const cursorsSent = new Set<string>(cursor ? [cursor] : []);
  const result: PollResult = { entriesSeen: 0, enqueued: 0, bounded: 0, duplicatesDropped: 0, pages: 0, completed: false, window };

  // Every save keeps the record of abandoned windows.
  const save = (next: Omit<Checkpoint, 'abandoned' | 'updatedAt'>, abandoned = state.abandoned) =>
    deps.ledger.saveCheckpoint({ ...next, ...(abandoned?.length ? { abandoned } : {}) });
  const saveProgress = async (): Promise<void> => {
    // Without a cursor there is nothing to resume, unless the window is being restarted (its
    // restart and page count must survive): the next run re-reads the window from the top.
    const pending = { oldest: window.oldest, latest: window.latest, pages: pagesBefore + result.pages, ...(restarted ? { restarted } : {}) };
    await save({ checkpoint: state.checkpoint, ...(cursor ? { pending: { ...pending, cursor } } : restarted ? { pending } : {}) });
  };

  for (;;) {
    if (deps.remainingMs() < settings.safetyMarginMs) {
      await saveProgress();
      return { ...result, interruptedBy: 'deadline', checkpoint: state.checkpoint };
    }
    let page;
    try {
      page = await fetchWithRetries(deps, { ...window, limit: settings.pageLimit, cursor }, sleep, deps.remainingMs);
    } catch (error) {
      if (isSlackError(error, 'rate_limited')) {
        await saveProgress();
        return { ...result, interruptedBy: 'rate_limited', checkpoint: state.checkpoint };
      }
      if (cursor && isSlackError(error, 'permanent')) {
        // e.g. invalid_cursor after a long pause: start the window again; dedup absorbs repeats.
        cursor = undefined;
        await save({ checkpoint: state.checkpoint });
        throw new Error(`Audit log cursor was refused (${(error as SlackError).code}); the window restarts next run`);
      }
      await saveProgress();
      throw error;
    }
    result.pages++;
    const { entries, enqueued, bounded } = await enqueueUnseen(deps, page.entries, now(), deps.urgent);
    result.entriesSeen += entries;
    result.duplicatesDropped += entries - enqueued;
    result.enqueued += enqueued;
    result.bounded += bounded;
    cursor = page.nextCursor;
    if (!cursor) break;

    const loop = cursorsSent.has(cursor) ? 'repeated_cursor' : pagesBefore + result.pages >= maxPages ? 'page_cap' : undefined;
    if (loop && !restarted) {
      // Perhaps a passing fault on Slack's side: read the window again from its first page
      // (dedup absorbs what was already enqueued), once.
      await save({ checkpoint: state.checkpoint, pending: { oldest: window.oldest, latest: window.latest, pages: 0, restarted: true } });
      return { ...result, interruptedBy: 'cursor_loop', checkpoint: state.checkpoint };
    }
    if (loop) {
      // It loops again: give this window up rather than re-read it forever while newer
      // anomalies wait. What it yielded is enqueued; the rest may be lost, so it is recorded
      // (with the checkpoint) and alarmed, naming the window.
      const abandoned: AbandonedWindow = { oldest: window.oldest, latest: window.latest, reason: loop, at: now() };
      await save({ checkpoint: window.latest }, [...(state.abandoned ?? []), abandoned].slice(-ABANDONED_KEPT));
      return { ...result, completed: true, abandoned, checkpoint: window.latest };
    }
    cursorsSent.add(cursor);
  }

  await save({ checkpoint: window.latest });
  return { ...result, completed: true, checkpoint: window.latest };
}

export function nextWindow(state: Checkpoint, nowSeconds: number, settings: Pick<PollSettings, 'overlapSeconds' | 'initialLookbackSeconds'>) {
  if (state.pending) return { oldest: state.pending.oldest, latest: state.pending.latest };
  const from = state.checkpoint ?? nowSeconds - settings.initialLookbackSeconds;
  const oldest = Math.max(0, Math.min(from - settings.overlapSeconds, nowSeconds));
  return { oldest, latest: nowSeconds };
}

/** One page, waiting out a 429's Retry-After or a transient failure while the time left allows. */
export async function fetchWithRetries(
  deps: { audit: AuditLogSource; settings: Pick<PollSettings, 'transientRetries' | 'safetyMarginMs'> },
  query: Parameters<AuditLogSource['fetchAnomalies']>[0],
  sleep: (ms: number) => Promise<void>,
  remainingMs: () => number,
) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await deps.audit.fetchAnomalies(query);
    } catch (error) {
      const waitMs = inRunRetryDelayMs(error, attempt, deps.settings.transientRetries);
      if (waitMs === undefined || remainingMs() - waitMs < deps.settings.safetyMarginMs) throw error;
      await sleep(waitMs);
    }
  }
}

/**
 * Enqueue the entries of one page that no earlier read enqueued (seen records, keyed by entry id),
 * then mark them seen; one too large to carry goes as its bounded copy. Returns how many the page
 * held, how many were enqueued, and how many of those as bounded copies.
 */
export async function enqueueUnseen(
  deps: { ledger: Pick<PollState, 'filterUnseen' | 'markSeen'>; publisher: MessagePublisher; settings: Pick<PollSettings, 'seenRetentionSeconds'> },
  pageEntries: unknown[],
  polledAt: number,
  /** Entries to enqueue ahead of the rest of the page (those that may end sessions). */
  urgent?: (entry: unknown) => boolean,
): Promise<{ entries: number; enqueued: number; bounded: number }> {
  const batch = withDedupKeys(pageEntries);
  const unseen = new Set(await deps.ledger.filterUnseen(batch.map((b) => b.key)));
  const fresh = urgentFirst(
    batch.filter((b) => unseen.delete(b.key)), // delete: a key repeated in one page goes once
    urgent,
  );
  const carried = fresh.map((b) => carriable(b.entry));
  await deps.publisher.publish(fresh.map((b, i) => ({ id: b.key, body: { entry: carried[i].entry, polledAt } satisfies AnomalyMessage })));
  // Marked seen only after SQS accepted them: a crash in between re-enqueues (respond is idempotent), never drops.
  await deps.ledger.markSeen(
    fresh.map((b) => b.key),
    deps.settings.seenRetentionSeconds,
  );
  return { entries: batch.length, enqueued: fresh.length, bounded: carried.filter((c) => c.bounded).length };
}


/** A page's entries with the urgent ones first, each group in page order. */
function urgentFirst<T extends { entry: unknown }>(entries: T[], urgent: ((entry: unknown) => boolean) | undefined): T[] {
  if (!urgent) return entries;
  const first: T[] = [];
  const rest: T[] = [];
  for (const e of entries) (urgent(e.entry) ? first : rest).push(e);
  return [...first, ...rest];
}

/**
 * An entry as it can travel: itself, or, when it is larger than respond accepts (and than SQS
 * may take), its bounded copy. One huge entry must not stop its page, and with it the checkpoint,
 * forever; the copy keeps every field the decision and the alert read, cut with a visible marker.
 */
function carriable(entry: unknown): { entry: unknown; bounded: boolean } {
  const size = Buffer.byteLength(JSON.stringify(entry) ?? '');
  return size > MAX_ENTRY_BYTES ? { entry: boundedAuditEntry(entry), bounded: true } : { entry, bounded: false };
}

/** Entries are de-duplicated by Slack's `id`; one without an id by a hash of its content. */
function withDedupKeys(entries: unknown[]): { key: string; entry: unknown }[] {
  return entries.map((entry) => {
    const id = (entry as { id?: unknown } | null)?.id;
    // The same rule as respond's validation: an id the ledger cannot key on is replaced by a hash.
    const key = isUsableEntryId(id) ? id : `sha256-${createHash('sha256').update(JSON.stringify(entry) ?? 'null').digest('hex')}`;
    return { key, entry };
  });
}
