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
