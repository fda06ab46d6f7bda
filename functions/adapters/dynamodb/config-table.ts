import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configFromItems } from '../../domain/config/items';
import type { ResponseConfig } from '../../domain/config/schema';
import { TtlCache } from '../../runtime/ttl-cache';

export interface ConfigSource {
  /** The validated configuration; throws ConfigError (naming each bad field) when it is invalid. */
  load(): Promise<ResponseConfig>;
}

/**
 * Reads the config table (a handful of items: one Scan) and caches the validated result for
 * `ttlMs`, so a batch of records costs at most one read. An invalid config is not cached, so
 * a fix in the console takes effect on the next message.
 */
export class DynamoConfigSource implements ConfigSource {
  private readonly cache: TtlCache<ResponseConfig>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    ttlMs = 60_000,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, now);
  }

  load(): Promise<ResponseConfig> {
    return this.cache.get('config', () => this.read());
  }

  private async read(): Promise<ResponseConfig> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey: startKey }));
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return configFromItems(items);
  }
}
