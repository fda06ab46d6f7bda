import { defang, escapeWithin, escapeMrkdwn, formatTime, oneLine, slackCode, truncate } from '../../../functions/notify/format';
import { renderEmail, renderSlackMessage, SLACK_LIMITS, type Audience, type SlackBlock } from '../../../functions/notify/templates';
import type { NotificationJob, ResponseFacts } from '../../../functions/domain/messages';
import type { AlertSettings } from '../../../functions/domain/config/schema';
import { makeJob } from './fakes';
import { splitUntrusted, untrusted } from '../../../functions/notify/explain';

/** Every text object of a Slack message, with where it sits. */
function slackTexts(blocks: SlackBlock[]): { kind: string; type: string; text: string; verbatim?: boolean }[] {
  const out: { kind: string; type: string; text: string; verbatim?: boolean }[] = [];
  for (const block of blocks as any[]) {
    if (block.text) out.push({ kind: `${block.type}.text`, ...block.text });
    for (const field of block.fields ?? []) out.push({ kind: 'field', ...field });
    for (const element of block.elements ?? []) {
      if (element.type === 'button') out.push({ kind: 'button', ...element.text });
      else out.push({ kind: `${block.type}.element`, ...element });
    }
  }
  return out;
}

const SETTINGS: AlertSettings = {
  orgName: 'Acme',
  securityContact: 'security@acme.example',
  auditLogUrl: 'https://acme.enterprise.slack.com/admin/audit',
  adminPersonUrl: 'https://acme.enterprise.slack.com/admin/people/{userId}',
};

/** A job as respond writes it now: with the time of the response and the person's real name. */
function fullJob(overrides: Partial<NotificationJob> = {}): NotificationJob {
  return makeJob({ respondedAt: 1644428345, user: { id: 'U0AFFECTED', name: 'ana', realName: 'Ana Silva', email: 'ana@example.com' }, ...overrides });
}

describe('email subjects', () => {
  it.each([
    ['sessions_ended', '[Slack security] Sessions ended for Ana Silva — Tor exit node'],
    ['anomaly_not_acted_on', '[Slack security] Anomaly, no action taken for Ana Silva — Tor exit node'],
    ['action_failed', '[Slack security] Automatic response FAILED for Ana Silva — Tor exit node'],
  ] as const)('admin subject for %s names the person by real name', (type, subject) => {
    expect(renderEmail(fullJob({ type }), 'admin').subject).toBe(subject);
  });

  it('names the org when one is configured', () => {
    expect(renderEmail(fullJob(), 'affected_user', SETTINGS).subject).toBe('[Slack security] Acme: You were signed out of Slack on all devices');
  });

  it('falls back to the handle, the email, then the user id', () => {
    expect(renderEmail(makeJob(), 'admin').subject).toContain('for Ana Silva');
    expect(renderEmail(makeJob({ user: { id: 'U1', email: 'e@example.com' } }), 'admin').subject).toContain('for e@example[.]com');
    const job = makeJob({ type: 'anomaly_not_acted_on', user: { id: 'U1' }, events: [], otherReasons: ['unexpected_admin_action'] });
    expect(renderEmail(job, 'admin').subject).toBe('[Slack security] Anomaly, no action taken for U1 — anomaly');
  });
});

describe('admin email', () => {
  const job = fullJob({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'excluded', exclusions: ['group S0SECOPS (tor)'] } });

  it.each(['text', 'html'] as const)('the %s part carries every fact', (part) => {
    const body = renderEmail(job, 'admin')[part];
    for (const value of [
      'Ana Silva',
      'ana@example[.]com',
      'U0AFFECTED',
      'Accessing Slack from a Tor exit node',
      'tor, ip_address',
      '1.23.45.67',
      'Reno, Nevada',
      'Acme (E0ACME)',
      '9.87.65.43',
      'Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0',
      'Slack/4.36 (Macintosh)',
      'Wednesday 9 February 2022 at 17:38:25 UTC+00:00',
      'Wednesday 9 February 2022 at 17:39:05 UTC+00:00',
      'No action taken; this is a notification only',
      'The user is excluded from automatic responses: group S0SECOPS (tor).',
      '0b5c1f2e-entry',
    ]) {
      expect(body).toContain(value);
    }
  });

  it('says what happened, what was done and when, and what to do, in that order', () => {
    const { text } = renderEmail(fullJob(), 'admin');
    const order = ['What happened', 'What was done', 'At Wednesday 9 February 2022 at 17:39:05 UTC+00:00: Ended all of the user’s Slack sessions on every device', 'What you should do', 'Details'];
    const positions = order.map((heading) => text.indexOf(heading));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text).toContain('1. Ask Ana Silva by another channel');
    expect(text).toContain('If it was expected (a VPN, a test): nothing needs undoing');
  });

  it('links the audit log and the person’s admin page when configured, and says where the audit log is when not', () => {
    const linked = renderEmail(fullJob(), 'admin', SETTINGS);
    expect(linked.html).toContain('href="https://acme.enterprise.slack.com/admin/audit"');
    expect(linked.html).toContain('href="https://acme.enterprise.slack.com/admin/people/U0AFFECTED"');
    expect(linked.text).toContain('Open their page in Slack admin: https://acme.enterprise.slack.com/admin/people/U0AFFECTED');
    const unlinked = renderEmail(fullJob({ type: 'action_failed', response: { outcome: 'reset_refused', errorCode: 'user_session_reset_failed' } }), 'admin');
    expect(unlinked.html).not.toContain('<a href');
    expect(unlinked.text).toContain('Organisation settings → Security → Audit logs → Security detections');
  });

  it('never builds a link from a user id that is not a Slack user id', () => {
    const { html } = renderEmail(fullJob({ user: { id: 'U1/../../evil', realName: 'Eve' } }), 'admin', SETTINGS);
    expect(html).not.toContain('admin/people/');
  });

  it('says plainly when the response failed, in words and colour', () => {
    const failed = renderEmail(fullJob({ type: 'action_failed', response: { outcome: 'reset_refused', errorCode: 'user_session_reset_failed' } }), 'admin');
    expect(failed.text).toMatch(/^ACTION NEEDED: Automatic response failed — Tor exit node/);
    expect(failed.text).toContain('user_session_reset_failed');
    expect(failed.text).toContain('Now: Sign them out by hand');
    expect(failed.html).toMatch(/background:#b42318[^>]*>.*Action needed/);
  });

  it('leaves out previous IP / UA when absent and marks missing facts', () => {
    const { text } = renderEmail(fullJob({ context: {} }), 'admin');
    expect(text).not.toContain('Previous');
    expect(text).toMatch(/IP address:\s+not reported/);
  });

  it('leaves out the response time for a job queued before it was recorded', () => {
    const { text } = renderEmail(makeJob(), 'admin');
    expect(text).not.toContain('Responded:');
    expect(text).toContain('Ended all of the user’s Slack sessions on every device');
  });
});

describe('email layout', () => {
  const { html } = renderEmail(fullJob(), 'affected_user', SETTINGS);

  it('declares its language, a mobile viewport and both colour schemes', () => {
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<meta name="color-scheme" content="light dark">');
    expect(html).toContain('@media (prefers-color-scheme: dark)');
  });

  it('never splits words: no break-all anywhere, long values wrap only inside <code>', () => {
    expect(html).not.toContain('break-all');
    expect(html).toMatch(/code \{[^}]*overflow-wrap:anywhere/);
  });

  it('stacks the facts table on a phone, labels above values', () => {
    expect(html).toMatch(/@media \(max-width: 480px\) \{[^@]*\.facts th, \.facts td \{ display:block;/);
  });
});

describe('affected-user version', () => {
  // The facts of an admin alert (an exclusion) must never reach the person, whatever the job carries.
  const job = fullJob({ response: { outcome: 'held', holdReason: 'excluded', exclusions: ['group S0SECOPS (tor)'] } });

  it('greets them by real name and tells them what happened, what was done and what to do', () => {
    const { text } = renderEmail(job, 'affected_user', SETTINGS);
    expect(text).toContain('Hi Ana Silva,');
    expect(text).toContain('At Wednesday 9 February 2022 at 17:38:25 UTC+00:00, your account was used from a Tor exit node (an anonymising network).');
    expect(text).toContain('At Wednesday 9 February 2022 at 17:39:05 UTC+00:00, for your security, we signed you out of Slack on all your devices.');
    expect(text).toContain('1. Sign back in with your usual login — you can do it right away.');
    expect(text).toContain('change your password (or your company sign-in password) and check that two-factor authentication is on');
    expect(text).toContain('Contact security@acme.example.');
    expect(text).toContain('it concerns your Slack account at Acme');
  });

  it('greets without a name rather than by handle when the real name is unknown', () => {
    expect(renderEmail(makeJob(), 'affected_user').text).toContain('Hello,');
    expect(renderEmail(makeJob(), 'affected_user').text).not.toContain('Hi ');
  });

  it('links the security contact: a mailbox or a page', () => {
    expect(renderEmail(job, 'affected_user', SETTINGS).html).toContain('<a href="mailto:security@acme.example"');
    expect(renderEmail(job, 'affected_user', { securityContact: 'https://intranet.acme.example/security' }).html).toContain('<a href="https://intranet.acme.example/security"');
    expect(renderEmail(job, 'affected_user').text).toContain('Contact your security team.');
  });

  it.each(['text', 'html'] as const)('hides internal detail in the %s part', (part) => {
    const body = renderEmail(job, 'affected_user')[part];
    for (const internal of ['S0SECOPS', 'Excluded', 'rule:', 'end_sessions', 'ip_address', 'Mozilla', 'Previous']) {
      expect(body).not.toContain(internal);
    }
  });

  it('hides internal detail in Slack too', () => {
    const all = JSON.stringify(renderSlackMessage(job, 'affected_user'));
    expect(all).toContain('we signed you out of Slack on all your devices');
    expect(all).not.toContain('S0SECOPS');
    expect(all).not.toContain('end_sessions');
  });

  it('joins several reasons into one sentence', () => {
    const { text } = renderEmail(makeJob({ events: ['tor', 'unexpected_scraping', 'excessive_downloads'] }), 'affected_user');
    expect(text).toContain(
      'your account was used from a Tor exit node (an anonymising network), your account was used in a way that looks like data scraping and an unusually large number of files were downloaded with your account.',
    );
  });
});

describe('Slack message', () => {
  const message = renderSlackMessage(fullJob(), 'admin', SETTINGS);
  const texts = slackTexts(message.blocks);

  it('is compact: header, lead, fields, what to do, context, link buttons', () => {
    expect((message.blocks as any[]).map((b) => b.type)).toEqual(['header', 'section', 'section', 'section', 'context', 'actions']);
    expect((message.blocks[0] as any).text.text).toBe('Sessions ended — Tor exit node');
  });

  it('mentions the person and shows times in each reader’s own time zone', () => {
    const lead = texts.find((t) => t.kind === 'section.text')!.text;
    expect(lead).toBe(
      '*Review:* <@U0AFFECTED> — signed out of Slack on every device. Anomaly at <!date^1644428305^{date_long_pretty} at {time_secs}|Wednesday 9 February 2022 at 17:38:25 UTC+00:00>.',
    );
    expect(message.text).toBe('Review: Sessions ended — Tor exit node — <@U0AFFECTED>');
    expect(JSON.stringify(message.blocks)).toContain('<!date^1644428345^');
  });

  it('shows the facts as fields, values as code', () => {
    const fields = texts.filter((t) => t.kind === 'field').map((t) => t.text);
    expect(fields).toEqual(
      expect.arrayContaining(['*Email*\n`ana@example[.]com`', '*IP address*\n`1.23.45.67`', '*User agent*\n`Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0`', '*Previous IP address*\n`9.87.65.43`']),
    );
  });

  it('has link buttons to the audit log and the person’s admin page', () => {
    const actions = (message.blocks as any[]).find((b) => b.type === 'actions');
    expect(actions.elements.map((e: any) => e.url)).toEqual(['https://acme.enterprise.slack.com/admin/audit', 'https://acme.enterprise.slack.com/admin/people/U0AFFECTED']);
  });

  it('has no actions block when no links are configured', () => {
    expect((renderSlackMessage(fullJob(), 'admin').blocks as any[]).some((b) => b.type === 'actions')).toBe(false);
  });

  it('sends every mrkdwn text verbatim, so Slack links nothing by itself', () => {
    for (const text of texts.filter((t) => t.type === 'mrkdwn')) expect(text.verbatim).toBe(true);
  });

  it('keeps a configured contact link inside Slack\u2019s <url|label> syntax', () => {
    const dm = renderSlackMessage(fullJob(), 'affected_user', { securityContact: 'https://intranet.acme.example/a|b>c' });
    expect(JSON.stringify(dm.blocks)).toContain('<https://intranet.acme.example/a%7Cb%3Ec|https://intranet.acme.example/a¦b&gt;c>');
  });

  it('shows a user id that is not a Slack id as code, not as a mention', () => {
    const odd = renderSlackMessage(fullJob({ user: { id: '<!channel>' } }), 'admin');
    expect(odd.text).not.toContain('<!channel>');
    expect(JSON.stringify(odd.blocks)).toContain('`&lt;!channel&gt;`');
  });
});

describe('beyond Slack\u2019s response: scope, dry run, trusted networks, apps', () => {
  it('says which sessions were ended, to the admins and to the person', () => {
    const job = fullJob({ response: { outcome: 'sessions_ended', scope: 'mobile' } });
    expect(renderEmail(job, 'admin').text).toContain('Ana Silva — signed out of Slack on their mobile devices (mobile sessions only).');
    expect(renderEmail(job, 'admin').text).toContain('Ended the user’s Slack mobile sessions');
    expect(renderEmail(job, 'affected_user').subject).toBe('[Slack security] You were signed out of Slack on your mobile devices');
    expect(renderEmail(fullJob({ response: { outcome: 'sessions_ended', scope: 'session' } }), 'affected_user').text).toContain(
      'we signed you out of the Slack session where this happened.',
    );
  });

  it('marks a dry run in words and colour, in the subject, the lead and what was done, with how to leave it', () => {
    const wouldEnd = renderEmail(fullJob({ response: { outcome: 'dry_run', scope: 'all', dryRun: true } }), 'admin');
    expect(wouldEnd.subject).toBe('[Slack security] Dry run: would have ended sessions for Ana Silva — Tor exit node');
    expect(wouldEnd.text).toMatch(/^DRY RUN: Dry run: would have ended sessions — Tor exit node$/m);
    expect(wouldEnd.text).toContain('Ana Silva — would have been signed out of Slack on every device. Dry run: nothing was done.');
    expect(wouldEnd.text).toContain('Dry run: nothing was done. Would have ended all of the user’s Slack sessions on every device');
    expect(wouldEnd.text).toContain('turn dry run off: set dryRun to false in the config item safety');
    expect(wouldEnd.html).toMatch(/background:#175cd3[^>]*>.*Dry run/);
    const held = renderEmail(fullJob({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'rule_notify_only', notifyOnlyEvents: ['tor'], dryRun: true } }), 'admin');
    expect(held.subject).toBe('[Slack security] [dry run] Anomaly, no action taken for Ana Silva — Tor exit node');
    expect(renderSlackMessage(fullJob({ response: { outcome: 'dry_run', dryRun: true } }), 'admin').text).toBe(
      'Dry run: Dry run: would have ended sessions — Tor exit node — <@U0AFFECTED>',
    );
  });

  it('names the trusted range an anomaly came from', () => {
    const job = fullJob({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'trusted_network', trustedNetwork: '2001:db8::/32' } });
    expect(renderEmail(job, 'admin').text).toMatch(/came from a trusted network \(2001:db8::\/32\)/);
  });

  it('tells an app\u2019s anomaly with the app\u2019s id and name, inert like every attacker-influenced value', () => {
    const job = makeJob({
      type: 'app_anomaly',
      user: undefined,
      app: { id: 'A0APP00001', name: '<!channel> <b>Exporter</b>' },
      response: { outcome: 'held', holdReason: 'app_anomaly' },
    });
    const email = renderEmail(job, 'admin', SETTINGS);
    expect(email.subject).toBe('[Slack security] Acme: App anomaly for the app <!channel> <b>Exporter</b> — Tor exit node');
    expect(email.text).toMatch(/App ID:\s+A0APP00001/);
    expect(email.text).not.toMatch(/User ID|Person:/);
    expect(email.html).toContain('&lt;b&gt;Exporter&lt;/b&gt;');
    expect(email.html).not.toContain('<b>Exporter');
    expect(email.html).not.toContain('admin/people/');
    const slack = renderSlackMessage(job, 'admin');
    expect(slack.text).toBe('Review: App anomaly — Tor exit node');
    expect(JSON.stringify(slack.blocks)).toContain('the app `&lt;!channel&gt; &lt;b&gt;Exporter&lt;/b&gt;`');
    expect(JSON.stringify(slack.blocks.filter((b) => b.type !== 'header'))).not.toMatch(/<!channel>|<b>/);
  });
});

describe('a change to Slack\u2019s built-in response settings', () => {
  it('says who changed it and when, what was done, and what to check', () => {
    const job = makeJob({ type: 'anomaly_response_changed', user: undefined, respondedAt: 1644428345, settingsChange: { actorId: 'W0ADMIN01', details: '{"enabled":false}' }, response: { outcome: 'recorded' } });
    const { subject, text } = renderEmail(job, 'admin', SETTINGS);
    expect(subject).toBe('[Slack security] Acme: Slack’s built-in anomaly event response settings were changed');
    expect(text).toMatch(/W0ADMIN01 changed the settings of Slack’s built-in anomaly event response at Wednesday 9 February 2022 at 17:38:25 UTC\+00:00\./);
    expect(text).toContain('Recorded in the response log.');
    expect(text).toMatch(/Details:\s+\{"enabled":false\}/);
    expect(text).toContain('Check with whoever made the change');
    const slack = renderSlackMessage(job, 'admin', SETTINGS);
    expect(slack.text).toBe('Review: Slack’s built-in anomaly event response settings were changed');
    expect(JSON.stringify(slack.blocks)).toContain('`W0ADMIN01` changed the settings');
    // A settings change is not an anomaly: its time is told as the change's.
    expect(JSON.stringify(slack.blocks)).not.toContain('Anomaly at');
    expect(JSON.stringify(slack.blocks)).toContain('anomaly event response at <!date^1644428305^');
  });
});

// ---------- attacker text stays inert ----------

/** Every hostile value carries HOSTILE, so its traces can be found wherever they end up. */
const HOSTILE = 'pwnd';
const HOSTILE_VALUES = {
  link: `${HOSTILE} *URGENT* https://evil.example/reset <https://evil.example|click here>`,
  mention: `${HOSTILE} <!channel> <@U0BOSS> <!subteam^S1> @here`,
  fakeLabels: `${HOSTILE}\n*Action taken*\nNo action needed _really_ ~x~ \`code\``,
  bidi: `${HOSTILE} \u202egnp.exe\u202c \u200bzero\u2060width \u00adsoft`,
  html: `${HOSTILE} <script>alert(1)</script><img src=x onerror=alert(1)> &amp; " '`,
  separators: `${HOSTILE}\r\nBcc: x@evil.example\u2028next\u2029para\u0085nel\tTab`,
  huge: `${HOSTILE} ${'https://evil.example/'.repeat(50_000)}`, // ~1 MB
};

function hostileJob(type: NotificationJob['type'], facts: ResponseFacts, value: string): NotificationJob {
  // Values the explanation quotes (a team ID from the entry, Slack's error) are hostile too.
  const response: ResponseFacts = {
    ...facts,
    ...(facts.errorCode ? { errorCode: value } : {}),
    ...(facts.external ? { external: { ...facts.external, value } } : {}),
  };
  return {
    entryId: `entry-${HOSTILE}`,
    type,
    occurredAt: 1644428305,
    respondedAt: 1644428345,
    ...(type === 'app_anomaly'
      ? { app: { id: value, name: value } }
      : type === 'anomaly_response_changed'
        ? { settingsChange: { actorId: value, details: value } }
        : { user: { id: 'U0AFFECTED', name: value, realName: value, email: `${value}@evil.example` } }),
    events: ['tor'],
    otherReasons: [value],
    context: { ipAddress: value, userAgent: value, location: value, workspace: value, previousIpAddress: value, previousUserAgent: value },
    response,
  };
}

const CASES: [NotificationJob['type'], ResponseFacts][] = [
  ['sessions_ended', { outcome: 'sessions_ended' }],
  ['anomaly_not_acted_on', { outcome: 'held', holdReason: 'excluded', exclusions: ['user U0AFFECTED (tor)'] }],
  ['anomaly_not_acted_on', { outcome: 'protected', holdReason: 'protected' }],
  ['anomaly_not_acted_on', { outcome: 'held', holdReason: 'external_user', external: { fact: 'other_enterprise', value: 'E0OTHER' } }],
  ['anomaly_not_acted_on', { outcome: 'held', holdReason: 'external_user', external: { fact: 'entity_team', value: 'T0OTHER' } }],
  ['action_failed', { outcome: 'reset_refused', errorCode: 'user_session_reset_failed' }],
  ['action_failed', { outcome: 'held', holdReason: 'circuit_breaker', maxSessionResetsPerHour: 25 }],
  ['sessions_ended', { outcome: 'dry_run', scope: 'web', dryRun: true }],
  ['anomaly_not_acted_on', { outcome: 'held', holdReason: 'trusted_network', trustedNetwork: '198.51.100.0/24' }],
  ['app_anomaly', { outcome: 'held', holdReason: 'app_anomaly' }],
  ['anomaly_response_changed', { outcome: 'recorded' }],
];

const ALL = CASES.flatMap(([type, response]) =>
  (['admin', 'affected_user'] as Audience[]).flatMap((audience) =>
    Object.entries(HOSTILE_VALUES).map(([name, value]) => ({ label: `${type}/${response.outcome}/${response.holdReason ?? '-'} ${audience} ${name}`, job: hostileJob(type, response, value), audience })),
  ),
);

/** A Slack mrkdwn text without its code spans and its own tokens (mentions, dates, configured links). */
function outsideCode(text: string): string {
  return text.replace(/`[^`]*`/g, '').replace(/<(?:@U0AFFECTED|!date\^\d+\^[^|>]*\|[^>]*|https:\/\/acme\.enterprise\.slack\.com[^|>]*\|[^>]*|mailto:[^|>]*\|[^>]*)>/g, '');
}

function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
}

describe.each(ALL)('hostile values: $label', ({ job, audience }) => {
  it('Slack: attacker text only inside code spans, verbatim, one line, defanged, within limits', () => {
    const message = renderSlackMessage(job, audience, SETTINGS);
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(message.text).not.toContain(HOSTILE);
    expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    for (const { kind, type, text, verbatim } of slackTexts(message.blocks)) {
      if (type === 'plain_text') {
        // Header and buttons: our own words only.
        expect(text).not.toContain(HOSTILE);
        expect(text.length).toBeLessThanOrEqual(kind === 'button' ? SLACK_LIMITS.buttonText : SLACK_LIMITS.headerText);
        continue;
      }
      expect(verbatim).toBe(true);
      expect(text.length).toBeLessThanOrEqual(kind === 'section.text' ? SLACK_LIMITS.sectionText : SLACK_LIMITS.fieldText);
      const outside = outsideCode(text);
      expect(outside).not.toContain(HOSTILE);
      expect(outside).not.toMatch(/[<>]/);
      for (const span of codeSpans(text)) {
        expect(span).not.toMatch(/[\n\r<>\u2028\u2029\u0085]/);
        expect(span).not.toMatch(/\p{Cf}/u);
        expect(span).not.toMatch(/https?:\/\/|evil\.example/i);
      }
    }
    for (const block of message.blocks as any[]) if (block.fields) expect(block.fields.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldsPerSection);
    for (const block of message.blocks as any[]) if (block.type === 'context') expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
  });

  it('email: attacker text only inside <code> in HTML, defanged and one line everywhere, bounded', () => {
    const { subject, html, text } = renderEmail(job, audience, SETTINGS);
    expect(subject).not.toMatch(/[\r\n\u2028\u2029\u0085]/);
    expect(subject).not.toMatch(/\p{Cf}/u);
    expect(subject).not.toMatch(/https?:\/\/|evil\.example/i);
    expect(subject.length).toBeLessThanOrEqual(180);

    expect(html.replace(/<code[^>]*>[^<]*<\/code>/g, '')).not.toContain(HOSTILE);
    expect(html).not.toMatch(/<script|<img|onerror=alert\(1\)>/);
    expect(html).not.toMatch(/\p{Cf}/u);
    expect(html).not.toMatch(/https?:\/\/evil|evil\.example/i);
    for (const code of html.match(/<code[^>]*>[^<]*<\/code>/g) ?? []) expect(code).not.toMatch(/[\r\n\u2028\u2029]/);

    expect(text).not.toMatch(/\p{Cf}/u);
    expect(text).not.toMatch(/https?:\/\/evil|evil\.example/i);
    // Attacker newlines never start a line of their own (a fake "Action taken" label).
    for (const line of text.split('\n')) expect(line).not.toMatch(/^\*?Action taken|^Bcc:|^next|^para/);

    expect(html.length).toBeLessThan(60_000);
    expect(text.length).toBeLessThan(20_000);
  });
});

// ---------- format helpers ----------

describe('format helpers', () => {
  it('counts lengths in UTF-16 units, never splitting a surrogate pair or an entity', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('ab😀cd', 4)).toBe('ab…'); // the emoji is two units: cutting after one would leave half of it
    expect(truncate('ab😀cd', 5)).toBe('ab😀…');
    expect(escapeWithin('a&b<c', 7, escapeMrkdwn)).toBe('a&amp;…');
  });

  it('keeps a value quoted in an explanation a value, even one carrying the markers', () => {
    const sentence = `Slack answered ${untrusted('x\ue001 *bold* \ue000y')}.`;
    expect(splitUntrusted(sentence)).toEqual(['Slack answered ', { value: 'x *bold* y' }, '.']);
  });

  it('makes one line without format characters', () => {
    expect(oneLine(' a\r\nb\u2028c\u202ed\u200b\te ')).toBe('a b cd e');
  });

  it('defangs URLs and host names but not version numbers or IP addresses', () => {
    expect(defang('see https://evil.example/reset and http://x.test')).toBe('see hxxps://evil[.]example/reset and hxxp://x[.]test');
    expect(defang('ana@corp.example.com')).toBe('ana@corp[.]example[.]com');
    expect(defang('Mozilla/5.0 Chrome/120.0.0.0 from 1.23.45.67')).toBe('Mozilla/5.0 Chrome/120.0.0.0 from 1.23.45.67');
    expect(defang('javascript:alert(1) mailto:x')).toBe('javascript[:]alert(1) mailto[:]x');
  });

  it('makes a code span that nothing can close, within the limit including the backticks', () => {
    expect(slackCode('a`b*c*<x>', 100)).toBe('`aˋb*c*&lt;x&gt;`');
    const long = slackCode('x'.repeat(5000), 100, 5000);
    expect(long.length).toBe(100);
    expect(long).toMatch(/^`x+…`$/);
  });

  it('writes times in words with the UTC offset, in the configured time zone', () => {
    expect(formatTime(1644428305)).toEqual({ iso: '2022-02-09T17:38:25Z', words: 'Wednesday 9 February 2022 at 17:38:25 UTC+00:00', seconds: 1644428305 });
    expect(formatTime(1644428305, 'Europe/Berlin').words).toBe('Wednesday 9 February 2022 at 18:38:25 UTC+01:00 (Europe/Berlin)');
    expect(formatTime(1656000000, 'Europe/Berlin').words).toBe('Thursday 23 June 2022 at 18:00:00 UTC+02:00 (Europe/Berlin)');
    expect(formatTime(1644428305, 'America/St_Johns').words).toBe('Wednesday 9 February 2022 at 14:08:25 UTC-03:30 (America/St_Johns)');
  });
});
