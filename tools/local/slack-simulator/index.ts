/**
 * Slack Enterprise simulator: the subset of Slack's Web API and Audit Logs API this project
 * uses, over an org directory and a stream of anomaly entries from a scenario file, with
 * recording and fault injection. Used by local mode, integration and reliability tests.
 *
 *   const sim = await startSlackSimulator({ scenario: 'tools/local/scenarios/default.json', now: () => clock });
 *   new SlackWebApi({ tokens, apiUrl: sim.apiUrl });      // Web API
 *   fetch(`${sim.auditApiUrl}logs?action=anomaly`, …);   // Audit Logs API
 *   sim.state();  await sim.stop();
 */
export {
  startSlackSimulator,
  DEFAULT_SCENARIO_PATH,
  DEFAULT_CONFIG_PATH,
  type SlackSimulator,
  type SlackSimulatorOptions,
  type SimulatorState,
  type EntryStatus,
} from './simulator';
export {
  loadScenario,
  parseScenarioEntries,
  ScenarioError,
  scenarioSchema,
  type Scenario,
  type ScenarioInput,
  type ScenarioEntry,
  type ScenarioEntryInput,
  type ScenarioExpect,
  type Org,
  type OrgUser,
} from './scenario';
export { generateEntries, documentationIp, type GenerateEntriesOptions, type GeneratedEntry, type GeneratorUser } from './generator';
export { FAULT_KINDS, AUDIT_TARGET, faultRuleSchema, type FaultKind, type FaultRule, type FaultRuleInput, type FaultRuleStatus } from './faults';
export { DEFAULT_TOKENS, DEFAULT_SCOPES, type SimulatorTokens, type TokenName } from './auth';
export { RATE_LIMITS, RATE_WINDOW_MS, type RateRule } from './rate-limits';
export { SECURITY_ADMIN_ROLE_ID } from './directory';
export { DEFAULT_LIMIT as AUDIT_DEFAULT_LIMIT, MAX_LIMIT as AUDIT_MAX_LIMIT } from './audit-log';
export { ACTIONABLE_REASONS, OTHER_REASONS, KNOWN_REASONS } from './reason-codes';
export type { AuditEntry } from './entries';
export type { Recordings, ResetRecord, InvalidationRecord, DmRecord, MessageRecord, CallRecord } from './recorder';
