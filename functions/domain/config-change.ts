/**
 * One change to the config table (a DynamoDB stream record's before and after images, already
 * unmarshalled), described as data: which item, what each attribute was and became, and the
 * warnings that make the alert loud (a rule switched off, an exclusion added, dry run switched on,
 * an item removed). Pure: the words are the notifier's (functions/notify/templates.ts).
 */

export type ConfigChangeKind = 'created' | 'changed' | 'removed';

export interface FieldChange {
  /** The item's attribute, e.g. `action`, `excludedUsers`, `dryRun`. */
  field: string;
  /** The value as JSON, capped; absent when the attribute did not exist. */
  before?: string;
  after?: string;
}

export interface ConfigChange {
  /** The item's `id` (event#tor, exclusions, safety, …), capped. */
  itemId: string;
  kind: ConfigChangeKind;
  changes: FieldChange[];
  /**
   * What weakens the response, as plain phrases over our own names and the changed values:
   * e.g. "event#tor.action: end_sessions → off (a rule switched off)".
   */
  warnings: string[];
}

/** Caps: a stream image can be 400 KB; the record, the message and the alert must stay small. */
export const CONFIG_CHANGE_LIMITS = { itemId: 200, value: 300, fields: 30, warnings: 20 } as const;

const ACTING_ACTIONS = new Set(['end_sessions']);
/** Lists whose new entries make fewer anomalies acted on. */
const WEAKENING_LISTS = new Set(['excludedUsers', 'excludedGroups', 'cidrs', 'asns']);

export function describeConfigChange(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
): ConfigChange {
  const itemId = cap(String((after ?? before)?.id ?? '(no id)'), CONFIG_CHANGE_LIMITS.itemId);
  const kind: ConfigChangeKind = !before ? 'created' : !after ? 'removed' : 'changed';
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].filter((field) => field !== 'id').sort();
  const changes: FieldChange[] = [];
  const warnings: string[] = [];
  for (const field of fields) {
    const old = before?.[field];
    const now = after?.[field];
    const oldJson = show(old);
    const newJson = show(now);
    if (oldJson === newJson) continue;
    changes.push({ field: cap(field, 100), ...(oldJson !== undefined ? { before: oldJson } : {}), ...(newJson !== undefined ? { after: newJson } : {}) });
    warnings.push(...weakening(itemId, field, old, now));
  }
  if (kind === 'removed') {
    warnings.unshift(
      `${itemId} was removed: if the manifest lists it the configuration is now invalid and nothing is acted on (fail safe); otherwise it is back at its default`,
    );
  }
  return { itemId, kind, changes: changes.slice(0, CONFIG_CHANGE_LIMITS.fields), warnings: warnings.slice(0, CONFIG_CHANGE_LIMITS.warnings) };
}

/** The change in one line per field, for the response log's detail and the CLI. */
export function summariseConfigChange(change: ConfigChange): string {
  const fields = change.changes.map((c) => `${c.field}: ${c.before ?? '(none)'} \u2192 ${c.after ?? '(none)'}`);
  return `${change.itemId} ${change.kind}${fields.length ? `: ${fields.join('; ')}` : ''}`;
}

function weakening(itemId: string, field: string, old: unknown, now: unknown): string[] {
  if (field === 'action' && itemId.startsWith('event#') && ACTING_ACTIONS.has(String(old)) && !ACTING_ACTIONS.has(String(now))) {
    return [`${itemId}.action: ${show(old)} \u2192 ${show(now) ?? '(none)'} (a rule no longer ends sessions)`];
  }
  if (field === 'dryRun' && itemId === 'safety' && now === true && old !== true) {
    return ['safety.dryRun switched on: no session is ended until it is switched off'];
  }
  if (WEAKENING_LISTS.has(field)) {
    const added = listOf(now).filter((value) => !listOf(old).includes(value));
    if (added.length) return [`${itemId}.${field}: added ${cap(added.join(', '), CONFIG_CHANGE_LIMITS.value)} (anomalies about them are no longer acted on)`];
  }
  if ((field === 'securityAdmins' || field === 'primaryOwner') && itemId.startsWith('notify#')) {
    const removed = listOf(old).filter((value) => !listOf(now).includes(value));
    if (removed.length) return [`${itemId}.${field}: no longer told by ${removed.join(', ')}`];
  }
  return [];
}

function listOf(value: unknown): string[] {
  const list = value instanceof Set ? [...value] : Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry) ?? String(entry)));
}

/** JSON of a value (sets as sorted lists), capped; undefined stays undefined. */
function show(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value, (_key, v: unknown) => (v instanceof Set ? [...v].sort() : typeof v === 'bigint' ? v.toString() : v));
  return cap(json ?? String(value), CONFIG_CHANGE_LIMITS.value);
}

function cap(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}\u2026` : text;
}
