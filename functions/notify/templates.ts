import { eventLabel, type AnomalyEvent } from '../domain/anomaly-catalogue';
import type { AlertSettings } from '../domain/config/schema';
import type { NotificationJob } from '../domain/messages';
import { SLACK_USER_ID } from '../domain/audit-entry';
import { describeDigest, describeResponse, severityOf, splitUntrusted, type Severity } from './explain';
import { CODE_STYLE, escapeHtml, escapeMrkdwn, formatTime, htmlCode, oneLine, plainValue, slackCode, truncate } from './format';

/**
 * Pure renderers: one notification job → an email (subject, HTML, text) or a Slack Block Kit
 * message, for one of two audiences. The affected person gets a plain-language note about their
 * own account; admins get what happened, what was done, what to do, and every fact.
 *
 * The content is built once as structured parts (`Rich`): our own words are plain strings,
 * attacker-influenced values are `{ value }` parts, the person and times are parts of their own.
 * Each output renders the parts its own way (see ./format.ts for why values are inert).
 */
export type Audience = 'affected_user' | 'admin';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export type SlackBlock = Record<string, unknown>;

export interface RenderedSlackMessage {
  /** Notification / fallback text: our words and a `<@U…>` mention, no attacker text. */
  text: string;
  blocks: SlackBlock[];
}

/** Alert settings with the deployment's defaults applied. */
export type RenderSettings = AlertSettings;

/**
 * Slack Block Kit limits we render against, in UTF-16 code units as Slack counts them
 * (docs.slack.dev/reference/block-kit: header text 150, section text 3000, each field 2000 and
 * at most 10 fields, context at most 10 elements, button text 75, button url 3000, 50 blocks).
 */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fieldsPerSection: 10,
  contextElements: 10,
  contextText: 2000,
  buttonText: 75,
  buttonUrl: 3000,
  blocks: 50,
  fallbackText: 3000,
} as const;

/** Raw-value caps in UTF-16 units, applied before escaping, so neither SES nor Slack receives unbounded input. */
const MAX = { name: 80, userAgent: 512, value: 200, list: 500, subject: 180 } as const;

const SUBJECT_PREFIX = '[Slack security]';
const PRODUCT = 'slack-anomaly-responder';
/** Where the audit log lives, for when no auditLogUrl is configured (Slack's help: "Audit logs on Enterprise Grid"). */
const AUDIT_LOG_PATH = 'Organisation settings → Security → Audit logs → Security detections';

/** Short event names for subjects and headers; the catalogue's labels are the long forms. */
const SHORT_LABEL: Partial<Record<AnomalyEvent, string>> = { tor: 'Tor exit node' };

/** What each event means, said to the person it happened to. */
const USER_REASON: Record<AnomalyEvent, string> = {
  tor: 'your account was used from a Tor exit node (an anonymising network)',
  unexpected_scraping: 'your account was used in a way that looks like data scraping',
  excessive_downloads: 'an unusually large number of files were downloaded with your account',
  session_fingerprint: 'a stale or unexpected session cookie was used with your account',
  spoofed_user_agent: 'your account was used from a disguised (spoofed) browser or app',
  unexpected_api_call_volume: 'your account made an unusual volume of API calls',
  unexpected_user_agent: 'your account was used from an unexpected browser or app',
  unexpected_admin_action: 'an unexpected admin action was taken with your account',
  excessive_file_shares: 'an unusually large number of files were shared from your account',
  excessive_malware_uploads: 'files with malware were uploaded from your account',
  unexpected_message_deletion: 'an unusual number of messages were deleted from your account',
  potential_spam: 'your account sent messages that look like spam',
  unexpected_client: 'your account was used from an unexpected Slack client',
  ip_address: 'your account was used from an unexpected IP address',
  asn: 'your account was used from an unexpected network',
  user_agent: 'your account was used from a browser or app it has not used before',
};

type Scope = NonNullable<NotificationJob['response']['scope']>;

/** Which sessions ended, said to the person they belonged to. */
const USER_SIGNED_OUT: Record<Scope, { title: string; phrase: string }> = {
  all: { title: 'You were signed out of Slack on all devices', phrase: 'signed you out of Slack on all your devices' },
  web: { title: 'You were signed out of Slack in your web browsers', phrase: 'signed you out of Slack in your web browsers' },
  mobile: { title: 'You were signed out of Slack on your mobile devices', phrase: 'signed you out of Slack on your mobile devices' },
  session: { title: 'You were signed out of one Slack session', phrase: 'signed you out of the Slack session where this happened' },
};

/** Which sessions ended, said to admins about the person. */
const ADMIN_SIGNED_OUT: Record<Scope, string> = {
  all: 'signed out of Slack on every device.',
  web: 'signed out of Slack in their web browsers (web sessions only).',
  mobile: 'signed out of Slack on their mobile devices (mobile sessions only).',
  session: 'signed out of the one Slack session the anomaly was seen in.',
};

// ---------- the content model ----------

/** One piece of text: our words, an attacker-influenced value, the person, a time, or a link. */
type Part = string | { value: string | undefined; max?: number } | { person: 'name' | 'mention' } | { time: number } | { link: string; label: string };
type Rich = Part[];

interface Fact {
  label: string;
  value: Rich;
  /** Long values: their own line in Slack rather than a field. */
  wide?: boolean;
}

interface Link {
  label: string;
  url: string;
}

interface Section {
  heading: string;
  paragraphs: Rich[];
  /** A checklist. */
  steps?: Rich[];
}

interface Content {
  severity: Severity;
  subject: Rich;
  /** Email heading and Slack header: our words only. */
  title: string;
  greeting?: Rich;
  /** One line: who and what. */
  lead: Rich;
  /** When the anomaly happened: said after the lead in Slack, where no "What happened" section follows. */
  when?: number;
  sections: Section[];
  links: Link[];
  facts: Fact[];
  /** Short "what was done" for the Slack context line. */
  done: Rich;
  footer: Rich;
  entryId: string;
}

interface Ctx {
  job: NotificationJob;
  settings: RenderSettings;
  timeZone: string;
}

const v = (value: string | undefined, max: number = MAX.value): Part => ({ value, max });

// ---------- public API ----------

export function renderEmail(job: NotificationJob, audience: Audience, settings: RenderSettings = {}): RenderedEmail {
  const ctx = context(job, settings);
  const content = audience === 'admin' ? adminContent(ctx) : affectedUserContent(ctx);
  return { subject: toSubject(content, ctx), html: toHtml(content, ctx), text: toText(content, ctx) };
}

export function renderSlackMessage(job: NotificationJob, audience: Audience, settings: RenderSettings = {}): RenderedSlackMessage {
  const ctx = context(job, settings);
  return toSlack(audience === 'admin' ? adminContent(ctx) : affectedUserContent(ctx), ctx);
}

function context(job: NotificationJob, settings: RenderSettings): Ctx {
  return { job, settings, timeZone: settings.timeZone ?? 'UTC' };
}

// ---------- content: what each audience is told ----------

function adminContent(ctx: Ctx): Content {
  const { job, settings } = ctx;
  if (job.settingsChange) return settingsChangeContent(ctx, job.settingsChange);
  if (job.configChange) return configChangeContent(ctx, job.configChange);
  const anomaly = shortAnomaly(job);
  const response = describeResponse(job.response);
  const severity = severityOf(job);
  const who: Part = { person: 'name' };
  const whoMention: Part = { person: 'mention' };
  const eventLabels = job.events.length ? job.events.map((e) => eventLabel(e as AnomalyEvent)).join('; ') : undefined;
  const responded: Rich = job.respondedAt === undefined ? [] : ['At ', { time: job.respondedAt }, ': '];

  const happened: Rich = [
    'Slack’s audit log reported ',
    eventLabels ? `“${eventLabels}”` : 'an anomaly',
    ' for ',
    who,
    ' at ',
    { time: job.occurredAt },
    job.context.ipAddress ? ', from IP address ' : '',
    ...(job.context.ipAddress ? [v(job.context.ipAddress)] : []),
    job.context.location ? ' (' : '',
    ...(job.context.location ? [v(job.context.location), ')'] : []),
    '.',
  ];
  const done: Rich = [...responded, response.actionTaken, '.'];
  const doneParagraphs: Rich[] = [done];
  // The explanation may quote the entry (a team ID) or Slack's answer: those parts stay values.
  if (response.explanation) doneParagraphs.push(splitUntrusted(response.explanation).map((part) => (typeof part === 'string' ? part : v(part.value))));

  const subjectFacts: Fact[] = job.app
    ? [
        { label: 'App', value: [v(job.app.name, MAX.name)] },
        { label: 'App ID', value: [v(job.app.id)] },
      ]
    : [
        { label: 'Person', value: [whoMention] },
        { label: 'Email', value: [v(job.user?.email)] },
        { label: 'User ID', value: [v(job.user?.id)] },
      ];
  const facts: Fact[] = [
    ...subjectFacts,
    { label: 'Anomaly', value: eventLabels ? [eventLabels] : ['none of the events with a response rule'] },
    { label: 'Reason codes', value: [v([...job.events, ...job.otherReasons].join(', '), MAX.list)] },
    { label: 'When', value: [{ time: job.occurredAt }] },
    { label: 'IP address', value: [v(job.context.ipAddress)] },
    { label: 'Location', value: [v(job.context.location)] },
    { label: 'Workspace', value: [v(job.context.workspace)] },
  ];
  if (job.context.previousIpAddress) facts.push({ label: 'Previous IP address', value: [v(job.context.previousIpAddress)] });
  facts.push({ label: 'User agent', value: [v(job.context.userAgent, MAX.userAgent)], wide: true });
  if (job.context.previousUserAgent) facts.push({ label: 'Previous user agent', value: [v(job.context.previousUserAgent, MAX.userAgent)], wide: true });
  if (job.respondedAt !== undefined) facts.push({ label: 'Responded', value: [{ time: job.respondedAt }] });
  facts.push({ label: 'Reference', value: [v(job.entryId)], wide: true });

  const dryRun = job.response.dryRun === true;
  const wouldEnd = job.response.outcome === 'dry_run';
  const subject: Rich = wouldEnd
    ? ['Dry run: would have ended sessions for ', who, ` — ${anomaly}`]
    : [dryRun ? '[dry run] ' : '', ADMIN_SUBJECT[job.type], ' for ', who, ` — ${anomaly}`];
  return {
    severity,
    subject,
    title: `${wouldEnd ? 'Dry run: would have ended sessions' : ADMIN_TITLE[job.type](job)} — ${anomaly}`,
    lead: [whoMention, ' — ', ...(wouldEnd ? [`would have been ${ADMIN_SIGNED_OUT[job.response.scope ?? 'all']}`, ' Dry run: nothing was done.'] : ADMIN_LEAD[job.type](job))],
    when: job.occurredAt,
    sections: [
      { heading: 'What happened', paragraphs: [happened] },
      { heading: 'What was done', paragraphs: doneParagraphs },
      { heading: 'What you should do', paragraphs: [], steps: dryRun ? dryRunSteps() : adminSteps(ctx) },
    ],
    links: adminLinks(ctx),
    facts,
    done,
    footer: [
      `You receive this because you are set to receive “${job.type.replace(/_/g, ' ')}” alerts`,
      settings.orgName ? ` for ${settings.orgName}` : '',
      ` (primary owner, security admin or alert list). Sent automatically by ${PRODUCT}.`,
    ],
    entryId: job.entryId,
  };
}

const SETTINGS_CHANGED = 'Slack’s built-in anomaly event response settings were changed';
const CONFIG_CHANGED = 'The responder’s configuration was changed';
const CONFIG_WEAKENED = 'The responder’s configuration was changed: the response was weakened';
const CHANGED_BY_UNKNOWN =
  'DynamoDB streams do not name who wrote an item. Look it up in CloudTrail: with data events enabled for the config table, the PutItem, UpdateItem or DeleteItem event at this time names the principal.';


const ADMIN_SUBJECT: Record<NotificationJob['type'], string> = {
  sessions_ended: 'Sessions ended',
  anomaly_not_acted_on: 'Anomaly, no action taken',
  action_failed: 'Automatic response FAILED',
  app_anomaly: 'App anomaly',
  anomaly_response_changed: SETTINGS_CHANGED,
  config_changed: CONFIG_CHANGED,
};

const ADMIN_TITLE: Record<NotificationJob['type'], (job: NotificationJob) => string> = {
  sessions_ended: () => 'Sessions ended',
  anomaly_not_acted_on: (job) => (job.response.outcome === 'protected' ? 'Primary owner, not signed out' : 'Anomaly, no action taken'),
  action_failed: (job) => (job.response.holdReason === 'circuit_breaker' ? 'Automatic response paused' : 'Automatic response failed'),
  app_anomaly: () => 'App anomaly',
  anomaly_response_changed: () => SETTINGS_CHANGED,
  config_changed: () => CONFIG_CHANGED,
};

const ADMIN_LEAD: Record<NotificationJob['type'], (job: NotificationJob) => Rich> = {
  sessions_ended: (job) => [ADMIN_SIGNED_OUT[job.response.scope ?? 'all']],
  anomaly_not_acted_on: (job) => [job.response.outcome === 'protected' ? 'the primary owner, never signed out automatically.' : 'not signed out (see why below).'],
  action_failed: () => ['NOT signed out: the automatic response failed, their sessions may still be active.'],
  app_anomaly: () => ['an app: apps have no sessions to end, so nothing was acted on.'],
  anomaly_response_changed: () => ['changed the settings of Slack’s built-in anomaly event response.'],
  // Not reached: a config_changed job always carries its change (messages.ts) and has content of its own.
  config_changed: () => ['changed the responder’s configuration.'],
};

function adminSteps(ctx: Ctx): Rich[] {
  const { job } = ctx;
  const signOutByHand: Rich = [
    'Sign them out by hand: in the audit log (',
    AUDIT_LOG_PATH,
    '), click ⋯ next to the entry, then Sign out of Slack; or from their page in the admin dashboard.',
  ];
  const confirm: Rich = ['Ask ', { person: 'name' }, ' by another channel (phone, in person) whether this was them.'];
  const compromised: Rich = [
    'If it was not them: have them change their password at your identity provider, check their two-factor authentication, and review their recent activity in the audit log.',
  ];
  switch (job.type) {
    case 'sessions_ended':
      return [
        confirm,
        compromised,
        [
          'If it was expected (a VPN, a test): nothing needs undoing, they sign back in as usual. To stop it happening again, add them to the exclusions (config item ',
          { value: 'exclusions' },
          ').',
        ],
      ];
    case 'anomaly_not_acted_on':
      if (job.response.outcome === 'protected') return [['Contact them directly, by phone or in person.'], ['If it was not them, sign them out by hand in the admin dashboard and secure the account.']];
      return [
        ['Review the activity in the audit log.'],
        ['If it looks suspicious: ', ...signOutByHand],
        ['If this anomaly should always end sessions, set its rule to end_sessions (config item event#<reason code>).'],
      ];
    case 'app_anomaly':
      return [
        ['Review what the app does and who installed it (Organisation settings → Integrations → Installed apps).'],
        ['If the activity is not expected: revoke its tokens or remove it from the org.'],
      ];
    case 'anomaly_response_changed':
      return SETTINGS_CHANGED_STEPS;
    case 'config_changed':
      return [[CHANGED_BY_UNKNOWN]];
    case 'action_failed':
      return [
        ['Now: ', ...signOutByHand],
        confirm,
        job.response.holdReason === 'circuit_breaker'
          ? ['Many anomalies this hour: check whether this is an attack or a false-positive wave (a new VPN, a network change) before automatic resets resume.']
          : ['Check the responder’s alarms and logs (README, “Troubleshooting”).'],
      ];
  }
}

const SETTINGS_CHANGED_STEPS: Rich[] = [
  ['Check with whoever made the change that it is what your team intended.'],
  ['Check that each anomaly event is answered by one responder, Slack’s built-in or this one (README, “Coexistence with Slack’s built-in response”).'],
];

/** Someone changed Slack's own feature: who, when, and what the entry says, for the security admins. */
function settingsChangeContent(ctx: Ctx, change: NonNullable<NotificationJob['settingsChange']>): Content {
  const { job, settings } = ctx;
  const response = describeResponse(job.response);
  const by: Part = v(change.actorId);
  const done: Rich = [...(job.respondedAt === undefined ? [] : ['At ', { time: job.respondedAt }, ': ']), response.actionTaken, '.'];
  const doneParagraphs: Rich[] = [done];
  if (response.explanation) doneParagraphs.push(splitUntrusted(response.explanation).map((part) => (typeof part === 'string' ? part : v(part.value))));
  const facts: Fact[] = [
    { label: 'Changed by', value: [by] },
    { label: 'When', value: [{ time: job.occurredAt }] },
    { label: 'Details', value: [v(change.details, MAX.list)], wide: true },
    { label: 'Reference', value: [v(job.entryId)], wide: true },
  ];
  return {
    severity: severityOf(job),
    subject: [job.response.dryRun ? '[dry run] ' : '', SETTINGS_CHANGED],
    title: SETTINGS_CHANGED,
    // The time in the lead itself: Slack's line after the lead says "Anomaly at", which this is not.
    lead: [by, ' changed the settings of Slack’s built-in anomaly event response at ', { time: job.occurredAt }, '.'],
    sections: [
      {
        heading: 'What happened',
        paragraphs: [['Slack’s audit log records a change to its built-in anomaly event response (pref.anomaly_event_response_changed) by ', by, ' at ', { time: job.occurredAt }, '.']],
      },
      { heading: 'What was done', paragraphs: doneParagraphs },
      { heading: 'What you should do', paragraphs: [], steps: SETTINGS_CHANGED_STEPS },
    ],
    links: settings.auditLogUrl ? [{ label: 'Open the audit log', url: settings.auditLogUrl }] : [],
    facts,
    done,
    footer: [`You receive this because you are set to receive “anomaly response changed” alerts`, settings.orgName ? ` for ${settings.orgName}` : '', `. Sent automatically by ${PRODUCT}.`],
    entryId: job.entryId,
  };
}

/**
 * A change to this responder's own configuration. Loud (critical, "weakened" in the subject) when
 * it weakens the response: a rule no longer ends sessions, an exclusion or trusted range added, dry
 * run on, an item removed. Everything from the config table (item id, field names, before and
 * after, the warnings, which quote them) is a value part: written by whoever holds the config
 * editor policy, or by an attacker who took it, so it is shown inert like any audit-entry value.
 */
function configChangeContent(ctx: Ctx, change: NonNullable<NotificationJob['configChange']>): Content {
  const { job, settings } = ctx;
  const loud = change.warnings.length > 0;
  const item = v(change.itemId);
  const title = loud ? CONFIG_WEAKENED : CONFIG_CHANGED;
  const done: Rich = ['Recorded in the response log (', { value: 'npm run history -- --config-changes' }, ').'];
  const facts: Fact[] = [
    { label: 'Item', value: [item] },
    { label: 'When', value: [{ time: job.occurredAt }] },
    { label: 'Changed by', value: change.changedBy ? [v(change.changedBy)] : ['not in the change record: look it up in CloudTrail (see above)'], wide: true },
    ...change.warnings.map((warning): Fact => ({ label: 'Warning', value: [v(warning, MAX.list)], wide: true })),
    ...change.changes.map(
      (c): Fact => ({
        label: 'Change',
        value: [v(c.field), ': ', c.before === undefined ? '(none)' : v(c.before, MAX.list), ' \u2192 ', c.after === undefined ? '(none)' : v(c.after, MAX.list)],
        wide: true,
      }),
    ),
    { label: 'Reference', value: [v(job.entryId)], wide: true },
  ];
  const steps: Rich[] = [
    ...(loud ? [['Check that this change was intended; if it was not, undo it in the config table and find who made it.'] as Rich] : []),
    change.changedBy ? ['The change record names who made it (see Changed by).'] : [CHANGED_BY_UNKNOWN],
  ];
  return {
    severity: loud ? { level: 'critical', label: 'Action needed' } : { level: 'warning', label: 'Review' },
    subject: [loud ? 'WARNING: the response was weakened: ' : '', 'configuration item ', item, ` ${change.kind}`],
    title,
    // The time in the lead itself: Slack's line after the lead says "Anomaly at", which this is not.
    lead: ['The configuration item ', item, ` was ${change.kind} at `, { time: job.occurredAt }, loud ? ', and the change weakens the response.' : '.'],
    sections: [
      {
        heading: 'What happened',
        paragraphs: [['An item of the responder’s configuration (the config table) was ', change.kind, ' at ', { time: job.occurredAt }, '. Every change is recorded in the response log.']],
      },
      { heading: 'What you should do', paragraphs: [], steps },
    ],
    links: [],
    facts,
    done,
    footer: [`You receive this because you are set to receive “config changed” alerts`, settings.orgName ? ` for ${settings.orgName}` : '', `. Sent automatically by ${PRODUCT}.`],
    entryId: job.entryId,
  };
}

/** In a dry run nothing was done: what to check, and how to leave dry run. */
function dryRunSteps(): Rich[] {
  return [
    ['Nothing was done and the person was not told. Check that this is what the responder should do for ', { person: 'name' }, '.'],
    ['When the dry-run alerts look right, turn dry run off: set dryRun to false in the config item ', { value: 'safety' }, '.'],
  ];
}

function adminLinks(ctx: Ctx): Link[] {
  const links: Link[] = [];
  const { auditLogUrl, adminPersonUrl } = ctx.settings;
  if (auditLogUrl) links.push({ label: 'Open the audit log', url: auditLogUrl });
  // Only a well-formed Slack user ID goes into a URL: the job's id comes from the audit entry.
  const user = ctx.job.user;
  if (adminPersonUrl && user && SLACK_USER_ID.test(user.id)) links.push({ label: 'Open their page in Slack admin', url: adminPersonUrl.replace('{userId}', user.id) });
  return links;
}

/**
 * The affected person sees what happened to their own account (when, where from, what we did,
 * what to do) but nothing about our internals: no rules, exclusions, reason codes or error detail.
 */
function affectedUserContent(ctx: Ctx): Content {
  const { job, settings } = ctx;
  // The affected person is never told about a dry run (recipients.ts), so sessions_ended means ended.
  const signedOut = job.type === 'sessions_ended';
  const ended = USER_SIGNED_OUT[job.response.scope ?? 'all'];
  const title = signedOut ? ended.title : 'Unusual activity on your Slack account';
  const contact: Rich = settings.securityContact
    ? ['Questions, or it wasn’t you? Contact ', { link: contactUrl(settings.securityContact), label: settings.securityContact }, '.']
    : ['Questions, or it wasn’t you? Contact your security team.'];
  const responded: Rich = job.respondedAt === undefined ? [] : ['At ', { time: job.respondedAt }, ', '];
  const done: Rich = signedOut
    ? [...responded, responded.length ? 'for your security' : 'For your security', `, we ${ended.phrase}.`]
    : ['Nothing was changed on your account.'];
  const facts: Fact[] = [{ label: 'When', value: [{ time: job.occurredAt }] }];
  if (job.context.location) facts.push({ label: 'Where', value: [v(job.context.location)] });
  if (job.context.ipAddress) facts.push({ label: 'IP address', value: [v(job.context.ipAddress)] });
  facts.push({ label: 'Reference', value: [v(job.entryId)], wide: true });
  return {
    severity: { level: 'warning', label: 'Security notice' },
    subject: [title],
    title,
    greeting: job.user?.realName ? ['Hi ', { person: 'name' }, ','] : ['Hello,'],
    lead: [`At `, { time: job.occurredAt }, `, ${userReasons(job)}.`],
    sections: [
      { heading: 'What was done', paragraphs: [done] },
      {
        heading: 'What you should do',
        paragraphs: [],
        steps: signedOut
          ? [
              ['Sign back in with your usual login — you can do it right away.'],
              ['If it wasn’t you: change your password (or your company sign-in password) and check that two-factor authentication is on.'],
              contact,
            ]
          : [contact],
      },
    ],
    links: [],
    facts,
    done,
    footer: [`You receive this because it concerns your Slack account`, settings.orgName ? ` at ${settings.orgName}` : '', `. Sent automatically by your organisation’s Slack security team.`],
    entryId: job.entryId,
  };
}

function contactUrl(contact: string): string {
  return contact.startsWith('https://') ? contact : `mailto:${contact}`;
}

function userReasons(job: NotificationJob): string {
  const phrases = job.events.map((event) => USER_REASON[event as AnomalyEvent]).filter(Boolean);
  if (phrases.length === 0) return 'we noticed unusual activity on your account';
  if (phrases.length === 1) return phrases[0];
  return `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}`;
}

function shortAnomaly(job: NotificationJob): string {
  const labels = job.events.map((event) => SHORT_LABEL[event as AnomalyEvent] ?? eventLabel(event as AnomalyEvent));
  // An unknown reason code comes from the entry: shown only as a code, never in a subject or header.
  if (labels.length === 0) return 'anomaly';
  return labels.length === 1 ? labels[0] : `${labels[0]} (+${labels.length - 1} more)`;
}

/** The person as named in prose: real name, else handle, else email, else ID; or the app's name or ID. */
function personName(job: NotificationJob): string {
  const candidates = job.app ? [job.app.name, job.app.id] : [job.user?.realName, job.user?.name, job.user?.email, job.user?.id];
  for (const candidate of candidates) {
    if (candidate !== undefined && oneLine(candidate) !== '') return candidate;
  }
  return job.app ? 'unknown app' : 'unknown person';
}

/** "the app " before an app's name: our words, outside the value. */
function appPrefix(job: NotificationJob): string {
  return job.app ? 'the app ' : '';
}

// ---------- the admin digest ----------

/** One admin digest (digest.ts): the alerts of one notification type in one period. */
export interface DigestInput {
  type: NotificationJob['type'];
  /** Names the digest as an entry ID names an alert (its deliveries' ledger records use it). */
  reference: string;
  /** The period, epoch seconds. */
  from: number;
  to: number;
  jobs: readonly NotificationJob[];
}

/** People listed in the Slack digest: with the header, lead, steps and context, within Slack's 50 blocks (10 to a section). */
const SLACK_DIGEST_PEOPLE = 40;
const SEVERITY_RANK: Record<Severity['level'], number> = { critical: 2, warning: 1, info: 0 };

/**
 * The digest in the same content model as a single alert, so everything from the entries and the
 * directory is a value part, rendered as inert as in the person's own alert: one fact per person.
 * The person is a value here, not a mention: a digest is about many people, the model's person
 * part about one.
 */
export function renderDigestMessage(input: DigestInput, settings: RenderSettings = {}): { email: RenderedEmail; slack: RenderedSlackMessage } {
  const [first] = input.jobs;
  if (!first) throw new RangeError('A digest lists at least one notification');
  // Nobody in particular: the renderers' person, mention and links never name one of the listed people.
  const nobody: NotificationJob = { ...first };
  delete nobody.user;
  delete nobody.app;
  const ctx = context(nobody, settings);
  const email = digestContent(input, input.jobs, settings);
  const listed = input.jobs.slice(0, SLACK_DIGEST_PEOPLE);
  const more = input.jobs.length - listed.length;
  const slack = digestContent(input, listed, settings, more > 0 ? [`; ${more} more ${more === 1 ? 'is' : 'are'} listed in the email digest`] : []);
  return { email: { subject: toSubject(email, ctx), html: toHtml(email, ctx), text: toText(email, ctx) }, slack: toSlack(slack, ctx) };
}

function digestContent(input: DigestInput, people: readonly NotificationJob[], settings: RenderSettings, doneMore: Rich = []): Content {
  const words = describeDigest(input.type, input.jobs.length);
  const severity = input.jobs.map((job) => severityOf(job)).reduce((worst, next) => (SEVERITY_RANK[next.level] > SEVERITY_RANK[worst.level] ? next : worst));
  return {
    severity,
    subject: [words.title],
    title: words.title,
    lead: [words.opening, ' between ', { time: input.from }, ' and ', { time: input.to }, '. ', words.closing],
    sections: [{ heading: 'What you should do', paragraphs: [], steps: [[words.step]] }],
    links: settings.auditLogUrl ? [{ label: 'Open the audit log', url: settings.auditLogUrl }] : [],
    // The reference names the digest as an alert's names its entry (the delivery receipts are under it).
    facts: [...people.map((job, i): Fact => ({ label: `${i + 1}.`, value: digestLine(job), wide: true })), { label: 'Reference', value: [v(input.reference)], wide: true }],
    done: [words.title, ...doneMore],
    footer: [
      `You receive this because you are set to receive “${input.type.replace(/_/g, ' ')}” alerts`,
      settings.orgName ? ` for ${settings.orgName}` : '',
      ` (primary owner, security admin or alert list). Sent automatically by ${PRODUCT}.`,
    ],
    entryId: input.reference,
  };
}

/** One person's alert in a line: who, what, when, from where, and what was done; their values inert. */
function digestLine(job: NotificationJob): Rich {
  const events = job.events.length ? job.events.map((e) => eventLabel(e as AnomalyEvent)).join('; ') : 'an anomaly';
  return [
    appPrefix(job),
    v(personName(job), MAX.name),
    ...(job.user ? [' (', v(job.user.email), ')'] : []),
    ` — ${events} at `,
    { time: job.occurredAt },
    ...(job.context.ipAddress ? [' from ', v(job.context.ipAddress)] : []),
    ...(job.context.location ? [' (', v(job.context.location), ')'] : []),
    ` — ${describeResponse(job.response).actionTaken}. Reference `,
    v(job.entryId),
  ];
}

// ---------- renderers ----------

/** Plain text: values one-line and defanged, times in words. */
function plain(rich: Rich, ctx: Ctx): string {
  return rich
    .map((part) => {
      if (typeof part === 'string') return part;
      if ('value' in part) return part.value === undefined || oneLine(part.value) === '' ? 'not reported' : plainValue(part.value, part.max ?? MAX.value);
      if ('person' in part) return appPrefix(ctx.job) + plainValue(personName(ctx.job), MAX.name);
      if ('time' in part) return formatTime(part.time, ctx.timeZone).words;
      return part.label === contactLabel(part) ? part.label : `${part.label} (${part.link})`;
    })
    .join('');
}

function contactLabel(part: { link: string; label: string }): string {
  return part.link.replace(/^mailto:/, '');
}

function html(rich: Rich, ctx: Ctx): string {
  return rich
    .map((part) => {
      if (typeof part === 'string') return escapeHtml(part);
      if ('value' in part) return part.value === undefined || oneLine(part.value) === '' ? '<em>not reported</em>' : htmlCode(part.value, part.max ?? MAX.value);
      if ('person' in part) return `${appPrefix(ctx.job)}<code style="font-family:inherit;font-size:inherit;font-weight:600">${escapeHtml(plainValue(personName(ctx.job), MAX.name))}</code>`;
      if ('time' in part) return escapeHtml(formatTime(part.time, ctx.timeZone).words);
      return `<a href="${escapeHtml(part.link)}" style="color:#1264a3">${escapeHtml(part.label)}</a>`;
    })
    .join('');
}

/** Slack mrkdwn (sent with verbatim: true): values as code spans, the person as a mention, times as <!date>. */
function mrkdwn(rich: Rich, ctx: Ctx, valueMax: number = SLACK_LIMITS.fieldText): string {
  return rich
    .map((part) => {
      if (typeof part === 'string') return escapeMrkdwn(part);
      if ('value' in part) return part.value === undefined || oneLine(part.value) === '' ? '_not reported_' : slackCode(part.value, valueMax, part.max ?? MAX.value);
      if ('person' in part) return mention(ctx);
      if ('time' in part) return slackDate(part.time, ctx);
      // Operator-configured (validated email or https URL): a real link, with the characters that
      // would end Slack's <url|label> syntax percent-encoded.
      return `<${part.link.replace(/[<>|]/g, (c) => encodeURIComponent(c))}|${escapeMrkdwn(part.label).replace(/\|/g, '¦')}>`;
    })
    .join('');
}

/** `<@U…>`: Slack renders the person's current name from its own directory, so nothing of theirs is in our text. */
function mention(ctx: Ctx): string {
  const { user } = ctx.job;
  if (!user) return appPrefix(ctx.job) + slackCode(personName(ctx.job), 100, MAX.name);
  return SLACK_USER_ID.test(user.id) ? `<@${user.id}>` : slackCode(user.id, 100);
}

/** Each reader sees their own local time; the fallback is ours, in words. */
function slackDate(seconds: number, ctx: Ctx): string {
  return `<!date^${seconds}^{date_long_pretty} at {time_secs}|${escapeMrkdwn(formatTime(seconds, ctx.timeZone).words)}>`;
}

function toSubject(content: Content, ctx: Ctx): string {
  const org = ctx.settings.orgName ? ` ${ctx.settings.orgName}:` : '';
  return truncate(oneLine(`${SUBJECT_PREFIX}${org} ${plain(content.subject, ctx)}`), MAX.subject);
}

function toText(content: Content, ctx: Ctx): string {
  const width = Math.max(...content.facts.map((fact) => fact.label.length)) + 1;
  const lines: string[] = [`${content.severity.label.toUpperCase()}: ${content.title}`, ''];
  if (content.greeting) lines.push(plain(content.greeting, ctx), '');
  lines.push(plain(content.lead, ctx), '');
  for (const section of content.sections) {
    lines.push(section.heading, '-'.repeat(section.heading.length));
    for (const paragraph of section.paragraphs) lines.push(plain(paragraph, ctx), '');
    (section.steps ?? []).forEach((step, i) => lines.push(`${i + 1}. ${plain(step, ctx)}`));
    if (section.steps?.length) lines.push('');
  }
  for (const link of content.links) lines.push(`${link.label}: ${link.url}`);
  if (content.links.length) lines.push('');
  lines.push('Details', '-------');
  for (const fact of content.facts) lines.push(`${`${fact.label}:`.padEnd(width)} ${plain(fact.value, ctx)}`);
  lines.push('', '--', plain(content.footer, ctx), '');
  return lines.join('\n');
}

/** Severity colours: strong enough for white text in light and dark mode; the words say the same. */
const SEVERITY_COLOUR: Record<Severity['level'], string> = { critical: '#b42318', warning: '#b54708', info: '#175cd3' };

function toHtml(content: Content, ctx: Ctx): string {
  const colour = SEVERITY_COLOUR[content.severity.level];
  const heading = 'margin:20px 0 6px;font-size:16px;line-height:22px;color:#1d1c1d';
  const para = 'margin:0 0 10px;font-size:15px;line-height:22px;color:#1d1c1d';
  const sections = content.sections.flatMap((section) => [
    `<h2 class="fg" style="${heading}">${escapeHtml(section.heading)}</h2>`,
    ...section.paragraphs.map((paragraph) => `<p class="fg" style="${para}">${html(paragraph, ctx)}</p>`),
    ...(section.steps?.length
      ? [`<ol class="fg" style="margin:0 0 10px;padding-left:22px;font-size:15px;line-height:22px;color:#1d1c1d">`, ...section.steps.map((step) => `<li style="margin:0 0 6px">${html(step, ctx)}</li>`), '</ol>']
      : []),
  ]);
  const buttons = content.links.map(
    (link) =>
      `<a href="${escapeHtml(link.url)}" style="display:inline-block;margin:0 8px 8px 0;padding:10px 14px;border-radius:6px;background:#1264a3;color:#ffffff;font-size:14px;font-weight:600;text-decoration:none">${escapeHtml(link.label)}</a>`,
  );
  const rows = content.facts.map(
    (fact) =>
      `<tr><th class="fg" align="left" valign="top" style="padding:6px 12px 6px 0;font-size:13px;font-weight:600;color:#616061;white-space:nowrap">${escapeHtml(fact.label)}</th>` +
      `<td class="fg" valign="top" style="padding:6px 0;font-size:14px;color:#1d1c1d">${html(fact.value, ctx)}</td></tr>`,
  );
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="supported-color-schemes" content="light dark">',
    `<title>${escapeHtml(content.title)}</title>`,
    '<style>',
    '  body { margin:0; padding:0; word-break:normal; overflow-wrap:normal; -webkit-text-size-adjust:100%; }',
    `  code { ${CODE_STYLE}; }`,
    '  @media (max-width: 480px) {',
    '    .card { padding:16px !important; }',
    '    .facts th, .facts td { display:block; width:auto !important; padding:0 !important; }',
    '    .facts td { padding-bottom:10px !important; }',
    '  }',
    '  @media (prefers-color-scheme: dark) {',
    '    body, .page { background:#1a1d21 !important; }',
    '    .card { background:#222529 !important; border-color:#3b3e43 !important; }',
    '    .fg, .fg th, .fg td, .fg li { color:#e8e8e8 !important; }',
    '    .muted { color:#a8a8a8 !important; }',
    '    code { background:#2c2f33 !important; color:#e8e8e8 !important; }',
    '  }',
    '</style>',
    '</head>',
    '<body class="page" style="margin:0;padding:0;background:#f4f4f5">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" class="page" style="background:#f4f4f5"><tr><td align="center" style="padding:16px 8px">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;font-family:-apple-system,BlinkMacSystemFont,\'Segoe UI\',Helvetica,Arial,sans-serif">',
    `<tr><td style="background:${colour};color:#ffffff;padding:12px 20px;border-radius:8px 8px 0 0;font-size:13px;font-weight:700;letter-spacing:0.04em;text-transform:uppercase">` +
      `<span role="img" aria-hidden="true">${SEVERITY_ICON[content.severity.level]}</span>&nbsp;${escapeHtml(content.severity.label)}</td></tr>`,
    '<tr><td class="card" style="background:#ffffff;border:1px solid #e1e1e3;border-top:0;border-radius:0 0 8px 8px;padding:24px">',
    `<h1 class="fg" style="margin:0 0 12px;font-size:21px;line-height:28px;color:#1d1c1d">${escapeHtml(content.title)}</h1>`,
    ...(content.greeting ? [`<p class="fg" style="${para}">${html(content.greeting, ctx)}</p>`] : []),
    `<p class="fg" style="${para}">${html(content.lead, ctx)}</p>`,
    ...sections,
    ...(buttons.length ? [`<p style="margin:12px 0 4px">${buttons.join('')}</p>`] : []),
    `<h2 class="fg" style="${heading}">Details</h2>`,
    `<table role="presentation" class="facts fg" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%">`,
    ...rows,
    '</table>',
    `<p class="muted" style="margin:20px 0 0;font-size:12px;line-height:18px;color:#616061">${html(content.footer, ctx)}</p>`,
    '</td></tr>',
    '</table>',
    '</td></tr></table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const SEVERITY_ICON: Record<Severity['level'], string> = { critical: '&#9888;', warning: '&#9888;', info: '&#8505;' };

function toSlack(content: Content, ctx: Ctx): RenderedSlackMessage {
  const mrk = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });
  const fit = (rich: Rich, max: number) => fitMrkdwn(mrkdwn(rich, ctx, Math.min(max, SLACK_LIMITS.fieldText)), max);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(oneLine(content.title), SLACK_LIMITS.headerText), emoji: false } },
  ];
  const leadParts: Rich = [
    `${content.severity.label}: `,
    ...(content.greeting ? [...content.greeting, ' '] : []),
    ...content.lead,
    ...(content.when === undefined ? [] : [' Anomaly at ', { time: content.when }, '.']),
  ];
  blocks.push({ type: 'section', text: mrk(boldFirst(fit(leadParts, SLACK_LIMITS.sectionText))) });

  // The header and the lead already say who, what and when: the fields hold the rest, compactly.
  const fields = content.facts.filter((fact) => !SLACK_OMITTED_FACTS.has(fact.label));
  for (let i = 0; i < fields.length; i += SLACK_LIMITS.fieldsPerSection) {
    blocks.push({
      type: 'section',
      fields: fields.slice(i, i + SLACK_LIMITS.fieldsPerSection).map((fact) => mrk(labelled(fact.label, fit(fact.value, SLACK_LIMITS.fieldText - fact.label.length - 4)))),
    });
  }
  const steps = content.sections.find((section) => section.steps?.length)?.steps ?? [];
  const explanation = content.sections.find((section) => section.heading === 'What was done')?.paragraphs.slice(1) ?? [];
  const detail = [...explanation.map((p) => fit(p, 600)), ...steps.map((step, i) => `${i + 1}. ${fit(step, 600)}`)].join('\n');
  if (detail) blocks.push({ type: 'section', text: mrk(fitMrkdwn(`*What you should do*\n${detail}`, SLACK_LIMITS.sectionText)) });

  blocks.push({
    type: 'context',
    elements: [
      mrk(fitMrkdwn(`*Done:* ${mrkdwn(content.done, ctx)}`, SLACK_LIMITS.contextText)),
      mrk(`Reference ${slackCode(content.entryId, 200)}`),
    ],
  });
  if (content.links.length) {
    blocks.push({
      type: 'actions',
      elements: content.links
        .filter((link) => link.url.length <= SLACK_LIMITS.buttonUrl)
        .map((link, i) => ({ type: 'button', action_id: `link-${i}`, text: { type: 'plain_text', text: truncate(link.label, SLACK_LIMITS.buttonText), emoji: false }, url: link.url })),
    });
  }
  // The notification text: our words, and a person only as a mention (an app's name stays out of it).
  const fallback = escapeMrkdwn(`${content.severity.label}: ${content.title}`) + (ctx.job.user ? ` — ${mention(ctx)}` : '');
  return { text: fitMrkdwn(fallback, SLACK_LIMITS.fallbackText), blocks };
}

/** Said by the header, the lead, the mention or the context line already. */
const SLACK_OMITTED_FACTS = new Set(['Person', 'User ID', 'Anomaly', 'When', 'Responded', 'Reference']);

function boldFirst(text: string): string {
  const colon = text.indexOf(': ');
  return colon > 0 ? `*${text.slice(0, colon)}:* ${text.slice(colon + 2)}` : text;
}

function labelled(label: string, value: string): string {
  return `*${escapeMrkdwn(label)}*\n${value}`;
}

/**
 * Fit rendered mrkdwn in `max` UTF-16 units. Rendered text is already escaped and its values are
 * bounded, so a cut is rare; when needed it cuts at a space so no code span, entity, mention or
 * date token is split, and closes nothing half-open.
 */
function fitMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(' ', max - 1);
  let out = text.slice(0, cut > 0 ? cut : max - 1);
  // An odd number of backticks means a code span was cut open: drop the half span.
  if ((out.match(/`/g) ?? []).length % 2 === 1) out = out.slice(0, out.lastIndexOf('`'));
  const lt = out.lastIndexOf('<');
  if (lt > out.lastIndexOf('>')) out = out.slice(0, lt);
  const amp = out.lastIndexOf('&');
  if (amp > out.lastIndexOf(';')) out = out.slice(0, amp);
  return `${out}…`;
}
