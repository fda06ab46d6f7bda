import type { AuditLogPage, AuditLogQuery, AuditLogSource } from '../../functions/adapters/slack/audit-logs-client';

export interface FakeEntry {
  id: string;
  date_create: number;
  /** Unix seconds from which the API returns it (late arrivals); default: at once. */
  visibleFrom?: number;
  [key: string]: unknown;
}

/**
 * An in-memory Audit Logs API with Slack's paging semantics: inclusive bounds, newest first,
 * an opaque cursor. `failures` are thrown, in order, by the next calls.
 */
export class FakeAuditLog implements AuditLogSource {
  readonly entries: FakeEntry[] = [];
  readonly calls: AuditLogQuery[] = [];
  failures: unknown[] = [];

  constructor(private readonly clock: () => number) {}

  async fetchAnomalies(query: AuditLogQuery): Promise<AuditLogPage> {
    this.calls.push({ ...query });
    const failure = this.failures.shift();
    if (failure) throw failure;
    const nowSeconds = Math.floor(this.clock() / 1000);
    const matching = this.entries
      .filter((e) => (e.visibleFrom ?? e.date_create) <= nowSeconds)
      .filter((e) => e.date_create >= query.oldest && e.date_create <= query.latest)
      .sort((a, b) => b.date_create - a.date_create || b.id.localeCompare(a.id));
    const start = query.cursor ? Number(Buffer.from(query.cursor, 'base64url').toString()) : 0;
    const page = matching.slice(start, start + query.limit);
    const next = start + query.limit < matching.length ? Buffer.from(String(start + query.limit)).toString('base64url') : undefined;
    return { entries: page.map(({ visibleFrom: _visibleFrom, ...entry }) => entry), nextCursor: next };
  }
}
