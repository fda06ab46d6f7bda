import type { PollState } from '../adapters/dynamodb/poll-state';
import type { AuditLogSource } from '../adapters/slack/audit-logs-client';
import type { MessagePublisher } from '../adapters/sqs/queue';
import { sleep as realSleep } from '../runtime/time';
import { enqueueUnseen, fetchWithRetries, type PollSettings } from './poll';

export interface ReplayDeps {
  audit: AuditLogSource;
  ledger: Pick<PollState, 'filterUnseen' | 'markSeen'>;
  publisher: MessagePublisher;
  settings: Pick<PollSettings, 'pageLimit' | 'seenRetentionSeconds' | 'transientRetries'>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReplayProgress {
  pages: number;
  /** Entries the window held so far (Slack serves it newest first). */
  entries: number;
  /** Of those, entries no earlier read had enqueued (in a dry run: that would be enqueued). */
  unseen: number;
  enqueued: number;
  /** The oldest `date_create` read so far: how far back the replay has got. */
  reachedSeconds?: number;
}

/**
 * Read a past window of the audit log into the anomalies queue, for a first deployment or after
 * an outage longer than the poller's overlap. The same path as the poller's (seen records drop
 * what was enqueued before; respond's response log drops what was decided before, however long
 * ago), so nothing is acted on twice; the poller's checkpoint is never touched. A dry run reads
 * and counts and enqueues nothing. Runs as long as it takes: 429s are waited out.
 */
export async function replayWindow(
  deps: ReplayDeps,
  window: { oldest: number; latest: number },
  options: { dryRun?: boolean; onProgress?: (progress: ReplayProgress) => void } = {},
): Promise<ReplayProgress> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const progress: ReplayProgress = { pages: 0, entries: 0, unseen: 0, enqueued: 0 };
  const fetchDeps = { audit: deps.audit, settings: { ...deps.settings, safetyMarginMs: 0 } };
  let cursor: string | undefined;
  do {
    const page = await fetchWithRetries(fetchDeps, { ...window, limit: deps.settings.pageLimit, cursor }, sleep, () => Number.POSITIVE_INFINITY);
    progress.pages++;
    if (options.dryRun) {
      const ids = page.entries.map((entry) => (entry as { id?: unknown } | null)?.id).filter((id): id is string => typeof id === 'string');
      progress.entries += page.entries.length;
      progress.unseen += (await deps.ledger.filterUnseen([...new Set(ids)])).length;
    } else {
      const { entries, enqueued } = await enqueueUnseen(deps, page.entries, now());
      progress.entries += entries;
      progress.unseen += enqueued;
      progress.enqueued += enqueued;
    }
    const dates = page.entries.map((entry) => (entry as { date_create?: unknown } | null)?.date_create).filter((d): d is number => typeof d === 'number');
    if (dates.length) progress.reachedSeconds = Math.min(progress.reachedSeconds ?? Infinity, ...dates);
    options.onProgress?.({ ...progress });
    cursor = page.nextCursor;
  } while (cursor);
  return progress;
}
