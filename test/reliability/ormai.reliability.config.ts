// The server the reliability suite runs as a child process: the example app on the private
// PostgreSQL cluster the suite starts (its URL comes from RELIABILITY_DATABASE_URL).
import { saasApp } from '../../examples/saas/app.js';
import { defineConfig } from '../../src/config.js';

const url = process.env.RELIABILITY_DATABASE_URL;
if (!url) throw new Error('RELIABILITY_DATABASE_URL is not set (the reliability suite sets it)');

export default defineConfig({
  app: saasApp,
  database: { url, schema: 'ormai_reliability', applyMigrations: true },
  // below the thousands of calls refused during the outage test's 5 s, so it also sees calls
  // refused unrecorded; far above what the no-outage load keeps waiting
  audit: { maxQueue: 2000 },
});
