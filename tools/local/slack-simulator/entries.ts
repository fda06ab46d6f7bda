import { hash32 } from './random';
import type { Org, ScenarioEntry } from './scenario';

/** An audit entry as the Audit Logs API serves it. Raw (malformed) entries may lack fields. */
export type AuditEntry = { id: string; date_create: number; action: string } & Record<string, unknown>;

/** An entry plus when it becomes visible to readers of the audit log (unix seconds). */
export interface TimedEntry {
  entry: AuditEntry;
  visibleAt: number;
}

type Json = Record<string, unknown>;

const SIMULATOR_FIELDS = new Set(['ageSeconds', 'arrivalDelaySeconds', 'raw', 'note']);
const ENTRY_FIELDS = new Set(['id', 'date_create', 'action', 'actor', 'entity', 'context', 'details']);

/**
 * Turn scenario entries into served audit entries: resolve relative times against `nowSeconds`,
 * and fill what Slack always sends (actor, user names and emails, workspace location, session id,
 * action_timestamp) from the directory, so scenario files stay short. Raw entries are served as
 * written, with only date_create (and a missing action) set.
 */
export function buildEntries(entries: readonly ScenarioEntry[], org: Org, nowSeconds: number): TimedEntry[] {
  return entries.map((input) => {
    const dateCreate = input.date_create ?? nowSeconds - (input.ageSeconds ?? 0);
    const rest = Object.fromEntries(Object.entries(input).filter(([key]) => !SIMULATOR_FIELDS.has(key))) as Json;
    const entry = input.raw
      ? ({ ...rest, id: input.id, date_create: dateCreate, action: typeof rest.action === 'string' ? rest.action : 'anomaly' } as AuditEntry)
      : completeEntry(rest, org, dateCreate);
    return { entry, visibleAt: dateCreate + input.arrivalDelaySeconds };
  });
}

function completeEntry(input: Json, org: Org, dateCreate: number): AuditEntry {
  const id = input.id as string;
  const entity = completeEntity(input.entity as Json, org);
  const actor = (input.actor as Json | undefined) ?? entity;
  const context = (input.context as Json | undefined) ?? {};
  const details = (input.details as Json | undefined) ?? {};
  const action = input.action;
  const extra = Object.fromEntries(Object.entries(input).filter(([key]) => !ENTRY_FIELDS.has(key)));
  // Key order as Slack sends it, so entries read naturally in logs and the state dump.
  return {
    id,
    date_create: dateCreate,
    action: typeof action === 'string' ? action : 'anomaly',
    actor,
    entity,
    context: {
      location: { type: 'enterprise', id: org.enterprise.id, name: org.enterprise.name, domain: org.enterprise.domain },
      session_id: String(1_600_000_000_000 + (hash32(`session:${id}`) % 100_000_000_000)),
      ...context,
    },
    details: {
      // Microseconds, a little before the entry was written; do not rely on the unit (Slack's examples disagree).
      action_timestamp: dateCreate * 1_000_000 - (hash32(`ts:${id}`) % 60_000_000),
      ...details,
    },
    ...extra,
  };
}

function completeEntity(entity: Json, org: Org): Json {
  if (entity.type !== 'user') return entity;
  const ref = entity.user as Json;
  const user = org.users.find((u) => u.id === ref.id);
  if (!user) return entity;
  return {
    ...entity,
    user: {
      id: user.id,
      name: user.name,
      email: user.email,
      team: user.external ? (user.team ?? user.enterprise_id) : (user.team ?? homeTeam(org)),
      ...ref,
    },
  };
}

/** The workspace a user belongs to when the scenario does not say: the first workspace, else the org. */
export function homeTeam(org: Org): string {
  return org.workspaces[0]?.id ?? org.enterprise.id;
}

/** The entity's id whatever its type (user.id, app.id, …), for the `entity` filter. */
export function entityId(entry: AuditEntry): string | undefined {
  const entity = entry.entity as Json | undefined;
  const type = entity?.type;
  if (typeof type !== 'string') return undefined;
  const inner = entity?.[type] as Json | undefined;
  return typeof inner?.id === 'string' ? inner.id : undefined;
}

/** The actor's user id, for the `actor` filter. */
export function actorId(entry: AuditEntry): string | undefined {
  const actor = entry.actor as Json | undefined;
  const user = actor?.user as Json | undefined;
  return typeof user?.id === 'string' ? user.id : undefined;
}

/** Session ids named by user entries, so admin.users.session.invalidate can find them. */
export function sessionOf(entry: AuditEntry): { userId: string; sessionId: string } | undefined {
  const userId = (entry.entity as Json | undefined)?.type === 'user' ? entityId(entry) : undefined;
  const sessionId = (entry.context as Json | undefined)?.session_id;
  if (!userId || (typeof sessionId !== 'string' && typeof sessionId !== 'number')) return undefined;
  return { userId, sessionId: String(sessionId) };
}
