import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { isSessionEventAction, parseAuditEntry, parseSessionEvent, type AnomalyEntry, type SessionEvent } from '../domain/audit-entry';
import type { NotificationType, ResponseConfig } from '../domain/config/schema';
import { applySafety, decide, factsNeeded, type Decision } from '../domain/decision/decide';
import { mustAct, outcomeLabel, outcomeOf, reportResponse, reportSessionEvent, type Outcome, type ResponseReport } from '../domain/decision/response';
import { LeaseHeldError } from '../domain/errors';
import { anomalyMessageSchema, type NotificationJob, type ResponseFacts } from '../domain/messages';
import { formatIssues } from '../domain/validation';
import type { ConfigSource } from '../adapters/dynamodb/config-table';
import type { DecisionLog, DecisionRecord } from '../adapters/dynamodb/decision-log';
import type { BudgetAnswer, ResetGuard } from '../adapters/dynamodb/reset-guard';
import type { MessagePublisher } from '../adapters/sqs/queue';
import { isSlackError } from '../adapters/slack/errors';
import { DEFAULT_REQUEST_TIMEOUT_MS, FAILED_FOR_SOME_USERS, MAX_BULK_RESET_USERS, type BulkResetScope, type SlackApi } from '../adapters/slack/web-api';
import type { ResetScope } from '../domain/decision/decide';
import { mapLimit } from '../runtime/map-limit';
import { asRetry } from '../runtime/retry-policy';
import { noTimeLeft } from '../runtime/invocation-time';
import type { RespondDirectory } from './directory';

export { RespondDirectory } from './directory';

export interface RespondDeps {
  config: ConfigSource;
  /** The response log: each entry claimed once, then recorded. */
  decisions: Pick<DecisionLog, 'claimEntry' | 'releaseEntry' | 'completeDecision' | 'recordIfNew' | 'markNotificationQueued'>;
  /** The atomic writes that make loop protection and the circuit breaker stick. */
  resets: Pick<ResetGuard, 'claimReset' | 'markResetDone' | 'releaseReset' | 'takeResetBudget' | 'refundResetBudget' | 'recordExternalReset'>;
  slack: Pick<SlackApi, 'resetSessions' | 'resetSessionsBulk'>;
  notifications: MessagePublisher;
  directory: RespondDirectory;
  logger?: Logger;
  /** How long one invocation may hold an entry before another may take it over. */
  leaseMs?: number;
  /** Time left before the invocation's deadline (invocation-time.ts); undefined: unbounded. */
  timeLeftMs?: () => number | undefined;
  now?: () => number;
}

export type RespondOutcome =
  | { kind: 'rejected'; entryId: string; issues: string[] }
  | { kind: 'duplicate'; entryId: string; outcome?: string }
  /** Not an anomaly: something else ended sessions or changed Slack's built-in response; recorded. */
  | { kind: 'recorded'; entryId: string; action: SessionEvent['action']; notification?: NotificationType }
  | { kind: 'decided'; entryId: string; decision: Decision; outcome: Outcome; userId?: string; notification?: NotificationType };

/** One message's result in a batch: its outcome, or the error its retry should follow (asRetry). */
export type BatchItemResult = { ok: true; outcome: RespondOutcome } | { ok: false; error: unknown };

/** Messages of one batch decided at once (ledger reads and writes, directory facts). */
const PREPARE_CONCURRENCY = 16;

/**
 * Time an entry needs at least before it is started: its claims and directory facts, then at
 * least one Slack call (which the Slack client starts only if its answer can come in time).
 * An entry started with less would be claimed only to be given back.
 */
const MIN_TIME_FOR_AN_ENTRY_MS = DEFAULT_REQUEST_TIMEOUT_MS + 5_000;

/**
 * Handle one anomalies-queue message: respondToBatch with a batch of one.
 * Throws only for what a retry can fix (config, Slack availability, rate limits, AWS errors).
 */
export async function respondToMessage(body: string, deps: RespondDeps): Promise<RespondOutcome> {
  const [result] = await respondToBatch([body], deps);
  if (!result.ok) throw result.error;
  return result.outcome;
}

/**
 * Handle a batch of anomalies-queue messages. The flow of each entry: parse → claim it → gather
 * facts → decide (pure) → pass the safety gates → act → record → queue the notification. The
 * acting is gathered: everyone whose sessions the batch ends is signed out with one
 * admin.users.session.resetBulk per scope (one person: admin.users.session.reset), because
 * Slack allows about twenty of either a minute. Claims, cooldown, breaker and the response
 * log stay per person and per entry, exactly as for a single message.
 * Each result is the message's outcome, or the error its retry should follow.
 */
export async function respondToBatch(bodies: readonly string[], deps: RespondDeps): Promise<BatchItemResult[]> {
  const results = new Array<BatchItemResult>(bodies.length);
  // Entries about one person go in successive rounds, as if handled one after the other: the
  // second learns how the first one's sign-out went (done: held by loop protection; failed:
  // it tries again) instead of being held by a reservation that may still fail.
  for (const round of roundsByPerson(bodies)) {
    const reserved = await mapLimit(round, PREPARE_CONCURRENCY, (i) =>
      settle(() => {
        // Not started, so nothing is claimed: the message goes to the next invocation as it is.
        if ((deps.timeLeftMs?.() ?? Infinity) < MIN_TIME_FOR_AN_ENTRY_MS) throw noTimeLeft('this entry');
        return prepare(bodies[i], deps);
      }),
    );
    const prepared = await takeBudget(reserved, deps);
    const pending = prepared.flatMap((p) => (p.ok && p.value.kind === 'reset' ? [p.value] : []));
    const slackResults = await resetInBulk(pending, deps);
    const refundError = await refundUndone(pending, slackResults, deps);
    const settled = await mapLimit(prepared, PREPARE_CONCURRENCY, async (p): Promise<BatchItemResult> => {
      if (!p.ok) return { ok: false, error: p.error };
      if (p.value.kind === 'done') return { ok: true, outcome: p.value.outcome };
      const reset = p.value;
      const after = await settle(() => afterReset(reset, slackResults.get(reset.userId), refundError, deps));
      return after.ok ? { ok: true, outcome: after.value } : { ok: false, error: after.error };
    });
    round.forEach((i, k) => (results[i] = settled[k]));
  }
  return results;
}

/** Indexes of the batch in rounds: each person at most once per round (entries that name nobody all in the first). */
function roundsByPerson(bodies: readonly string[]): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  bodies.forEach((body, i) => {
    const person = peekUserId(body);
    const round = person === undefined ? 0 : (seen.get(person) ?? 0);
    if (person !== undefined) seen.set(person, round + 1);
    (rounds[round] ??= []).push(i);
  });
  return rounds.filter((r) => r !== undefined);
}

/** The person an entry names, before validation: only to order the batch; validation still decides. */
function peekUserId(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { entry?: { entity?: { user?: { id?: unknown } } } })?.entry?.entity?.user?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A person whose sessions this batch is to end: the entry, its decision, and what the gates took. */
interface PendingReset {
  kind: 'reset';
  entry: AnomalyEntry;
  decision: Extract<Decision, { action: 'end_sessions' }>;
  config: ResponseConfig;
  userId: string;
  scope: ResetScope;
  budgetTaken: boolean;
  /**
   * Signed out on their own, never in a bulk call: someone Slack will refuse (a bot) would turn
   * the whole call into failed_for_some_users, and everyone in it would be reset a second time.
   */
  alone: boolean;
}

/** A person whose next reset this entry holds (loop protection passed), before the hourly budget is asked. */
type Reserved = Omit<PendingReset, 'kind'> & { kind: 'reserved' };

/** An entry whose outcome this attempt has settled. */
type Done = { kind: 'done'; outcome: RespondOutcome };
type Prepared = Done | PendingReset;
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Everything up to the budget: a final outcome, or a person to sign out whose reset this entry holds. */
async function prepare(body: string, deps: RespondDeps): Promise<Done | Reserved> {
  const parsed = parseMessage(body);
  if (parsed.ok && 'event' in parsed) return { kind: 'done', outcome: await recordSessionEvent(parsed.event, deps) };
  if (!parsed.ok) {
    const entryId = parsed.entryId ?? `sha256-${createHash('sha256').update(body).digest('hex')}`;
    return { kind: 'done', outcome: await recordRejected(deps, entryId, parsed.issues) };
  }
  const entry = parsed.entry;

  // Loaded before claiming, so a broken config holds no lease: the message waits for a fix.
  const config = await deps.config.load();

  const outright = ignoredOutright(entry, config);
  if (outright) return { kind: 'done', outcome: await recordOnce(entry, outright, config, deps) };

  const claim = await deps.decisions.claimEntry(entry.id, deps.leaseMs ?? 120_000);
  if (!claim.claimed) {
    await finishNotification(deps, claim.existing);
    return { kind: 'done', outcome: { kind: 'duplicate', entryId: entry.id, outcome: claim.existing.outcome } };
  }

  try {
    const facts = await gatherFacts(entry, config, deps.directory);
    const decision = decide({ entry, config, ...facts });
    // A dry run decides and reports everything, and acts on nothing (no reset, no ledger gate).
    if (decision.action === 'end_sessions' && mustAct(decision, config)) {
      const gated = await reserveReset(entry, decision, config, deps, facts.person?.found === true && facts.person.isBot === true);
      if (gated.kind === 'reserved') return gated;
      return { kind: 'done', outcome: await finish(entry, gated.decision, gated.outcome, config, deps) };
    }
    return { kind: 'done', outcome: await finish(entry, decision, outcomeOf(decision, config), config, deps) };
  } catch (error) {
    // Nothing irreversible was recorded: let the retry decide afresh.
    await deps.decisions.releaseEntry(entry.id).catch(() => undefined);
    throw asRetry(error);
  }
}

/**
 * The decision about an entry that needs no facts and leads to nothing but its record (an app,
 * no event, every event off): most of a burst. It needs no claim.
 */
function ignoredOutright(entry: AnomalyEntry, config: ResponseConfig): Decision | undefined {
  const needed = factsNeeded(entry, config);
  if (needed.person || needed.org || needed.groups.length) return undefined;
  const decision = decide({ entry, config, groupMembers: new Map() });
  return decision.action === 'ignore' ? decision : undefined;
}

/** Record an outright ignored entry in one conditional write; a record already there makes it a duplicate. */
async function recordOnce(entry: AnomalyEntry, decision: Decision, config: ResponseConfig, deps: RespondDeps): Promise<RespondOutcome> {
  const outcome = outcomeOf(decision, config);
  const report = reportResponse(decision, outcome, config);
  const written = await deps.decisions.recordIfNew(decisionRecord(deps, entry, decision, report));
  if (!written.claimed) {
    await finishNotification(deps, written.existing);
    return { kind: 'duplicate', entryId: entry.id, outcome: written.existing.outcome };
  }
  return { kind: 'decided', entryId: entry.id, decision, outcome, userId: userIdOf(entry), notification: report.notification };
}

/** Record the decision, queue its notification, log it. */
async function finish(entry: AnomalyEntry, decision: Decision, outcome: Outcome, config: ResponseConfig, deps: RespondDeps): Promise<RespondOutcome> {
  const report = reportResponse(decision, outcome, config);
  const record = await recordDecision(deps, entry, decision, report);
  await finishNotification(deps, record);
  deps.logger?.info('Anomaly decided', {
    entryId: entry.id,
    userId: userIdOf(entry),
    decision: decision.action,
    reason: decision.reason,
    outcome: outcomeLabel(outcome),
    events: decision.events,
  });
  return { kind: 'decided', entryId: entry.id, decision, outcome, userId: userIdOf(entry), notification: report.notification };
}

/** Exactly the directory facts the decision needs (none for entries ignored outright). */
async function gatherFacts(entry: AnomalyEntry, config: ResponseConfig, directory: RespondDirectory) {
  const needed = factsNeeded(entry, config);
  const userId = userIdOf(entry);
  const [person, org, groupMembers] = await Promise.all([
    needed.person && userId ? directory.person(userId) : undefined,
    needed.org ? directory.org() : undefined,
    directory.groupMembers(needed.groups),
  ]);
  return { person, org, groupMembers };
}

/**
 * The first safety gate, one conditional write: reserve the person's next reset (of two
 * anomalies about one person handled at once only one may end the sessions). What it says is
 * judged by applySafety. The hourly budget is the next gate, asked for the whole round at once.
 */
async function reserveReset(
  entry: AnomalyEntry,
  decision: Extract<Decision, { action: 'end_sessions' }>,
  config: ResponseConfig,
  deps: RespondDeps,
  alone: boolean,
): Promise<Reserved | { kind: 'held'; decision: Decision; outcome: Outcome }> {
  const userId = userIdOf(entry)!;
  const slot = await deps.resets.claimReset(userId, entry.id, config.safety.cooldownMinutes);
  if (!slot.claimed) {
    const held = applySafety(decision, { lastResetAt: slot.lastResetAt, lastResetBy: slot.lastResetBy, budgetExhausted: false }, config, slot.checkedAt);
    // The write saw a reset within the cooldown but the rule does not (a clock step between the
    // two): nothing is reserved for this entry, so it must not act now; its retry decides afresh.
    if (held.action === 'end_sessions') throw new LeaseHeldError(`user#${userId}/last-reset`);
    return { kind: 'held', decision: held, outcome: outcomeOf(held, config) };
  }
  // This entry's reset went through on an earlier attempt: do not end the sessions twice.
  if (slot.alreadyReset) return { kind: 'held', decision, outcome: { kind: 'sessions_ended' } };
  // An earlier attempt that died before recording took this entry's budget unit already: not twice.
  // One session (admin.users.session.invalidate) is per person: it never goes in a bulk call.
  return { kind: 'reserved', entry, decision, config, userId, scope: decision.scope, budgetTaken: slot.budgetTaken === true, alone: alone || decision.scope.kind === 'session' };
}

/**
 * The second safety gate, the circuit breaker: a unit of the hourly budget for everyone the round
 * reserved, taken in as few writes as the budget item allows (ResetGuard.takeResetBudget) — one
 * write per person would have the round's takers, and the other invocations', keep invalidating
 * each other's writes of that one item. Whoever gets no unit is held back (breaker) and gives up
 * their reservation; whoever's reservation or unit cannot be settled now is retried.
 */
async function takeBudget(round: readonly Settled<Done | Reserved>[], deps: RespondDeps): Promise<Settled<Prepared>[]> {
  const asking = round.flatMap((p) => (p.ok && p.value.kind === 'reserved' && !p.value.budgetTaken ? [p.value] : []));
  const answers = new Map<Reserved, BudgetAnswer | { error: unknown }>();
  // Grouped by limit: the config is cached, but a batch may straddle a change of it.
  for (const [limit, group] of groupBy(asking, (r) => r.config.safety.maxSessionResetsPerHour)) {
    try {
      const taken = await deps.resets.takeResetBudget(limit, group.map((r) => ({ userId: r.userId, entryId: r.entry.id })));
      group.forEach((r, i) => answers.set(r, taken[i]));
    } catch (error) {
      for (const r of group) answers.set(r, { error });
    }
  }
  return mapLimit(round, PREPARE_CONCURRENCY, async (p): Promise<Settled<Prepared>> => {
    if (!p.ok || p.value.kind === 'done') return p as Settled<Prepared>;
    const reserved = p.value;
    return settle(() => gateOnBudget(reserved, reserved.budgetTaken ? 'taken' : answers.get(reserved)!, deps));
  });
}

async function gateOnBudget(reserved: Reserved, answer: BudgetAnswer | { error: unknown }, deps: RespondDeps): Promise<Prepared> {
  const { entry, decision, config, userId } = reserved;
  try {
    if (typeof answer === 'object') throw answer.error;
    // Not this entry's reservation any more, or the budget item too busy to write: nothing taken; the retry decides afresh.
    if (answer === 'lost') throw new LeaseHeldError(`user#${userId}/last-reset`);
    if (answer === 'busy') throw new LeaseHeldError('breaker');
    const gated = applySafety(decision, { budgetExhausted: answer === 'spent' }, config, (deps.now ?? Date.now)());
    if (gated.action !== 'end_sessions') {
      await deps.resets.releaseReset(userId, entry.id);
      return { kind: 'done', outcome: await finish(entry, gated, outcomeOf(gated, config), config, deps) };
    }
    return { ...reserved, kind: 'reset', budgetTaken: true };
  } catch (error) {
    // Nothing irreversible was done: give the reservation back (its unit, if an earlier attempt
    // took one, stays noted on it) and let the retry decide afresh.
    await deps.resets.releaseReset(userId, entry.id).catch(() => undefined);
    await deps.decisions.releaseEntry(entry.id).catch(() => undefined);
    throw asRetry(error);
  }
}

function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}

/**
 * Give back, in one write, the budget units of everyone whose sessions were not ended (Slack
 * refused or failed): one refund per person would contend for the budget item as takes did.
 * Answers the refund's error, if it failed.
 */
async function refundUndone(pending: readonly PendingReset[], slackResults: ReadonlyMap<string, unknown>, deps: RespondDeps): Promise<unknown> {
  const undone = pending.filter((p) => p.budgetTaken && slackResults.get(p.userId) !== undefined).length;
  if (!undone) return undefined;
  try {
    await deps.resets.refundResetBudget(undone);
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * End the sessions of everyone pending, fewest calls first: per scope, one resetBulk for up to
 * MAX_BULK_RESET_USERS people (a single reset for one person). Slack's failed_for_some_users
 * does not say who failed: each person of that call is then reset on their own, which either
 * succeeds (a second reset of someone the bulk job did reach is harmless) or names their error.
 * Returns, per person, undefined when their sessions were ended, or the error.
 */
async function resetInBulk(pending: readonly PendingReset[], deps: RespondDeps): Promise<Map<string, unknown>> {
  const results = new Map<string, unknown>();
  const byScope = new Map<BulkResetScope['kind'], string[]>();
  for (const p of pending) if (!p.alone && p.scope.kind !== 'session') byScope.set(p.scope.kind, [...(byScope.get(p.scope.kind) ?? []), p.userId]);
  for (const p of pending.filter((p) => p.alone)) {
    results.set(
      p.userId,
      await deps.slack.resetSessions(p.userId, p.scope).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
  }
  for (const [kind, userIds] of byScope) {
    const scope: BulkResetScope = { kind };
    for (let i = 0; i < userIds.length; i += MAX_BULK_RESET_USERS) {
      const chunk = userIds.slice(i, i + MAX_BULK_RESET_USERS);
      try {
        if (chunk.length === 1) await deps.slack.resetSessions(chunk[0], scope);
        else await deps.slack.resetSessionsBulk(chunk, scope);
        for (const userId of chunk) results.set(userId, undefined);
      } catch (error) {
        if (!isSlackError(error) || error.code !== FAILED_FOR_SOME_USERS) {
          for (const userId of chunk) results.set(userId, error);
          continue;
        }
        deps.logger?.warn('Bulk sign-out failed for some people; signing each out on their own', { people: chunk.length });
        for (const userId of chunk) {
          results.set(
            userId,
            await deps.slack.resetSessions(userId, scope).then(
              () => undefined,
              (single: unknown) => single,
            ),
          );
        }
      }
    }
  }
  return results;
}

/** After Slack answered for this person: confirm the reset, or record Slack's refusal, or give everything back for a retry. */
async function afterReset(reset: PendingReset, slackError: unknown, refundError: unknown, deps: RespondDeps): Promise<RespondOutcome> {
  const { entry, decision, config, userId } = reset;
  try {
    if (slackError !== undefined) {
      // The unit could not be given back: the reservation keeps it (noted on it), so the retry uses it and takes no other.
      if (refundError !== undefined) throw refundError;
      await deps.resets.releaseReset(userId, entry.id);
      if (!isSlackError(slackError, 'permanent')) throw slackError;
      // The reset can never succeed for this user (a bot, unknown): record and tell people.
      return await finish(entry, decision, { kind: 'reset_refused', code: slackError.code }, config, deps);
    }
    await deps.resets.markResetDone(userId, entry.id, config.safety.cooldownMinutes);
    return await finish(entry, decision, { kind: 'sessions_ended' }, config, deps);
  } catch (error) {
    await deps.decisions.releaseEntry(entry.id).catch(() => undefined);
    throw asRetry(error);
  }
}

async function settle<T>(run: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

function userIdOf(entry: AnomalyEntry): string | undefined {
  return entry.entity.kind === 'user' ? entry.entity.userId : undefined;
}

function parseMessage(body: string): { ok: true; entry: AnomalyEntry } | { ok: true; event: SessionEvent } | { ok: false; entryId?: string; issues: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, issues: ['(message): body is not JSON'] };
  }
  const message = anomalyMessageSchema.safeParse(json);
  if (!message.success) return { ok: false, issues: formatIssues(message.error).map((i) => `message.${i}`) };
  if (isSessionEventAction((message.data.entry as { action?: unknown } | null)?.action)) return parseSessionEvent(message.data.entry);
  return parseAuditEntry(message.data.entry);
}

/**
 * Coexistence with Slack's built-in responder: an entry saying someone else signed a person out
 * is recorded as their last reset (so the cooldown holds our next one back, naming who did it);
 * a change of the built-in feature's settings is recorded and told to the security admins.
 */
async function recordSessionEvent(event: SessionEvent, deps: RespondDeps): Promise<RespondOutcome> {
  const config = await deps.config.load();
  const claim = await deps.decisions.claimEntry(event.id, deps.leaseMs ?? 120_000);
  if (!claim.claimed) {
    await finishNotification(deps, claim.existing);
    return { kind: 'duplicate', entryId: event.id, outcome: claim.existing.outcome };
  }
  try {
    const { reset, notification } = reportSessionEvent(event);
    if (reset) await deps.resets.recordExternalReset(reset.userId, reset.at, reset.by, event.id, config.safety.cooldownMinutes);
    const job: NotificationJob | undefined = notification && {
      entryId: event.id,
      type: notification,
      occurredAt: event.dateCreate,
      events: [],
      otherReasons: [],
      context: {},
      settingsChange: { ...(event.actorId ? { actorId: event.actorId } : {}), ...(event.details ? { details: event.details } : {}) },
      response: { outcome: 'recorded', ...(config.safety.dryRun ? { dryRun: true as const } : {}) },
    };
    const record = await deps.decisions.completeDecision({
      entryId: event.id,
      ...(event.userId ? { userId: event.userId } : {}),
      entityType: event.userId ? 'user' : 'other',
      occurredAt: event.dateCreate,
      decision: 'recorded',
      reason: event.action,
      outcome: reset ? `reset_by:${reset.by}` : 'recorded',
      ...(event.actorId ? { detail: `actor ${event.actorId}` } : {}),
      notification: notification ?? 'none',
      notificationQueued: false,
      notificationJob: job as Record<string, unknown> | undefined,
    });
    await finishNotification(deps, record);
    deps.logger?.info('Audit entry recorded', { action: event.action, userId: event.userId, resetBy: reset?.by });
    return { kind: 'recorded', entryId: event.id, action: event.action, ...(notification ? { notification } : {}) };
  } catch (error) {
    await deps.decisions.releaseEntry(event.id).catch(() => undefined);
    throw asRetry(error);
  }
}

async function recordRejected(deps: RespondDeps, entryId: string, issues: string[]): Promise<RespondOutcome> {
  const claim = await deps.decisions.claimEntry(entryId, deps.leaseMs ?? 120_000);
  if (!claim.claimed) return { kind: 'duplicate', entryId, outcome: claim.existing.outcome };
  await deps.decisions.completeDecision({
    entryId,
    decision: 'rejected',
    reason: 'invalid_entry',
    outcome: 'rejected',
    detail: issues.join('; ').slice(0, 2000),
    notification: 'none',
  });
  deps.logger?.warn('Audit entry rejected', { entryId, issues });
  return { kind: 'rejected', entryId, issues };
}

function recordDecision(deps: RespondDeps, entry: AnomalyEntry, decision: Decision, report: ResponseReport): Promise<DecisionRecord> {
  return deps.decisions.completeDecision(decisionRecord(deps, entry, decision, report));
}

function decisionRecord(deps: Pick<RespondDeps, 'now'>, entry: AnomalyEntry, decision: Decision, report: ResponseReport): Parameters<DecisionLog['completeDecision']>[0] {
  const respondedAt = Math.floor((deps.now ?? Date.now)() / 1000);
  const job = report.notification && report.facts ? buildJob(entry, report.notification, decision, report.facts, respondedAt) : undefined;
  return {
    entryId: entry.id,
    userId: userIdOf(entry),
    entityType: entry.entity.kind === 'other' ? entry.entity.type : entry.entity.kind,
    occurredAt: entry.dateCreate,
    events: decision.events,
    otherReasons: decision.otherReasons,
    decision: decision.action,
    reason: decision.reason,
    outcome: outcomeLabel(report.outcome),
    ...(report.facts ? { response: report.facts } : {}),
    notification: report.notification ?? 'none',
    notificationQueued: false,
    notificationJob: job as Record<string, unknown> | undefined,
  };
}

/** Queue the entry's notification job once; a retry after a crash re-sends it (notify de-duplicates). */
async function finishNotification(deps: RespondDeps, record: DecisionRecord): Promise<void> {
  if (!record.notificationJob || record.notificationQueued) return;
  await deps.notifications.publish([{ id: record.entryId, body: record.notificationJob }]);
  await deps.decisions.markNotificationQueued(record.entryId);
}

function buildJob(entry: AnomalyEntry, type: NotificationType, decision: Decision, response: ResponseFacts, respondedAt: number): NotificationJob {
  const { entity } = entry;
  const { sessionId: _sessionId, asn: _asn, ...context } = entry.context;
  return {
    entryId: entry.id,
    type,
    occurredAt: entry.dateCreate,
    // When the decision (and, for sessions_ended, Slack's answer) was recorded: alerts say when we acted.
    respondedAt,
    // Only people's and apps' anomalies are ever told (decide ignores every other entity).
    ...(entity.kind === 'user' ? { user: { id: entity.userId, name: entity.name, email: entity.email } } : {}),
    ...(entity.kind === 'app' ? { app: { id: entity.appId, name: entity.name } } : {}),
    // The events that decided the outcome first: they name the notification.
    events: decision.action === 'end_sessions' ? [...new Set([...decision.triggeringEvents, ...decision.events])] : decision.events,
    otherReasons: decision.otherReasons,
    context,
    response,
  };
}
