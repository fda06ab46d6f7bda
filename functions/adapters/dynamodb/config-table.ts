import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configFromItems } from '../../domain/config/items';
import type { ResponseConfig } from '../../domain/config/schema';

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
  private cached?: { at: number; config: Promise<ResponseConfig> };

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  load(): Promise<ResponseConfig> {
    if (!this.cached || this.now() - this.cached.at >= this.ttlMs) {
      const config = this.read();
      this.cached = { at: this.now(), config };
      config.catch(() => (this.cached = undefined));
    }
    return this.cached.config;
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
