import type { NotificationChannel, ResponseConfig } from '../domain/config/schema';
import type { NotificationJob } from '../domain/messages';
import type { DirectoryUser, SlackApi } from '../adapters/slack/web-api';
import { TtlCache } from '../runtime/ttl-cache';
import { mapLimit } from '../runtime/map-limit';
import type { Audience } from './templates';

/** The org directory facts notify needs, whatever serves them. */
export interface Directory {
  primaryOwner(): Promise<DirectoryUser | undefined>;
  /** Security admins who can receive messages: deleted accounts and bots are left out. */
  securityAdmins(): Promise<DirectoryUser[]>;
  user(id: string): Promise<DirectoryUser | undefined>;
}

/**
 * The directory over the Slack API, cached in memory for `ttlMs`: a Lambda container handles
 * many messages, and the primary owner and security admins rarely change, while
 * admin.roles.listAssignments and users.info are rate-limited org-wide. Failed lookups are
 * not cached; concurrent callers share one request.
 */
export class DirectoryCache implements Directory {
  private readonly cache: TtlCache<unknown>;

  constructor(
    private readonly slack: Pick<SlackApi, 'primaryOwner' | 'securityAdminIds' | 'getUser'>,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(ttlMs, now);
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.cache.get(key, load) as Promise<T>;
  }

  primaryOwner(): Promise<DirectoryUser | undefined> {
    return this.cached('primary-owner', () => this.slack.primaryOwner());
  }

  securityAdmins(): Promise<DirectoryUser[]> {
    return this.cached('security-admins', async () => {
      const ids = await this.slack.securityAdminIds();
      const users = await mapLimit(ids, 4, (id) => this.user(id));
      return users.filter((user): user is DirectoryUser => user !== undefined && canReceive(user));
    });
  }

  user(id: string): Promise<DirectoryUser | undefined> {
    return this.cached(`user#${id}`, () => this.slack.getUser(id));
  }
}

function canReceive(user: DirectoryUser): boolean {
  return !user.deleted && !user.isBot;
}

export type DeliveryChannel = NotificationChannel;

export interface Delivery {
  channel: DeliveryChannel;
  /** Stable across retries, one per destination: `email:<address>`, `slack-dm:<user id>`, `slack-channel:<channel id>`. */
  recipientKey: string;
  audience: Audience;
  /** Email address, user id (DM) or channel id. */
  address: string;
}

export interface SkippedRecipient {
  /** Who, for logs: e.g. "security admin U123". */
  recipient: string;
  channel: DeliveryChannel;
  reason: string;
}

/** A directory lookup that failed; its recipients are missing from the plan. */
export interface LookupFailure {
  recipient: 'affected user' | 'primary owner' | 'security admins';
  error: unknown;
}

export interface DeliveryPlan {
  deliveries: Delivery[];
  skipped: SkippedRecipient[];
  lookupFailures: LookupFailure[];
  /** The affected user's directory record, when it had to be looked up (their email was not in the job). */
  affectedUser?: DirectoryUser;
}

/**
 * Who gets this notification, by which channel and in which version.
 *
 * Deduplication: one message per destination (recipientKey) per notification; emails compare
 * case-insensitively. Destinations are added in this order and the first one wins: the affected
 * user, the primary owner, the security admins, the extra emails, the Slack channel. So when
 * the affected user is also an owner or admin, they get only the plain affected-user version on
 * each channel it goes to: their account is the one under suspicion, and the other admins get
 * the full facts. On channels the affected-user rule does not use, and for notification types
 * the user is not told about, they keep their admin copy: excluding them could leave no admin
 * informed at all.
 *
 * A failed lookup drops only its own recipients and is reported in `lookupFailures`, so the
 * others are still told now and the retry adds the rest.
 */
export async function planDeliveries(job: NotificationJob, config: ResponseConfig, directory: Directory): Promise<DeliveryPlan> {
  const rule = config.notifications[job.type];
  const plan: DeliveryPlan = { deliveries: [], skipped: [], lookupFailures: [] };
  const seenKeys = new Set<string>();
  const add = (delivery: Delivery) => {
    if (seenKeys.has(delivery.recipientKey)) return;
    seenKeys.add(delivery.recipientKey);
    plan.deliveries.push(delivery);
  };
  /** The value, or undefined when the lookup failed (recorded in lookupFailures). */
  const lookup = async <T>(recipient: LookupFailure['recipient'], load: () => Promise<T>): Promise<{ value: T } | undefined> => {
    try {
      return { value: await load() };
    } catch (error) {
      plan.lookupFailures.push({ recipient, error });
      return undefined;
    }
  };
  const addPerson = (user: DirectoryUser, channels: readonly DeliveryChannel[], audience: Audience, role: string) => {
    for (const channel of channels) {
      if (channel === 'slack') {
        add({ channel, recipientKey: `slack-dm:${user.id}`, audience, address: user.id });
      } else if (user.email) {
        add(emailDelivery(user.email, audience));
      } else {
        plan.skipped.push({ recipient: `${role} ${user.id}`, channel, reason: 'no_email_address' });
      }
    }
  };

  // Slack's own feature tells the affected user only when their sessions were ended; in a dry run
  // nothing was, so they are not told.
  if (job.type === 'sessions_ended' && job.user && !job.response.dryRun) {
    const user = job.user;
    const wanted = config.notifications.affected_user;
    const channels: DeliveryChannel[] = [];
    if (wanted.email) channels.push('email');
    if (wanted.slack) channels.push('slack');
    let email = user.email;
    if (!email && wanted.email) {
      const found = await lookup('affected user', () => directory.user(user.id));
      plan.affectedUser = found?.value;
      email = found?.value?.email;
      // Unknown until the retry: leave the email out rather than report "no address".
      if (!found) channels.splice(channels.indexOf('email'), 1);
    }
    addPerson({ id: user.id, email, isBot: false, deleted: false, isPrimaryOwner: false, isStranger: false }, channels, 'affected_user', 'affected user');
  }

  if (rule.primaryOwner.length) {
    const found = await lookup('primary owner', () => directory.primaryOwner());
    const owner = found?.value;
    if (owner && canReceive(owner)) addPerson(owner, rule.primaryOwner, 'admin', 'primary owner');
    else if (found) {
      for (const channel of rule.primaryOwner) plan.skipped.push({ recipient: 'primary owner', channel, reason: !owner ? 'not_found' : owner.deleted ? 'deactivated' : 'cannot_receive' });
    }
  }

  if (rule.securityAdmins.length) {
    const found = await lookup('security admins', () => directory.securityAdmins());
    for (const admin of found?.value ?? []) addPerson(admin, rule.securityAdmins, 'admin', 'security admin');
    if (found?.value.length === 0) {
      for (const channel of rule.securityAdmins) plan.skipped.push({ recipient: 'security admins', channel, reason: 'none_found' });
    }
  }

  for (const address of rule.extraEmails) add(emailDelivery(address, 'admin'));
  if (rule.slackChannel) add({ channel: 'slack', recipientKey: `slack-channel:${rule.slackChannel}`, audience: 'admin', address: rule.slackChannel });

  return plan;
}

function emailDelivery(address: string, audience: Audience): Delivery {
  const trimmed = address.trim();
  return { channel: 'email', recipientKey: `email:${trimmed.toLowerCase()}`, audience, address: trimmed };
}
