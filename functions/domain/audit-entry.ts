import * as z from 'zod';
import { formatIssues } from './validation';

/** Slack user IDs: U… or W… (enterprise), upper-case alphanumerics. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
/** Slack user group IDs: S… */
export const SLACK_GROUP_ID = /^S[A-Z0-9]{2,}$/;
/** Slack channel IDs: C…, G… or D… */
export const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

/** An audit entry larger than this is refused rather than carried through the pipeline. */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** Text Slack may send empty ("nothing changed"), null or absent: all read as absent. */
const optionalText = z
  .string()
  .optional()
  .catch(undefined)
  .transform((text) => (text === '' ? undefined : text));

const userRef = z
  .object({
    id: z.string().regex(SLACK_USER_ID, 'must be a Slack user ID (U… or W…)'),
    name: optionalText,
    email: optionalText,
    team: optionalText,
  })
  .passthrough();

const entitySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('user'), user: userRef }).passthrough(),
  z
    .object({ type: z.literal('app'), app: z.object({ id: z.string().min(1), name: z.string().optional() }).passthrough() })
    .passthrough(),
  // Other entity kinds Slack documents; recorded, never acted on.
  z
    .object({ type: z.enum(['workspace', 'enterprise', 'channel', 'file', 'workflow', 'usergroup', 'barrier', 'message', 'role', 'account_type_role']) })
    .passthrough(),
]);

/** An autonomous system number as a number or a numeric string; anything else reads as absent. */
const optionalAsn = z
  .union([z.number().int().positive(), z.string().regex(/^(AS)?\d{1,10}$/i).transform((text) => Number(text.replace(/^AS/i, '')))])
  .optional()
  .catch(undefined);

export const auditEntrySchema = z
  .object({
    id: z.string().min(1, 'is required'),
    date_create: z.number().int().nonnegative(),
    action: z.literal('anomaly'),
    // The actor is recorded by Slack but never used here: a surprise in it must not block a response.
    actor: z.unknown().optional(),
    entity: entitySchema,
    context: z
      .object({
        location: z
          .object({ type: optionalText, id: optionalText, name: optionalText, domain: optionalText })
          .passthrough()
          .optional()
          .catch(undefined),
        ua: optionalText,
        ip_address: optionalText,
        // A string or a number in real entries, sometimes null: all accepted (null = none).
        session_id: z.union([z.string(), z.number()]).optional().catch(undefined),
        // No published entry carries the network's ASN; read when present (trusted networks match it).
        asn: optionalAsn,
      })
      .passthrough()
      .prefault({}),
    details: z
      .object({
        reason: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
        location: optionalText,
        previous_ip_address: optionalText,
        previous_ua: optionalText,
        // Seen in live entries (java-slack-sdk samples): Slack's own word that the person is from
        // another org, and the team they belong to. Absent on most entries; read when present.
        is_external_user: z.boolean().optional().catch(undefined),
        entity_team: optionalText,
        asn: optionalAsn,
        // µs, ms or a string in published examples: recorded by passthrough, never relied on.
      })
      .passthrough(),
  })
  .passthrough();

export type RawAuditEntry = z.input<typeof auditEntrySchema>;

/** A validated anomaly entry with the fields the responder uses, normalised. */
export interface AnomalyEntry {
  id: string;
  /** Unix seconds. */
  dateCreate: number;
  entity:
    | {
        kind: 'user';
        userId: string;
        name?: string;
        email?: string;
        /** `entity.user.team`: the person's team as the audit log names it (T… or E…). */
        team?: string;
        /** `details.is_external_user`, when Slack sends it. */
        isExternalUser?: boolean;
        /** `details.entity_team`, when Slack sends it. */
        entityTeam?: string;
      }
    | { kind: 'app'; appId: string; name?: string }
    | { kind: 'other'; type: string };
  /** Reason codes, as a list even when Slack sent one string. */
  reasons: string[];
  context: {
    ipAddress?: string;
    userAgent?: string;
    /** Geo-location Slack attached to the anomaly, e.g. "Reno, Nevada". */
    location?: string;
    workspace?: string;
    sessionId?: string;
    /** The network's autonomous system number, when the entry names one. */
    asn?: number;
    previousIpAddress?: string;
    previousUserAgent?: string;
  };
}

export type EntryParseResult =
  | { ok: true; entry: AnomalyEntry }
  | { ok: false; entryId?: string; issues: string[] };

export function parseAuditEntry(raw: unknown): EntryParseResult {
  const entryId = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(raw) ?? '');
  } catch {
    return { ok: false, entryId, issues: ['(root): is not serialisable JSON'] };
  }
  if (size > MAX_ENTRY_BYTES) {
    return { ok: false, entryId, issues: [`(root): entry is ${size} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`] };
  }
  const parsed = auditEntrySchema.safeParse(raw);
  if (!parsed.success) return { ok: false, entryId, issues: formatIssues(parsed.error) };
  const e = parsed.data;
  const entity: AnomalyEntry['entity'] =
    e.entity.type === 'user'
      ? {
          kind: 'user',
          userId: e.entity.user.id,
          name: e.entity.user.name || undefined,
          email: e.entity.user.email || undefined,
          team: e.entity.user.team || undefined,
          isExternalUser: e.details.is_external_user,
          entityTeam: e.details.entity_team,
        }
      : e.entity.type === 'app'
        ? { kind: 'app', appId: e.entity.app.id, name: e.entity.app.name }
        : { kind: 'other', type: e.entity.type };
  return {
    ok: true,
    entry: {
      id: e.id,
      dateCreate: e.date_create,
      entity,
      reasons: [...new Set(Array.isArray(e.details.reason) ? e.details.reason : [e.details.reason])],
      context: {
        ipAddress: e.context.ip_address,
        userAgent: e.context.ua,
        location: e.details.location,
        workspace: e.context.location?.name ?? e.context.location?.domain,
        sessionId: e.context.session_id === undefined || e.context.session_id === '' ? undefined : String(e.context.session_id),
        asn: e.context.asn ?? e.details.asn,
        previousIpAddress: e.details.previous_ip_address,
        previousUserAgent: e.details.previous_ua,
      },
    },
  };
}

/**
 * Audit actions that tell the responder what else ended sessions or changed the response, read
 * alongside `anomaly` (fact sheet §10): Slack's built-in anomaly response acting, an admin signing
 * someone out, and someone changing the built-in feature's settings.
 */
export const SESSION_EVENT_ACTIONS = [
  'user_sessions_reset_by_anomaly_event_response',
  'user_session_reset_by_admin',
  'bulk_session_reset_by_admin',
  'pref.anomaly_event_response_changed',
] as const;
export type SessionEventAction = (typeof SESSION_EVENT_ACTIONS)[number];

/** Every action the poller asks the Audit Logs API for (its `action` filter takes up to 30). */
export const POLLED_ACTIONS = ['anomaly', ...SESSION_EVENT_ACTIONS] as const;

/** Who ended a person's sessions, as the response log says it. */
export type ResetBy = 'slack_anomaly_response' | 'admin';

/**
 * One of those entries, normalised. Slack publishes no example of them: the shape read here is the
 * audit log's common one (entity, actor), and anything else is kept only in the raw entry.
 */
export interface SessionEvent {
  id: string;
  /** Unix seconds. */
  dateCreate: number;
  action: SessionEventAction;
  /** Whose sessions were ended, when the entity is a person (the two single-person resets). */
  userId?: string;
  /** Who did it, when the actor is a person. */
  actorId?: string;
  /** Who ended the sessions (reset actions only). */
  resetBy?: ResetBy;
  /** The entry's `details`, as JSON, capped: what a settings change says it changed (no schema is published). */
  details?: string;
}

const sessionEventSchema = z
  .object({
    id: z.string().min(1, 'is required'),
    date_create: z.number().int().nonnegative(),
    action: z.enum(SESSION_EVENT_ACTIONS),
    actor: z.object({ user: z.object({ id: z.string().regex(SLACK_USER_ID) }).passthrough().optional() }).passthrough().optional().catch(undefined),
    entity: z
      .object({ type: z.string(), user: z.object({ id: z.string().regex(SLACK_USER_ID) }).passthrough().optional() })
      .passthrough()
      .optional()
      .catch(undefined),
    details: z.unknown().optional(),
  })
  .passthrough();

export function isSessionEventAction(action: unknown): action is SessionEventAction {
  return typeof action === 'string' && (SESSION_EVENT_ACTIONS as readonly string[]).includes(action);
}

export function parseSessionEvent(raw: unknown): { ok: true; event: SessionEvent } | { ok: false; entryId?: string; issues: string[] } {
  const parsed = sessionEventSchema.safeParse(raw);
  if (!parsed.success) {
    const id = (raw as { id?: unknown } | null)?.id;
    return { ok: false, entryId: typeof id === 'string' ? id : undefined, issues: formatIssues(parsed.error) };
  }
  const e = parsed.data;
  const userId = e.entity?.type === 'user' ? e.entity.user?.id : undefined;
  const resetBy: ResetBy | undefined =
    e.action === 'user_sessions_reset_by_anomaly_event_response' ? 'slack_anomaly_response' : e.action === 'pref.anomaly_event_response_changed' ? undefined : 'admin';
  return {
    ok: true,
    event: {
      id: e.id,
      dateCreate: e.date_create,
      action: e.action,
      ...(userId ? { userId } : {}),
      ...(e.actor?.user?.id ? { actorId: e.actor.user.id } : {}),
      ...(resetBy ? { resetBy } : {}),
      ...(e.details !== undefined ? { details: JSON.stringify(e.details).slice(0, 1000) } : {}),
    },
  };
}
