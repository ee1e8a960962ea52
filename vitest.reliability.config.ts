import { defineConfig } from 'vitest/config';
import { resolveLikeNode } from './vitest.config.js';

// The reliability suite (`npm run test:reliability`): a real `ormai serve` under load and a private
// PostgreSQL cluster restarted under it. RELIABILITY_SECONDS sets the load's length (default 60).
export default defineConfig({
  ...resolveLikeNode,
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: '.ormai/test-results-reliability.json' },
  },
});
