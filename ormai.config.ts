import { saasApp } from './examples/saas/app.js';
import { defineConfig } from './src/config.js';

/** The example app on the embedded database (or PostgreSQL when DATABASE_URL is set). */
export default defineConfig({
  app: saasApp,
  // the example owns its database: its migrations are applied (a real app runs its own)
  database: { applyMigrations: true },
});
