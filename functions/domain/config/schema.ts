import * as z from 'zod';
import { RESPONSE_ACTIONS, RULE_EVENT_NAMES, defaultAction, type AnomalyEvent } from '../anomaly-catalogue';
import { parseCidr } from '../networks';
import { SLACK_CHANNEL_ID, SLACK_GROUP_ID, SLACK_USER_ID } from '../audit-entry';

/**
 * The response configuration: what to do per anomaly event, whom never to touch, and who is
 * told what by which channel. The seed file is this document as JSON; the config table holds
 * the same data as one plain item per concern (see ./items.ts) so it can be edited in the
 * DynamoDB console.
 */

// The DynamoDB console can store a list as a string set; the document client hands that back as a Set.
const stringList = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess((v) => (v instanceof Set ? [...v] : v), z.array(item)).default([]);

const userIds = stringList(z.string().regex(SLACK_USER_ID, 'must be a Slack user ID (U… or W…)'));
const groupId = z.string().regex(SLACK_GROUP_ID, 'must be a Slack user group ID (S…)');
const teamId = z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'must be the group\u2019s workspace ID (T…) or, for an org-wide group, the org ID (E…)');
/**
 * An excluded user group. Slack needs the group's own team to list its members with our
 * org-level token: a workspace group is `"T…/S…"` or `{ "id": "S…", "team": "T…" }`; an org-wide
 * group is `"S…"` or `{ "id": "S…" }` (its team is the org's enterprise id, found at run time).
 * Either way it is kept as one key string, `S…` or `T…/S…` (see `parseGroupKey`).
 */
const groupKeyString = z.string().regex(/^(?:[TE][A-Z0-9]{2,}\/)?S[A-Z0-9]{2,}$/, 'must be a Slack user group ID (S…), or T…/S… for a workspace group');
const groupObject = z
  .object({ id: groupId, team: teamId.optional() })
  .strict()
  .transform(({ id, team }) => (team ? `${team}/${id}` : id));
// Chosen by the value's type rather than z.union, so a bad field inside the object form is
// reported by name (a union would only say "Invalid input").
const groupRef = z.unknown().transform((value, ctx) => {
  const parsed = (typeof value === 'string' ? groupKeyString : groupObject).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});
const groupRefs = z.preprocess((v) => (v instanceof Set ? [...v] : v), z.array(groupRef)).default([]);

/** A configured group key split into the group and its team (undefined = org-wide). */
export function parseGroupKey(key: string): { id: string; team?: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { id: key } : { id: key.slice(slash + 1), team: key.slice(0, slash) };
}

export const NOTIFICATION_CHANNELS = ['email', 'slack'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
const channels = stringList(z.enum(NOTIFICATION_CHANNELS)).transform((list) => [...new Set(list)]);

/**
 * Which sessions an end_sessions rule ends: every session (Slack's own behaviour), web or mobile
 * sessions only (admin.users.session.reset's web_only / mobile_only), or only the session the
 * anomaly was seen in (admin.users.session.invalidate with the entry's session id).
 */
export const SESSION_SCOPES = ['all', 'web', 'mobile', 'session'] as const;
export type SessionScope = (typeof SESSION_SCOPES)[number];

export const eventRuleSchema = z
  .object({
    action: z.enum(RESPONSE_ACTIONS),
    scope: z.enum(SESSION_SCOPES).default('all'),
    excludedUsers: userIds,
    excludedGroups: groupRefs,
  })
  .strict();

export const exclusionsSchema = z.object({ excludedUsers: userIds, excludedGroups: groupRefs }).strict();

export const recipientRuleSchema = z
  .object({
    primaryOwner: channels,
    securityAdmins: channels,
    extraEmails: stringList(z.email('must be an email address')),
    /** A channel to post to (C…/G…); the bot must be a member. */
    slackChannel: z.string().regex(SLACK_CHANNEL_ID, 'must be a Slack channel ID (C…, G… or D…)').optional(),
  })
  .strict();

export const NOTIFICATION_TYPES = ['sessions_ended', 'anomaly_not_acted_on', 'action_failed', 'app_anomaly', 'anomaly_response_changed', 'config_changed'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const affectedUserRuleSchema = z
  .object({
    /** Email the affected user when their sessions are ended (Slack always does). */
    email: z.boolean().default(true),
    /** Also send them a Slack DM from the bot. */
    slack: z.boolean().default(false),
  })
  .strict();

export const safetySchema = z
  .object({
    /** No second session reset of the same user within this many minutes (loop protection). */
    cooldownMinutes: z.number().int().min(0).max(24 * 60).default(30),
    /** Circuit breaker: at most this many session resets in any 60 minutes (a sliding window), org-wide. */
    maxSessionResetsPerHour: z.number().int().min(1).max(10_000).default(25),
    /**
     * Decide, record and tell the owners and security admins everything as usual, but end no
     * session and email nobody affected: the way to start a first deployment.
     */
    dryRun: z.boolean().default(false),
  })
  .strict();

/** A CIDR range, kept in canonical form; a bad one is refused with its field named. */
const cidr = z.string().transform((text, ctx) => {
  const parsed = parseCidr(text.trim());
  if (parsed.ok) return parsed.cidr.text;
  ctx.addIssue({ code: 'custom', message: parsed.message });
  return z.NEVER;
});

/**
 * Networks whose anomalies are never acted on (notify only, reason trusted_network): an office
 * egress range, a VPN. IPv4 and IPv6 CIDRs, and autonomous system numbers for entries that carry one.
 */
export const trustedNetworksSchema = z
  .object({
    cidrs: z.preprocess((v) => (v instanceof Set ? [...v] : v), z.array(cidr)).default([]),
    asns: z.preprocess((v) => (v instanceof Set ? [...v] : v), z.array(z.number().int().min(1).max(4_294_967_295))).default([]),
    /**
     * Keep Slack's own anomaly allow-list equal to the IPv4 ranges and ASNs here, so Slack stops
     * flagging that traffic at the source (the poller checks it every run; a change made in Slack is
     * logged and alerted, then overwritten).
     */
    syncToSlack: z.boolean().default(false),
  })
  .strict();

/** An IANA time zone the runtime knows (Intl is part of the language, not an I/O dependency). */
const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as UTC or Europe/Berlin');
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).max(2000);

/**
 * How alerts present themselves: operator-set text and links (never from an audit entry).
 * Every field is optional; the deployment's CDK context gives defaults (see README, "Alert
 * settings") and a value here wins over it.
 */
export const alertsSchema = z
  .object({
    /** The organisation's name as people know it, e.g. "Acme": in greetings' footers and subjects. */
    orgName: z.string().trim().min(1).max(100).optional(),
    /** The From display name of alert emails, e.g. "Acme Security". */
    senderName: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[^\r\n<>"]+$/, 'must be one line without < > or "')
      .optional(),
    /** Where replies to alert emails go, e.g. the security team's mailbox. */
    replyTo: z.email('must be an email address').optional(),
    /** Whom the affected person and admins should contact: an email address or an https:// page. */
    securityContact: z.union([z.email(), httpsUrl], { error: 'must be an email address or an https:// URL' }).optional(),
    /** Time zone for times in emails (Slack shows each reader their own). */
    timeZone: timeZone.optional(),
    /** The org's audit log page (Organisation settings → Security → Audit logs), copied from the browser. */
    auditLogUrl: httpsUrl.optional(),
    /** A person's page in the org's admin dashboard, with `{userId}` where their ID goes. */
    adminPersonUrl: httpsUrl.refine((url) => url.includes('{userId}'), 'must contain {userId} where the person\u2019s ID goes').optional(),
  })
  .strict();
export type AlertSettings = z.output<typeof alertsSchema>;

const eventsShape = Object.fromEntries(
  RULE_EVENT_NAMES.map((event) => [
    event,
    // prefault, not default: zod returns a default value shallow-cloned, so its lists would be shared
    // by every parsed config (mutating one config's list would change the defaults of the next).
    eventRuleSchema.prefault({ action: defaultAction(event) }),
  ]),
) as { [E in AnomalyEvent]: z.ZodPrefault<typeof eventRuleSchema> };

export const DEFAULT_RECIPIENTS: Record<NotificationType, { primaryOwner: NotificationChannel[]; securityAdmins: NotificationChannel[]; extraEmails: string[] }> = {
  sessions_ended: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [] },
  anomaly_not_acted_on: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
  action_failed: { primaryOwner: ['email'], securityAdmins: ['email'], extraEmails: [] },
  // An app's anomaly is never acted on; the security admins are told, as they would review it.
  app_anomaly: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
  // Someone changed Slack's built-in anomaly response (pref.anomaly_event_response_changed).
  anomaly_response_changed: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
  // Someone changed this responder's own configuration (the config table's stream).
  config_changed: { primaryOwner: [], securityAdmins: ['email'], extraEmails: [] },
};

/**
 * A recipient rule whose missing attributes take this type's defaults, so removing one attribute
 * in the console (say, extraEmails) does not silently stop the security admins being told.
 */
function recipientRuleFor(type: NotificationType) {
  const defaults = DEFAULT_RECIPIENTS[type];
  return z
    .preprocess(
      (value) =>
        value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Set)
          ? { primaryOwner: [...defaults.primaryOwner], securityAdmins: [...defaults.securityAdmins], extraEmails: [], ...value }
          : value,
      recipientRuleSchema,
    )
    .prefault({});
}

export const responseConfigSchema = z
  .object({
    events: z.object(eventsShape).strict().prefault({}),
    exclusions: exclusionsSchema.prefault({}),
    notifications: z
      .object({
        affected_user: affectedUserRuleSchema.prefault({}),
        sessions_ended: recipientRuleFor('sessions_ended'),
        anomaly_not_acted_on: recipientRuleFor('anomaly_not_acted_on'),
        action_failed: recipientRuleFor('action_failed'),
        app_anomaly: recipientRuleFor('app_anomaly'),
        anomaly_response_changed: recipientRuleFor('anomaly_response_changed'),
        config_changed: recipientRuleFor('config_changed'),
      })
      .strict()
      .prefault({}),
    safety: safetySchema.prefault({}),
    trustedNetworks: trustedNetworksSchema.prefault({}),
    alerts: alertsSchema.prefault({}),
  })
  .strict();

export type ResponseConfig = z.output<typeof responseConfigSchema>;
export type ResponseConfigInput = z.input<typeof responseConfigSchema>;
export type EventRule = z.output<typeof eventRuleSchema>;
export type RecipientRule = z.output<typeof recipientRuleSchema>;
export type TrustedNetworks = z.output<typeof trustedNetworksSchema>;

/** Slack's own defaults: Tor and data scraping end sessions, the rest are off; the user is emailed. */
export function defaultConfig(): ResponseConfig {
  return responseConfigSchema.parse({});
}
