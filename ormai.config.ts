import { saasApp } from './examples/saas/app.js';
import { defineConfig } from './src/config.js';

/** The example app on the embedded database (or PostgreSQL when DATABASE_URL is set). */
export default defineConfig({
  app: saasApp,
});
