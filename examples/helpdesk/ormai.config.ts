import { defineConfig } from '../../src/config.js';
import { helpdeskApp } from './app.js';

/**
 * The helpdesk example: `npm run ormai -- serve --config examples/helpdesk/ormai.config.ts`.
 * Its embedded database is kept apart from the saas example's.
 */
export default defineConfig({
  app: helpdeskApp,
  database: { applyMigrations: true, dataDir: '.ormai/helpdesk-pgdata' },
});
