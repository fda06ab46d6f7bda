import * as z from 'zod';
import { ANOMALY_EVENT_NAMES } from './anomaly-catalogue';
import { formatIssues } from './validation';

/** Slack user IDs: U… or W… (enterprise), upper-case alphanumerics. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
/** Slack user group IDs: S… */
export const SLACK_GROUP_ID = /^S[A-Z0-9]{2,}$/;
/** Slack channel IDs: C…, G… or D… */
export const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

/**
 * The longest entry id accepted. The id becomes ledger keys (`entry#<id>`, `seen#<id>`), and
 * DynamoDB refuses a partition key over 2,048 bytes: 200 characters stay far below it even at
 * four bytes each. Slack's ids are 36-character UUIDs.
 */
export const MAX_ENTRY_ID_LENGTH = 200;

/** An id the ledger can key on: bounded, and no control characters (which would also reach logs). */
export function isUsableEntryId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ENTRY_ID_LENGTH && !hasControlCharacter(id);
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

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

/** Slack's entry id, bounded: it becomes part of ledger keys and queue message ids. */
const entryIdSchema = z
  .string()
  .min(1, 'is required')
  .max(MAX_ENTRY_ID_LENGTH, `must be at most ${MAX_ENTRY_ID_LENGTH} characters`)
  .refine((id) => !hasControlCharacter(id), 'must not contain control characters');

/** An autonomous system number as a number or a numeric string; anything else reads as absent. */
const optionalAsn = z
  .union([z.number().int().positive(), z.string().regex(/^(AS)?\d{1,10}$/i).transform((text) => Number(text.replace(/^AS/i, '')))])
  .optional()
  .catch(undefined);

export const auditEntrySchema = z
  .object({
    id: entryIdSchema,
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
  // Only an id the ledger can key on names the rejection; any other is recorded under a hash of the message.
  const rawId = (raw as { id?: unknown } | null | undefined)?.id;
  const entryId = isUsableEntryId(rawId) ? rawId : undefined;
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
    id: entryIdSchema,
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

/** Appended to a string the poller had to cut, so a reader of the alert sees it is not whole. */
export const CUT_MARKER = '…[cut]';
/** Longest string kept in a bounded entry (characters, before the marker). */
export const BOUNDED_TEXT_LENGTH = 256;
/** Most reason codes kept in a bounded entry (known anomaly events first). */
export const BOUNDED_REASONS = 16;
const BOUNDED_REASON_LENGTH = 64;

/**
 * A bounded copy of an audit entry that is too large to carry (SQS refuses it, and respond
 * refuses an entry over MAX_ENTRY_BYTES): only the fields the pipeline reads, in Slack's own
 * shape, so respond validates it like any entry and a huge anomaly is still acted on. Long
 * strings are cut and end with CUT_MARKER; known anomaly events are kept before other reasons.
 * Whatever the input, the result serialises to well under MAX_ENTRY_BYTES (20 strings of at most
 * 256 characters, 6 bytes each escaped, plus 16 short reasons).
 */
export function boundedAuditEntry(raw: unknown): Record<string, unknown> {
  const entry = objectOrEmpty(raw);
  const entity = objectOrEmpty(entry.entity);
  const user = entity.user === undefined ? undefined : objectOrEmpty(entity.user);
  const app = entity.app === undefined ? undefined : objectOrEmpty(entity.app);
  const context = objectOrEmpty(entry.context);
  const location = context.location === undefined ? undefined : objectOrEmpty(context.location);
  const details = objectOrEmpty(entry.details);
  return prune({
    id: scalar(entry.id),
    date_create: scalar(entry.date_create),
    action: scalar(entry.action),
    entity: prune({
      type: scalar(entity.type),
      user: user && prune({ id: scalar(user.id), name: scalar(user.name), email: scalar(user.email), team: scalar(user.team) }),
      app: app && prune({ id: scalar(app.id), name: scalar(app.name) }),
    }),
    context: prune({
      location: location && prune({ type: scalar(location.type), id: scalar(location.id), name: scalar(location.name), domain: scalar(location.domain) }),
      ua: scalar(context.ua),
      ip_address: scalar(context.ip_address),
      session_id: scalar(context.session_id),
    }),
    details: prune({
      reason: boundedReasons(details.reason),
      location: scalar(details.location),
      previous_ip_address: scalar(details.previous_ip_address),
      previous_ua: scalar(details.previous_ua),
      is_external_user: typeof details.is_external_user === 'boolean' ? details.is_external_user : undefined,
      entity_team: scalar(details.entity_team),
    }),
  });
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Strings cut to `max` with the marker; numbers, booleans and null kept; anything else dropped (validation names it missing). */
function scalar(value: unknown, max = BOUNDED_TEXT_LENGTH): unknown {
  if (typeof value === 'string') return cut(value, max);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return undefined;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}${CUT_MARKER}`;
}

/** The anomaly events first (so a huge entry still names what it is about), then other codes, bounded. */
function boundedReasons(reason: unknown): unknown {
  if (!Array.isArray(reason)) return scalar(reason, BOUNDED_REASON_LENGTH);
  const texts = reason.filter((r): r is string => typeof r === 'string');
  const ordered = [...new Set([...texts.filter((r) => ANOMALY_EVENT_NAMES.includes(r as never)), ...texts])];
  // A list that held only non-strings stays invalid (respond names it) rather than becoming empty-but-valid.
  if (!ordered.length) return reason.length ? [null] : [];
  return ordered.slice(0, BOUNDED_REASONS).map((r) => cut(r, BOUNDED_REASON_LENGTH));
}

/** Drops undefined members, so absent stays absent. */
function prune(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}
