import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { eventLabel } from '../domain/anomaly-catalogue';
import { parseAuditEntry, type AnomalyEntry } from '../domain/audit-entry';
import type { DecisionRecord, Ledger } from '../adapters/dynamodb/ledger';
import type { MessagePublisher } from '../adapters/sqs/queue';
import { ConfigError } from '../domain/config/items';
import { parseGroupKey, type ResponseConfig, type NotificationType } from '../domain/config/schema';
import type { ConfigSource } from '../adapters/dynamodb/config-table';
import { applySafety, decide, factsNeeded, type Decision, type OrgFacts, type PersonFacts } from '../domain/decision/decide';
import { asRetry } from '../runtime/retry-policy';
import { anomalyMessageSchema, type NotificationJob } from '../domain/messages';
import { isSlackError, type SlackError } from '../adapters/slack/errors';
import type { DirectoryUser, SlackApi } from '../adapters/slack/web-api';
import { TtlCache } from '../runtime/ttl-cache';
import { formatIssues } from '../domain/validation';

export type RespondLedger = Pick<
  Ledger,
  | 'claimEntry'
  | 'releaseEntry'
  | 'completeDecision'
  | 'markNotificationQueued'
  | 'claimReset'
  | 'markResetDone'
  | 'releaseReset'
  | 'consumeResetBudget'
  | 'refundResetBudget'
>;

export interface RespondDeps {
  config: ConfigSource;
  ledger: RespondLedger;
  slack: Pick<SlackApi, 'resetSessions'>;
  notifications: MessagePublisher;
  directory: RespondDirectory;
  logger?: Logger;
  /** How long one invocation may hold an entry before another may take it over. */
  leaseMs?: number;
  now?: () => number;
}

export type RespondOutcome =
  | { kind: 'rejected'; entryId: string; issues: string[] }
  | { kind: 'duplicate'; entryId: string; outcome?: string }
  | { kind: 'decided'; entryId: string; decision: Decision; outcome: string; userId?: string; notification?: NotificationType };

interface SafetyGate {
  decision: Decision;
  /** This entry holds the person's reset reservation: confirm it after the reset, or release it. */
  reserved: boolean;
  /** This entry's reset already went through on an earlier attempt: do not reset again. */
  alreadyReset: boolean;
  /** A unit of the hourly budget was spent: refund it if the reset does not happen. */
  budgetTaken: boolean;
}

/**
 * Loop protection and the circuit breaker, each one conditional write: reserve the person's next
 * reset (of two anomalies about one person handled at the same moment, only one may end the
 * sessions), then spend a unit of the org-wide hourly budget. Holds the decision back to
 * notify-only when either says no, giving back what it took.
 */
async function passSafetyGates(
  decision: Decision,
  userId: string,
  entryId: string,
  config: ResponseConfig,
  deps: RespondDeps,
  now: () => number,
): Promise<SafetyGate> {
  const slot = await deps.ledger.claimReset(userId, entryId, config.safety.cooldownMinutes);
  if (slot.claimed && slot.alreadyReset) return { decision, reserved: false, alreadyReset: true, budgetTaken: false };
  if (!slot.claimed) {
    const held = applySafety(decision, { lastResetAt: slot.lastResetAt, budgetExhausted: false }, config, slot.checkedAt);
    return { decision: held, reserved: false, alreadyReset: false, budgetTaken: false };
  }
  const budgetTaken = await deps.ledger.consumeResetBudget(config.safety.maxSessionResetsPerHour);
  const gated = applySafety(decision, { budgetExhausted: !budgetTaken }, config, now());
  if (gated.action !== 'end_sessions') {
    await deps.ledger.releaseReset(userId, entryId);
    return { decision: gated, reserved: false, alreadyReset: false, budgetTaken: false };
  }
  return { decision: gated, reserved: true, alreadyReset: false, budgetTaken };
}

/** Directory lookups the decision needs, cached per container (users, group members, the org). */
export class RespondDirectory {
  private readonly users: TtlCache<DirectoryUser | undefined>;
  private readonly groups: TtlCache<ReadonlySet<string>>;
  private readonly orgs: TtlCache<OrgFacts>;

  constructor(
    private readonly slack: Pick<SlackApi, 'getUser' | 'usergroupMembers' | 'orgIdentity'>,
    ttlMs: number,
    now?: () => number,
  ) {
    this.users = new TtlCache(ttlMs, now);
    this.groups = new TtlCache(ttlMs, now);
    this.orgs = new TtlCache(ttlMs, now);
  }

  async person(userId: string): Promise<PersonFacts> {
    const user = await this.users.get(userId, () => this.slack.getUser(userId));
    if (!user) return { found: false };
    return { found: true, isPrimaryOwner: user.isPrimaryOwner, isStranger: user.isStranger, teamId: user.teamId, enterpriseId: user.enterpriseId };
  }

  org(): Promise<OrgFacts> {
    return this.orgs.get('org', () => this.slack.orgIdentity());
  }

  /** Members of each configured group key (`S…` org-wide, `T…/S…` in a workspace). */
  async groupMembers(groupKeys: readonly string[]): Promise<Map<string, ReadonlySet<string>>> {
    const entries = await Promise.all(
      groupKeys.map(async (key) => {
        const { id, team } = parseGroupKey(key);
        try {
          return [key, await this.groups.get(key, async () => new Set(await this.slack.usergroupMembers({ id, teamId: team })))] as const;
        } catch (error) {
          if (isSlackError(error, 'permanent')) {
            // Without the members we cannot tell who is excluded: fail safe, as for a bad config.
            throw new ConfigError([`excludedGroups: user group ${key} cannot be expanded (${error.code})`]);
          }
          throw error;
        }
      }),
    );
    return new Map(entries);
  }
}

/**
 * Handle one anomalies-queue message: validate, decide once per audit entry, end sessions if the
 * rules say so, record the outcome in the ledger and queue one notification job.
 * Throws only for what a retry can fix (config, Slack availability, rate limits, AWS errors).
 */
export async function respondToMessage(body: string, deps: RespondDeps): Promise<RespondOutcome> {
  const now = deps.now ?? Date.now;
  const parsed = parseMessage(body);
  if (!parsed.ok) {
    const entryId = parsed.entryId ?? `sha256-${createHash('sha256').update(body).digest('hex')}`;
    return recordRejected(deps, entryId, parsed.issues);
  }
  const entry = parsed.entry;

  // Loaded before claiming, so a broken config holds no lease: the message waits for a fix.
  const config = await deps.config.load();

  const claim = await deps.ledger.claimEntry(entry.id, deps.leaseMs ?? 120_000);
  if (!claim.claimed) {
    await finishNotification(deps, claim.existing);
    return { kind: 'duplicate', entryId: entry.id, outcome: claim.existing.outcome };
  }

  /** The person whose next reset this invocation reserved and has neither done nor given up. */
  let reservedFor: string | undefined;
  try {
    let decision = await decideEntry(entry, config, deps.directory);
    let outcome: string;
    let notification: NotificationType | undefined;
    let detail: string | undefined;
    let alreadyReset = false;
    let budgetTaken = false;

    if (decision.action === 'end_sessions') {
      const userId = (entry.entity as { userId: string }).userId;
      const gate = await passSafetyGates(decision, userId, entry.id, config, deps, now);
      ({ decision, alreadyReset, budgetTaken } = gate);
      if (gate.reserved) reservedFor = userId;
    }

    if (decision.action === 'end_sessions') {
      const userId = (entry.entity as { userId: string }).userId;
      try {
        if (!alreadyReset) await deps.slack.resetSessions(userId);
        if (reservedFor) {
          await deps.ledger.markResetDone(userId, entry.id);
          reservedFor = undefined;
        }
        outcome = 'sessions_ended';
        notification = 'sessions_ended';
      } catch (error) {
        if (budgetTaken) await deps.ledger.refundResetBudget();
        if (reservedFor) {
          // Not done (or not known to be): free it, so this entry's retry or the next anomaly can act.
          await deps.ledger.releaseReset(userId, entry.id);
          reservedFor = undefined;
        }
        if (!isSlackError(error, 'permanent')) throw error;
        // The reset can never succeed for this user (primary owner, bot, unknown): record and tell people.
        outcome = `failed:${error.code}`;
        notification = 'action_failed';
        detail = explainResetFailure(error);
      }
    } else if (decision.action === 'notify_only') {
      outcome = decision.reason === 'protected' ? 'protected' : 'notified';
      notification = decision.reason === 'circuit_breaker' ? 'action_failed' : 'anomaly_not_acted_on';
      detail = explainHold(decision, config);
    } else {
      outcome = 'ignored';
    }

    const userId = entry.entity.kind === 'user' ? entry.entity.userId : undefined;
    const job = notification ? buildJob(entry, notification, decision, outcome, detail) : undefined;
    const record = await deps.ledger.completeDecision({
      entryId: entry.id,
      userId,
      entityType: entry.entity.kind === 'other' ? entry.entity.type : entry.entity.kind,
      occurredAt: entry.dateCreate,
      events: decision.events,
      otherReasons: decision.otherReasons,
      decision: decision.action,
      reason: decision.reason,
      outcome,
      detail,
      notification: notification ?? 'none',
      notificationQueued: false,
      notificationJob: job as Record<string, unknown> | undefined,
    });
    await finishNotification(deps, record);
    deps.logger?.info('Anomaly decided', { userId, decision: decision.action, reason: decision.reason, outcome, events: decision.events });
    return { kind: 'decided', entryId: entry.id, decision, outcome, userId, notification };
  } catch (error) {
    // Nothing irreversible was recorded: let the retry decide afresh.
    if (reservedFor) await deps.ledger.releaseReset(reservedFor, entry.id).catch(() => undefined);
    await deps.ledger.releaseEntry(entry.id).catch(() => undefined);
    throw asRetry(error);
  }
}

function parseMessage(body: string): { ok: true; entry: AnomalyEntry } | { ok: false; entryId?: string; issues: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, issues: ['(message): body is not JSON'] };
  }
  const message = anomalyMessageSchema.safeParse(json);
  if (!message.success) return { ok: false, issues: formatIssues(message.error).map((i) => `message.${i}`) };
  return parseAuditEntry(message.data.entry);
}

async function recordRejected(deps: RespondDeps, entryId: string, issues: string[]): Promise<RespondOutcome> {
  const claim = await deps.ledger.claimEntry(entryId, deps.leaseMs ?? 120_000);
  if (!claim.claimed) return { kind: 'duplicate', entryId, outcome: claim.existing.outcome };
  await deps.ledger.completeDecision({
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

/** Gather exactly the facts the decision needs (none for entries ignored outright), then decide once. */
async function decideEntry(entry: AnomalyEntry, config: ResponseConfig, directory: RespondDirectory): Promise<Decision> {
  const needed = factsNeeded(entry, config);
  const userId = entry.entity.kind === 'user' ? entry.entity.userId : undefined;
  const [person, org, groupMembers] = await Promise.all([
    needed.person && userId ? directory.person(userId) : undefined,
    needed.org ? directory.org() : undefined,
    directory.groupMembers(needed.groups),
  ]);
  return decide({ entry, config, groupMembers, person, org });
}

/** Queue the entry's notification job once; a retry after a crash re-sends it (notify de-duplicates). */
async function finishNotification(deps: RespondDeps, record: DecisionRecord): Promise<void> {
  if (!record.notificationJob || record.notificationQueued) return;
  await deps.notifications.publish([{ id: record.entryId, body: record.notificationJob }]);
  await deps.ledger.markNotificationQueued(record.entryId);
}

function buildJob(entry: AnomalyEntry, type: NotificationType, decision: Decision, outcome: string, detail?: string): NotificationJob {
  const user = entry.entity.kind === 'user' ? entry.entity : undefined;
  const { sessionId: _sessionId, ...context } = entry.context;
  return {
    entryId: entry.id,
    type,
    occurredAt: entry.dateCreate,
    user: { id: user?.userId ?? '', name: user?.name, email: user?.email },
    // The events that decided the outcome first: they name the notification.
    events: decision.action === 'end_sessions' ? [...new Set([...decision.triggeringEvents, ...decision.events])] : decision.events,
    otherReasons: decision.otherReasons,
    context,
    actionTaken:
      outcome === 'sessions_ended'
        ? 'Ended all of the user\u2019s Slack sessions on every device'
        : outcome.startsWith('failed:')
          ? 'Tried to end the user\u2019s sessions, but Slack refused'
          : decision.action === 'notify_only' && decision.reason === 'circuit_breaker'
            ? 'Did not end sessions: the hourly limit on automatic resets was reached'
            : 'No action taken; this is a notification only',
    ...(detail ? { detail } : {}),
  };
}

function explainResetFailure(error: SlackError): string {
  switch (error.code) {
    case 'cannot_reset_primary_owner':
      return 'Slack does not allow ending the primary owner\u2019s sessions through the API. Review this activity by hand.';
    case 'cannot_reset_bot':
      return 'The entity is a bot user; bot sessions cannot be ended.';
    case 'user_not_found':
      return 'Slack does not know this user (deleted or outside the org).';
    default:
      return `Slack answered ${error.code}.`;
  }
}

function explainHold(decision: Extract<Decision, { action: 'notify_only' }>, config: ResponseConfig): string {
  switch (decision.reason) {
    case 'rule_notify_only':
      return `The response rule for ${decision.events.filter((e) => config.events[e].action === 'notify_only').map(eventLabel).join(', ')} is notify only.`;
    case 'excluded':
      return `The user is excluded from automatic responses: ${decision.exclusions.join(', ')}.`;
    case 'external_user':
      return `The user belongs to another organisation (Slack Connect): ${decision.externalBecause ?? 'Slack says so'}. Their own organisation's admins can end their sessions; this org cannot.`;
    case 'not_in_directory':
      return 'Slack\u2019s directory does not know this user, so their sessions were not ended. Review this activity by hand.';
    case 'protected':
      return 'This is the org\u2019s primary owner, whose sessions are never ended automatically. Review this activity by hand and contact them directly.';
    case 'cooldown':
      return `Sessions were already ended within the last ${config.safety.cooldownMinutes} minutes; not ending them again (loop protection).`;
    case 'circuit_breaker':
      return `More than ${config.safety.maxSessionResetsPerHour} automatic session resets this hour: automatic resets are paused until the next hour. Review the anomalies and act by hand.`;
  }
}
