import { defineConfig } from 'vitest/config';

// Load graphql as Node does (index.mjs): Vite's `development` condition would pick graphql's
// __dev__ build for test files while the dependencies get the other one, two realms of one library.
export const resolveLikeNode = {
  resolve: { conditions: ['module', 'node', 'production'] },
  ssr: { resolve: { conditions: ['module', 'node', 'production'] } },
};

export default defineConfig({
  ...resolveLikeNode,
  test: {
    // examples/ hold tests a user would write (ormai/testing against the example's policy)
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['test/browser/**', 'test/reliability/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // each file opens its own database; two cores run two files at a time
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: '.ormai/test-results.json' },
  },
});
