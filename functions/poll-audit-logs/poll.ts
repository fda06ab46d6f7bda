import { createHash } from 'node:crypto';
import type { Checkpoint, PollState } from '../adapters/dynamodb/poll-state';
import type { MessagePublisher } from '../adapters/sqs/queue';
import type { AnomalyMessage } from '../domain/messages';
import { isSlackError, SlackError } from '../adapters/slack/errors';
import type { AuditLogSource } from '../adapters/slack/audit-logs-client';
import { inRunRetryDelayMs } from '../runtime/retry-policy';
import { sleep as realSleep } from '../runtime/time';

export interface PollSettings {
  /** Re-read this far behind the checkpoint: Slack publishes some entries late. */
  overlapSeconds: number;
  /** How far back the very first poll looks. */
  initialLookbackSeconds: number;
  pageLimit: number;
  /** Lifetime of seen-entry records; must exceed the overlap by far. */
  seenRetentionSeconds: number;
  /** Stop starting new pages when less than this is left of the invocation. */
  safetyMarginMs: number;
  /** Transient failures (5xx, network, timeout) retried per page before giving up this run. */
  transientRetries: number;
}

export interface PollDeps {
  audit: AuditLogSource;
  ledger: Pick<PollState, 'getCheckpoint' | 'saveCheckpoint' | 'filterUnseen' | 'markSeen'>;
  publisher: MessagePublisher;
  settings: PollSettings;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds left in this invocation. */
  remainingMs: () => number;
}

export interface PollResult {
  /** Entries returned by the API in this run, including repeats from the overlap. */
  entriesSeen: number;
  enqueued: number;
  duplicatesDropped: number;
  pages: number;
  /** The window was read to the end and the checkpoint advanced to its upper bound. */
  completed: boolean;
  /** Why the run stopped early, if it did; the saved cursor resumes it next time. */
  interruptedBy?: 'deadline' | 'rate_limited';
  checkpoint?: number;
  window: { oldest: number; latest: number };
}

/**
 * One poll of the audit log: read the window [checkpoint − overlap, now] page by page (Slack
 * returns newest first), enqueue entries no earlier poll enqueued, and only when the whole
 * window is durably enqueued advance the checkpoint. An interrupted window saves its bounds
 * and cursor and is resumed next time, so a 429, a 5xx or the Lambda deadline never leaves a
 * gap, and a cursor cannot stall: an unusable one restarts the window.
 */
export async function pollAuditLog(deps: PollDeps): Promise<PollResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const { settings } = deps;
  const state = await deps.ledger.getCheckpoint();
  const window = nextWindow(state, Math.floor(now() / 1000), settings);
  let cursor = state.pending?.cursor;
  const result: PollResult = { entriesSeen: 0, enqueued: 0, duplicatesDropped: 0, pages: 0, completed: false, window };

  const saveProgress = async (): Promise<void> => {
    // Without a cursor there is nothing to resume: the next run re-reads the window from the top.
    await deps.ledger.saveCheckpoint({
      checkpoint: state.checkpoint,
      ...(cursor ? { pending: { oldest: window.oldest, latest: window.latest, cursor } } : {}),
    });
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
        await deps.ledger.saveCheckpoint({ checkpoint: state.checkpoint });
        throw new Error(`Audit log cursor was refused (${(error as SlackError).code}); the window restarts next run`);
      }
      await saveProgress();
      throw error;
    }
    result.pages++;
    const { entries, enqueued } = await enqueueUnseen(deps, page.entries, now());
    result.entriesSeen += entries;
    result.duplicatesDropped += entries - enqueued;
    result.enqueued += enqueued;
    cursor = page.nextCursor;
    if (!cursor) break;
  }

  await deps.ledger.saveCheckpoint({ checkpoint: window.latest });
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
 * then mark them seen. Returns how many the page held and how many were enqueued.
 */
export async function enqueueUnseen(
  deps: { ledger: Pick<PollState, 'filterUnseen' | 'markSeen'>; publisher: MessagePublisher; settings: Pick<PollSettings, 'seenRetentionSeconds'> },
  pageEntries: unknown[],
  polledAt: number,
): Promise<{ entries: number; enqueued: number }> {
  const batch = withDedupKeys(pageEntries);
  const unseen = new Set(await deps.ledger.filterUnseen(batch.map((b) => b.key)));
  const fresh = batch.filter((b) => unseen.delete(b.key)); // delete: a key repeated in one page goes once
  await deps.publisher.publish(fresh.map((b) => ({ id: b.key, body: { entry: b.entry, polledAt } satisfies AnomalyMessage })));
  // Marked seen only after SQS accepted them: a crash in between re-enqueues (respond is idempotent), never drops.
  await deps.ledger.markSeen(
    fresh.map((b) => b.key),
    deps.settings.seenRetentionSeconds,
  );
  return { entries: batch.length, enqueued: fresh.length };
}


/** Entries are de-duplicated by Slack's `id`; one without an id by a hash of its content. */
function withDedupKeys(entries: unknown[]): { key: string; entry: unknown }[] {
  return entries.map((entry) => {
    const id = (entry as { id?: unknown } | null)?.id;
    const key =
      typeof id === 'string' && id.length > 0 && id.length <= 200
        ? id
        : `sha256-${createHash('sha256').update(JSON.stringify(entry) ?? 'null').digest('hex')}`;
    return { key, entry };
  });
}
