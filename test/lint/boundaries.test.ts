import { join } from 'node:path';
import type { ESLint as ESLintClass } from 'eslint';

/**
 * The layer boundaries in eslint.config.js, checked through the ESLint Node API with the project's
 * real config: each case lints a snippet as if it lived at `filePath` (the file need not exist).
 *
 * The config is require()d and passed in, rather than found by ESLint: ESLint loads config files with
 * import(), which jest refuses without --experimental-vm-modules.
 */
const ROOT = join(__dirname, '..', '..');

let eslint: ESLintClass;

beforeAll(async () => {
  const { ESLint } = await import('eslint');
  const config = require('../../eslint.config.js');
  eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: config });
});

async function lint(filePath: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return result.messages.map((message) => ({ ruleId: message.ruleId, severity: message.severity, message: message.message }));
}

const boundaryError = (text: string) =>
  expect.objectContaining({ ruleId: '@typescript-eslint/no-restricted-imports', severity: 2, message: expect.stringContaining(text) });

describe('layer boundaries', () => {
  test('functions/domain may not import the AWS SDK', async () => {
    const messages = await lint('functions/domain/x.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const c = DynamoDBClient;\n");
    expect(messages).toEqual([boundaryError("'@aws-sdk/client-dynamodb'")]);
  });

  test('functions/domain may not import an adapter', async () => {
    const messages = await lint('functions/domain/x.ts', "import { SlackWebApi } from '../adapters/slack/web-api';\nexport type S = SlackWebApi;\n");
    expect(messages).toEqual([boundaryError("'../adapters/slack/web-api'")]);
  });

  test('functions/domain may not leave functions/domain from a sub-folder either', async () => {
    expect(await lint('functions/domain/config/x.ts', "import '../../runtime/env';\n")).toEqual([boundaryError("'../../runtime/env'")]);
    expect(await lint('functions/domain/config/x.ts', "import '../../../tools/local/pipeline';\n")).toEqual([
      boundaryError("'../../../tools/local/pipeline'"),
    ]);
  });

  test('functions/adapters may not import a use case', async () => {
    const messages = await lint('functions/adapters/x.ts', "import { respond } from '../respond/respond';\nexport const r = respond;\n");
    expect(messages).toEqual([boundaryError("'../respond/respond'")]);
  });

  test('lib may not import tools', async () => {
    const messages = await lint('lib/x.ts', "import { startPipeline } from '../tools/local/pipeline';\nexport const s = startPipeline;\n");
    expect(messages).toEqual([boundaryError("'../tools/local/pipeline'")]);
  });

  test('a domain file importing only zod and the domain passes', async () => {
    const code = [
      "import { z } from 'zod';",
      "import { ValidationError } from './errors';",
      'export const Name = z.string().min(1);',
      'export type E = ValidationError;',
      '',
    ].join('\n');
    expect(await lint('functions/domain/x.ts', code)).toEqual([]);
  });
});
