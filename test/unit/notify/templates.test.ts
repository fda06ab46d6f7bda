import { escapeHtml, escapeMrkdwn, escapeWithin, formatEpochSeconds, truncate } from '../../../functions/notify/format';
import { renderEmail, renderSlackMessage, SLACK_LIMITS, type SlackBlock } from '../../../functions/notify/templates';
import { makeJob } from './fakes';

/** Every mrkdwn / plain_text string in a Slack message, with where it sits. */
function slackTexts(blocks: SlackBlock[]): { kind: string; text: string }[] {
  const out: { kind: string; text: string }[] = [];
  for (const block of blocks as any[]) {
    if (block.text) out.push({ kind: `${block.type}.text`, text: block.text.text });
    for (const field of block.fields ?? []) out.push({ kind: 'field', text: field.text });
    for (const element of block.elements ?? []) out.push({ kind: 'context', text: element.text });
  }
  return out;
}

describe('renderEmail subjects', () => {
  it.each([
    ['sessions_ended', '[Slack security] Sessions ended for Ana Silva — Tor exit node'],
    ['anomaly_not_acted_on', '[Slack security] Tor exit node anomaly detected for Ana Silva, no action taken'],
    ['action_failed', '[Slack security] Automatic response FAILED for Ana Silva — Tor exit node'],
  ] as const)('admin subject for %s', (type, subject) => {
    expect(renderEmail(makeJob({ type }), 'admin').subject).toBe(subject);
  });

  it('tells the affected user they were signed out, in their own subject', () => {
    expect(renderEmail(makeJob(), 'affected_user').subject).toBe('[Slack security] You were signed out of Slack on all devices');
  });

  it('names several events and strips newlines an attacker put in a name', () => {
    const job = makeJob({ events: ['tor', 'unexpected_scraping'], user: { id: 'U1', name: 'Eve\r\nBcc: x@evil.test' } });
    const { subject } = renderEmail(job, 'admin');
    expect(subject).toBe('[Slack security] Sessions ended for Eve Bcc: x@evil.test — Tor exit node (+1 more)');
    expect(subject).not.toMatch(/[\r\n]/);
  });

  it('falls back to the email, then the user id, and to a non-actionable reason', () => {
    const job = makeJob({ type: 'anomaly_not_acted_on', user: { id: 'U1' }, events: [], otherReasons: ['search_volume'] });
    expect(renderEmail(job, 'admin').subject).toBe('[Slack security] search volume anomaly detected for U1, no action taken');
  });
});

describe('admin version', () => {
  const job = makeJob({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'excluded', exclusions: ['group S0SECOPS (tor)'] } });

  it.each(['text', 'html'] as const)('the %s part carries every fact', (part) => {
    const body = renderEmail(job, 'admin')[part];
    for (const value of [
      'Ana Silva',
      'ana@example.com',
      'U0AFFECTED',
      'Accessing Slack from a Tor exit node',
      'tor, ip_address',
      '1.23.45.67',
      'Reno, Nevada',
      'Acme (E0ACME)',
      '9.87.65.43',
      'Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0',
      'Slack/4.36 (Macintosh)',
      '2022-02-09T17:38:25Z',
      'Wednesday 9 February 2022, 17:38:25 UTC',
      'No action taken; this is a notification only',
      'The user is excluded from automatic responses: group S0SECOPS (tor).',
      '0b5c1f2e-entry',
    ]) {
      expect(body).toContain(value);
    }
  });

  it('the Slack message carries every fact too, within Block Kit limits', () => {
    const message = renderSlackMessage(job, 'admin');
    const all = JSON.stringify(message.blocks);
    for (const value of ['Ana Silva', 'ana@example.com', 'U0AFFECTED', 'tor, ip_address', '1.23.45.67', 'Reno, Nevada', '9.87.65.43', 'Slack/4.36', '2022-02-09T17:38:25Z', 'No action taken', 'S0SECOPS', '0b5c1f2e-entry']) {
      expect(all).toContain(value);
    }
    expect(message.text).toBe('Tor exit node anomaly detected for Ana Silva, no action taken');
    expect((message.blocks as any[]).map((b) => b.type)).toEqual(expect.arrayContaining(['header', 'section', 'context']));
    for (const block of message.blocks as any[]) if (block.fields) expect(block.fields.length).toBeLessThanOrEqual(10);
  });

  it('says plainly when the response failed', () => {
    const failed = renderEmail(makeJob({ type: 'action_failed', response: { outcome: 'reset_refused', errorCode: 'user_session_reset_failed' } }), 'admin');
    expect(failed.text).toContain('automatic response FAILED');
    expect(failed.text).toContain('user_session_reset_failed');
  });

  it('leaves out previous IP / UA when absent and marks missing facts', () => {
    const { text } = renderEmail(makeJob({ context: {} }), 'admin');
    expect(text).not.toContain('Previous');
    expect(text).toMatch(/IP address:\s+not reported/);
  });
});

describe('affected-user version', () => {
  // The facts of an admin alert (an exclusion) must never reach the person, whatever the job carries.
  const job = makeJob({ response: { outcome: 'held', holdReason: 'excluded', exclusions: ['group S0SECOPS (tor)'] } });

  it('is a plain-language note about their own account', () => {
    const { text, html } = renderEmail(job, 'affected_user');
    expect(text).toContain(
      'For your security, we signed you out of Slack on all devices because your account was accessed from a Tor exit node.',
    );
    expect(text).toContain("You can sign back in right away with your usual login. If this wasn't you or you have questions, contact your security team.");
    expect(text).toContain('Hi Ana Silva,');
    expect(text).toContain('Reno, Nevada');
    expect(html).toContain('we signed you out of Slack on all devices');
  });

  it.each(['text', 'html'] as const)('hides internal detail in the %s part', (part) => {
    const body = renderEmail(job, 'affected_user')[part];
    for (const internal of ['S0SECOPS', 'Excluded', 'rule:', 'end_sessions', 'ip_address', 'Mozilla', 'Previous']) {
      expect(body).not.toContain(internal);
    }
  });

  it('hides internal detail in Slack too', () => {
    const all = JSON.stringify(renderSlackMessage(job, 'affected_user'));
    expect(all).toContain('signed you out of Slack on all devices');
    expect(all).not.toContain('S0SECOPS');
    expect(all).not.toContain('end_sessions');
  });

  it('joins several reasons into one sentence', () => {
    const { text } = renderEmail(makeJob({ events: ['tor', 'unexpected_scraping', 'excessive_downloads'] }), 'affected_user');
    expect(text).toContain(
      'because your account was accessed from a Tor exit node, we noticed activity on your account that looks like data scraping and we noticed an unusually large number of downloads from your account.',
    );
  });
});

describe('escaping attacker-influenced values', () => {
  const ua = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';
  const job = makeJob({ context: { ...makeJob().context, userAgent: ua, location: "O'Hare <b>" }, user: { id: 'U1', name: '<!channel> Eve' } });

  it('HTML-escapes every interpolated value', () => {
    const { html } = renderEmail(job, 'admin');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('O&#39;Hare &lt;b&gt;');
    expect(html).toContain('&lt;!channel&gt; Eve');
  });

  it('escapes &, < and > in every mrkdwn text of the Slack message', () => {
    const message = renderSlackMessage(job, 'admin');
    for (const { kind, text } of slackTexts(message.blocks)) {
      if (kind === 'header.text') continue; // plain_text: not parsed
      expect(text).not.toMatch(/<|>/);
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    expect(JSON.stringify(message.blocks)).toContain('&lt;script&gt;alert(\\"x\\")&lt;/script&gt; &amp; &lt;img');
    expect(message.text).toContain('&lt;!channel&gt; Eve');
  });

  it('keeps the plain-text email readable (no entities)', () => {
    expect(renderEmail(job, 'admin').text).toContain(ua);
  });
});

describe('length limits', () => {
  const hugeUa = 'Mozilla/5.0 ' + '<&>'.repeat(3000);
  const job = makeJob({ context: { ...makeJob().context, userAgent: hugeUa, previousUserAgent: hugeUa }, response: { outcome: 'held', holdReason: 'excluded', exclusions: ['&'.repeat(5000)] }, user: { id: 'U1', name: 'N'.repeat(400) } });

  it('keeps every Slack text within Block Kit limits', () => {
    const message = renderSlackMessage(job, 'admin');
    for (const { kind, text } of slackTexts(message.blocks)) {
      const max = kind === 'header.text' ? SLACK_LIMITS.headerText : kind === 'field' ? SLACK_LIMITS.fieldText : SLACK_LIMITS.sectionText;
      expect(text.length).toBeLessThanOrEqual(max);
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/); // no entity cut in half
    }
    const header = (message.blocks as any[]).find((b) => b.type === 'header');
    expect(header.text.text).toContain('N…'); // the 400-character name is cut
  });

  it('truncates long user agents in the email too', () => {
    const { text } = renderEmail(job, 'admin');
    const uaLine = text.split('\n').find((line) => line.startsWith('User agent:'))!;
    expect(uaLine.length).toBeLessThan(600);
    expect(uaLine.endsWith('…')).toBe(true);
  });
});

describe('format helpers', () => {
  it('escapes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(escapeMrkdwn('<@U1> & <!here>')).toBe('&lt;@U1&gt; &amp; &lt;!here&gt;');
  });

  it('truncates by code point and never splits an entity', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(escapeWithin('&&&&&', 12, escapeMrkdwn)).toBe('&amp;&amp;…');
    expect(escapeWithin('short', 12, escapeMrkdwn)).toBe('short');
  });

  it('formats epoch seconds in UTC', () => {
    expect(formatEpochSeconds(1644428305)).toEqual({ iso: '2022-02-09T17:38:25Z', readable: 'Wednesday 9 February 2022, 17:38:25 UTC' });
  });
});

describe('beyond Slack\u2019s response: scope, dry run, trusted networks, apps', () => {
  it('says which sessions were ended, to the admins and to the person', () => {
    const job = makeJob({ response: { outcome: 'sessions_ended', scope: 'mobile' } });
    expect(renderEmail(job, 'admin').text).toMatch(/Their Slack mobile sessions were ended/);
    expect(renderEmail(job, 'admin').text).toMatch(/Action taken:\s+Ended the user’s Slack mobile sessions/);
    expect(renderEmail(job, 'affected_user').subject).toBe('[Slack security] You were signed out of Slack on your mobile devices');
    expect(renderEmail(makeJob({ response: { outcome: 'sessions_ended', scope: 'session' } }), 'affected_user').text).toMatch(
      /we signed you out of the Slack session where this happened/,
    );
  });

  it('marks a dry run in the subject, the headline and the action taken', () => {
    const wouldEnd = renderEmail(makeJob({ response: { outcome: 'dry_run', scope: 'all', dryRun: true } }), 'admin');
    expect(wouldEnd.subject).toBe('[Slack security] Dry run: would have ended sessions for Ana Silva — Tor exit node');
    expect(wouldEnd.text).toMatch(/^Dry run: nothing was done\.$/m);
    expect(wouldEnd.text).toMatch(/Action taken:\s+Dry run: nothing was done\. Would have ended all of the user’s Slack sessions on every device/);
    const held = renderEmail(makeJob({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'rule_notify_only', notifyOnlyEvents: ['tor'], dryRun: true } }), 'admin');
    expect(held.subject).toBe('[Slack security] [dry run] Tor exit node anomaly detected for Ana Silva, no action taken');
    expect(renderSlackMessage(makeJob({ response: { outcome: 'dry_run', dryRun: true } }), 'admin').text).toMatch(/^Dry run: would have ended sessions/);
  });

  it('names the trusted range an anomaly came from', () => {
    const job = makeJob({ type: 'anomaly_not_acted_on', response: { outcome: 'held', holdReason: 'trusted_network', trustedNetwork: '2001:db8::/32' } });
    expect(renderEmail(job, 'admin').text).toMatch(/came from a trusted network \(2001:db8::\/32\)/);
  });

  it('tells an app\u2019s anomaly with the app\u2019s id and name, escaped like every attacker-influenced value', () => {
    const job = makeJob({
      type: 'app_anomaly',
      user: undefined,
      app: { id: 'A0APP00001', name: '<!channel> <b>Exporter</b>' },
      response: { outcome: 'held', holdReason: 'app_anomaly' },
    });
    const email = renderEmail(job, 'admin');
    expect(email.subject).toBe('[Slack security] Tor exit node anomaly detected for the app <!channel> <b>Exporter</b>');
    expect(email.text).toMatch(/App ID:\s+A0APP00001/);
    expect(email.text).not.toMatch(/User ID/);
    expect(email.html).toContain('&lt;b&gt;Exporter&lt;/b&gt;');
    expect(email.html).not.toContain('<b>Exporter');
    const slack = renderSlackMessage(job, 'admin');
    expect(slack.text).toContain('&lt;!channel&gt; &lt;b&gt;Exporter');
    expect(JSON.stringify(slack.blocks.filter((b) => b.type !== 'header'))).not.toMatch(/<!channel>|<b>/);
  });
});
