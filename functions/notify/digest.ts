import type { NotificationType } from '../domain/config/schema';
import type { NotificationJob } from '../domain/messages';
import { renderDigestMessage, type RenderedEmail, type RenderedSlackMessage, type RenderSettings } from './templates';

/**
 * The admin digest during a burst: per notification type, one message per admin destination
 * per period instead of one per person, while every affected person still gets their own.
 * A period's first `sendAlone` notifications go out on their own (a lone anomaly is never
 * delayed); the rest wait for the period's end and go out together.
 */
export const DIGEST = {
  /** Length of a digest period (default; env DIGEST_PERIOD_SECONDS). */
  periodSeconds: 300,
  /** Notifications of one type per period that still go out on their own (default; env DIGEST_SEND_ALONE). */
  sendAlone: 5,
  /** The digest goes out this long after its period ends (late jobs of the period get in). */
  graceSeconds: 15,
} as const;

export interface DigestSettings {
  periodSeconds: number;
  sendAlone: number;
}

/** The message that sends a period's digest, delayed until the period is over. */
export type { DigestFlush } from '../domain/messages';

export function digestId(type: NotificationType, periodStart: number): string {
  return `${type}#${periodStart}`;
}

/** The period an instant (epoch ms) falls in, as its start (epoch seconds). */
export function periodOf(nowMs: number, periodSeconds: number = DIGEST.periodSeconds): number {
  const seconds = Math.floor(nowMs / 1000);
  return seconds - (seconds % periodSeconds);
}

/** A period's digest message, in the alerts' content model (templates.ts): the people's values stay inert. */
export function renderDigest(
  type: NotificationType,
  periodStart: number,
  jobs: readonly NotificationJob[],
  periodSeconds: number = DIGEST.periodSeconds,
  settings: RenderSettings = {},
): { email: RenderedEmail; slack: RenderedSlackMessage } {
  // Names this digest the way an alert names its audit entry (the ledger's delivery records use it).
  const reference = `digest#${digestId(type, periodStart)}`;
  return renderDigestMessage({ type, reference, from: periodStart, to: periodStart + periodSeconds, jobs }, settings);
}
