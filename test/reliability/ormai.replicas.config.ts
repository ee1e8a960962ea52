// The config every replica of the three-replica suite serves: the example app on the private
// PostgreSQL cluster (RELIABILITY_DATABASE_URL), and, when RELIABILITY_RATE_LIMIT is
// `<requests>/<windowSeconds>`, a per-tenant rate limit the replicas share through that database.
import { saasApp } from '../../examples/saas/app.js';
import { defineConfig } from '../../src/config.js';

const url = process.env.RELIABILITY_DATABASE_URL;
if (!url) throw new Error('RELIABILITY_DATABASE_URL is not set (the reliability suite sets it)');
const limit = /^(\d+)\/(\d+)$/.exec(process.env.RELIABILITY_RATE_LIMIT ?? '');

export default defineConfig({
  app: saasApp,
  database: { url, schema: 'ormai_replicas', applyMigrations: true },
  // a replica killed mid-load must lose no record of a call it answered
  audit: { durableReads: true },
  ...(limit
    ? {
        rateLimits: {
          perTenant: { requests: Number(limit[1]), windowSeconds: Number(limit[2]) },
        },
      }
    : {}),
});
