import { isBuiltin } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { lambdaEsbuildOptions } from '../../lib/bundling';
import { FUNCTIONS, LAMBDA_BUNDLING } from '../../lib/definitions';

describe('Lambda bundles (LAMBDA_BUNDLING, as the stack and `npm run bench` build them)', () => {
  test('nothing is external: the AWS SDK is bundled, so production runs the version the tests ran', () => {
    expect(LAMBDA_BUNDLING.externalModules).toEqual([]);
  });

  test.each(Object.keys(FUNCTIONS) as (keyof typeof FUNCTIONS)[])('%s: the bundle requires nothing but Node built-ins', async (key) => {
    const result = await build({
      ...lambdaEsbuildOptions(FUNCTIONS[key].entry, path.join(os.tmpdir(), `${key}.js`)),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const leftOut = Object.values(result.metafile.outputs)
      .flatMap((output) => output.imports)
      .filter((imported) => imported.external && !isBuiltin(imported.path))
      .map((imported) => imported.path);
    expect(leftOut).toEqual([]);
  });
});
