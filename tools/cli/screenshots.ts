import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { AlertSettings } from '../../functions/domain/config/schema';
import type { NotificationJob } from '../../functions/domain/messages';
import { renderEmail, renderSlackMessage } from '../../functions/notify/templates';
import { DIGEST, renderDigest } from '../../functions/notify/digest';
import { blocksToHtml } from '../shared/block-kit-html';
import { parseCommandLine } from '../shared/cli';

const run = promisify(execFile);

const USAGE = `Usage: npm run screenshots -- [--out docs/alerts] [--chromium /usr/bin/chromium] [--html-only]

Renders every alert kind for the demo org (Halvard Logistics) to HTML — the emails exactly as
sent, the Slack messages through a Block Kit preview — and to PNG with headless Chromium
(Debian: apt-get install -y chromium). Emails at 600 px, the person's email also at 375 px (a phone).

  --out        output folder (default: docs/alerts)
  --chromium   the Chromium binary (default: chromium on the PATH)
  --html-only  write the HTML only`;

/** The demo org's alert settings, as tools/local/scenarios/default-config.json sets them. */
const SETTINGS: AlertSettings = {
  orgName: 'Halvard Logistics',
  securityContact: 'security@halvard.example',
  auditLogUrl: 'https://halvard.enterprise.slack.com/admin/audit_logs',
  adminPersonUrl: 'https://halvard.enterprise.slack.com/admin/people/{userId}',
  timeZone: 'Europe/Berlin',
};

/** Mentions as Slack would show them to a reader in the demo org. */
const NAMES: Record<string, string> = { W07GRACE01: 'Grace Liu', W07AISHA01: 'Aisha Bello', W07TOMBK01: 'Tom Becker', W07PRIYA01: 'Priya Raman' };

const AT = 1796222577; // Wednesday 2 December 2026, 14:42:57 UTC
const base = (overrides: Partial<NotificationJob>): NotificationJob => ({
  entryId: '7ee09a44-96e0-4ed7-afce-aa86dc3f3464',
  type: 'sessions_ended',
  occurredAt: AT,
  respondedAt: AT + 41,
  user: { id: 'W07GRACE01', name: 'grace.liu', realName: 'Grace Liu', email: 'grace.liu@halvard.example' },
  events: ['tor'],
  otherReasons: ['ip_address'],
  context: {
    ipAddress: '185.220.101.4',
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0',
    location: 'Frankfurt am Main, Germany',
    workspace: 'Halvard HQ (T07HLVHQ01)',
    previousIpAddress: '203.0.113.27',
    previousUserAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105',
  },
  response: { outcome: 'sessions_ended' },
  ...overrides,
});

/** Every alert kind the responder sends today, for one sample person each. */
export const SAMPLES: { kind: string; job: NotificationJob; person?: boolean }[] = [
  { kind: 'sessions-ended', job: base({}), person: true },
  {
    kind: 'not-acted-on',
    job: base({
      type: 'anomaly_not_acted_on',
      entryId: 'bbd14288-0e84-427a-aeec-12975fd55911',
      user: { id: 'W07AISHA01', name: 'aisha.bello', realName: 'Aisha Bello', email: 'aisha.bello@halvard.example' },
      events: ['excessive_downloads'],
      otherReasons: [],
      context: { ipAddress: '192.0.2.45', location: 'London, England', workspace: 'Halvard HQ (T07HLVHQ01)', userAgent: 'Slack/4.41.105 (Macintosh)' },
      response: { outcome: 'held', holdReason: 'rule_notify_only', notifyOnlyEvents: ['excessive_downloads'] },
    }),
  },
  {
    kind: 'failed',
    job: base({
      type: 'action_failed',
      entryId: '5f0c2d8e-33a1-4c6e-9a57-0d1f1e2a7b90',
      user: { id: 'W07TOMBK01', name: 'tom.becker', realName: 'Tom Becker', email: 'tom.becker@halvard.example' },
      events: ['unexpected_scraping'],
      otherReasons: [],
      context: { ipAddress: '198.51.100.44', location: 'Ashburn, Virginia', workspace: 'Halvard Operations (T07HLVOPS1)', userAgent: 'python-requests/2.32.3' },
      response: { outcome: 'reset_refused', errorCode: 'user_session_reset_failed' },
    }),
  },
  {
    kind: 'protected',
    job: base({
      type: 'anomaly_not_acted_on',
      entryId: 'ea468c64-14ce-49da-801e-0c0d1a0dc00f',
      user: { id: 'W07PRIYA01', name: 'priya.raman', realName: 'Priya Raman', email: 'priya.raman@halvard.example' },
      events: ['session_fingerprint'],
      otherReasons: [],
      response: { outcome: 'protected', holdReason: 'protected' },
    }),
  },
  {
    // safety.dryRun: the same decision, marked "dry run: nothing was done"; the person gets nothing.
    kind: 'dry-run',
    job: base({
      entryId: '2c9a7d31-5be0-4f7e-8a0d-61c4e9f0b3a2',
      user: { id: 'W07TOMBK01', name: 'tom.becker', realName: 'Tom Becker', email: 'tom.becker@halvard.example' },
      response: { outcome: 'dry_run', dryRun: true, scope: 'all' },
    }),
  },
  {
    kind: 'app-anomaly',
    job: {
      ...base({ type: 'app_anomaly', entryId: '9d4e1f60-7a2b-4c3d-8e5f-0a1b2c3d4e5f', events: ['unexpected_api_call_volume'], otherReasons: [] }),
      user: undefined,
      app: { id: 'A07REPORTS1', name: 'Weekly Reports Bot' },
      context: { ipAddress: '203.0.113.90', userAgent: 'python-httpx/0.27.0' },
      response: { outcome: 'held', holdReason: 'app_anomaly' },
    },
  },
  {
    // Someone changed Slack's own anomaly event response (pref.anomaly_event_response_changed).
    kind: 'response-changed',
    job: {
      ...base({ type: 'anomaly_response_changed', entryId: '4b7c2e19-8d3f-4a6b-9c1e-7f2a5d8e0b14', events: [], otherReasons: [], context: {} }),
      user: undefined,
      settingsChange: { actorId: 'W07AISHA01', details: '{"previous_value":"end_sessions","new_value":"off","anomaly_event":"tor"}' },
      response: { outcome: 'recorded' },
    },
  },
  {
    // Someone switched a rule off in this responder's own config table (the loud kind: it weakens the response).
    kind: 'config-changed',
    job: {
      ...base({ type: 'config_changed', entryId: 'config-change-7f3a9c2e51b04d8e', events: [], otherReasons: [], context: {} }),
      user: undefined,
      configChange: {
        itemId: 'event#tor',
        kind: 'changed',
        changes: [{ field: 'action', before: '"end_sessions"', after: '"off"' }],
        warnings: ['event#tor.action: "end_sessions" \u2192 "off" (a rule no longer ends sessions)'],
      },
      response: { outcome: 'recorded' },
    },
  },
];

/** The people of a sample digest: the first sample's anomaly, for four people of the demo org. */
const DIGEST_PEOPLE: NotificationJob[] = (
  [
    ['W07GRACE01', 'grace.liu', 'Grace Liu', '185.220.101.4'],
    ['W07AISHA01', 'aisha.bello', 'Aisha Bello', '185.220.101.33'],
    ['W07TOMBK01', 'tom.becker', 'Tom Becker', '185.220.102.8'],
    ['W07PRIYA01', 'priya.raman', 'Priya Raman', '204.8.156.142'],
  ] as const
).map(([id, name, realName, ipAddress], i) =>
  base({ entryId: `d1g35700-0000-4000-8000-00000000000${i}`, user: { id, name, realName, email: `${name}@halvard.example` }, context: { ipAddress, location: 'Frankfurt am Main, Germany' } }),
);

export interface RenderedFile {
  name: string;
  html: string;
  /** Viewport width for the PNG. */
  width: number;
}

/** Every file the script writes, as HTML. */
export function renderSamples(): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const sample of SAMPLES) {
    files.push({ name: `${sample.kind}.admin-email`, html: renderEmail(sample.job, 'admin', SETTINGS).html, width: 600 });
    const slack = renderSlackMessage(sample.job, 'admin', SETTINGS);
    files.push({ name: `${sample.kind}.slack`, html: blocksToHtml(slack, { names: NAMES, postedAt: '14:43' }), width: 760 });
    if (sample.person) files.push({ name: `${sample.kind}.person-email.375`, html: renderEmail(sample.job, 'affected_user', SETTINGS).html, width: 375 });
  }
  // During a burst, admins get one digest per notification type and period instead of one alert per person.
  const digest = renderDigest('sessions_ended', AT - (AT % DIGEST.periodSeconds), DIGEST_PEOPLE, DIGEST.periodSeconds, SETTINGS);
  files.push({ name: 'digest.admin-email', html: digest.email.html, width: 600 });
  files.push({ name: 'digest.slack', html: blocksToHtml(digest.slack, { names: NAMES, postedAt: '14:48' }), width: 760 });
  return files;
}

async function chromium(binary: string, args: string[], profile: string): Promise<string> {
  const { stdout } = await run(
    binary,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--hide-scrollbars', '--force-device-scale-factor=1', `--user-data-dir=${profile}`, ...args],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/**
 * The window height that shows the whole page at `width`: a first pass writes the content's
 * height, and how much of the window is not page, into the DOM, which Chromium dumps.
 */
/** The probe's window height; the page's viewport is smaller by the window's own chrome. */
const PROBE_HEIGHT = 800;

async function pageHeight(binary: string, file: string, html: string, width: number, profile: string): Promise<number> {
  const probe = `${file}.probe.html`;
  const script =
    '<script>document.body.setAttribute("data-height", String(Math.ceil(document.body.getBoundingClientRect().bottom + parseFloat(getComputedStyle(document.body).marginBottom)) + (PROBE_HEIGHT - window.innerHeight)))</script>'.replace('PROBE_HEIGHT', String(PROBE_HEIGHT));
  await writeFile(probe, html.replace('</body>', `${script}</body>`));
  try {
    const dom = await chromium(binary, [`--window-size=${width},${PROBE_HEIGHT}`, '--dump-dom', `file://${probe}`], profile);
    const height = Number(/data-height="(\d+)"/.exec(dom)?.[1]);
    if (!Number.isFinite(height) || height <= 0) throw new Error(`could not measure ${file}`);
    return height;
  } finally {
    await rm(probe, { force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, { out: { type: 'string', default: 'docs/alerts' }, chromium: { type: 'string', default: 'chromium' }, 'html-only': { type: 'boolean', default: false } }, USAGE);
  if (parsed.exitCode !== undefined) return parsed.exitCode;
  const out = resolve(parsed.values.out);
  await mkdir(out, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'screenshots-chromium-'));
  try {
    for (const file of renderSamples()) {
      const htmlPath = join(out, `${file.name}.html`);
      await writeFile(htmlPath, file.html);
      if (parsed.values['html-only']) {
        console.log(`wrote ${htmlPath}`);
        continue;
      }
      const height = await pageHeight(parsed.values.chromium, htmlPath, file.html, file.width, profile);
      const pngPath = join(out, `${file.name}.png`);
      await chromium(parsed.values.chromium, [`--window-size=${file.width},${height}`, `--screenshot=${pngPath}`, `file://${htmlPath}`], profile);
      console.log(`wrote ${htmlPath} and ${pngPath} (${file.width}×${height}, ${Math.round((await stat(pngPath)).size / 1024)} KB)`);
    }
  } catch (error) {
    const message = (error as { code?: string }).code === 'ENOENT' ? `Chromium not found (${parsed.values.chromium}): apt-get install -y chromium, or pass --chromium` : (error as Error).message.split('\n')[0];
    console.error(`screenshots: ${message}`);
    return 1;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
  console.log(`${(await readdir(out)).length} files in ${out}`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`screenshots: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
