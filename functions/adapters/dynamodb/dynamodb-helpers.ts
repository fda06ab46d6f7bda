import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mapLimit } from '../../runtime/map-limit';
import { backoffMs } from '../../runtime/retry-policy';
import type { sleep } from '../../runtime/time';

const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
/** Unprocessed items are retried with backoff this many times before the call fails. */
const MAX_UNPROCESSED_RETRIES = 8;
/** Chunks in flight at once: a burst's ten thousand seen records are 400 chunks. */
const CHUNKS_IN_FLIGHT = 8;

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

export type Sleep = typeof sleep;

/** BatchWriteItem in chunks of 25, retrying what DynamoDB leaves unprocessed. */
export async function batchWrite(db: DynamoDBDocumentClient, tableName: string, requests: Record<string, unknown>[], sleep: Sleep): Promise<void> {
  await mapLimit(chunks(requests, BATCH_WRITE_MAX), CHUNKS_IN_FLIGHT, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt > MAX_UNPROCESSED_RETRIES) throw new Error(`DynamoDB left ${pending.length} ledger writes unprocessed`);
      if (attempt) await sleep(backoffMs(attempt, 50, 2000));
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = (out.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined) ?? [];
    }
  });
}

/** Consistent BatchGetItem in chunks of 100, retrying unprocessed keys; returns the items found. */
export async function batchGet(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: Record<string, unknown>[],
  projection: string,
  sleep: Sleep,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  await mapLimit(chunks(keys, BATCH_GET_MAX), CHUNKS_IN_FLIGHT, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt > MAX_UNPROCESSED_RETRIES) throw new Error(`DynamoDB left ${pending.length} ledger reads unprocessed`);
      if (attempt) await sleep(backoffMs(attempt, 50, 2000));
      const out = await db.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: projection } } }));
      found.push(...(out.Responses?.[tableName] ?? []));
      pending = (out.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  });
  return found;
}

/** For writes whose condition failing means "nothing to do" (already released, already zero). */
export function ignoreConditionFailure(error: unknown): void {
  if (!(error instanceof ConditionalCheckFailedException)) throw error;
}

/** The item a failed condition returned (ReturnValuesOnConditionCheckFailure), unmarshalled: the document client leaves it raw. */
export function itemOfFailedCondition<T>(error: ConditionalCheckFailedException): T | undefined {
  return error.Item ? (unmarshall(error.Item) as T) : undefined;
}
