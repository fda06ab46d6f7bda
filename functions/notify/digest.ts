import type { NotificationType } from '../domain/config/schema';
import type { NotificationJob } from '../domain/messages';
import { describeDigest } from './explain';
import { escapeHtml, escapeMrkdwn, escapeWithin, formatEpochSeconds, oneLine, truncate } from './format';
import { adminContent, SLACK_LIMITS, SUBJECT_PREFIX, type RenderedEmail, type RenderedSlackMessage, type SlackBlock } from './templates';

/**
 * The admin digest during a burst: per notification type, one message per admin destination
 * per period instead of one per person, while every affected person still gets their own.
 * A period's first `sendAlone` notifications go out on their own (a lone anomaly is never
 * delayed); the rest wait for the period's end and go out together.
 */
export const DIGEST = {
  /** Length of a digest period (default; env DIGEST_PERIOD_SECONDS). */
  periodSeconds: 300,
  /** Notifications of one type per period that still go out on their own (default; env DIGEST_SEND_ALONE). */
  sendAlone: 5,
  /** The digest goes out this long after its period ends (late jobs of the period get in). */
  graceSeconds: 15,
} as const;

export interface DigestSettings {
  periodSeconds: number;
  sendAlone: number;
}

/** The message that sends a period's digest, delayed until the period is over. */
export type { DigestFlush } from '../domain/messages';

export function digestId(type: NotificationType, periodStart: number): string {
  return `${type}#${periodStart}`;
}

/** The period an instant (epoch ms) falls in, as its start (epoch seconds). */
export function periodOf(nowMs: number, periodSeconds: number = DIGEST.periodSeconds): number {
  const seconds = Math.floor(nowMs / 1000);
  return seconds - (seconds % periodSeconds);
}

/** Slack blocks left for people once the header, summary and footer are in. */
const SLACK_PEOPLE_MAX = 40; // + header, summary, reference, footer: within Slack's 50 blocks

export function renderDigest(
  type: NotificationType,
  periodStart: number,
  jobs: readonly NotificationJob[],
  periodSeconds: number = DIGEST.periodSeconds,
): { email: RenderedEmail; slack: RenderedSlackMessage } {
  // Names this digest the way an alert names its audit entry (the ledger's delivery records use it).
  const reference = `digest#${digestId(type, periodStart)}`;
  const from = formatEpochSeconds(periodStart).readable;
  const to = formatEpochSeconds(periodStart + periodSeconds).readable;
  const { title, headline } = describeDigest(type, jobs.length, { from, to });
  const people = jobs.map((job) => adminContent(job));
  const footer = 'Sent automatically by slack-anomaly-responder.';

  const text = [
    title,
    '',
    headline,
    ...people.flatMap((person, i) => {
      const width = Math.max(...person.facts.map((fact) => fact.label.length)) + 1;
      return ['', `${i + 1}. ${person.title}`, ...person.facts.map((fact) => `   ${`${fact.label}:`.padEnd(width)} ${oneLine(fact.value)}`)];
    }),
    '',
    `Digest reference: ${reference}`,
    '',
    '--',
    footer,
    '',
  ].join('\n');
  const html = [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1d1c1d">',
    `<h2 style="font-size:18px">${escapeHtml(title)}</h2>`,
    `<p>${escapeHtml(headline)}</p>`,
    ...people.map(
      (person, i) =>
        `<h3 style="font-size:15px">${i + 1}. ${escapeHtml(person.title)}</h3>\n<table role="presentation" style="border-collapse:collapse;font-size:14px">\n` +
        person.facts
          .map(
            (fact) =>
              `<tr><th align="left" valign="top" style="padding:2px 12px 2px 0;white-space:nowrap">${escapeHtml(fact.label)}</th><td style="padding:2px 0;word-break:break-all">${escapeHtml(fact.value)}</td></tr>`,
          )
          .join('\n') +
        '\n</table>',
    ),
    `<p>Digest reference: ${escapeHtml(reference)}</p>`,
    `<p style="color:#616061;font-size:12px">${escapeHtml(footer)}</p>`,
    '</body></html>',
    '',
  ].join('\n');

  const listed = people.slice(0, SLACK_PEOPLE_MAX);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(oneLine(title), SLACK_LIMITS.headerText), emoji: false } },
    { type: 'section', text: { type: 'mrkdwn', text: escapeWithin(headline, SLACK_LIMITS.sectionText, escapeMrkdwn) } },
    ...listed.map((person) => ({ type: 'section', text: { type: 'mrkdwn', text: escapeWithin(oneLine(person.title), SLACK_LIMITS.sectionText, escapeMrkdwn) } })),
  ];
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Digest reference*\n${escapeMrkdwn(reference)}` } });
  const more = people.length - listed.length;
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: escapeWithin(more > 0 ? `${more} more in the email digest. ${footer}` : footer, SLACK_LIMITS.contextText, escapeMrkdwn) }],
  });
  return {
    email: { subject: `${SUBJECT_PREFIX} ${title}`, html, text },
    slack: { text: escapeWithin(oneLine(title), SLACK_LIMITS.sectionText, escapeMrkdwn), blocks },
  };
}
