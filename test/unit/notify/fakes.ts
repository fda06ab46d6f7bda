import { LeaseHeldError } from '../../../functions/domain/errors';
import type { Mailer, OutgoingMail } from '../../../functions/adapters/ses/mailer';
import { responseConfigSchema, type ResponseConfig, type ResponseConfigInput } from '../../../functions/domain/config/schema';
import type { ConfigSource } from '../../../functions/adapters/dynamodb/config-table';
import type { NotificationJob } from '../../../functions/domain/messages';
import type { DirectoryUser, SlackApi } from '../../../functions/adapters/slack/web-api';

export function makeJob(overrides: Partial<NotificationJob> = {}): NotificationJob {
  return {
    entryId: '0b5c1f2e-entry',
    type: 'sessions_ended',
    occurredAt: 1644428305, // 2022-02-09T17:38:25Z, a Wednesday
    user: { id: 'U0AFFECTED', name: 'Ana Silva', email: 'ana@example.com' },
    events: ['tor'],
    otherReasons: ['ip_address'],
    context: {
      ipAddress: '1.23.45.67',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0',
      location: 'Reno, Nevada',
      workspace: 'Acme (E0ACME)',
      previousIpAddress: '9.87.65.43',
      previousUserAgent: 'Slack/4.36 (Macintosh)',
    },
    response: { outcome: 'sessions_ended' },
    ...overrides,
  };
}

export function makeConfig(input: ResponseConfigInput = {}): ResponseConfig {
  return responseConfigSchema.parse(input);
}

export function staticConfig(config: ResponseConfig): ConfigSource {
  return { load: async () => config };
}

export function person(id: string, extra: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id, name: id.toLowerCase(), realName: `Person ${id}`, email: `${id.toLowerCase()}@example.com`, isBot: false, deleted: false, isPrimaryOwner: false, isStranger: false, ...extra };
}

/** A Slack org in memory: counts every call, and fails the calls a test queues errors for. */
/** The Slack calls notify makes. */
export class FakeSlack implements Pick<SlackApi, 'primaryOwner' | 'securityAdminIds' | 'getUser' | 'openDirectMessage' | 'postMessage'> {
  readonly calls: Record<string, number> = {};
  readonly posted: { channel: string; text: string; blocks?: unknown[] }[] = [];
  /** Errors thrown by the next postMessage calls to a channel, in order. */
  readonly postFailures = new Map<string, unknown[]>();
  lookupFailure?: unknown;

  constructor(
    readonly users: DirectoryUser[] = [],
    public primaryOwnerId?: string,
    public securityAdminIdList: string[] = [],
  ) {}

  private count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.lookupFailure && method !== 'postMessage' && method !== 'openDirectMessage') throw this.lookupFailure;
  }

  async getUser(userId: string): Promise<DirectoryUser | undefined> {
    this.count('getUser');
    return this.users.find((u) => u.id === userId);
  }
  async primaryOwner(): Promise<DirectoryUser | undefined> {
    this.count('primaryOwner');
    return this.users.find((u) => u.id === this.primaryOwnerId);
  }
  async securityAdminIds(): Promise<string[]> {
    this.count('securityAdminIds');
    return [...this.securityAdminIdList];
  }
  async openDirectMessage(userId: string): Promise<string> {
    this.count('openDirectMessage');
    return `D-${userId}`;
  }
  async postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
    this.count('postMessage');
    const failure = this.postFailures.get(channel)?.shift();
    if (failure) throw failure;
    this.posted.push({ channel, ...message });
  }
}

export class FakeMailer implements Mailer {
  readonly sent: OutgoingMail[] = [];
  /** Errors thrown by the next sends to an address, in order. */
  readonly failures = new Map<string, unknown[]>();

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const failure = this.failures.get(mail.to[0])?.shift();
    if (failure) throw failure;
    this.sent.push(mail);
    return { messageId: `msg-${this.sent.length}` };
  }
}

/** The ledger's delivery claims in memory, with the DynamoDB implementation's semantics. */
export class FakeLedger {
  readonly records = new Map<string, { status: 'sending' | 'sent'; leaseUntil: number; detail?: string }>();
  now = 1_000_000;

  async claimDelivery(entryId: string, deliveryKey: string, leaseMs: number): Promise<boolean> {
    const key = `entry#${entryId}/sent#${deliveryKey}`;
    const existing = this.records.get(key);
    if (existing?.status === 'sent') return false;
    if (existing && existing.leaseUntil >= this.now) throw new LeaseHeldError(key);
    this.records.set(key, { status: 'sending', leaseUntil: this.now + leaseMs });
    return true;
  }

  async markDelivered(entryId: string, deliveryKey: string, detail?: string): Promise<void> {
    this.records.set(`entry#${entryId}/sent#${deliveryKey}`, { status: 'sent', leaseUntil: 0, detail: detail ?? '' });
  }

  async releaseDelivery(entryId: string, deliveryKey: string): Promise<void> {
    const record = this.records.get(`entry#${entryId}/sent#${deliveryKey}`);
    if (record?.status === 'sending') record.leaseUntil = 0;
  }

  record(entryId: string, deliveryKey: string) {
    return this.records.get(`entry#${entryId}/sent#${deliveryKey}`);
  }
}
