/**
 * Making values safe to show, and times readable, for the notification templates.
 *
 * Anything from an audit entry or the directory (user agent, location, names, emails, IPs) is
 * attacker-influenced: a person who controls the account sets their own name, and a client sets
 * its own user agent. Such a value must never format, link or mention anything, so it goes
 * through `inert` first (format characters stripped, one line, bounded), then, per output:
 * - Slack: `slackCode` — a code span (no bold, no links, no mentions inside), with backticks
 *   neutralised so it cannot close the span, `& < >` escaped, URLs and host names defanged;
 *   the text objects carrying it are sent with `verbatim: true` so Slack does not auto-link.
 * - Email: `htmlCode` — HTML-escaped, defanged (`hxxps://evil[.]example`), inside `<code>`;
 *   the plain-text part gets the same defanged, one-line text.
 * Lengths are counted in UTF-16 code units, as Slack and JavaScript count them.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}

/** Slack mrkdwn: only these three are control characters (`<` would start a link or mention). */
export function escapeMrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** No value needs more than this to be shown; longer input is cut before any other work (a 1 MB user agent costs nothing). */
const RAW_CAP = 4096;

/**
 * Control characters, line and paragraph separators and other whitespace runs become one space;
 * format characters (\p{Cf}: U+202E right-to-left override, zero-width joiners, soft hyphens…)
 * and lone surrogates are removed. The result is one line.
 */
export function oneLine(value: string): string {
  return (
    value
      .slice(0, RAW_CAP)
      .replace(/[\p{Cf}\p{Cs}]/gu, '')
      // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are replaced
      .replace(/[\u0000-\u001f\u007f-\u009f\s\p{Zl}\p{Zp}]+/gu, ' ')
      .trim()
  );
}

/**
 * At most `max` UTF-16 code units, ending in "…" when cut; never cuts a surrogate pair in half.
 */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = Math.max(0, max - 1);
  if (end > 0 && isHighSurrogate(value.charCodeAt(end - 1))) end -= 1;
  return value.slice(0, end) + '…';
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** An attacker-influenced value made plain: one line, no format characters, at most `max` UTF-16 units. */
export function inert(value: string, max: number): string {
  return truncate(oneLine(value), max);
}

/**
 * URLs and host names made unclickable the way security teams write them: `hxxps://evil[.]example`,
 * `ana@example[.]com`. Version numbers (`Chrome/120.0.0.0`) and IP addresses are left alone:
 * only a dotted name ending in a letter label (a TLD) is a host to a mail client's linkifier.
 */
export function defang(value: string): string {
  return value
    .replace(/\b(h)tt(p)(s?):\/\//gi, (_m, h: string, p: string, s: string) => `${h}xx${p}${s}://`)
    .replace(/\b(f)t(p):\/\//gi, (_m, f: string, p: string) => `${f}x${p}://`)
    .replace(/\b(mailto|javascript|data|file|tel|sms|slack):/gi, '$1[:]')
    .replace(/(?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]*[\p{L}\p{N}])?\.)+(?:\p{L}{2,63}|xn--[\p{L}\p{N}-]+)(?![\p{L}\p{N}])/gu, (host) => host.replace(/\./g, '[.]'));
}

/**
 * Escape, then fit in `max` UTF-16 units, ending in "…" when cut. Cuts between escaped
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

/** Backticks would close a Slack code span: shown as a look-alike (U+02CB) instead. */
const BACKTICK_STANDIN = '\u02cb';

/**
 * An attacker-influenced value as a Slack code span, within `max` UTF-16 units including the
 * backticks: nothing inside can format, link or mention. `rawMax` bounds the value itself first.
 */
export function slackCode(value: string, max: number, rawMax: number = max): string {
  const plain = defang(inert(value, rawMax)).replace(/`/g, BACKTICK_STANDIN);
  if (plain === '') return '_empty_';
  return '`' + escapeWithin(plain, max - 2, escapeMrkdwn) + '`';
}

/** An attacker-influenced value for an email's HTML part: escaped, defanged, inside `<code>`. */
export function htmlCode(value: string, max: number): string {
  return `<code style="${CODE_STYLE}">${escapeHtml(defang(inert(value, max)))}</code>`;
}

/** Long tokens (a user agent with no spaces) may wrap inside a code value, never inside a word of prose. */
export const CODE_STYLE = 'font-family:SFMono-Regular,Consolas,Menlo,monospace;font-size:13px;overflow-wrap:anywhere;word-break:normal';

/** An attacker-influenced value for a plain-text part or a subject: one line, defanged. */
export function plainValue(value: string, max: number): string {
  return defang(inert(value, max));
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export interface FormattedTime {
  /** 2022-02-09T17:38:25Z */
  iso: string;
  /** Wednesday 9 February 2022 at 17:38:25 UTC+00:00 — in the configured time zone, with its offset. */
  words: string;
  /** Epoch seconds, for Slack's `<!date^…>` (each reader's own time zone). */
  seconds: number;
}

/** Whether `zone` is an IANA time zone this runtime knows (config validation). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A time in words, in `timeZone` (IANA, default UTC), with its UTC offset: English month and
 * day names from our own tables, so the output does not depend on the runtime's locale data.
 */
export function formatTime(seconds: number, timeZone = 'UTC'): FormattedTime {
  const date = new Date(seconds * 1000);
  if (!Number.isFinite(date.getTime())) return { iso: `${seconds}`, words: `unix time ${seconds}`, seconds };
  const iso = date.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const parts = zonedParts(date, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = `UTC${parts.offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(parts.offsetMinutes) / 60))}:${pad(Math.abs(parts.offsetMinutes) % 60)}`;
  const zoneName = timeZone === 'UTC' ? '' : ` (${timeZone})`;
  const words =
    `${WEEKDAYS[parts.weekday]} ${parts.day} ${MONTHS[parts.month]} ${parts.year} at ` +
    `${pad(parts.hour)}:${pad(parts.minute)}:${pad(parts.second)} ${offset}${zoneName}`;
  return { iso, words, seconds };
}

/** @deprecated name kept for callers outside the templates: UTC, words and ISO. */
export function formatEpochSeconds(seconds: number): FormattedTime {
  return formatTime(seconds, 'UTC');
}

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
  second: number;
  offsetMinutes: number;
}

/** The wall-clock fields of `date` in `timeZone`, from the numeric parts Intl gives for any locale data. */
function zonedParts(date: Date, timeZone: string): ZonedParts {
  if (timeZone !== 'UTC') {
    const fields = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    }).formatToParts(date);
    const get = (type: string) => Number(fields.find((part) => part.type === type)?.value);
    const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
    const offsetMinutes = Math.round((local - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
    return fieldsOf(new Date(local), offsetMinutes);
  }
  return fieldsOf(date, 0);
}

function fieldsOf(wall: Date, offsetMinutes: number): ZonedParts {
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth(),
    day: wall.getUTCDate(),
    weekday: wall.getUTCDay(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    offsetMinutes,
  };
}
