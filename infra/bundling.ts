/**
 * How the function is bundled, in one place: NodejsFunction uses it for the deployed asset, and
 * tests and benchmarks build the very same bundle with esbuild directly.
 */
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/** Node.js major of the Lambda runtime (see FUNCTION_RUNTIME). */
export const NODE_TARGET = 'node24';

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
