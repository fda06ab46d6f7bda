import * as z from 'zod';
import { ANOMALY_EVENT_NAMES, type AnomalyEvent } from './anomaly-catalogue';
import { NOTIFICATION_TYPES } from './config/schema';

/** anomalies queue: one raw audit entry per message, validated by `respond`, not by the poller. */
export const anomalyMessageSchema = z.object({
  /** Validated by `respond` (parseAuditEntry), which records a bad entry as rejected. */
  entry: z.unknown(),
  /** When the poller fetched it (epoch ms). */
  polledAt: z.number().int(),
});
export type AnomalyMessage = z.infer<typeof anomalyMessageSchema>;

const HOLD_REASONS = ['rule_notify_only', 'excluded', 'external_user', 'not_in_directory', 'protected', 'cooldown', 'circuit_breaker'] as const;
const events = z.array(z.enum(ANOMALY_EVENT_NAMES as [AnomalyEvent, ...AnomalyEvent[]]));

/** What the responder did about an entry and why: no English here (that is the notifier's, with its templates). */
export const responseFactsSchema = z.object({
  outcome: z.enum(['sessions_ended', 'reset_refused', 'held', 'protected']),
  /** Why nothing was ended (held, protected). */
  holdReason: z.enum(HOLD_REASONS).optional(),
  /** Slack's error (reset_refused). */
  errorCode: z.string().optional(),
  /** The exclusions that matched, e.g. "user U123 (tor)", "group T1/S2 (all events)". */
  exclusions: z.array(z.string()).optional(),
  /** Events whose rule is notify only (rule_notify_only). */
  notifyOnlyEvents: events.optional(),
  /** Which fact made the person external (external_user). */
  external: z
    .object({ fact: z.enum(['is_external_user', 'stranger', 'other_enterprise', 'entity_team', 'entry_team', 'directory_team']), value: z.string().optional() })
    .optional(),
  cooldownMinutes: z.number().int().optional(),
  maxSessionResetsPerHour: z.number().int().optional(),
});
export type ResponseFacts = z.infer<typeof responseFactsSchema>;

/** notifications queue: one job per audit entry that someone must be told about. */
export const notificationJobSchema = z.object({
  entryId: z.string().min(1),
  type: z.enum(NOTIFICATION_TYPES),
  /** Anomaly time (epoch seconds) as reported by Slack. */
  occurredAt: z.number().int(),
  /** When the responder decided and acted (epoch seconds); absent in jobs queued before it was recorded. */
  respondedAt: z.number().int().optional(),
  user: z.object({
    id: z.string().min(1),
    /** The handle from the audit entry. */
    name: z.string().optional(),
    email: z.string().optional(),
    /** The person's real name from the directory, filled in by notify when it looks them up. */
    realName: z.string().optional(),
  }),
  events: z.array(z.enum(ANOMALY_EVENT_NAMES as [string, ...string[]])),
  otherReasons: z.array(z.string()),
  context: z.object({
    ipAddress: z.string().optional(),
    userAgent: z.string().optional(),
    location: z.string().optional(),
    workspace: z.string().optional(),
    previousIpAddress: z.string().optional(),
    previousUserAgent: z.string().optional(),
  }),
  /** What the responder did and why, as data; the notifier puts it into words. */
  response: responseFactsSchema,
});
export type NotificationJob = z.infer<typeof notificationJobSchema>;
