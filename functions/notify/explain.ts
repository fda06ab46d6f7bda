import { eventLabel } from '../domain/anomaly-catalogue';
import type { ResponseFacts } from '../domain/messages';

/**
 * What the responder did and why, in the words the alerts use. The respond function sends only
 * facts (functions/domain/decision/response.ts); the English lives here, with the templates.
 */
export function describeResponse(response: ResponseFacts): { actionTaken: string; explanation?: string } {
  switch (response.outcome) {
    case 'sessions_ended':
      return { actionTaken: 'Ended all of the user\u2019s Slack sessions on every device' };
    case 'reset_refused':
      return { actionTaken: 'Tried to end the user\u2019s sessions, but Slack refused', explanation: explainRefusal(response.errorCode ?? 'unknown_error') };
    case 'held':
    case 'protected':
      return {
        actionTaken:
          response.holdReason === 'circuit_breaker'
            ? 'Did not end sessions: the hourly limit on automatic resets was reached'
            : 'No action taken; this is a notification only',
        explanation: explainHold(response),
      };
  }
}

function explainRefusal(code: string): string {
  switch (code) {
    case 'cannot_reset_primary_owner':
      return 'Slack does not allow ending the primary owner\u2019s sessions through the API. Review this activity by hand.';
    case 'cannot_reset_bot':
      return 'The entity is a bot user; bot sessions cannot be ended.';
    case 'user_not_found':
      return 'Slack does not know this user (deleted or outside the org).';
    default:
      return `Slack answered ${code}.`;
  }
}

function explainHold(response: ResponseFacts): string {
  switch (response.holdReason) {
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
      return `Sessions were already ended within the last ${response.cooldownMinutes ?? '?'} minutes; not ending them again (loop protection).`;
    case 'circuit_breaker':
      return `More than ${response.maxSessionResetsPerHour ?? '?'} automatic session resets within the last hour: automatic resets are paused until the oldest of them is an hour old. Review the anomalies and act by hand.`;
    case undefined:
      return 'No reason was recorded.';
  }
}

function describeExternal(external: ResponseFacts['external']): string {
  switch (external?.fact) {
    case 'is_external_user':
      return 'the audit entry marks the person as an external user';
    case 'stranger':
      return 'Slack\u2019s directory marks the person as a stranger';
    case 'other_enterprise':
      return `the person belongs to another organisation (${external.value})`;
    case 'entity_team':
      return `the audit entry\u2019s entity_team ${external.value} is not one of the org\u2019s workspaces`;
    case 'entry_team':
      return `the audit entry\u2019s entity team ${external.value} is not one of the org\u2019s workspaces`;
    case 'directory_team':
      return `the directory\u2019s team_id ${external.value} is not one of the org\u2019s workspaces`;
    case undefined:
      return 'Slack says so';
  }
}
