import { eventLabel, reasonLabel, type AnomalyEvent } from '../domain/anomaly-catalogue';
import { DRY_RUN, describeResponse } from './explain';
import type { NotificationType } from '../domain/config/schema';
import type { NotificationJob } from '../domain/messages';
import { escapeHtml, escapeMrkdwn, escapeWithin, formatEpochSeconds, oneLine, truncate } from './format';

/**
 * Pure renderers: one notification job → an email (subject, HTML, text) or a Slack Block Kit
 * message, for one of two audiences. The affected user gets a plain-language note about their
 * own account; admins get every fact the audit entry and the responder's decision hold.
 */
export type Audience = 'affected_user' | 'admin';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export type SlackBlock = Record<string, unknown>;

export interface RenderedSlackMessage {
  /** Notification / fallback text (mrkdwn-escaped). */
  text: string;
  blocks: SlackBlock[];
}

/** Slack Block Kit limits we render against. */
export const SLACK_LIMITS = { headerText: 150, sectionText: 3000, fieldText: 2000, fieldsPerSection: 10, contextText: 2000 } as const;

/** Raw-value caps, applied before escaping, so neither SES nor Slack receives unbounded input. */
const MAX = { name: 100, userAgent: 512, detail: 1000, value: 200, list: 500 } as const;

const SUBJECT_PREFIX = '[Slack security]';

/** Short event names for subjects and headers; the catalogue's labels are the long forms. */
const SHORT_LABEL: Partial<Record<AnomalyEvent, string>> = { tor: 'Tor exit node' };

/** What each event means, said to the person it happened to. */
const USER_REASON: Record<AnomalyEvent, string> = {
  tor: 'your account was accessed from a Tor exit node',
  unexpected_scraping: 'we noticed activity on your account that looks like data scraping',
  excessive_downloads: 'we noticed an unusually large number of downloads from your account',
  session_fingerprint: 'a stale or unexpected session cookie was used with your account',
  spoofed_user_agent: 'your account was used with a disguised (spoofed) browser or app',
  unexpected_api_call_volume: 'we noticed an unusual volume of API calls from your account',
  unexpected_user_agent: 'your account was used from an unexpected browser or app',
  unexpected_admin_action: 'an unexpected admin action was taken with your account',
  excessive_file_shares: 'we noticed an unusually large number of file shares from your account',
  excessive_malware_uploads: 'files with malware were uploaded from your account',
  unexpected_message_deletion: 'we noticed unusual message deletion from your account',
  potential_spam: 'your account sent messages that look like spam',
  unexpected_client: 'your account was used from an unexpected Slack client',
  ip_address: 'your account was used from an unexpected IP address',
  asn: 'your account was used from an unexpected network',
  user_agent: 'your account was used from a browser or app it has not used before',
};

/** Which sessions ended, said to the person they belonged to. */
const USER_SIGNED_OUT: Record<NonNullable<NotificationJob['response']['scope']>, { title: string; phrase: string }> = {
  all: { title: 'You were signed out of Slack on all devices', phrase: 'signed you out of Slack on all devices' },
  web: { title: 'You were signed out of Slack in your web browsers', phrase: 'signed you out of Slack in your web browsers' },
  mobile: { title: 'You were signed out of Slack on your mobile devices', phrase: 'signed you out of Slack on your mobile devices' },
  session: { title: 'You were signed out of one Slack session', phrase: 'signed you out of the Slack session where this happened' },
};

interface Fact {
  label: string;
  value: string;
  /** Long values: their own line / block rather than a Slack section field. */
  wide?: boolean;
}

interface Content {
  subject: string;
  /** Heading of the email and header block of the Slack message. */
  title: string;
  /** Sentences before the facts, in order. */
  paragraphs: string[];
  facts: Fact[];
  footer: string;
}

export function renderEmail(job: NotificationJob, audience: Audience): RenderedEmail {
  const content = audience === 'admin' ? adminContent(job) : affectedUserContent(job);
  return { subject: content.subject, html: toHtml(content), text: toText(content) };
}

export function renderSlackMessage(job: NotificationJob, audience: Audience): RenderedSlackMessage {
  return toSlack(audience === 'admin' ? adminContent(job) : affectedUserContent(job));
}

// ---------- content: what each audience is told ----------

function adminContent(job: NotificationJob): Content {
  if (job.settingsChange) return settingsChangeContent(job, job.settingsChange);
  if (job.configChange) return configChangeContent(job, job.configChange);
  const who = displayName(job);
  const anomaly = shortAnomaly(job);
  const when = formatEpochSeconds(job.occurredAt);
  const ctx = job.context;
  const dryRun = job.response.dryRun === true;
  const title = job.response.outcome === 'dry_run' ? `Dry run: would have ended sessions for ${who} — ${anomaly}` : ADMIN_TITLE[job.type](who, anomaly);
  const reasonCodes = [...job.events, ...job.otherReasons];
  const subject: Fact[] = job.app
    ? [
        { label: 'App', value: capped(job.app.name, MAX.name) },
        { label: 'App ID', value: capped(job.app.id) },
      ]
    : [
        { label: 'User', value: capped(job.user?.name, MAX.name) },
        { label: 'Email', value: capped(job.user?.email) },
        { label: 'User ID', value: capped(job.user?.id) },
      ];
  const headline = job.response.outcome === 'dry_run' ? DRY_RUN_HEADLINE : ADMIN_HEADLINE[job.type];
  const facts: Fact[] = [
    ...subject,
    {
      label: 'Anomaly',
      value: job.events.length ? capped(job.events.map((e) => eventLabel(e as AnomalyEvent)).join('; '), MAX.list) : 'none of the events with a response rule',
    },
    { label: 'Reason codes', value: capped(reasonCodes.join(', '), MAX.list) },
    { label: 'When', value: `${when.iso} (${when.readable})` },
    { label: 'IP address', value: capped(ctx.ipAddress) },
    { label: 'Location', value: capped(ctx.location) },
    { label: 'Workspace', value: capped(ctx.workspace) },
  ];
  if (ctx.previousIpAddress) facts.push({ label: 'Previous IP address', value: capped(ctx.previousIpAddress) });
  facts.push({ label: 'User agent', value: capped(ctx.userAgent, MAX.userAgent), wide: true });
  if (ctx.previousUserAgent) facts.push({ label: 'Previous user agent', value: capped(ctx.previousUserAgent, MAX.userAgent), wide: true });
  const { actionTaken, explanation } = describeResponse(job.response);
  facts.push({ label: 'Action taken', value: capped(actionTaken, MAX.list), wide: true });
  if (explanation) facts.push({ label: 'Detail', value: capped(explanation, MAX.detail), wide: true });
  facts.push({ label: 'Audit entry ID', value: capped(job.entryId), wide: true });
  const headlineWho = oneLine(truncate(job.app ? `the app ${job.app.name ?? job.app.id}` : (job.user?.name ?? job.user?.email ?? job.user?.id ?? ''), MAX.name));
  return {
    subject: `${SUBJECT_PREFIX}${dryRun && job.response.outcome !== 'dry_run' ? ' [dry run]' : ''} ${title}`,
    title,
    paragraphs: [...(dryRun ? [`${DRY_RUN}.`] : []), headline(headlineWho, job.response.scope)],
    facts,
    footer: 'Sent automatically by slack-anomaly-responder.',
  };
}

/** Someone changed Slack's own feature: who, when, and what the entry says, for the security admins. */
function settingsChangeContent(job: NotificationJob, change: NonNullable<NotificationJob['settingsChange']>): Content {
  const when = formatEpochSeconds(job.occurredAt);
  const title = ADMIN_TITLE.anomaly_response_changed('', '');
  const { actionTaken, explanation } = describeResponse(job.response);
  const facts: Fact[] = [
    { label: 'Changed by', value: capped(change.actorId) },
    { label: 'When', value: `${when.iso} (${when.readable})` },
    { label: 'Details', value: capped(change.details, MAX.detail), wide: true },
    { label: 'Action taken', value: capped(actionTaken, MAX.list), wide: true },
    ...(explanation ? [{ label: 'Detail', value: capped(explanation, MAX.detail), wide: true }] : []),
    { label: 'Audit entry ID', value: capped(job.entryId), wide: true },
  ];
  const dryRun = job.response.dryRun === true;
  return {
    subject: `${SUBJECT_PREFIX}${dryRun ? ' [dry run]' : ''} ${title}`,
    title,
    paragraphs: [...(dryRun ? [`${DRY_RUN}.`] : []), ADMIN_HEADLINE.anomaly_response_changed('', undefined)],
    facts,
    footer: 'Sent automatically by slack-anomaly-responder.',
  };
}

/**
 * A change to this responder's own configuration. Loud (WARNING in the subject) when it weakens
 * the response: a rule no longer ends sessions, an exclusion or trusted range added, dry run on,
 * an item removed. Values come from the config table, written by people with the config editor
 * policy; they are capped and escaped like any other fact.
 */
function configChangeContent(job: NotificationJob, change: NonNullable<NotificationJob['configChange']>): Content {
  const when = formatEpochSeconds(job.occurredAt);
  const loud = change.warnings.length > 0;
  const item = oneLine(truncate(change.itemId, 60));
  const title = `${loud ? 'WARNING: the response was weakened: ' : ''}configuration item ${item} ${change.kind}`;
  const facts: Fact[] = [
    { label: 'Item', value: capped(change.itemId) },
    { label: 'When', value: `${when.iso} (${when.readable})` },
    { label: 'Changed by', value: capped(change.changedBy ?? CHANGED_BY_UNKNOWN, MAX.detail), wide: true },
    ...change.warnings.map((warning) => ({ label: 'Warning', value: capped(warning, MAX.detail), wide: true })),
    ...change.changes.map((c) => ({ label: `${c.field}`, value: capped(`${c.before ?? '(none)'} \u2192 ${c.after ?? '(none)'}`, MAX.detail), wide: true })),
    { label: 'Stream record', value: capped(job.entryId), wide: true },
  ];
  return {
    subject: `${SUBJECT_PREFIX} ${title}`,
    title,
    paragraphs: [ADMIN_HEADLINE.config_changed('', undefined), ...(loud ? ['Check that this change was intended; if it was not, undo it and find who made it (see "Changed by").'] : [])],
    facts,
    footer: 'Sent automatically by slack-anomaly-responder.',
  };
}

const CHANGED_BY_UNKNOWN =
  'Not in the change record (DynamoDB streams do not name who wrote an item). Look it up in CloudTrail: with data events enabled for the config table, the PutItem/UpdateItem/DeleteItem event at this time names the principal.';

const DRY_RUN_HEADLINE = (who: string): string =>
  `Slack reported an anomaly for ${who}. The response rules say to end their sessions, but the responder runs in dry run (safety.dryRun): nothing was done and they were not told.`;

const ADMIN_TITLE: Record<NotificationType, (who: string, anomaly: string) => string> = {
  sessions_ended: (who, anomaly) => `Sessions ended for ${who} — ${anomaly}`,
  anomaly_not_acted_on: (who, anomaly) => `${anomaly} anomaly detected for ${who}, no action taken`,
  action_failed: (who, anomaly) => `Automatic response FAILED for ${who} — ${anomaly}`,
  app_anomaly: (who, anomaly) => `${anomaly} anomaly detected for the app ${who}`,
  anomaly_response_changed: () => 'Slack\u2019s built-in anomaly event response settings were changed',
  config_changed: () => 'The responder\u2019s configuration was changed',
};

const ENDED: Record<NonNullable<NotificationJob['response']['scope']>, string> = {
  all: 'Their Slack sessions were ended on all devices',
  web: 'Their Slack web (browser) sessions were ended',
  mobile: 'Their Slack mobile sessions were ended',
  session: 'The Slack session the anomaly was seen in was ended',
};

const ADMIN_HEADLINE: Record<NotificationType, (who: string, scope: NotificationJob['response']['scope']) => string> = {
  sessions_ended: (who, scope) => `Slack reported an anomaly for ${who}. ${ENDED[scope ?? 'all']}; they can sign back in with their usual login.`,
  anomaly_not_acted_on: (who) => `Slack reported an anomaly for ${who}. No automatic action was taken; review the details below.`,
  action_failed: (who) =>
    `Slack reported an anomaly for ${who}, and the automatic response FAILED: their sessions may still be active. Investigate, and end their sessions by hand if needed.`,
  app_anomaly: (who) => `Slack reported an anomaly for ${who}. Apps have no sessions to end, so nothing was acted on; review the details below.`,
  anomaly_response_changed: () => 'Slack\u2019s audit log records a change to the settings of its built-in anomaly event response (pref.anomaly_event_response_changed).',
  config_changed: () => 'An item of the responder\u2019s configuration (the config table) was changed. Every change is recorded in the response log (npm run history -- --config-changes).',
};

/**
 * The affected person sees what happened to their own account (when, where from, what we did)
 * but nothing about our internals: no rules, exclusions, reason codes or error detail.
 */
function affectedUserContent(job: NotificationJob): Content {
  const when = formatEpochSeconds(job.occurredAt);
  const because = userReasons(job);
  const greeting = job.user?.name ? `Hi ${oneLine(truncate(job.user.name, MAX.name))},` : 'Hello,';
  const contact = "If this wasn't you or you have questions, contact your security team.";
  // The affected person is never told about a dry run (recipients.ts), so sessions_ended means ended.
  const signedOut = job.type === 'sessions_ended';
  const ended = USER_SIGNED_OUT[job.response.scope ?? 'all'];
  const title = signedOut ? ended.title : 'Unusual activity on your Slack account';
  const paragraphs = signedOut
    ? [greeting, `For your security, we ${ended.phrase} because ${because}.`, `You can sign back in right away with your usual login. ${contact}`]
    : [greeting, `For your security, we are letting you know that ${because}.`, contact];
  const facts: Fact[] = [{ label: 'When', value: `${when.iso} (${when.readable})` }];
  if (job.context.location) facts.push({ label: 'Where', value: capped(job.context.location) });
  if (job.context.ipAddress) facts.push({ label: 'IP address', value: capped(job.context.ipAddress) });
  facts.push({ label: 'Reference', value: capped(job.entryId), wide: true });
  return {
    subject: `${SUBJECT_PREFIX} ${title}`,
    title,
    paragraphs,
    facts,
    footer: 'This message was sent automatically by your organisation’s Slack security team.',
  };
}

function userReasons(job: NotificationJob): string {
  const phrases = job.events.map((event) => USER_REASON[event as AnomalyEvent]).filter(Boolean);
  if (phrases.length === 0) return 'we noticed unusual activity on your account';
  if (phrases.length === 1) return phrases[0];
  return `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}`;
}

function displayName(job: NotificationJob): string {
  return oneLine(truncate(job.app ? (job.app.name ?? job.app.id) : (job.user?.name ?? job.user?.email ?? job.user?.id ?? ''), 60));
}

function shortAnomaly(job: NotificationJob): string {
  const labels = job.events.map((event) => SHORT_LABEL[event as AnomalyEvent] ?? eventLabel(event as AnomalyEvent));
  if (labels.length === 0) return oneLine(truncate(job.otherReasons.length ? reasonLabel(job.otherReasons[0]) : 'Anomaly', 60));
  return labels.length === 1 ? labels[0] : `${labels[0]} (+${labels.length - 1} more)`;
}

function capped(value: string | undefined, max: number = MAX.value): string {
  if (value === undefined || value.trim() === '') return 'not reported';
  return truncate(value, max);
}

// ---------- formats ----------

function toText(content: Content): string {
  const width = Math.max(...content.facts.map((fact) => fact.label.length)) + 1;
  const facts = content.facts.map((fact) => `${`${fact.label}:`.padEnd(width)} ${oneLine(fact.value)}`);
  return [content.title, '', content.paragraphs.join('\n\n'), '', ...facts, '', '--', content.footer, ''].join('\n');
}

function toHtml(content: Content): string {
  const rows = content.facts
    .map(
      (fact) =>
        `<tr><th align="left" valign="top" style="padding:4px 12px 4px 0;white-space:nowrap">${escapeHtml(fact.label)}</th>` +
        `<td style="padding:4px 0;word-break:break-all">${escapeHtml(fact.value)}</td></tr>`,
    )
    .join('\n');
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>' + escapeHtml(content.title) + '</title></head>',
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1d1c1d">',
    `<h2 style="font-size:18px">${escapeHtml(content.title)}</h2>`,
    ...content.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    `<table role="presentation" style="border-collapse:collapse;font-size:14px">\n${rows}\n</table>`,
    `<p style="color:#616061;font-size:12px">${escapeHtml(content.footer)}</p>`,
    '</body></html>',
    '',
  ].join('\n');
}

function toSlack(content: Content): RenderedSlackMessage {
  const shortFacts = content.facts.filter((fact) => !fact.wide);
  const wideFacts = content.facts.filter((fact) => fact.wide);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(oneLine(content.title), SLACK_LIMITS.headerText), emoji: false } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeWithin(content.paragraphs.join('\n\n'), SLACK_LIMITS.sectionText, escapeMrkdwn) } },
  ];
  for (let i = 0; i < shortFacts.length; i += SLACK_LIMITS.fieldsPerSection) {
    blocks.push({
      type: 'section',
      fields: shortFacts.slice(i, i + SLACK_LIMITS.fieldsPerSection).map((fact) => ({ type: 'mrkdwn', text: labelled(fact, SLACK_LIMITS.fieldText) })),
    });
  }
  for (const fact of wideFacts) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: labelled(fact, SLACK_LIMITS.sectionText) } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeWithin(content.footer, SLACK_LIMITS.contextText, escapeMrkdwn) }] });
  return { text: escapeWithin(oneLine(content.title), SLACK_LIMITS.sectionText, escapeMrkdwn), blocks };
}

/** `*Label*` then the escaped value, cut so the whole text fits `max`. */
function labelled(fact: Fact, max: number): string {
  const label = `*${escapeMrkdwn(fact.label)}*\n`;
  return label + escapeWithin(fact.value, max - label.length, escapeMrkdwn);
}
