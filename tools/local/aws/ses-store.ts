/** One email as the SES emulator recorded it (SES v1 SendEmail/SendRawEmail and v2 SendEmail alike). */
export interface SentEmail {
  messageId: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  html?: string;
  text?: string;
  /** When the emulator stored it (epoch seconds: its clock has one-second resolution). */
  at: number;
}

/** The shape of aws-ses-v2-local@2.10.2's `GET /store` response (emails only). */
interface StoredEmail {
  messageId: string;
  from: string;
  replyTo?: string[];
  destination?: { to?: string[]; cc?: string[]; bcc?: string[] };
  subject: string;
  body?: { html?: string; text?: string };
  at: number;
}

/**
 * Reads what was "sent" through the SES emulator. Note aws-ses-v2-local's v1 SendEmail keeps only
 * the first address of each destination list (its schema drops `member.2` and later).
 */
export class SesStore {
  private readonly base: string;

  /** `sesEndpoint`: the emulator's base URL (Emulators.endpoints.ses). */
  constructor(sesEndpoint: string) {
    this.base = sesEndpoint.replace(/\/$/, '');
  }

  /** Emails stored at or after `since` (a Date, or epoch seconds), oldest first. */
  async emails(options: { since?: Date | number } = {}): Promise<SentEmail[]> {
    const url = new URL(`${this.base}/store`);
    if (options.since !== undefined) {
      const seconds = options.since instanceof Date ? Math.floor(options.since.getTime() / 1000) : Math.floor(options.since);
      url.searchParams.set('since', String(seconds));
    }
    const response = await fetch(url);
    if (!response.ok) throw new Error(`SES emulator store: HTTP ${response.status} ${await response.text()}`);
    const { emails } = (await response.json()) as { emails: StoredEmail[] };
    return emails.map(toSentEmail);
  }

  /** Emails addressed (to, cc or bcc) to `address`, case-insensitively. */
  async emailsTo(address: string, options: { since?: Date | number } = {}): Promise<SentEmail[]> {
    const wanted = address.toLowerCase();
    return (await this.emails(options)).filter((e) => [...e.to, ...e.cc, ...e.bcc].some((a) => a.toLowerCase() === wanted));
  }

  /** Empties the store (emails and templates). The store is per emulator process, shared by all users. */
  async clear(): Promise<void> {
    const response = await fetch(`${this.base}/clear-store`, { method: 'POST' });
    if (!response.ok) throw new Error(`SES emulator clear-store: HTTP ${response.status}`);
  }
}

function toSentEmail(stored: StoredEmail): SentEmail {
  return {
    messageId: stored.messageId,
    from: stored.from,
    to: stored.destination?.to ?? [],
    cc: stored.destination?.cc ?? [],
    bcc: stored.destination?.bcc ?? [],
    replyTo: stored.replyTo ?? [],
    subject: stored.subject,
    ...(stored.body?.html !== undefined ? { html: stored.body.html } : {}),
    ...(stored.body?.text !== undefined ? { text: stored.body.text } : {}),
    at: stored.at,
  };
}
