import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError } from '../../domain/errors';
import { ignoreConditionFailure, itemOfFailedCondition } from './dynamodb-helpers';
import { expiresAfter, LEDGER_KEYS } from './keys';

export type DecisionStatus = 'in_progress' | 'done';

export interface DecisionRecord {
  entryId: string;
  status: DecisionStatus;
  /** The person the anomaly is about (absent for apps and unreadable entries). */
  userId?: string;
  entityType?: string;
  occurredAt?: number;
  events?: string[];
  otherReasons?: string[];
  /** ignore | notify_only | end_sessions | rejected */
  decision?: string;
  /** Why: e.g. rule_end_sessions, excluded, external_user, invalid_entry. */
  reason?: string;
  /** What happened: sessions_ended, notified, protected, ignored, rejected, failed:<code>. */
  outcome?: string;
  /** What was done and why, as data (the notifier's words: functions/notify/explain.ts). */
  response?: Record<string, unknown>;
  /** Why an entry was rejected: each invalid field. */
  detail?: string;
  /** Notification type queued for this entry, or none. */
  notification?: string;
  notificationQueued?: boolean;
  /** The notification job to (re-)enqueue if the first enqueue did not complete. */
  notificationJob?: Record<string, unknown>;
  decidedAt?: string;
  day?: string;
  leaseUntil?: number;
  expiresAt?: number;
}

export type ClaimResult = { claimed: true } | { claimed: false; existing: DecisionRecord };

/**
 * The response log: one decision record per audit entry, taken exactly once (a lease while it is
 * being decided), then written as final; searchable by person and by day.
 */
export class DecisionLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays = 400,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Take the decision record for an entry, exactly once. A finished record is returned as
   * `claimed: false`; one another invocation is working on (lease unexpired) throws
   * LeaseHeldError so the message is retried later; an abandoned one (lease expired) is taken over.
   */
  async claimEntry(entryId: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.now();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.decision(entryId),
          UpdateExpression: 'SET #status = :inProgress, leaseUntil = :lease, entryId = :id',
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :inProgress AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'in_progress', ':lease': now + leaseMs, ':now': now, ':id': entryId },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Condition failed: the record is finished or leased; read it when the failure did not return it.
      const existing = itemOfFailedCondition<DecisionRecord>(error) ?? (await this.getDecision(entryId));
      if (!existing || existing.status === 'in_progress') throw new LeaseHeldError(`entry#${entryId}`);
      return { claimed: false, existing };
    }
  }

  async getDecision(entryId: string): Promise<DecisionRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: LEDGER_KEYS.decision(entryId), ConsistentRead: true }));
    return out.Item as DecisionRecord | undefined;
  }

  /** Drop an unfinished claim so a retry of the message can decide afresh (nothing was done). */
  async releaseEntry(entryId: string): Promise<void> {
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.decision(entryId),
          ConditionExpression: '#status = :inProgress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'in_progress' },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** Write the final decision record (status done); searchable by user and by day. */
  async completeDecision(record: Omit<DecisionRecord, 'status' | 'decidedAt' | 'day' | 'expiresAt' | 'leaseUntil'>): Promise<DecisionRecord> {
    const item = this.finalItem(record);
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: item }));
    return item;
  }

  private finalItem(record: Omit<DecisionRecord, 'status' | 'decidedAt' | 'day' | 'expiresAt' | 'leaseUntil'>): DecisionRecord & { pk: string; sk: string } {
    const decidedAt = new Date(this.now()).toISOString();
    return {
      ...record,
      ...LEDGER_KEYS.decision(record.entryId),
      status: 'done',
      decidedAt,
      day: decidedAt.slice(0, 10),
      expiresAt: expiresAfter(this.now(), this.retentionDays * 86400),
    };
  }

  /**
   * Write the final record of an entry that needs no claim (nothing is done about it but the
   * record: events that are off, an app): one conditional write instead of a claim and a write,
   * which is most of a burst. A record already there is returned (`claimed: false`, as from
   * claimEntry); one another invocation holds throws LeaseHeldError.
   */
  async recordIfNew(record: Omit<DecisionRecord, 'status' | 'decidedAt' | 'day' | 'expiresAt' | 'leaseUntil'>): Promise<ClaimResult> {
    const item = this.finalItem(record);
    try {
      await this.db.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = itemOfFailedCondition<DecisionRecord>(error) ?? (await this.getDecision(record.entryId));
      if (!existing || existing.status === 'in_progress') throw new LeaseHeldError(`entry#${record.entryId}`);
      return { claimed: false, existing };
    }
  }

  async markNotificationQueued(entryId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: LEDGER_KEYS.decision(entryId),
        UpdateExpression: 'SET notificationQueued = :true',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  /** The response log of one person, oldest first. */
  async decisionsForUser(userId: string, limit = 50): Promise<DecisionRecord[]> {
    const out = await this.db.send(
      new QueryCommand({ TableName: this.tableName, IndexName: 'byUser', KeyConditionExpression: 'userId = :u', ExpressionAttributeValues: { ':u': userId }, Limit: limit }),
    );
    return (out.Items ?? []) as DecisionRecord[];
  }

  /** Decisions made on one UTC day (YYYY-MM-DD), in time order. */
  async decisionsOnDay(day: string, limit = 200): Promise<DecisionRecord[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byDay',
        KeyConditionExpression: '#day = :d',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':d': day },
        Limit: limit,
      }),
    );
    return (out.Items ?? []) as DecisionRecord[];
  }
}
