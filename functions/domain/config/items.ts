import * as z from 'zod';
import { RULE_EVENT_NAMES, eventLabel, isRuleEvent } from '../anomaly-catalogue';
import { ConfigError } from '../errors';
import { formatIssues } from '../validation';
import { NOTIFICATION_TYPES, responseConfigSchema, type ResponseConfig } from './schema';

/**
 * The config table holds one plain item per concern, keyed by `id`, so each is readable and
 * editable in the DynamoDB console:
 *   event#<reason code>      { action, scope, excludedUsers, excludedGroups }
 *   exclusions               { excludedUsers, excludedGroups }   (apply to every event)
 *   notify#affected_user     { email, slack }
 *   notify#<type>            { primaryOwner, securityAdmins, extraEmails, slackChannel }
 *   safety                   { cooldownMinutes, maxSessionResetsPerHour, dryRun }
 *   trustedNetworks          { cidrs, asns, syncToSlack }
 *   manifest                 { items: [ids of the items above that are present on purpose] }
 *   alerts                   { orgName, senderName, replyTo, securityContact, timeZone, auditLogUrl, adminPersonUrl }
 *                            (optional: never required, never in the manifest)
 * Items may carry a `description` for people reading the console; it is ignored on load.
 *
 * A missing item is an error, not a quiet return to Slack's defaults: deleting `exclusions` in
 * the console would otherwise sign out the break-glass accounts it held at the next anomaly.
 * Only the `manifest` item (the seed writes it) can say that fewer items are present on purpose;
 * the ones it does not list then take their defaults.
 */
export type ConfigItem = { id: string; description?: string } & Record<string, unknown>;

const EVENT_PREFIX = 'event#';
const NOTIFY_PREFIX = 'notify#';
const NOTIFY_ITEMS: readonly string[] = ['affected_user', ...NOTIFICATION_TYPES];
const MANIFEST_ID = 'manifest';
/** Optional whatever the manifest says (see configToItems). */
const ALERTS_ID = 'alerts';

/** Every item a complete configuration has (the manifest aside), in the order configToItems writes them. */
export const CONFIG_ITEM_IDS: readonly string[] = [
  ...RULE_EVENT_NAMES.map((event) => `${EVENT_PREFIX}${event}`),
  'exclusions',
  ...NOTIFY_ITEMS.map((type) => `${NOTIFY_PREFIX}${type}`),
  'safety',
  'trustedNetworks',
];

const manifestSchema = z
  .object({
    items: z.preprocess((v) => (v instanceof Set ? [...v] : v), z.array(z.enum(CONFIG_ITEM_IDS as [string, ...string[]]))),
  })
  .strict();

export function configToItems(config: ResponseConfig): ConfigItem[] {
  const items: ConfigItem[] = [
    ...RULE_EVENT_NAMES.map((event) => ({
      id: `${EVENT_PREFIX}${event}`,
      description: `Response to "${eventLabel(event)}": end_sessions, notify_only or off; scope all, web, mobile or session`,
      ...config.events[event],
    })),
    { id: 'exclusions', description: 'People and user groups excluded from every event', ...config.exclusions },
    {
      id: `${NOTIFY_PREFIX}affected_user`,
      description: 'How the affected user is told their sessions were ended',
      ...config.notifications.affected_user,
    },
    ...NOTIFICATION_TYPES.map((type) => ({
      id: `${NOTIFY_PREFIX}${type}`,
      description: `Who is told about "${type.replace(/_/g, ' ')}", by which channels (email, slack)`,
      ...config.notifications[type],
    })),
    { id: 'safety', description: 'Loop protection, circuit breaker and dry run', ...config.safety },
    { id: 'trustedNetworks', description: 'CIDR ranges and ASNs whose anomalies are never acted on (notify only)', ...config.trustedNetworks },
  ];
  return [
    ...items,
    {
      id: MANIFEST_ID,
      description: 'The items present on purpose: deleting a listed item makes the configuration invalid (fail safe); an unlisted item takes its default',
      items: items.map((item) => item.id),
    },
    // Outside the manifest: how alerts look never decides whether sessions are ended, so a
    // deleted `alerts` item only brings back the deployment's defaults.
    { id: ALERTS_ID, description: 'How alerts present themselves: orgName, senderName, replyTo, securityContact, timeZone, auditLogUrl, adminPersonUrl', ...config.alerts },
  ];
}

/**
 * Rebuild and validate the configuration from the table's items. A missing item is an error
 * unless a `manifest` item leaves it out (it then takes its default); an unknown item or a bad
 * attribute is an error naming the item and field. An empty table is an error too: an unseeded
 * deployment must not start ending sessions.
 */
export function configFromItems(items: readonly Record<string, unknown>[]): ResponseConfig {
  if (items.length === 0) {
    throw new ConfigError(['(table): the config table is empty; write a configuration with `npm run seed`']);
  }
  const issues: string[] = [];
  let manifest: readonly string[] | undefined;
  const doc: { events: Record<string, unknown>; exclusions?: unknown; notifications: Record<string, unknown>; safety?: unknown; trustedNetworks?: unknown; alerts?: unknown } = {
    events: {},
    notifications: {},
  };
  for (const item of items) {
    const { id, description, ...attributes } = item as ConfigItem;
    if (typeof id !== 'string') {
      issues.push('(item): an item has no string `id`');
      continue;
    }
    if (description !== undefined && typeof description !== 'string') issues.push(`${id}.description: must be a string`);
    if (id.startsWith(EVENT_PREFIX)) {
      const event = id.slice(EVENT_PREFIX.length);
      if (!isRuleEvent(event)) {
        issues.push(`${id}: unknown anomaly event "${event}" (known: ${RULE_EVENT_NAMES.join(', ')})`);
        continue;
      }
      doc.events[event] = attributes;
    } else if (id.startsWith(NOTIFY_PREFIX)) {
      const type = id.slice(NOTIFY_PREFIX.length);
      if (!NOTIFY_ITEMS.includes(type)) {
        issues.push(`${id}: unknown notification item "${type}" (known: ${NOTIFY_ITEMS.join(', ')})`);
        continue;
      }
      doc.notifications[type] = attributes;
    } else if (id === 'exclusions') {
      doc.exclusions = attributes;
    } else if (id === 'safety') {
      doc.safety = attributes;
    } else if (id === 'trustedNetworks') {
      doc.trustedNetworks = attributes;
    } else if (id === ALERTS_ID) {
      doc.alerts = attributes;
    } else if (id === MANIFEST_ID) {
      const parsed = manifestSchema.safeParse(attributes);
      if (parsed.success) manifest = parsed.data.items;
      else issues.push(...formatIssues(parsed.error).map((issue) => `${MANIFEST_ID}.${issue}`));
    } else {
      issues.push(`${id}: unknown config item`);
    }
  }
  const present = new Set(items.map((item) => (item as ConfigItem).id));
  if (manifest) {
    for (const id of manifest) {
      if (!present.has(id)) issues.push(`${id}: missing, though the manifest lists it (restore it, or remove it from manifest.items to use its default)`);
    }
  } else if (!present.has(MANIFEST_ID)) {
    for (const id of CONFIG_ITEM_IDS) {
      if (!present.has(id)) issues.push(`${id}: missing (restore it, or list the items present on purpose in a \`manifest\` item; \`npm run seed\` writes both)`);
    }
  }
  const parsed = responseConfigSchema.safeParse(doc);
  if (!parsed.success) issues.push(...formatIssues(parsed.error).map(toItemPath));
  if (issues.length) throw new ConfigError(issues);
  return (parsed as z.ZodSafeParseSuccess<ResponseConfig>).data;
}

/** Map a document path (events.tor.action) to the item that holds it (event#tor.action). */
function toItemPath(issue: string): string {
  return issue
    .replace(/^events\.([a-z_]+)/, `${EVENT_PREFIX}$1`)
    .replace(/^notifications\.([a-z_]+)/, `${NOTIFY_PREFIX}$1`);
}
