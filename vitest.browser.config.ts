import { defineConfig } from 'vitest/config';
import { resolveLikeNode } from './vitest.config.js';

// The real-browser suite (`npm run test:browser`): needs Chromium, which .ci/run installs.
export default defineConfig({
  ...resolveLikeNode,
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.ormai/test-results-browser.json' },
  },
});
