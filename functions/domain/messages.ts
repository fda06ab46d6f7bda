import * as z from 'zod';
import { RULE_EVENT_NAMES, type AnomalyEvent } from './anomaly-catalogue';
import { NOTIFICATION_TYPES, SESSION_SCOPES } from './config/schema';

/** anomalies queue: one raw audit entry per message, validated by `respond`, not by the poller. */
export const anomalyMessageSchema = z.object({
  /** Validated by `respond` (parseAuditEntry), which records a bad entry as rejected. */
  entry: z.unknown(),
  /** When the poller fetched it (epoch ms). */
  polledAt: z.number().int(),
});
export type AnomalyMessage = z.infer<typeof anomalyMessageSchema>;

const HOLD_REASONS = ['app_anomaly', 'trusted_network', 'rule_notify_only', 'excluded', 'external_user', 'not_in_directory', 'protected', 'cooldown', 'circuit_breaker'] as const;
const events = z.array(z.enum(RULE_EVENT_NAMES as [AnomalyEvent, ...AnomalyEvent[]]));

/** What the responder did about an entry and why: no English here (that is the notifier's, with its templates). */
export const responseFactsSchema = z.object({
  outcome: z.enum(['sessions_ended', 'dry_run', 'reset_refused', 'held', 'protected', 'recorded']),
  /** Dry run: nothing was done, and the alert says so. */
  dryRun: z.literal(true).optional(),
  /** Which sessions were ended, or would have been (sessions_ended, dry_run, reset_refused). */
  scope: z.enum(SESSION_SCOPES).optional(),
  /** The rule asked for one session, but the entry named none: all were ended. */
  scopeFallback: z.literal('no_session_id').optional(),
  /** Who else ended the sessions within the cooldown (cooldown): Slack's built-in response or an admin. */
  resetBy: z.enum(['slack_anomaly_response', 'admin']).optional(),
  /** The trusted range or ASN the anomaly came from (trusted_network). */
  trustedNetwork: z.string().optional(),
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
  /** The person the anomaly is about; absent for an app's anomaly. */
  user: z
    .object({
      id: z.string().min(1),
      /** The handle from the audit entry. */
      name: z.string().optional(),
      email: z.string().optional(),
      /** The person's real name from the directory, filled in by notify when it looks them up. */
      realName: z.string().optional(),
    })
    .optional(),
  /** The app an app_anomaly is about (its id and name, as the audit entry gives them). */
  app: z.object({ id: z.string().min(1), name: z.string().optional() }).optional(),
  /** anomaly_response_changed: who changed Slack's built-in response, and the entry's details as Slack gave them (JSON, capped). */
  settingsChange: z.object({ actorId: z.string().optional(), details: z.string().optional() }).optional(),
  events: z.array(z.enum(RULE_EVENT_NAMES as [string, ...string[]])),
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
}).refine((job) => (job.type === 'anomaly_response_changed' ? !!job.settingsChange : job.app ? !job.user : !!job.user), {
  message: 'names either the person (user) or the app (app) the anomaly is about, or the settings change',
  path: ['user'],
});
export type NotificationJob = z.infer<typeof notificationJobSchema>;

/** notifications queue: send the admin digest of one notification type and period (functions/notify/digest.ts). */
export const digestFlushSchema = z.object({
  digest: z.object({ type: z.enum(NOTIFICATION_TYPES), periodStart: z.number().int().nonnegative() }),
});
export type DigestFlush = z.infer<typeof digestFlushSchema>;
