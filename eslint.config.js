// @ts-check
// ESLint flat config: typescript-eslint "recommended" (syntax-only, no type information, so it stays fast)
// plus layer-boundary rules for the Lambda code. Run with `npm run lint` (also part of `npm test`).
//
// Layer boundaries:
//   functions/domain/**    pure: may import only `zod` and relative files inside functions/domain.
//   functions/adapters/**  never imports the use cases (poll-audit-logs, respond, notify).
//   functions/**, lib/**, bin/**  never import tools/ or test/.
//
// All boundaries are expressed with @typescript-eslint/no-restricted-imports (the core rule plus
// `import x = require()` support; `import type` is restricted too - a type import across a boundary
// is still a dependency). ESLint does not merge rule options between config objects, so every block
// below repeats the complete pattern list that applies to its files (built by `restrictedImports`).
// CommonJS (like the rest of the project) so test/lint/boundaries.test.ts can require() it: ESLint's own
// config-file loader uses import(), which jest cannot run without --experimental-vm-modules.
const { defineConfig } = require('eslint/config');
const eslint = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** Use-case folders under functions/. */
const USE_CASES = ['poll-audit-logs', 'respond', 'notify', 'config-changes'];

/** Deployed/infrastructure code must not depend on local tooling or tests (`../tools/x`, `../../test/x`, ...). */
const NO_TOOLS_OR_TEST = {
  regex: '^(\\.\\./)+(tools|test)(/|$)',
  message: 'functions/, lib/ and bin/ must not import from tools/ or test/.',
};

/** Adapters sit below the use cases (`../respond/respond`, `../../notify/x`, ...). */
const NO_USE_CASES = {
  regex: `^(\\.\\./)+(${USE_CASES.join('|')})(/|$)`,
  message: 'functions/adapters must not import the use cases (poll-audit-logs, respond, notify).',
};

/** Domain: the only package allowed is zod (no AWS SDK, Slack, Powertools, Middy, node:http(s), ...). */
const DOMAIN_ONLY_ZOD = {
  regex: '^(?!zod(/|$))[^.]',
  message: 'functions/domain is pure: the only package it may import is zod.',
};

/** Domain: no relative path into the other layers or out of functions/ (backstop for any depth). */
const OTHER_LAYERS = `(adapters|runtime|${USE_CASES.join('|')}|lib|bin|tools|test)(/|$)`;
const DOMAIN_NO_OTHER_LAYERS = {
  regex: `^(\\.\\./)+${OTHER_LAYERS}`,
  message: 'functions/domain must not import adapters, runtime, the use cases, lib, bin, tools or test.',
};

/**
 * Domain file `depth` folders below functions/domain: a relative path with more `../` leaves the domain.
 * @param {number} depth
 */
function domainNoEscape(depth) {
  return {
    // (paths naming another layer are left to DOMAIN_NO_OTHER_LAYERS, so they are reported once)
    regex: `^(\\.\\./){${depth + 1}}(?!(\\.\\./)*${OTHER_LAYERS})`,
    message: 'functions/domain may import only relative files inside functions/domain.',
  };
}

/** @param {Array<{regex: string, message: string}>} patterns */
function restrictedImports(...patterns) {
  return {
    // The TS extension replaces the core rule (which would double-report).
    'no-restricted-imports': 'off',
    '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
  };
}

const DOMAIN_MAX_DEPTH = 4;

module.exports = defineConfig(
  {
    ignores: ['**/node_modules/**', 'cdk.out/**', 'coverage/**', '.local-state/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, tseslint.configs.recommended],
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // tsc already enforces noUnusedLocals/noUnusedParameters; keep the lint rule but let `_x` opt out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },

  // Tests read CloudFormation templates, Slack fixtures and raw HTTP bodies as loosely typed JSON on
  // purpose, and load modules with require() inside jest.isolateModules / after jest.doMock.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },

  // functions/**, lib/**, bin/**: never import tools/ or test/.
  {
    files: ['functions/**/*.ts', 'lib/**/*.ts', 'bin/**/*.ts'],
    rules: restrictedImports(NO_TOOLS_OR_TEST),
  },

  // functions/adapters/**: never import the use cases.
  {
    files: ['functions/adapters/**/*.ts'],
    rules: restrictedImports(NO_USE_CASES, NO_TOOLS_OR_TEST),
  },

  // functions/domain/**: zod + itself only. One block per folder depth so that "leaves functions/domain"
  // is exact; anything deeper than DOMAIN_MAX_DEPTH still gets the named-layer backstop.
  {
    files: ['functions/domain/**/*.ts'],
    rules: {
      ...restrictedImports(DOMAIN_ONLY_ZOD, DOMAIN_NO_OTHER_LAYERS),
      // Static imports only, so the rule above sees every dependency (require() is already
      // reported by @typescript-eslint/no-require-imports).
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'functions/domain must use static imports (zod and functions/domain only).' },
      ],
    },
  },
  ...Array.from({ length: DOMAIN_MAX_DEPTH + 1 }, (_, depth) => ({
    files: [`functions/domain/${'*/'.repeat(depth)}*.ts`],
    rules: restrictedImports(DOMAIN_ONLY_ZOD, DOMAIN_NO_OTHER_LAYERS, domainNoEscape(depth)),
  })),
);
