import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ignoreConditionFailure, itemOfFailedCondition } from './dynamodb-helpers';
import { expiresAfter, LEDGER_KEYS } from './keys';

/** Digest records live a day: long enough for any delayed send and its retries. */
const DIGEST_TTL_SECONDS = 24 * 3600;

/**
 * The admin digest's ledger records: per notification type and digest period, a counter of
 * the notifications admins were due, and one record per notification job saying whether it
 * went into the digest (rather than out on its own). `digestId` is `<type>#<period start>`.
 */
export class Digests {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Count a job toward its period and say whether it goes into the digest: the first
   * `sendAlone` of a period go out on their own, the rest into the digest. Idempotent per job:
   * a retry gets the first answer back (a job whose answer was never stored goes out alone).
   */
  async enter(digestId: string, entryId: string, job: Record<string, unknown>, sendAlone: number): Promise<{ digested: boolean }> {
    const expiresAt = expiresAfter(this.now(), DIGEST_TTL_SECONDS);
    const member = LEDGER_KEYS.digestMember(digestId, entryId);
    try {
      await this.db.send(
        new PutCommand({ TableName: this.tableName, Item: { ...member, job, expiresAt }, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { digested: itemOfFailedCondition<{ digested?: boolean }>(error)?.digested === true };
    }
    const counted = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: LEDGER_KEYS.digestCount(digestId),
        UpdateExpression: 'ADD #n :one SET expiresAt = :expires',
        ExpressionAttributeNames: { '#n': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':expires': expiresAt },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const digested = Number(counted.Attributes?.count ?? 0) > sendAlone;
    await this.db.send(
      new UpdateCommand({ TableName: this.tableName, Key: member, UpdateExpression: 'SET digested = :d', ExpressionAttributeValues: { ':d': digested } }),
    );
    return { digested };
  }

  /** Take the duty of scheduling the period's digest: true for exactly one caller (until released). */
  async claimFlush(digestId: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.digestCount(digestId),
          UpdateExpression: 'SET flushScheduled = :true',
          ConditionExpression: 'attribute_not_exists(flushScheduled)',
          ExpressionAttributeValues: { ':true': true },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The digest could not be scheduled: let the next job of the period try. */
  async releaseFlush(digestId: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.digestCount(digestId),
          UpdateExpression: 'REMOVE flushScheduled',
          ConditionExpression: 'attribute_exists(flushScheduled)',
        }),
      )
      .catch(ignoreConditionFailure);
  }

  /** The jobs that went into the period's digest, in entry-id order. */
  async members(digestId: string): Promise<Record<string, unknown>[]> {
    const jobs: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :entry)',
          FilterExpression: 'digested = :true',
          ExpressionAttributeValues: { ':pk': LEDGER_KEYS.digestCount(digestId).pk, ':entry': 'entry#', ':true': true },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) jobs.push(item.job as Record<string, unknown>);
      start = page.LastEvaluatedKey;
    } while (start);
    return jobs;
  }
}
