/**
 * Every record the responder writes lives in the one ledger table; these are its keys, in one
 * place so no two aggregates can collide:
 *   poller / checkpoint                 poll checkpoint and an interrupted window's cursor
 *   poller / lease                      the poller invocation that may poll now (one at a time)
 *   seen#<entryId> / -                  the poller enqueued this entry (TTL > overlap window)
 *   entry#<entryId> / decision          the decision and outcome for one audit entry (the response log)
 *   delivery#<entryId> / sent#<t>#<c>#<r>  one notification delivery (type, channel, recipient)
 *   user#<userId> / last-reset          loop protection
 *   breaker / window                    circuit breaker: the times of the resets taken in the last hour
 *   allow-list / slack                  the anomaly allow-list last written to Slack (trusted networks sync)

 *   pacer#<function>#<method>[ <channel>] / -  the Slack calls one function scheduled in the last window (pacer.ts)
 *   digest#<type>#<period> / count      admin notifications of a type in a digest period (digests.ts)
 *   digest#<type>#<period> / entry#<id> one notification job of that period, and whether it went into the digest
 *
 * Each kind of record has one writer, and the partition key's prefix says which: IAM holds each
 * function's role to its own prefixes (`dynamodb:LeadingKeys`, see LEDGER_RECORDS), so no function
 * can read or rewrite another's records. That is why deliveries have a partition of their own
 * rather than sitting beside the decision under entry#<entryId>. It is also why each function
 * keeps its own pacer schedules (pacer#<function>#…) instead of one shared per method: a shared
 * item would be a record every role could rewrite, so one compromised function could fill another's
 * slots and hold its sign-outs back. Slack's budget is per app and method, and only the directory
 * reads (users.info, admin.users.list) are called by two functions (respond's admin token, notify's
 * directory token); a 429 there is waited for like any other, never counted as a failure.
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
  delivery: (entryId: string, deliveryKey: string): LedgerKey => ({ pk: `${DELIVERY_PREFIX}${entryId}`, sk: `sent#${deliveryKey}` }),
  lastReset: (userId: string): LedgerKey => ({ pk: `user#${userId}`, sk: 'last-reset' }),
  /** The circuit breaker's sliding window (one item; it replaced the per-UTC-hour counters `breaker / <hour>`, which expire). */
  breaker: (): LedgerKey => ({ pk: 'breaker', sk: 'window' }),
  allowList: (): LedgerKey => ({ pk: 'allow-list', sk: 'slack' }),
  /** One schedule per function and Slack method (and channel, for chat.postMessage), shared by that function's containers. */
  pollerPacer: (key: string): LedgerKey => ({ pk: `${PACER_PREFIX}poll-audit-logs#${key}`, sk: '-' }),
  respondPacer: (key: string): LedgerKey => ({ pk: `${PACER_PREFIX}respond#${key}`, sk: '-' }),
  notifyPacer: (key: string): LedgerKey => ({ pk: `${PACER_PREFIX}notify#${key}`, sk: '-' }),
  digestCount: (digestId: string): LedgerKey => ({ pk: `digest#${digestId}`, sk: 'count' }),
  digestMember: (digestId: string, entryId: string): LedgerKey => ({ pk: `digest#${digestId}`, sk: `entry#${entryId}` }),
} as const;

/** The seen-record prefix, for reading an entry id back out of its key. */
export const SEEN_PREFIX = 'seen#';
/** The pacer schedules' prefix; the owning function's name follows it. */
export const PACER_PREFIX = 'pacer#';
/** The delivery-receipt prefix, for reading an entry id back out of its key. */
export const DELIVERY_PREFIX = 'delivery#';

/** The function that writes a kind of ledger record (its Powertools service name). */
export type LedgerWriter = 'poll-audit-logs' | 'respond' | 'notify';

/**
 * Who owns each kind of record, and the partition keys it lives under as an IAM `StringLike`
 * pattern (`*` matches anything). The CDK stack grants each function item access to the
 * patterns of its own records only (lib/stateless-stack.ts); a new kind of record does not
 * compile until it is given an owner here, and test/unit/adapters/ledger-keys.test.ts checks
 * every key the adapters build falls under its owner's patterns and no one else's.
 */
export const LEDGER_RECORDS: Record<keyof typeof LEDGER_KEYS, { writer: LedgerWriter; partition: string }> = {
  checkpoint: { writer: 'poll-audit-logs', partition: 'poller' },
  pollerLease: { writer: 'poll-audit-logs', partition: 'poller' },
  seen: { writer: 'poll-audit-logs', partition: `${SEEN_PREFIX}*` },
  decision: { writer: 'respond', partition: 'entry#*' },
  delivery: { writer: 'notify', partition: `${DELIVERY_PREFIX}*` },
  lastReset: { writer: 'respond', partition: 'user#*' },
  breaker: { writer: 'respond', partition: 'breaker' },
  allowList: { writer: 'poll-audit-logs', partition: 'allow-list' },
  pollerPacer: { writer: 'poll-audit-logs', partition: `${PACER_PREFIX}poll-audit-logs#*` },
  respondPacer: { writer: 'respond', partition: `${PACER_PREFIX}respond#*` },
  notifyPacer: { writer: 'notify', partition: `${PACER_PREFIX}notify#*` },
  digestCount: { writer: 'notify', partition: 'digest#*' },
  digestMember: { writer: 'notify', partition: 'digest#*' },
};

/** The pacer schedule key of each function that calls Slack. */
export const PACER_KEYS: Record<LedgerWriter, (key: string) => LedgerKey> = {
  'poll-audit-logs': LEDGER_KEYS.pollerPacer,
  respond: LEDGER_KEYS.respondPacer,
  notify: LEDGER_KEYS.notifyPacer,
};

/** The partition-key patterns one function may touch, for its `dynamodb:LeadingKeys` condition. */
export function ledgerPartitionsOf(writer: LedgerWriter): string[] {
  return [...new Set(Object.values(LEDGER_RECORDS).filter((record) => record.writer === writer).map((record) => record.partition))].sort();
}

/** DynamoDB TTL (epoch seconds) `seconds` from `epochMs`. */
export function expiresAfter(epochMs: number, seconds: number): number {
  return Math.floor(epochMs / 1000) + seconds;
}
