/**
 * Jest config for mutation testing (`npm run mutate`, stryker.config.json): only the tests that can
 * kill a mutant of the mutated code (functions/domain/**, the ledger adapter in
 * functions/adapters/dynamodb/), and none that need the AWS emulators - so no globalSetup.
 * test/unit/** covers the domain and the ledger: the ledger contract the DynamoDB Local suites hold
 * the adapters to also runs there on a strict in-memory table behind aws-sdk-client-mock
 * (test/support/table-double.ts), so leaving the emulator suites out loses no ledger coverage;
 * test/contract/** runs Slack's published examples through the domain's parsers.
 *
 * Stryker refuses to start while any selected test fails. MUTATE_SKIP_TESTS (a regex of test paths,
 * e.g. `MUTATE_SKIP_TESTS=test/unit/notify/ npm run mutate`) leaves out a test that is red for an
 * unrelated reason; the scores are then a little lower than they should be, never higher.
 * @type {import('jest').Config}
 */
const base = require('./jest.config');

const { globalSetup: _setup, globalTeardown: _teardown, ...withoutEmulators } = base;

module.exports = {
  ...withoutEmulators,
  testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/contract/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.MUTATE_SKIP_TESTS ? [process.env.MUTATE_SKIP_TESTS] : [])],
};
