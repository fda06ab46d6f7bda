/**
 * Escaping, truncation and time formatting for the notification templates. Audit-log fields
 * (user agents above all) are attacker-influenced, so every interpolated value goes through
 * one of the escapers here, and every length is bounded before it reaches SES or Slack.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}

/** Slack mrkdwn: only these three are control characters (`<` would start a link or mention). */
export function escapeMrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Control characters (newlines included) collapsed to spaces: for subjects and one-line values. */
export function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are stripped
  return value.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/** At most `max` characters (code points, so an emoji is never cut in half), ending in "…" when cut. */
export function truncate(value: string, max: number): string {
  const chars = Array.from(value);
  if (chars.length <= max) return value;
  return chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/**
 * Escape, then fit in `max` characters, ending in "…" when cut. Cuts between escaped
 * characters, so an entity such as `&amp;` is never split (`escape` must work per character).
 */
export function escapeWithin(value: string, max: number, escape: (raw: string) => string): string {
  const escaped = escape(value);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const char of value) {
    const piece = escape(char);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return out + '…';
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export interface FormattedTime {
  /** 2022-02-09T17:38:25Z */
  iso: string;
  /** Wednesday 9 February 2022, 17:38:25 UTC */
  readable: string;
}

/** Fixed English UTC format, independent of the runtime's locale and ICU data. */
export function formatEpochSeconds(seconds: number): FormattedTime {
  const date = new Date(seconds * 1000);
  if (!Number.isFinite(date.getTime())) return { iso: `${seconds}`, readable: `unix time ${seconds}` };
  const iso = date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const readable =
    `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ` +
    `${iso.slice(11, 19)} UTC`;
  return { iso, readable };
}
