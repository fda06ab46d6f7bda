import { LeaseHeldError } from '../../../functions/domain/errors';
import { expiresAfter, LEDGER_KEYS, type LedgerKey } from '../../../functions/adapters/dynamodb/keys';
import type { Mailer, OutgoingMail } from '../../../functions/adapters/ses/mailer';
import { responseConfigSchema, type ResponseConfig, type ResponseConfigInput } from '../../../functions/domain/config/schema';
import type { ConfigSource } from '../../../functions/adapters/dynamodb/config-table';
import type { NotificationJob } from '../../../functions/domain/messages';
import type { DirectoryUser, SlackApi } from '../../../functions/adapters/slack/web-api';
import { platformError } from '../../support/fake-slack';

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

/**
 * The Slack calls notify makes, over an org in memory: counts every call, fails the calls a test
 * queues errors for, and otherwise refuses what Slack (and the strict simulator) refuses:
 * DMs to unknown people, deactivated people and bots; posts to channels it does not know or is
 * not in; messages without text or too long. Held to SlackWebApi on the simulator by
 * test/support/slack-contract.ts.
 */
export class FakeSlack implements Pick<SlackApi, 'primaryOwner' | 'securityAdminIds' | 'getUser' | 'openDirectMessage' | 'postMessage'> {
  readonly calls: Record<string, number> = {};
  readonly posted: { channel: string; text: string; blocks?: unknown[] }[] = [];
  /** Errors thrown by the next postMessage calls to a channel, in order. */
  readonly postFailures = new Map<string, unknown[]>();
  lookupFailure?: unknown;
  /** Channels by id → whether the bot is a member. */
  readonly channels = new Map<string, boolean>();
  /** Open DMs: channel id → user id. */
  readonly dms = new Map<string, string>();

  constructor(
    /** The directory: only these people exist. */
    readonly users: DirectoryUser[] = [],
    public primaryOwnerId?: string,
    public securityAdminIdList: string[] = [],
    /** Channels the bot is a member of. */
    channelIds: string[] = [],
  ) {
    for (const id of channelIds) this.channels.set(id, true);
  }

  private count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.lookupFailure && method !== 'postMessage' && method !== 'openDirectMessage') throw this.lookupFailure;
  }

  /** Add a person to the directory, or replace their record. */
  setUser(user: DirectoryUser): void {
    const i = this.users.findIndex((u) => u.id === user.id);
    if (i < 0) this.users.push(user);
    else this.users[i] = user;
  }

  private user(userId: string): DirectoryUser | undefined {
    return this.users.find((u) => u.id === userId);
  }

  async getUser(userId: string): Promise<DirectoryUser | undefined> {
    this.count('getUser');
    return this.user(userId);
  }
  async primaryOwner(): Promise<DirectoryUser | undefined> {
    this.count('primaryOwner');
    const owner = this.primaryOwnerId ? this.user(this.primaryOwnerId) : undefined;
    if (!owner) return undefined;
    // admin.users.list's shape: no team or enterprise, never a stranger.
    return { id: owner.id, name: owner.name, realName: owner.realName, email: owner.email, isBot: owner.isBot, deleted: owner.deleted, isPrimaryOwner: true, isStranger: false };
  }
  async securityAdminIds(): Promise<string[]> {
    this.count('securityAdminIds');
    return [...this.securityAdminIdList];
  }
  async openDirectMessage(userId: string): Promise<string> {
    this.count('openDirectMessage');
    const user = this.user(userId);
    const refuse = (code: string) => platformError(code, 'bot', 'conversations.open');
    if (!user) throw refuse('user_not_found');
    if (user.deleted) throw refuse('user_disabled');
    if (user.isBot) throw refuse('cannot_dm_bot');
    const channel = `D-${userId}`;
    this.dms.set(channel, userId);
    return channel;
  }
  async postMessage(channel: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
    this.count('postMessage');
    const failure = this.postFailures.get(channel)?.shift();
    if (failure) throw failure;
    const refuse = (code: string) => platformError(code, 'bot', 'chat.postMessage');
    const user = /^[UW]/.test(channel) ? this.user(channel) : undefined;
    if (this.dms.has(channel)) {
      // an open DM
    } else if (this.channels.has(channel)) {
      if (!this.channels.get(channel)) throw refuse('not_in_channel');
    } else if (user) {
      if (user.isBot) throw refuse('cannot_dm_bot');
    } else {
      throw refuse('channel_not_found');
    }
    const { blocks } = message;
    if (blocks !== undefined && (!Array.isArray(blocks) || blocks.length > 50 || blocks.some((b) => typeof (b as { type?: unknown })?.type !== 'string'))) {
      throw refuse('invalid_blocks');
    }
    if (!message.text && !blocks?.length) throw refuse('no_text');
    if (message.text && message.text.length > 40_000) throw refuse('msg_too_long');
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

/** Where a delivery is held: the key Deliveries writes it under, as one string. */
function recordKey(entryId: string, deliveryKey: string): string {
  const key = LEDGER_KEYS.delivery(entryId, deliveryKey);
  return `${key.pk}/${key.sk}`;
}

/**
 * The ledger's delivery claims in memory, with the DynamoDB implementation's semantics (Deliveries):
 * held to it by test/support/ledger-contract.ts. `stored()` shows the item Deliveries would hold.
 */
export class FakeLedger {
  readonly records = new Map<string, { status: 'sending' | 'sent'; leaseUntil?: number; detail?: string; sentAt?: number; expiresAt?: number }>();
  now = 1_000_000;

  /** Deliveries' retentionDays (its default). */
  constructor(readonly retentionDays = 400) {}

  async claimDelivery(entryId: string, deliveryKey: string, leaseMs: number): Promise<boolean> {
    const key = recordKey(entryId, deliveryKey);
    const existing = this.records.get(key);
    if (existing?.status === 'sent') return false;
    // DynamoDB's condition: taken over only when `leaseUntil < now`.
    if (existing && (existing.leaseUntil ?? 0) >= this.now) throw new LeaseHeldError(key);
    this.records.set(key, { status: 'sending', leaseUntil: this.now + leaseMs, expiresAt: expiresAfter(this.now, this.retentionDays * 86400) });
    return true;
  }

  async markDelivered(entryId: string, deliveryKey: string, detail?: string): Promise<void> {
    // An UpdateItem: the TTL set by the claim stays, the lease goes.
    const key = recordKey(entryId, deliveryKey);
    const next = { ...this.records.get(key), status: 'sent' as const, sentAt: this.now, detail: detail ?? '' };
    delete next.leaseUntil;
    this.records.set(key, next);
  }

  async releaseDelivery(entryId: string, deliveryKey: string): Promise<void> {
    const record = this.records.get(recordKey(entryId, deliveryKey));
    if (record?.status === 'sending') record.leaseUntil = 0;
  }

  record(entryId: string, deliveryKey: string) {
    return this.records.get(recordKey(entryId, deliveryKey));
  }

  /** The item Deliveries would hold under `key` (undefined: none). */
  stored(key: LedgerKey): (Record<string, unknown> & LedgerKey) | undefined {
    const record = this.records.get(`${key.pk}/${key.sk}`);
    return record && { ...structuredClone(record), ...key };
  }
}
