/**
 * How the functions are bundled, in one place: NodejsFunction uses it for the deployed assets,
 * and tests and benchmarks build the very same bundle with esbuild directly.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** Node.js major of the Lambda runtime (see FUNCTION_RUNTIME). */
export const NODE_TARGET = 'node24';

/** The newest Node.js runtime Lambda offers (nodejs20.x is deprecated there). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** The repository root: entries, the lock file and esbuild's working directory. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Lets CommonJS dependencies inside the ES module bundle call require(). */
export const REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module';" +
  'const require = __createRequire(import.meta.url);';

export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: NODE_TARGET,
  minify: true,
  mainFields: ['module', 'main'],
  // Bundle the SDK too: one file to load, pinned to the versions we test with.
  externalModules: [],
  banner: REQUIRE_BANNER,
  forceDockerBundling: false,
  logLevel: nodejs.LogLevel.WARNING,
};

/** The same options, spelled for esbuild's `build()` API. */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: NODE_TARGET,
  minify: true,
  mainFields: ['module', 'main'],
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
} as const;

/**
 * The NodejsFunction props every function of the redeployer shares: the handler exported by
 * `entry` (relative to the repository root), bundled as above, on the same runtime, on arm64.
 */
export function functionCode(entry: string) {
  return {
    entry: join(PROJECT_ROOT, entry),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: FUNCTION_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    bundling: BUNDLING,
  } satisfies nodejs.NodejsFunctionProps;
}
