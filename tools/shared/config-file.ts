import { readFileSync } from 'node:fs';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configToItems } from '../../functions/domain/config/items';
import { responseConfigSchema, type ResponseConfig } from '../../functions/domain/config/schema';
import { formatIssues } from '../../functions/domain/validation';
import { ValidationError } from '../../functions/domain/errors';
import { scanAll } from './dynamodb-pages';

/** Read and validate a configuration file (the seed format); throws ValidationError naming each bad field. */
export function readConfigFile(path: string): ResponseConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(path, [`(file): cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  if (text.trim() === '') throw new ValidationError(path, ['(file): is empty']);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(path, [`(file): is not valid JSON (${(error as Error).message})`]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ValidationError(path, ['(root): must be a JSON object']);
  }
  const parsed = responseConfigSchema.safeParse(json);
  if (!parsed.success) throw new ValidationError(path, formatIssues(parsed.error));
  return parsed.data;
}

/**
 * Replace the table's configuration in one transaction: every item written and any item the
 * new configuration does not have deleted, or nothing at all.
 */
export async function writeConfig(db: DynamoDBDocumentClient, tableName: string, config: ResponseConfig): Promise<{ written: number; deleted: number }> {
  const items = configToItems(config);
  const keep = new Set(items.map((item) => item.id));
  const existing = await scanAll(db, { TableName: tableName, ProjectionExpression: 'id', ConsistentRead: true });
  const stale = existing.map((item) => String(item.id)).filter((id) => !keep.has(id));
  await db.send(
    new TransactWriteCommand({
      TransactItems: [
        ...items.map((Item) => ({ Put: { TableName: tableName, Item } })),
        ...stale.map((id) => ({ Delete: { TableName: tableName, Key: { id } } })),
      ],
    }),
  );
  return { written: items.length, deleted: stale.length };
}
