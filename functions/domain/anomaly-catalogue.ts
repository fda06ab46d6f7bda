/**
 * The seven anomaly events Slack's own "anomaly event response" can act on, keyed by the
 * audit-log reason code that reports each. Slack publishes no table; the mapping follows the
 * event names and descriptions in its anomalous-events reference.
 */
export const ANOMALY_EVENTS = {
  tor: { label: 'Accessing Slack from a Tor exit node', defaultAction: 'end_sessions' },
  unexpected_scraping: { label: 'Data scraping', defaultAction: 'end_sessions' },
  excessive_downloads: { label: 'Excessive downloads', defaultAction: 'off' },
  session_fingerprint: { label: 'Stale or unexpected session cookies', defaultAction: 'off' },
  spoofed_user_agent: { label: 'Spoofed user agents', defaultAction: 'off' },
  unexpected_api_call_volume: { label: 'Unexpected API call volume', defaultAction: 'off' },
  unexpected_user_agent: { label: 'Unexpected user agents', defaultAction: 'off' },
} as const satisfies Record<string, { label: string; defaultAction: ResponseAction }>;

/**
 * Reason codes Slack's built-in response cannot act on, which ours can be given rules for too
 * (`event#<code>` items). Off by default: while a code's rule is off it is recorded as an "other"
 * reason exactly as before, so adding these changed nothing for an existing configuration.
 * Labels follow the code's description in Slack's anomalous-events reference.
 */
export const MORE_EVENTS = {
  unexpected_admin_action: { label: 'Unexpected admin action', defaultAction: 'off' },
  excessive_file_shares: { label: 'Excessive file shares', defaultAction: 'off' },
  excessive_malware_uploads: { label: 'Excessive malware uploads', defaultAction: 'off' },
  unexpected_message_deletion: { label: 'Unexpected message deletion', defaultAction: 'off' },
  potential_spam: { label: 'Potential spam', defaultAction: 'off' },
  unexpected_client: { label: 'Unexpected client', defaultAction: 'off' },
  ip_address: { label: 'Unexpected IP address', defaultAction: 'off' },
  asn: { label: 'Unexpected network (ASN)', defaultAction: 'off' },
  user_agent: { label: 'Changed user agent', defaultAction: 'off' },
} as const satisfies Record<string, { label: string; defaultAction: ResponseAction }>;

export type ResponseAction = 'end_sessions' | 'notify_only' | 'off';
export const RESPONSE_ACTIONS = ['end_sessions', 'notify_only', 'off'] as const;

/** One of Slack's seven events. */
export type BuiltInEvent = keyof typeof ANOMALY_EVENTS;
/** A reason code a rule can be given for: the seven, and the ones beyond (MORE_EVENTS). */
export type AnomalyEvent = BuiltInEvent | keyof typeof MORE_EVENTS;
/** Slack's seven, in Slack's order. */
export const ANOMALY_EVENT_NAMES = Object.keys(ANOMALY_EVENTS) as BuiltInEvent[];
/** The codes beyond the seven that can be given rules. */
export const MORE_EVENT_NAMES = Object.keys(MORE_EVENTS) as (keyof typeof MORE_EVENTS)[];
/** Every code a rule can be given for: the seven first, then the rest. */
export const RULE_EVENT_NAMES: AnomalyEvent[] = [...ANOMALY_EVENT_NAMES, ...MORE_EVENT_NAMES];

const CATALOGUE: Record<AnomalyEvent, { label: string; defaultAction: ResponseAction }> = { ...ANOMALY_EVENTS, ...MORE_EVENTS };

/** One of Slack's seven events. */
export function isAnomalyEvent(code: string): code is BuiltInEvent {
  return Object.prototype.hasOwnProperty.call(ANOMALY_EVENTS, code);
}

/** A code an `event#<code>` rule can be given for. */
export function isRuleEvent(code: string): code is AnomalyEvent {
  return Object.prototype.hasOwnProperty.call(CATALOGUE, code);
}

export function defaultAction(event: AnomalyEvent): ResponseAction {
  return CATALOGUE[event].defaultAction;
}

export function eventLabel(event: AnomalyEvent): string {
  return CATALOGUE[event].label;
}

/** Human-readable label for any reason code, actionable or not. */
export function reasonLabel(code: string): string {
  return isRuleEvent(code) ? CATALOGUE[code].label : code.replace(/_/g, ' ');
}

export interface ClassifiedReasons {
  /** Reason codes that are events, in catalogue order, deduplicated. */
  events: AnomalyEvent[];
  /** Every other reason code: recorded, never acted on. */
  other: string[];
}

/**
 * Split an entry's reason codes into events and the rest. Slack's seven are always events; a code
 * beyond them is an event only when `ruleIsOn` says its rule is on, and otherwise an "other"
 * reason, as it was before such codes could be given rules.
 */
export function classifyReasons(reasons: readonly string[], ruleIsOn: (event: AnomalyEvent) => boolean = () => false): ClassifiedReasons {
  const seen = new Set(reasons);
  const isEvent = (code: string) => isAnomalyEvent(code) || (isRuleEvent(code) && ruleIsOn(code));
  return {
    events: RULE_EVENT_NAMES.filter((event) => seen.has(event) && isEvent(event)),
    other: [...seen].filter((code) => !isEvent(code)),
  };
}
