import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests Stryker runs against each mutant of the redeploy domain (see stryker.config.mjs):
 * only the fast, in-process suites that exercise it. Infra synthesis, end-to-end child
 * processes and the CLI stay out.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/functions/redeploy/**/*.test.ts', 'test/model/**/*.test.ts'],
    exclude: [
      // Reaches none of the mutated files.
      'test/functions/redeploy/config.test.ts',
    ],
    testTimeout: 10_000,
    hookTimeout: 10_000,
  },
});
