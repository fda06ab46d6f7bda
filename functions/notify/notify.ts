import type { Deliveries } from '../adapters/dynamodb/deliveries';
import type { Mailer } from '../adapters/ses/mailer';
import type { ConfigSource } from '../adapters/dynamodb/config-table';
import { PermanentFailure, RetryLaterError } from '../domain/errors';
import { notificationJobSchema, type NotificationJob } from '../domain/messages';
import type { AlertSettings, NotificationType } from '../domain/config/schema';
import type { Digests } from '../adapters/dynamodb/digests';
import { DIGEST, digestId, periodOf, renderDigest, type DigestFlush, type DigestSettings } from './digest';
import { isSlackError } from '../adapters/slack/errors';
import type { SlackApi } from '../adapters/slack/web-api';
import { mapLimit } from '../runtime/map-limit';
import { retryDelaySeconds } from '../runtime/retry-policy';
import { planDeliveries, type Delivery, type DeliveryChannel, type Directory } from './recipients';
import { renderEmail, renderSlackMessage, type Audience, type RenderedEmail, type RenderedSlackMessage } from './templates';

/** Structurally satisfied by the Powertools Logger. */
export interface NotifyLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface NotifyDeps {
  config: ConfigSource;
  directory: Directory;
  slack: Pick<SlackApi, 'openDirectMessage' | 'postMessage'>;
  mailer: Mailer;
  ledger: Pick<Deliveries, 'claimDelivery' | 'markDelivered' | 'releaseDelivery'>;
  logger?: NotifyLogger;
  /** How long a claimed delivery stays reserved for this invocation; longer than any one send. */
  leaseMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** The admin digest during bursts; without it every admin notification goes out on its own. */
  digest?: DigestDeps;
  /** The deployment's alert settings (CDK context); the config table's `alerts` item wins field by field. */
  alertDefaults?: AlertSettings;
}

export interface DeliveryRef {
  channel: DeliveryChannel;
  recipientKey: string;
  audience: Audience;
}

export interface NotifyResult {
  sent: (DeliveryRef & { detail: string })[];
  /** Not sent by this call and not to be: already sent earlier, or nobody to send to. */
  skipped: { channel?: DeliveryChannel; recipient: string; reason: string }[];
  /** Recorded as failed for good (e.g. an address SES rejects): never retried. */
  failedPermanently: (DeliveryRef & { code: string; message: string })[];
}

const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_CONCURRENCY = 4;

/** Ledger key of one delivery: the same notification to the same destination is sent once. */
export function deliveryKey(job: Pick<NotificationJob, 'type'>, delivery: Pick<Delivery, 'channel' | 'recipientKey'>): string {
  return `${job.type}#${delivery.channel}#${delivery.recipientKey}`;
}

/**
 * Sends one notification job to everyone the configuration names, each (recipient × channel)
 * at most once: a delivery is claimed in the ledger before it is sent and marked after, so a
 * retried message re-sends only what did not go out. Deliveries are independent; when any
 * failed in a retryable way, this throws after all were tried:
 * - an auth SlackError as is (a human must fix the bot or admin token);
 * - RetryLaterError with the longest delay asked for (Slack 429, SES throttling, a lease held
 *   by another invocation);
 * - otherwise the first error (e.g. the SES sender is not verified), which names the fix.
 */
export async function notify(job: NotificationJob, deps: NotifyDeps): Promise<NotifyResult> {
  const config = await deps.config.load();
  const plan = await planDeliveries(job, config, deps.directory);
  const result: NotifyResult = { sent: [], skipped: [...plan.skipped], failedPermanently: [] };
  const retryable: unknown[] = [];

  for (const failure of plan.lookupFailures) {
    const code = permanentCode(failure.error);
    if (code) result.skipped.push({ recipient: failure.recipient, reason: `lookup_failed:${code}` });
    else retryable.push(failure.error);
    deps.logger?.warn('Recipient lookup failed', { entryId: job.entryId, recipient: failure.recipient, error: describe(failure.error) });
  }

  let deliveries = plan.deliveries;
  if (deps.digest && (deps.digest.settings ?? DIGEST).sendAlone > 0 && deliveries.some((d) => d.audience === 'admin') && (await intoDigest(job, deps.digest))) {
    // A burst: admins hear about this person in the period's digest; the person still hears now.
    for (const d of deliveries.filter((d) => d.audience === 'admin')) result.skipped.push({ channel: d.channel, recipient: d.recipientKey, reason: 'in_digest' });
    deliveries = deliveries.filter((d) => d.audience !== 'admin');
  }

  const renderJob = withDirectoryFacts(job, plan.affectedUser ?? (deliveries.length ? await realNameLookup(job, deps) : undefined));
  const settings = alertSettings(deps.alertDefaults, config.alerts);
  const render = memoize((audience: Audience) => ({ email: renderEmail(renderJob, audience, settings), slack: renderSlackMessage(renderJob, audience, settings) }));
  await deliverEach(job.entryId, job.type, deliveries, render, settings, deps, result, retryable);

  if (retryable.length) {
    deps.logger?.warn('Some notifications must be retried', { entryId: job.entryId, failures: retryable.length, sent: result.sent.length });
    throw errorToRethrow(retryable);
  }
  return result;
}

/** The admin digest (functions/notify/digest.ts): its ledger records and the delayed message that sends it. */
export interface DigestDeps {
  ledger: Pick<Digests, 'enter' | 'claimFlush' | 'releaseFlush' | 'members'>;
  /** Send the period's digest message after `delaySeconds`. */
  schedule(flush: DigestFlush, delaySeconds: number): Promise<void>;
  /** Default DIGEST's. */
  settings?: DigestSettings;
  now?: () => number;
}

/** Count the job toward its period's digest; true when admins hear about it there. The first job digested schedules the digest. */
async function intoDigest(job: NotificationJob, digest: DigestDeps): Promise<boolean> {
  const { periodSeconds, sendAlone } = digest.settings ?? DIGEST;
  const nowMs = (digest.now ?? Date.now)();
  const periodStart = periodOf(nowMs, periodSeconds);
  const id = digestId(job.type, periodStart);
  const { digested } = await digest.ledger.enter(id, job.entryId, job as unknown as Record<string, unknown>, sendAlone);
  if (digested && (await digest.ledger.claimFlush(id))) {
    const delay = Math.max(1, periodStart + periodSeconds + DIGEST.graceSeconds - Math.floor(nowMs / 1000));
    try {
      await digest.schedule({ digest: { type: job.type, periodStart } }, delay);
    } catch (error) {
      await digest.ledger.releaseFlush(id).catch(() => undefined);
      throw error;
    }
  }
  return digested;
}

/**
 * Send a period's digest to the type's admin destinations, each once (the ledger claims each
 * delivery under the digest's id, as for a single notification).
 */
export async function sendDigest(flush: DigestFlush, deps: NotifyDeps): Promise<NotifyResult> {
  const { type, periodStart } = flush.digest;
  const id = digestId(type, periodStart);
  const result: NotifyResult = { sent: [], skipped: [], failedPermanently: [] };
  if (!deps.digest) return result;
  const jobs = (await deps.digest.ledger.members(id)).flatMap((raw) => {
    const parsed = notificationJobSchema.safeParse(raw);
    return parsed.success ? [parsed.data] : [];
  });
  if (!jobs.length) return result;
  const config = await deps.config.load();
  const plan = await planDeliveries(jobs[0], config, deps.directory);
  const retryable: unknown[] = plan.lookupFailures.filter((f) => f.recipient !== 'affected user' && !permanentCode(f.error)).map((f) => f.error);
  const settings = alertSettings(deps.alertDefaults, config.alerts);
  const rendered = renderDigest(type, periodStart, jobs, (deps.digest.settings ?? DIGEST).periodSeconds, settings);
  const admins = plan.deliveries.filter((d) => d.audience === 'admin');
  await deliverEach(`digest#${id}`, type, admins, () => rendered, settings, deps, result, retryable);
  if (retryable.length) throw errorToRethrow(retryable);
  return result;
}

/** Each delivery at most once: claimed in the ledger before it is sent and marked after. */
async function deliverEach(
  ledgerId: string,
  type: NotificationType,
  deliveries: readonly Delivery[],
  render: (audience: Audience) => { email: RenderedEmail; slack: RenderedSlackMessage },
  settings: AlertSettings,
  deps: NotifyDeps,
  result: NotifyResult,
  retryable: unknown[],
): Promise<void> {
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  await mapLimit(deliveries, deps.concurrency ?? DEFAULT_CONCURRENCY, async (delivery) => {
    const key = deliveryKey({ type }, delivery);
    const ref: DeliveryRef = { channel: delivery.channel, recipientKey: delivery.recipientKey, audience: delivery.audience };
    try {
      if (!(await deps.ledger.claimDelivery(ledgerId, key, leaseMs))) {
        result.skipped.push({ channel: delivery.channel, recipient: delivery.recipientKey, reason: 'already_sent' });
        return;
      }
    } catch (error) {
      // LeaseHeldError included: the retry policy says when to look again.
      retryable.push(error);
      return;
    }

    let detail: string;
    try {
      detail = await send(delivery, render(delivery.audience), settings, deps);
    } catch (error) {
      const code = permanentCode(error);
      if (code) {
        await deps.ledger
          .markDelivered(ledgerId, key, `failed:${code}`)
          .then(() => result.failedPermanently.push({ ...ref, code, message: describe(error) }))
          .catch((markError) => retryable.push(markError));
        deps.logger?.warn('Notification failed permanently; recorded, not retried', { entryId: ledgerId, ...ref, code, error: describe(error) });
      } else {
        retryable.push(error);
        deps.logger?.warn('Notification failed; it will be retried', { entryId: ledgerId, ...ref, error: describe(error) });
        // Free it for the retry now rather than when the lease runs out.
        await deps.ledger.releaseDelivery(ledgerId, key).catch(() => undefined);
      }
      return;
    }

    try {
      await deps.ledger.markDelivered(ledgerId, key, detail);
      result.sent.push({ ...ref, detail });
    } catch (error) {
      // Sent but not recorded: keep the lease (no release) so an immediate retry does not send it again.
      retryable.push(error);
    }
  });
}

async function send(delivery: Delivery, rendered: { email: RenderedEmail; slack: RenderedSlackMessage }, settings: AlertSettings, deps: NotifyDeps): Promise<string> {
  if (delivery.channel === 'email') {
    const { messageId } = await deps.mailer.send({ to: [delivery.address], ...rendered.email, ...(settings.senderName ? { senderName: settings.senderName } : {}), ...(settings.replyTo ? { replyTo: settings.replyTo } : {}) });
    return `ses:${messageId}`;
  }
  const channel = delivery.recipientKey.startsWith('slack-dm:') ? await deps.slack.openDirectMessage(delivery.address) : delivery.address;
  await deps.slack.postMessage(channel, rendered.slack);
  return `slack:${channel}`;
}

/** The code to record when no retry can fix this failure; undefined when a retry may. */
function permanentCode(error: unknown): string | undefined {
  if (error instanceof PermanentFailure) return error.code;
  if (isSlackError(error, 'permanent')) return error.code;
  return undefined;
}

/**
 * One error for the whole message: a refused token as is (the handler's retry policy retries it
 * slowly and names the token); else, when any failure has a delay by the retry policy (Slack 429,
 * SES throttling, a delivery leased by another invocation), a RetryLaterError with the longest;
 * else the first error.
 */
function errorToRethrow(errors: unknown[]): unknown {
  const auth = errors.find((error) => isSlackError(error, 'auth'));
  if (auth) return auth;
  const delays = errors.map(retryDelaySeconds).filter((delay): delay is number => delay !== undefined);
  if (delays.length) {
    const first = errors.find((error) => retryDelaySeconds(error) !== undefined);
    return new RetryLaterError(Math.max(...delays), `${errors.length} notification deliveries must be retried: ${describe(first)}`, first);
  }
  return errors[0];
}

/** Fill in what the job lacks (real name, handle, email) from the person's directory record. */
function withDirectoryFacts(job: NotificationJob, user: { realName?: string; name?: string; email?: string } | undefined): NotificationJob {
  if (!user || !job.user) return job;
  return { ...job, user: { ...job.user, name: job.user.name ?? user.name, email: job.user.email ?? user.email, realName: job.user.realName ?? user.realName } };
}

/**
 * The person's directory record, for their real name (alerts greet and name people by it, not
 * by handle). Best effort: the directory is cached, and a failed lookup only means the handle is shown.
 */
async function realNameLookup(job: NotificationJob, deps: NotifyDeps): Promise<{ realName?: string; name?: string; email?: string } | undefined> {
  if (!job.user || job.user.realName) return undefined;
  try {
    return await deps.directory.user(job.user.id);
  } catch (error) {
    deps.logger?.warn('Directory lookup for the person’s name failed; alerts name them by handle', { entryId: job.entryId, error: describe(error) });
    return undefined;
  }
}

/** Deployment defaults, then the config item's fields that are set. */
export function alertSettings(defaults: AlertSettings | undefined, configured: AlertSettings): AlertSettings {
  const set = Object.fromEntries(Object.entries(configured).filter(([, value]) => value !== undefined));
  return { ...(defaults ?? {}), ...set };
}

function memoize<K, V>(compute: (key: K) => V): (key: K) => V {
  const cache = new Map<K, V>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, compute(key));
    return cache.get(key) as V;
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
