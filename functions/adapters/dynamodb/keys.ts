/**
 * Every record the responder writes lives in the one ledger table; these are its keys, in one
 * place so no two aggregates can collide:
 *   poller / checkpoint                 poll checkpoint and an interrupted window's cursor
 *   poller / lease                      the poller invocation that may poll now (one at a time)
 *   seen#<entryId> / -                  the poller enqueued this entry (TTL > overlap window)
 *   entry#<entryId> / decision          the decision and outcome for one audit entry (the response log)
 *   entry#<entryId> / sent#<t>#<c>#<r>  one notification delivery (type, channel, recipient)
 *   user#<userId> / last-reset          loop protection
 *   breaker / window                    circuit breaker: the times of the resets taken in the last hour
 *   allow-list / slack                  the anomaly allow-list last written to Slack (trusted networks sync)
 */
export interface LedgerKey {
  pk: string;
  sk: string;
}

export const LEDGER_KEYS = {
  checkpoint: (): LedgerKey => ({ pk: 'poller', sk: 'checkpoint' }),
  pollerLease: (): LedgerKey => ({ pk: 'poller', sk: 'lease' }),
  seen: (entryId: string): LedgerKey => ({ pk: `seen#${entryId}`, sk: '-' }),
  decision: (entryId: string): LedgerKey => ({ pk: `entry#${entryId}`, sk: 'decision' }),
  delivery: (entryId: string, deliveryKey: string): LedgerKey => ({ pk: `entry#${entryId}`, sk: `sent#${deliveryKey}` }),
  lastReset: (userId: string): LedgerKey => ({ pk: `user#${userId}`, sk: 'last-reset' }),
  /** The circuit breaker's sliding window (one item; it replaced the per-UTC-hour counters `breaker / <hour>`, which expire). */
  breaker: (): LedgerKey => ({ pk: 'breaker', sk: 'window' }),
  allowList: (): LedgerKey => ({ pk: 'allow-list', sk: 'slack' }),
} as const;

/** The seen-record prefix, for reading an entry id back out of its key. */
export const SEEN_PREFIX = 'seen#';

/** DynamoDB TTL (epoch seconds) `seconds` from `epochMs`. */
export function expiresAfter(epochMs: number, seconds: number): number {
  return Math.floor(epochMs / 1000) + seconds;
}
