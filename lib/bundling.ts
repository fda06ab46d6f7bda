import type { BuildOptions } from 'esbuild';
import { LAMBDA_BUNDLING } from './definitions';

/**
 * LAMBDA_BUNDLING as esbuild API options: the build CDK runs for a function (see
 * lib/constructs/responder-function.ts), for tools that bundle the functions themselves
 * (`npm run bench`) and the tests of the bundles.
 */
export function lambdaEsbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: LAMBDA_BUNDLING.target,
    format: LAMBDA_BUNDLING.format,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    external: [...LAMBDA_BUNDLING.externalModules],
    ...(LAMBDA_BUNDLING.banner ? { banner: { js: LAMBDA_BUNDLING.banner } } : {}),
    outfile,
  };
}
