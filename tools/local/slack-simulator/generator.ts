import type { AuditEntry } from './entries';
import { intBetween, pick, seededRandom, weighted, type Random } from './random';

/**
 * Deterministic streams of realistic anomaly entries for soak and load tests: the same options
 * give the same entries, byte for byte. Addresses come from the documentation ranges
 * (RFC 5737 / RFC 3849), so nothing generated points at a real host.
 */

export interface GeneratorUser {
  id: string;
  name?: string;
  email?: string;
  team?: string;
}

export interface GenerateEntriesOptions {
  count: number;
  seed: number;
  /** Entries are spread over [startSeconds, startSeconds + spanSeconds). */
  startSeconds: number;
  spanSeconds?: number;
  /** People the anomalies are about (ids alone get made-up names). */
  users: readonly (GeneratorUser | string)[];
  /** Apps for app-entity anomalies. */
  apps?: readonly { id: string; name: string }[];
  /** Share of entries that arrive late (default 0.1). */
  lateFraction?: number;
  /** Longest late-arrival delay (default 600 s, inside the poller's 15-minute overlap). */
  maxArrivalDelaySeconds?: number;
  /** Share of entries about an app rather than a person (default 0.05). */
  appFraction?: number;
  /** Share of person entries that carry one of the seven actionable reasons (default 0.5). */
  actionableFraction?: number;
  enterprise?: { id: string; name: string; domain: string };
}

/** A complete audit entry plus its arrival delay: the scenario entry format with an absolute date_create. */
export type GeneratedEntry = AuditEntry & { arrivalDelaySeconds: number };

/** Reason sets as Slack reports them together (e.g. spoofed_user_agent comes with unexpected_client). */
const ACTIONABLE_SETS: readonly (readonly [string[], number])[] = [
  [['tor'], 6],
  [['tor', 'asn'], 2],
  [['unexpected_scraping'], 4],
  [['excessive_downloads'], 4],
  [['session_fingerprint'], 3],
  [['session_fingerprint', 'ip_address'], 2],
  [['spoofed_user_agent', 'unexpected_client'], 3],
  [['unexpected_api_call_volume'], 3],
  [['unexpected_user_agent', 'user_agent'], 3],
  [['excessive_downloads', 'unexpected_scraping'], 1],
];

const OTHER_SETS: readonly (readonly [string[], number])[] = [
  [['asn'], 5],
  [['ip_address'], 5],
  [['asn', 'ip_address'], 4],
  [['user_agent'], 3],
  [['unexpected_client'], 2],
  [['excessive_file_shares'], 2],
  [['potential_spam'], 1],
  [['unexpected_message_deletion'], 1],
  [['unexpected_admin_action'], 1],
  [['excessive_malware_uploads'], 1],
];

const APP_SETS: readonly (readonly [string[], number])[] = [
  [['unexpected_api_call_volume'], 3],
  [['unexpected_credential_testing'], 2],
  [['unexpected_scraping'], 1],
];

const LOCATIONS = [
  'Reno, Nevada',
  'Dublin, Ireland',
  'Frankfurt, Germany',
  'Singapore',
  'São Paulo, Brazil',
  'Toronto, Canada',
  'Amsterdam, Netherlands',
  'Sydney, Australia',
  'Chicago, Illinois',
  'Bucharest, Romania',
];

const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/128.0.6613.186 Electron/32.2.5 Safari/537.36 Sonic Slack_SSB/4.41.105',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Slack/24.11.10.0 (iPhone; iOS 18.1; Scale/3.00)',
  'com.Slack/24.11.10.0 (Android 14; Pixel 8)',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
];

const SUSPICIOUS_USER_AGENTS = ['python-requests/2.32.3', 'curl/8.7.1', 'Go-http-client/1.1', 'Scrapy/2.11.2 (+https://scrapy.org)'];

/** RFC 5737 documentation networks: never routable. */
export function documentationIp(random: Random): string {
  return `${pick(random, ['192.0.2', '198.51.100', '203.0.113'])}.${intBetween(random, 1, 254)}`;
}

function uuid(random: Random, index: number): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  // The index in the last group makes ids unique by construction, not by luck.
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(random, ['8', '9', 'a', 'b'])}${hex(3)}-${index.toString(16).padStart(12, '0')}`;
}

function personOf(user: GeneratorUser | string): Required<Omit<GeneratorUser, 'team'>> & { team?: string } {
  const u = typeof user === 'string' ? { id: user } : user;
  const name = u.name ?? `user.${u.id.toLowerCase()}`;
  return { id: u.id, name, email: u.email ?? `${name}@example.com`, team: u.team };
}

export function generateEntries(options: GenerateEntriesOptions): GeneratedEntry[] {
  const {
    count,
    seed,
    startSeconds,
    spanSeconds = 3600,
    users,
    apps = [{ id: 'A0GENAPP001', name: 'Reporting Sync' }],
    lateFraction = 0.1,
    maxArrivalDelaySeconds = 600,
    appFraction = 0.05,
    actionableFraction = 0.5,
    enterprise = { id: 'E0GENORG01', name: 'Generated Org', domain: 'generated-org' },
  } = options;
  if (!Number.isInteger(count) || count < 0) throw new Error('count must be a non-negative integer');
  if (users.length === 0) throw new Error('users must not be empty');
  const random = seededRandom(seed);
  const people = users.map(personOf);

  const entries: GeneratedEntry[] = [];
  for (let i = 0; i < count; i++) {
    const dateCreate = startSeconds + Math.floor(random() * spanSeconds);
    const isApp = apps.length > 0 && random() < appFraction;
    const reasons = isApp
      ? weighted(random, APP_SETS)
      : random() < actionableFraction
        ? weighted(random, ACTIONABLE_SETS)
        : weighted(random, OTHER_SETS);
    const suspicious = reasons.some((r) => ['unexpected_scraping', 'spoofed_user_agent', 'unexpected_client', 'unexpected_api_call_volume'].includes(r));
    const ua = suspicious ? pick(random, SUSPICIOUS_USER_AGENTS) : pick(random, USER_AGENTS);

    let actorAndEntity: Record<string, unknown>;
    if (isApp) {
      const app = pick(random, apps);
      const entity = { type: 'app', app: { id: app.id, name: app.name } };
      actorAndEntity = { actor: entity, entity };
    } else {
      const person = pick(random, people);
      const user = { id: person.id, name: person.name, email: person.email, team: person.team ?? enterprise.id };
      actorAndEntity = { actor: { type: 'user', user }, entity: { type: 'user', user } };
    }

    const details: Record<string, unknown> = {
      action_timestamp: dateCreate * 1_000_000 - intBetween(random, 0, 59_999_999),
      location: pick(random, LOCATIONS),
      previous_ip_address: documentationIp(random),
      previous_ua: pick(random, USER_AGENTS),
      reason: [...reasons],
    };
    if (reasons.includes('asn') || reasons.includes('ip_address')) details.ip_address_details = [pick(random, ['new-asn', 'cloud-asn', 'in-ioc-list'])];
    if (reasons.includes('unexpected_api_call_volume')) details.api_call_method = pick(random, ['conversations.history', 'files.list', 'users.list', 'search.messages']);
    if (reasons.includes('unexpected_client') || reasons.includes('spoofed_user_agent')) {
      details.detected_client = ua.split('/')[0];
      details.detected_os = pick(random, ['Linux', 'Windows', 'macOS']);
    }

    const late = random() < lateFraction;
    entries.push({
      id: uuid(random, i),
      date_create: dateCreate,
      action: 'anomaly',
      ...actorAndEntity,
      context: {
        location: { type: 'enterprise', id: enterprise.id, name: enterprise.name, domain: enterprise.domain },
        ua,
        ip_address: documentationIp(random),
        session_id: String(intBetween(random, 1_600_000_000_000, 1_799_999_999_999)),
      },
      details,
      arrivalDelaySeconds: late ? intBetween(random, 30, Math.max(30, maxArrivalDelaySeconds)) : 0,
    });
  }
  return entries.sort((a, b) => a.date_create - b.date_create || a.id.localeCompare(b.id));
}
