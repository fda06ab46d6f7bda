import { actorId, entityId, type AuditEntry, type TimedEntry } from './entries';

/**
 * The audit log behind `GET /audit/v1/logs`: newest first, `oldest`/`latest` both inclusive,
 * `limit` ≤ 9999, comma-separated `action` filter, `actor` and `entity` filters, opaque cursors.
 *
 * Order is (date_create desc, id desc), a total order, so pages never overlap or skip. A cursor
 * encodes the last position served plus the query it belongs to; it stays valid while new
 * entries arrive. An entry is visible only once the clock reaches its `visibleAt`
 * (date_create + arrival delay) — late arrivals keep their old date_create, so a reader whose
 * window has already passed them misses them unless it re-reads with an overlap.
 */

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 9999;
const MAX_ACTIONS = 30;

interface Filter {
  oldest?: number;
  latest?: number;
  actions?: string[];
  actor?: string;
  entity?: string;
}

interface Position {
  date: number;
  id: string;
}

export type AuditQueryResult =
  | { ok: true; entries: AuditEntry[]; nextCursor: string }
  | { ok: false; error: 'invalid_arguments' | 'invalid_cursor'; detail: string };

interface Stored extends TimedEntry {
  date: number;
}

/** a before b in newest-first order. */
function before(a: Position, b: Position): boolean {
  return a.date > b.date || (a.date === b.date && a.id > b.id);
}

export class AuditLogStore {
  /** Newest first. */
  private stored: Stored[] = [];
  private readonly ids = new Set<string>();

  /** Add entries; ids are unique across the log (Slack's are). */
  add(entries: readonly TimedEntry[]): void {
    const incoming = new Set<string>();
    for (const { entry } of entries) {
      if (this.ids.has(entry.id) || incoming.has(entry.id)) throw new Error(`audit entry id ${entry.id} already exists`);
      incoming.add(entry.id);
    }
    for (const timed of entries) {
      const item: Stored = { ...timed, date: timed.entry.date_create };
      const pos = this.insertionPoint({ date: item.date, id: item.entry.id });
      this.stored.splice(pos, 0, item);
      this.ids.add(timed.entry.id);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  clear(): void {
    this.stored = [];
    this.ids.clear();
  }

  /** Everything, newest first, visible or not (for inspection). */
  all(): TimedEntry[] {
    return this.stored.map(({ entry, visibleAt }) => ({ entry, visibleAt }));
  }

  visibleCount(nowSeconds: number): number {
    return this.stored.filter((s) => s.visibleAt <= nowSeconds).length;
  }

  /** Answer one `logs` call from its query-string parameters. */
  query(params: Record<string, string | undefined>, nowSeconds: number): AuditQueryResult {
    const parsed = parseQuery(params);
    if (!parsed.ok) return parsed;
    let { filter } = parsed;
    let after: Position | undefined;
    if (parsed.cursor) {
      const decoded = decodeCursor(parsed.cursor);
      if (!decoded) return { ok: false, error: 'invalid_cursor', detail: 'cursor is not one this server issued' };
      // Same query, next page: parameters left out are taken from the cursor; changed ones are an error.
      const mismatch = (Object.keys(filter) as (keyof Filter)[]).find(
        (key) => filter[key] !== undefined && JSON.stringify(filter[key]) !== JSON.stringify(decoded.filter[key]),
      );
      if (mismatch) return { ok: false, error: 'invalid_cursor', detail: `cursor belongs to a query with a different ${mismatch}` };
      filter = decoded.filter;
      after = decoded.after;
    }

    const page: Stored[] = [];
    let more = false;
    for (const item of this.stored) {
      if (after && !before(after, { date: item.date, id: item.entry.id })) continue;
      if (item.visibleAt > nowSeconds || !matches(item, filter)) continue;
      if (page.length === parsed.limit) {
        more = true;
        break;
      }
      page.push(item);
    }
    const last = page[page.length - 1];
    return {
      ok: true,
      entries: page.map((s) => s.entry),
      nextCursor: more && last ? encodeCursor({ filter, after: { date: last.date, id: last.entry.id } }) : '',
    };
  }

  private insertionPoint(position: Position): number {
    let lo = 0;
    let hi = this.stored.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const item = this.stored[mid];
      if (before({ date: item.date, id: item.entry.id }, position)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function matches(item: Stored, filter: Filter): boolean {
  if (filter.oldest !== undefined && item.date < filter.oldest) return false;
  if (filter.latest !== undefined && item.date > filter.latest) return false;
  if (filter.actions && !filter.actions.includes(item.entry.action)) return false;
  if (filter.actor !== undefined && actorId(item.entry) !== filter.actor) return false;
  if (filter.entity !== undefined && entityId(item.entry) !== filter.entity) return false;
  return true;
}

type Parsed = { ok: true; filter: Filter; limit: number; cursor?: string } | { ok: false; error: 'invalid_arguments'; detail: string };

function parseQuery(params: Record<string, string | undefined>): Parsed {
  const bad = (detail: string): Parsed => ({ ok: false, error: 'invalid_arguments', detail });
  const seconds = (name: 'oldest' | 'latest'): number | undefined | null => {
    const raw = params[name];
    if (raw === undefined || raw === '') return undefined;
    return /^\d+$/.test(raw) ? Number(raw) : null;
  };
  const oldest = seconds('oldest');
  const latest = seconds('latest');
  if (oldest === null) return bad('oldest must be unix seconds');
  if (latest === null) return bad('latest must be unix seconds');

  let limit = DEFAULT_LIMIT;
  if (params.limit !== undefined && params.limit !== '') {
    if (!/^\d+$/.test(params.limit)) return bad('limit must be a positive integer');
    limit = Number(params.limit);
    if (limit < 1 || limit > MAX_LIMIT) return bad(`limit must be between 1 and ${MAX_LIMIT}`);
  }

  let actions: string[] | undefined;
  if (params.action) {
    actions = [...new Set(params.action.split(',').map((a) => a.trim()).filter(Boolean))].sort();
    if (actions.length > MAX_ACTIONS) return bad(`at most ${MAX_ACTIONS} actions`);
  }
  const filter: Filter = { oldest, latest, actions, actor: params.actor || undefined, entity: params.entity || undefined };
  return { ok: true, filter, limit, cursor: params.cursor || undefined };
}

interface CursorData {
  filter: Filter;
  after: Position;
}

function encodeCursor(data: CursorData): string {
  return Buffer.from(JSON.stringify({ v: 1, f: data.filter, a: [data.after.date, data.after.id] })).toString('base64url');
}

function decodeCursor(cursor: string): CursorData | undefined {
  try {
    const raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: number; f?: Filter; a?: [number, string] };
    if (raw.v !== 1 || !raw.f || !Array.isArray(raw.a) || typeof raw.a[0] !== 'number' || typeof raw.a[1] !== 'string') return undefined;
    return { filter: raw.f, after: { date: raw.a[0], id: raw.a[1] } };
  } catch {
    return undefined;
  }
}
