import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/browser/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // each file opens its own database; two cores run two files at a time
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: '.ormai/test-results.json' },
  },
});
