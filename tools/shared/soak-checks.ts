import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import { DELIVERY_PREFIX } from '../../functions/adapters/dynamodb/keys';
import { scanAll } from './dynamodb-pages';
import type { SentEmail } from '../local/aws';
import type { LocalPipeline } from '../local/pipeline';
import type { MessageRecord, ResetRecord } from '../local/slack-simulator';

/**
 * What a run of the local pipeline did, read back from its effects (the ledger, the SES
 * emulator, the Slack simulator, the queues), and the integrity counters the fault-injection
 * tests and the soak assert: entries lost, duplicate resets, duplicate notifications, excluded
 * users touched. Shared by test/integration/*.test.ts and tools/cli/soak.ts.
 */

/** One notification delivery receipt in the ledger: delivery#<id> / sent#<type>#<channel>#<recipientKey>. */
export interface DeliveryReceipt {
  entryId: string;
  type: string;
  channel: string;
  recipientKey: string;
  /** sent | sending */
  status: string;
  /** ses:<messageId>, slack:<channel id>, or failed:<code>. */
  detail?: string;
}

export interface RunFacts {
  /** Finished decision records (status done). */
  decisions: DecisionRecord[];
  /** Decision records still in progress (a claim not finished or released). */
  unfinished: DecisionRecord[];
  receipts: DeliveryReceipt[];
  /** Notification jobs whose admin messages went into a digest (the digest's receipts are under `digestId`). */
  digested: { entryId: string; digestId: string }[];
  emails: SentEmail[];
  messages: MessageRecord[];
  resets: ResetRecord[];
  resetRequests: Record<string, number>;
  deadLetterQueues: { anomalies: number; notifications: number };
  /** Messages still in the work queues (visible, in flight or delayed). */
  queues: { anomalies: number; notifications: number };
}

/** Reads everything back from a pipeline that has settled. */
export async function collectFacts(pipeline: LocalPipeline): Promise<RunFacts> {
  const items = await scanLedgerEntries(pipeline);
  const decisionItems = items.filter((item) => item.sk === 'decision') as unknown as DecisionRecord[];
  // digest#<type>#<period> / entry#<id>, digested: this entry's admins were told in that digest (ledger id digest#<type>#<period>).
  const digested = items
    .filter((item) => String(item.pk).startsWith('digest#') && item.digested === true)
    .map((item) => ({ entryId: String(item.sk).slice('entry#'.length), digestId: String(item.pk) }));
  const receipts: DeliveryReceipt[] = items
    .filter((item) => typeof item.sk === 'string' && item.sk.startsWith('sent#'))
    .map((item) => {
      // sent#<type>#<channel>#<recipientKey>; the recipient key (kind:address) holds no '#'.
      const [, type, channel, ...rest] = String(item.sk).split('#');
      return {
        entryId: String(item.pk).slice(DELIVERY_PREFIX.length),
        type,
        channel,
        recipientKey: rest.join('#'),
        status: String(item.status),
        detail: typeof item.detail === 'string' ? item.detail : undefined,
      };
    });
  const state = pipeline.simulator?.state();
  const { queues } = pipeline.resources;
  const depth = (url: string) => queueDepth(pipeline, url);
  return {
    decisions: decisionItems.filter((d) => d.status === 'done'),
    unfinished: decisionItems.filter((d) => d.status !== 'done'),
    receipts,
    digested,
    emails: await pipeline.sentEmails(),
    messages: state?.messages ?? [],
    resets: state?.resets ?? [],
    resetRequests: state?.resetRequests ?? {},
    deadLetterQueues: { anomalies: await depth(queues.anomalies.dlqUrl), notifications: await depth(queues.notifications.dlqUrl) },
    queues: { anomalies: await depth(queues.anomalies.url), notifications: await depth(queues.notifications.url) },
  };
}

/** The audit entry an email is about: every template prints it ("Audit entry ID:" or "Reference:"). */
export function entryIdOfEmail(email: Pick<SentEmail, 'text' | 'html'>): string | undefined {
  const text = email.text ?? '';
  // A digest names itself by its ledger id (digest#<type>#<period>) the same way.
  return /^(?:Audit entry ID|Reference):\s+(\S+)\s*$/m.exec(text)?.[1];
}

/** The audit entry a Slack message is about, from its context line ("Reference `…`"). */
export function entryIdOfMessage(message: Pick<MessageRecord, 'blocks'>): string | undefined {
  for (const block of (message.blocks ?? []) as { elements?: { text?: string }[] }[]) {
    for (const element of block.elements ?? []) {
      const match = /^Reference `([^`]+)`$/.exec(element.text ?? '');
      if (match) return match[1];
    }
  }
  return undefined;
}

/** Keys seen more than once, with their counts. */
export function repeated<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return new Map([...counts].filter(([, n]) => n > 1));
}

const excess = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n - 1, 0);

export interface IntegrityOptions {
  /** The entries that were fed in (generated or from the scenario): each must end with a decision. */
  entryIds: readonly string[];
  /** Users no reset may ever touch (excluded for every event, by id or by group). */
  excludedUserIds: readonly string[];
  /** Two resets of one person closer than this break loop protection. */
  cooldownMinutes: number;
}

export interface IntegrityReport {
  entriesGenerated: number;
  entriesDecided: number;
  /** Fed-in entries without a finished decision record. */
  entriesLost: number;
  lostEntryIds: string[];
  /** Session resets beyond one per sessions_ended decision, per user. */
  duplicateResets: number;
  /** Emails beyond one per (recipient, entry). */
  duplicateEmails: number;
  /** Slack messages beyond one per (channel, entry). */
  duplicateSlackMessages: number;
  /** Sent emails / Slack messages with no ledger receipt to account for them (a send the ledger does not know of). */
  notificationsWithoutReceipt: number;
  /** Decisions that called for a notification and have no delivery receipt at all. */
  notificationsMissing: number;
  /** Excluded users with any reset request. */
  excludedUsersTouched: string[];
  /** Resets of one person closer together than the cooldown (loop protection broken). */
  cooldownViolations: number;
  deadLetterQueues: { anomalies: number; notifications: number };
  /** Informational. */
  outcomes: Record<string, number>;
  resets: number;
  resetRequests: number;
  emails: number;
  slackMessages: number;
  unfinishedDecisions: number;
}

export function checkIntegrity(facts: RunFacts, options: IntegrityOptions): IntegrityReport {
  const decided = new Map(facts.decisions.map((d) => [d.entryId, d]));
  const lostEntryIds = options.entryIds.filter((id) => !decided.has(id));

  const outcomes: Record<string, number> = {};
  for (const d of facts.decisions) outcomes[d.outcome ?? 'unknown'] = (outcomes[d.outcome ?? 'unknown'] ?? 0) + 1;

  // Resets: at most one per sessions_ended decision about that person.
  const endedPerUser = countBy(facts.decisions.filter((d) => d.outcome === 'sessions_ended'), (d) => d.userId ?? '');
  const resetsPerUser = countBy(facts.resets, (r) => r.userId);
  let duplicateResets = 0;
  for (const [userId, n] of resetsPerUser) duplicateResets += Math.max(0, n - (endedPerUser.get(userId) ?? 0));

  // Notifications: one per (recipient, entry) and channel, each backed by a receipt.
  const emailKey = (e: SentEmail) => `${e.to.map((a) => a.toLowerCase()).sort().join(',')}|${entryIdOfEmail(e) ?? `?${e.subject}`}`;
  const messageKey = (m: MessageRecord) => `${m.channel}|${entryIdOfMessage(m) ?? `?${m.text}`}`;
  const duplicateEmails = excess(repeated(facts.emails, emailKey));
  const duplicateSlackMessages = excess(repeated(facts.messages, messageKey));

  const sent = facts.receipts.filter((r) => r.status === 'sent' && !r.detail?.startsWith('failed:'));
  const emailReceipts = countBy(sent.filter((r) => r.channel === 'email'), (r) => `${r.recipientKey.slice('email:'.length)}|${r.entryId}`);
  const slackReceipts = countBy(sent.filter((r) => r.channel === 'slack'), (r) => `${(r.detail ?? '').slice('slack:'.length)}|${r.entryId}`);
  let notificationsWithoutReceipt = 0;
  for (const [key, n] of countBy(facts.emails, emailKey)) notificationsWithoutReceipt += Math.max(0, n - (emailReceipts.get(key) ?? 0));
  for (const [key, n] of countBy(facts.messages, messageKey)) notificationsWithoutReceipt += Math.max(0, n - (slackReceipts.get(key) ?? 0));

  const receiptsPerEntry = countBy(facts.receipts.filter((r) => r.status === 'sent'), (r) => r.entryId);
  // A job whose admins were told in a digest that went out counts as notified.
  const digestOf = new Map(facts.digested.map((d) => [d.entryId, d.digestId]));
  const notified = (entryId: string) => receiptsPerEntry.has(entryId) || receiptsPerEntry.has(digestOf.get(entryId) ?? '');
  const notificationsMissing = facts.decisions.filter((d) => d.notification && d.notification !== 'none' && !notified(d.entryId)).length;

  const excluded = new Set(options.excludedUserIds);
  const excludedUsersTouched = [
    ...new Set([...Object.keys(facts.resetRequests).filter((u) => excluded.has(u) && facts.resetRequests[u] > 0), ...facts.resets.map((r) => r.userId).filter((u) => excluded.has(u))]),
  ].sort();

  const cooldownMs = options.cooldownMinutes * 60_000;
  let cooldownViolations = 0;
  const resetTimes = new Map<string, number[]>();
  for (const r of facts.resets) resetTimes.set(r.userId, [...(resetTimes.get(r.userId) ?? []), r.at]);
  for (const times of resetTimes.values()) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) if (times[i] - times[i - 1] < cooldownMs) cooldownViolations++;
  }

  return {
    entriesGenerated: options.entryIds.length,
    entriesDecided: options.entryIds.length - lostEntryIds.length,
    entriesLost: lostEntryIds.length,
    lostEntryIds,
    duplicateResets,
    duplicateEmails,
    duplicateSlackMessages,
    notificationsWithoutReceipt,
    notificationsMissing,
    excludedUsersTouched,
    cooldownViolations,
    deadLetterQueues: facts.deadLetterQueues,
    outcomes,
    resets: facts.resets.length,
    resetRequests: Object.values(facts.resetRequests).reduce((a, b) => a + b, 0),
    emails: facts.emails.length,
    slackMessages: facts.messages.length,
    unfinishedDecisions: facts.unfinished.length,
  };
}

/** The counters that must all be zero on a correct run. */
export function integrityFailures(report: IntegrityReport): string[] {
  const failures: string[] = [];
  const zero = (name: string, value: number) => value !== 0 && failures.push(`${name}: ${value}`);
  zero('entries lost', report.entriesLost);
  zero('duplicate resets', report.duplicateResets);
  zero('duplicate emails', report.duplicateEmails);
  zero('duplicate Slack messages', report.duplicateSlackMessages);
  zero('notifications without a receipt', report.notificationsWithoutReceipt);
  zero('notifications missing', report.notificationsMissing);
  zero('excluded users touched', report.excludedUsersTouched.length);
  zero('cooldown violations', report.cooldownViolations);
  zero('anomalies DLQ depth', report.deadLetterQueues.anomalies);
  zero('notifications DLQ depth', report.deadLetterQueues.notifications);
  return failures;
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function scanLedgerEntries(pipeline: LocalPipeline): Promise<Record<string, unknown>[]> {
  return scanAll(pipeline.clients.documents, {
    TableName: pipeline.resources.tables.ledger,
    // Decisions, delivery receipts and the jobs that went into an admin digest (not seen# markers, checkpoint, counters, pacer).
    FilterExpression: 'begins_with(pk, :entry) OR begins_with(pk, :delivery) OR (begins_with(pk, :digest) AND begins_with(sk, :entry))',
    ExpressionAttributeValues: { ':entry': 'entry#', ':delivery': DELIVERY_PREFIX, ':digest': 'digest#' },
  });
}

async function queueDepth(pipeline: LocalPipeline, queueUrl: string): Promise<number> {
  const out = await pipeline.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = out.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}
