import * as z from 'zod';
import { ANOMALY_EVENT_NAMES } from './anomaly-catalogue';
import { NOTIFICATION_TYPES } from './config/schema';

/** anomalies queue: one raw audit entry per message, validated by `respond`, not by the poller. */
export const anomalyMessageSchema = z.object({
  /** Validated by `respond` (parseAuditEntry), which records a bad entry as rejected. */
  entry: z.unknown(),
  /** When the poller fetched it (epoch ms). */
  polledAt: z.number().int(),
});
export type AnomalyMessage = z.infer<typeof anomalyMessageSchema>;

/** notifications queue: one job per audit entry that someone must be told about. */
export const notificationJobSchema = z.object({
  entryId: z.string().min(1),
  type: z.enum(NOTIFICATION_TYPES),
  /** Anomaly time (epoch seconds) as reported by Slack. */
  occurredAt: z.number().int(),
  user: z.object({ id: z.string().min(1), name: z.string().optional(), email: z.string().optional() }),
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
  /** What the responder did, in words a security admin reads: "Ended all sessions", … */
  actionTaken: z.string(),
  /** Why it held back or what failed, when it did. */
  detail: z.string().optional(),
});
export type NotificationJob = z.infer<typeof notificationJobSchema>;
