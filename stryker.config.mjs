// @ts-check
/**
 * Mutation testing of the redeploy domain: `npm run test:mutation` runs Stryker, then
 * scripts/mutation-report.mjs, which fails unless every mutated file scores at least 90%.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'functions/redeploy/arn.ts',
    'functions/redeploy/change.ts',
    'functions/redeploy/references.ts',
    'functions/redeploy/events.ts',
    'functions/redeploy/redeploy.ts',
    'functions/redeploy/secrets.ts',
    'functions/redeploy/discovery.ts',
    'functions/redeploy/sweep.ts',
  ],
  // Only what the mutation suite imports is copied into the sandbox.
  ignorePatterns: ['cdk.out', 'infra', 'cli', 'bench', 'docs', 'reports', 'coverage'],
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  // Per file, 90% is enforced by scripts/mutation-report.mjs; `break` applies to the total.
  thresholds: { high: 95, low: 90, break: 90 },
  concurrency: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
