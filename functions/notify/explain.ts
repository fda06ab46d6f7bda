import { eventLabel } from '../domain/anomaly-catalogue';
import type { NotificationType } from '../domain/config/schema';
import type { NotificationJob, ResponseFacts } from '../domain/messages';

/**
 * Marks a value from the audit entry, the directory or Slack's answer inside an English sentence,
 * so the templates show it as a value (inert: code span, `<code>`, defanged), never as our words.
 * The markers are private-use characters, removed from the value itself so it cannot close them.
 */
const VALUE_OPEN = '\ue000';
const VALUE_CLOSE = '\ue001';
export function untrusted(value: string): string {
  return VALUE_OPEN + value.replace(/[\ue000\ue001]/g, '') + VALUE_CLOSE;
}

/** A sentence from this file split into our words (strings) and marked values. */
export function splitUntrusted(sentence: string): (string | { value: string })[] {
  return sentence
    .split(/(\ue000[^\ue000\ue001]*\ue001)/)
    .filter((piece) => piece !== '')
    .map((piece) => (piece.startsWith(VALUE_OPEN) ? { value: piece.slice(1, -1) } : piece.replace(/[\ue000\ue001]/g, '')));
}

/** How urgent an alert is, in words as well as colour (colour alone tells nothing to many readers). */
export interface Severity {
  level: 'critical' | 'warning' | 'info';
  label: string;
}

/**
 * Failed, or the primary owner who is never signed out automatically: act now. Ended or held
 * on purpose, or an app: review. A dry run: information. (Slack's own alerts, like Google's and Okta's, lead with this line.)
 */
export function severityOf(job: Pick<NotificationJob, 'type' | 'response'>): Severity {
  // A dry run changed nothing: information, whatever it would have done.
  if (job.response.dryRun) return { level: 'info', label: 'Dry run' };
  if (job.type === 'action_failed') return { level: 'critical', label: 'Action needed' };
  if (job.response.outcome === 'protected') return { level: 'critical', label: 'Action needed' };
  return { level: 'warning', label: 'Review' };
}

/**
 * What the responder did and why, in the words the alerts use. The respond function sends only
 * facts (functions/domain/decision/response.ts); the English lives here, with the templates.
 */
export function describeResponse(response: ResponseFacts): { actionTaken: string; explanation?: string } {
  const described = describeOutcome(response);
  if (!response.dryRun) return described;
  return { actionTaken: `${DRY_RUN}. ${described.actionTaken}`, explanation: described.explanation };
}

/** How a dry run's alerts are marked. */
export const DRY_RUN = 'Dry run: nothing was done';

/** Which sessions, in words: "all of the user’s Slack sessions on every device", … */
export function sessionsInWords(scope: ResponseFacts['scope']): string {
  switch (scope) {
    case 'web':
      return 'the user\u2019s Slack web (browser) sessions';
    case 'mobile':
      return 'the user\u2019s Slack mobile sessions';
    case 'session':
      return 'the one Slack session the anomaly was seen in';
    case 'all':
    case undefined:
      return 'all of the user\u2019s Slack sessions on every device';
  }
}

function describeOutcome(response: ResponseFacts): { actionTaken: string; explanation?: string } {
  const fallback =
    response.scopeFallback === 'no_session_id'
      ? 'The rule asks to end only the session the anomaly was seen in, but the audit entry names no session: all sessions were ended instead.'
      : undefined;
  switch (response.outcome) {
    case 'sessions_ended':
      return { actionTaken: `Ended ${sessionsInWords(response.scope)}`, explanation: fallback };
    case 'dry_run':
      return { actionTaken: `Would have ended ${sessionsInWords(response.scope)}`, explanation: fallback };
    case 'reset_refused':
      return { actionTaken: `Tried to end ${sessionsInWords(response.scope)}, but Slack refused`, explanation: explainRefusal(response.errorCode ?? 'unknown_error') };
    case 'recorded':
      return {
        actionTaken: 'Recorded in the response log',
        explanation:
          'Someone changed the settings of Slack\u2019s built-in anomaly event response. Check that it is what your team intended: with both responders on, each signs people out by its own rules (this responder does not sign out again anyone Slack has just signed out).',
      };
    case 'held':
    case 'protected':
      return {
        actionTaken:
          response.holdReason === 'circuit_breaker'
            ? 'Did not end sessions: the hourly limit on automatic resets was reached'
            : response.holdReason === 'app_anomaly'
              ? 'Recorded; an app has no sessions to end, so nothing was acted on'
              : 'No action taken; this is a notification only',
        explanation: explainHold(response),
      };
  }
}

function explainRefusal(code: string): string {
  switch (code) {
    case 'cannot_reset_primary_owner':
      return 'Slack does not allow ending the primary owner\u2019s sessions through the API. Review this activity by hand.';
    case 'cannot_invalidate_primary_owner':
      return 'Slack does not allow ending the primary owner\u2019s session through the API. Review this activity by hand.';
    case 'session_not_found':
      return 'Slack no longer knows the session the anomaly was seen in (it may have ended already). Check the user\u2019s other sessions by hand.';
    case 'cannot_reset_bot':
      return 'The entity is a bot user; bot sessions cannot be ended.';
    case 'user_not_found':
      return 'Slack does not know this user (deleted or outside the org).';
    default:
      return `Slack answered ${untrusted(code)}.`;
  }
}

function explainHold(response: ResponseFacts): string {
  switch (response.holdReason) {
    case 'app_anomaly':
      return 'The anomaly is about an app, not a person. Review what the app does and who installed it; revoke its tokens or remove it if this activity is not expected.';
    case 'trusted_network':
      return `The activity came from a trusted network (${response.trustedNetwork ?? 'see the trustedNetworks configuration'}): anomalies from trusted networks are never acted on.`;
    case 'rule_notify_only':
      return `The response rule for ${(response.notifyOnlyEvents ?? []).map(eventLabel).join(', ') || 'this anomaly'} is notify only.`;
    case 'excluded':
      return `The user is excluded from automatic responses: ${(response.exclusions ?? []).join(', ')}.`;
    case 'external_user':
      return `The user belongs to another organisation (Slack Connect): ${describeExternal(response.external)}. Their own organisation\u2019s admins can end their sessions; this org cannot.`;
    case 'not_in_directory':
      return 'Slack\u2019s directory does not know this user, so their sessions were not ended. Review this activity by hand.';
    case 'protected':
      return 'This is the org\u2019s primary owner, whose sessions are never ended automatically. Review this activity by hand and contact them directly.';
    case 'cooldown':
      return `Sessions were already ended within the last ${response.cooldownMinutes ?? '?'} minutes${RESET_BY[response.resetBy ?? 'responder']}; not ending them again (loop protection).`;
    case 'circuit_breaker':
      return `More than ${response.maxSessionResetsPerHour ?? '?'} automatic session resets within the last hour: automatic resets are paused until the oldest of them is an hour old. Review the anomalies and act by hand.`;
    case undefined:
      return 'No reason was recorded.';
  }
}

const RESET_BY: Record<NonNullable<ResponseFacts['resetBy']> | 'responder', string> = {
  responder: '',
  slack_anomaly_response: ' by Slack\u2019s built-in anomaly event response',
  admin: ' by an admin',
};

function describeExternal(external: ResponseFacts['external']): string {
  switch (external?.fact) {
    case 'is_external_user':
      return 'the audit entry marks the person as an external user';
    case 'stranger':
      return 'Slack\u2019s directory marks the person as a stranger';
    case 'other_enterprise':
      return `the person belongs to another organisation (${untrusted(external.value ?? '')})`;
    case 'entity_team':
      return `the audit entry\u2019s entity_team ${untrusted(external.value ?? '')} is not one of the org\u2019s workspaces`;
    case 'entry_team':
      return `the audit entry\u2019s entity team ${untrusted(external.value ?? '')} is not one of the org\u2019s workspaces`;
    case 'directory_team':
      return `the directory\u2019s team_id ${untrusted(external.value ?? '')} is not one of the org\u2019s workspaces`;
    case undefined:
      return 'Slack says so';
  }
}

/**
 * The admin digest of one notification type and period: during a burst admins get this once
 * per period instead of one message per person. Counts only, in our words: the period's times
 * and the people (their values inert) are parts of their own (templates.ts, renderDigestMessage).
 * The lead is `opening` + the period + `closing`.
 */
export function describeDigest(type: NotificationType, people: number): { title: string; opening: string; closing: string; step: string } {
  const many = people === 1 ? '1 person' : `${people} people`;
  const bulk = 'This digest replaces one alert per person while anomalies arrive in bulk.';
  switch (type) {
    case 'sessions_ended':
      return {
        title: `Sessions ended for ${many} (digest)`,
        opening: `Slack reported anomalies for ${many}`,
        closing: `Their Slack sessions were ended; each of them was told on their own. ${bulk}`,
        step: 'Ask each person below by another channel whether this was them; for anyone it was not, follow the steps of their own alert.',
      };
    case 'anomaly_not_acted_on':
      return {
        title: `Anomalies for ${many}, no action taken (digest)`,
        opening: `Slack reported anomalies for ${many}`,
        closing: `No automatic action was taken; what was done is given for each person. ${bulk}`,
        step: 'Review each person below; end their sessions by hand in Slack admin if the anomaly was not expected.',
      };
    case 'action_failed':
      return {
        title: `Automatic response FAILED for ${many} (digest)`,
        opening: `Slack reported anomalies for ${many}`,
        closing: 'The automatic response FAILED: their sessions may still be active.',
        step: 'End their sessions by hand: in the audit log, click ⋯ next to each entry, then Sign out of Slack; or from their pages in the admin dashboard.',
      };
    default:
      return {
        title: `${people === 1 ? '1 alert' : `${people} alerts`} (digest)`,
        opening: `Slack reported ${people === 1 ? 'one event' : `${people} events`}`,
        closing: 'Each is listed below. This digest replaces one alert per event while they arrive in bulk.',
        step: 'Review each event below as you would its own alert.',
      };
  }
}
