import * as z from 'zod';
import { parseOrThrow } from '../domain/validation';

/**
 * Environment of the three functions, validated once per container. Names here are the
 * contract with lib/ (the CDK stack sets them) and local/ (local mode sets them).
 * No secrets: tokens come from Secrets Manager, one secret per token, and each function is told
 * the ids of only the secrets it uses (its role can read no other).
 */
const seconds = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

const common = {
  CONFIG_TABLE_NAME: z.string().min(1),
  LEDGER_TABLE_NAME: z.string().min(1),
  /** Slack Web API base, e.g. https://slack.com/api/ (override for simulators). */
  SLACK_API_URL: z.url().default('https://slack.com/api/'),
  /** Ledger decision records are kept this long (days). */
  LEDGER_RETENTION_DAYS: seconds(400),
};

export const pollerEnvSchema = z.object({
  ...common,
  /** The org owner's audit-logs token (auditlogs:read). */
  SLACK_AUDIT_TOKEN_SECRET_ID: z.string().min(1),
  /** The admin token: Slack's anomaly allow-list (trustedNetworks.syncToSlack). */
  SLACK_ADMIN_TOKEN_SECRET_ID: z.string().min(1),
  ANOMALIES_QUEUE_URL: z.string().min(1),
  /** Audit Logs API base, e.g. https://api.slack.com/audit/v1/ */
  SLACK_AUDIT_API_URL: z.url().default('https://api.slack.com/audit/v1/'),
  /** The first poll of each run re-reads this far behind the checkpoint to catch entries that arrive late. */
  POLL_OVERLAP_SECONDS: seconds(900),
  /** The other polls of a run re-read only this far behind it (one page, not the whole overlap). */
  POLL_RECENT_OVERLAP_SECONDS: seconds(60),
  /** The first poll ever looks back this far. */
  POLL_INITIAL_LOOKBACK_SECONDS: seconds(3600),
  /**
   * Polls inside one invocation, spaced by POLL_INTERVAL_SECONDS, for reaction in seconds: eight
   * polls a minute, one call each when nothing is new, inside the audit budget of ten a minute
   * (the pacer holds a poll back rather than exceed it).
   */
  POLL_ROUNDS: z.coerce.number().int().min(1).max(12).default(8),
  POLL_INTERVAL_SECONDS: seconds(7),
  /** Seen-entry records outlive the overlap by far, so a late re-read is never re-enqueued. */
  SEEN_RETENTION_HOURS: seconds(72),
  /** The poller reads the response configuration only to enqueue entries that may end sessions first. */
  CONFIG_CACHE_SECONDS: seconds(60),
  /** Page size asked of the Audit Logs API: Slack's maximum, 9999, so a burst takes few calls. */
  POLL_PAGE_LIMIT: z.coerce.number().int().min(1).max(9999).default(9999),
}).refine((env) => env.SEEN_RETENTION_HOURS * 3600 >= 2 * env.POLL_OVERLAP_SECONDS + 3600, {
  // A seen record that expired while its entry is still re-read in the overlap would enqueue it again.
  path: ['SEEN_RETENTION_HOURS'],
  message: 'must keep seen-entry records for at least twice POLL_OVERLAP_SECONDS plus an hour',
});

export const respondEnvSchema = z.object({
  ...common,
  /** The admin token: ends sessions and reads the directory. */
  SLACK_ADMIN_TOKEN_SECRET_ID: z.string().min(1),
  /** The queue respond consumes: it gives messages back with a delay on Slack 429s. */
  ANOMALIES_QUEUE_URL: z.string().min(1),
  NOTIFICATIONS_QUEUE_URL: z.string().min(1),
  CONFIG_CACHE_SECONDS: seconds(60),
  DIRECTORY_CACHE_SECONDS: seconds(900),
});

export const notifyEnvSchema = z.object({
  ...common,
  /** A read-only directory token (recipients and their addresses) and the bot token (messages). */
  SLACK_DIRECTORY_TOKEN_SECRET_ID: z.string().min(1),
  SLACK_BOT_TOKEN_SECRET_ID: z.string().min(1),
  /** The queue notify consumes. */
  NOTIFICATIONS_QUEUE_URL: z.string().min(1),
  SENDER_EMAIL: z.email(),
  /** The admin digest: notifications of one type a period that still go out on their own (0: no digest). */
  DIGEST_SEND_ALONE: z.coerce.number().int().nonnegative().default(5),
  /** The admin digest's period: one digest per type per period, during a burst (at most 15 minutes, SQS's longest delay). */
  DIGEST_PERIOD_SECONDS: z.coerce.number().int().min(10).max(885).default(300),
  /** Alert settings from the CDK context (README, "Alert settings"); the config table's `alerts` item wins. */
  ALERT_ORG_NAME: z.string().optional(),
  ALERT_SENDER_NAME: z.string().optional(),
  ALERT_REPLY_TO: z.string().optional(),
  ALERT_SECURITY_CONTACT: z.string().optional(),
  DIRECTORY_CACHE_SECONDS: seconds(900),
  CONFIG_CACHE_SECONDS: seconds(60),
});


export function loadEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
  return parseOrThrow(schema, env, 'environment');
}
