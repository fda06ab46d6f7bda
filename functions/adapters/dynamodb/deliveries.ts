import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError } from '../../domain/errors';
import { ignoreConditionFailure, itemOfFailedCondition } from './dynamodb-helpers';
import { DELIVERY_PREFIX, expiresAfter, LEDGER_KEYS } from './keys';

/** Notification deliveries (entry × type × channel × recipient), each sent at most once. */
export class Deliveries {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays = 400,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claim one delivery. Returns false when it was already sent; throws LeaseHeldError while
   * another invocation is sending it.
   */
  async claimDelivery(entryId: string, deliveryKey: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...LEDGER_KEYS.delivery(entryId, deliveryKey),
            status: 'sending',
            leaseUntil: now + leaseMs,
            expiresAt: expiresAfter(now, this.retentionDays * 86400),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :sending AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':sending': 'sending', ':now': now },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (itemOfFailedCondition<{ status?: string }>(error)?.status === 'sent') return false;
      throw new LeaseHeldError(`${DELIVERY_PREFIX}${entryId}/sent#${deliveryKey}`);
    }
  }

  async markDelivered(entryId: string, deliveryKey: string, detail?: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: LEDGER_KEYS.delivery(entryId, deliveryKey),
        UpdateExpression: 'SET #status = :sent, sentAt = :now, detail = :detail REMOVE leaseUntil',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sent': 'sent', ':now': this.now(), ':detail': detail ?? '' },
      }),
    );
  }

  /** Let a failed delivery be retried at once, rather than after its lease runs out. */
  async releaseDelivery(entryId: string, deliveryKey: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: LEDGER_KEYS.delivery(entryId, deliveryKey),
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: '#status = :sending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':zero': 0, ':sending': 'sending' },
        }),
      )
      .catch(ignoreConditionFailure);
  }
}
