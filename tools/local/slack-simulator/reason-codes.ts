/**
 * Reason codes Slack documents for `anomaly` audit entries (`details.reason`), copied from the
 * project's Slack fact sheet. The simulator rejects other codes in scenario files to catch typos.
 */
export const ACTIONABLE_REASONS = [
  'tor',
  'unexpected_scraping',
  'excessive_downloads',
  'session_fingerprint',
  'spoofed_user_agent',
  'unexpected_api_call_volume',
  'unexpected_user_agent',
] as const;

export const OTHER_REASONS = [
  'asn',
  'excessive_file_shares',
  'excessive_malware_uploads',
  'ip_address',
  'potential_spam',
  'search_volume', // deprecated by Slack, still seen in old entries
  'unexpected_admin_action',
  'unexpected_client',
  'unexpected_credential_testing', // apps only
  'unexpected_message_deletion',
  'user_agent',
] as const;

export const KNOWN_REASONS: readonly string[] = [...ACTIONABLE_REASONS, ...OTHER_REASONS];

export function isKnownReason(code: string): boolean {
  return KNOWN_REASONS.includes(code);
}
