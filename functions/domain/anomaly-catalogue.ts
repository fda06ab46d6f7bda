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

export type ResponseAction = 'end_sessions' | 'notify_only' | 'off';
export const RESPONSE_ACTIONS = ['end_sessions', 'notify_only', 'off'] as const;

export type AnomalyEvent = keyof typeof ANOMALY_EVENTS;
export const ANOMALY_EVENT_NAMES = Object.keys(ANOMALY_EVENTS) as AnomalyEvent[];

export function isAnomalyEvent(code: string): code is AnomalyEvent {
  return Object.prototype.hasOwnProperty.call(ANOMALY_EVENTS, code);
}

export function eventLabel(event: AnomalyEvent): string {
  return ANOMALY_EVENTS[event].label;
}

/** Human-readable label for any reason code, actionable or not. */
export function reasonLabel(code: string): string {
  return isAnomalyEvent(code) ? ANOMALY_EVENTS[code].label : code.replace(/_/g, ' ');
}

export interface ClassifiedReasons {
  /** Reason codes that are one of the seven actionable events, in catalogue order, deduplicated. */
  events: AnomalyEvent[];
  /** Every other reason code: recorded, never acted on. */
  other: string[];
}

/** Split an entry's reason codes into actionable anomaly events and the rest. */
export function classifyReasons(reasons: readonly string[]): ClassifiedReasons {
  const seen = new Set(reasons);
  return {
    events: ANOMALY_EVENT_NAMES.filter((event) => seen.has(event)),
    other: [...seen].filter((code) => !isAnomalyEvent(code)),
  };
}
