import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OrmaiApp } from './app.js';
import type { Principal } from './policy/principal.js';
import type { ApprovalGate } from './schema/approval-gate.js';
import type { NamingOptions } from './schema/naming.js';

/** `ormai.config.ts`: which app to serve and how. Env vars override it (CONTRACT §1). */
export interface OrmaiConfig {
  app: OrmaiApp;
  database?: {
    /** PostgreSQL URL; when absent the embedded database is used. `DATABASE_URL` overrides. */
    url?: string;
    /** PostgreSQL schema for the tables (adapter-pg ignores `?schema=`). */
    schema?: string;
    /** Where the embedded database keeps its files (default `.ormai/pgdata`). */
    dataDir?: string;
  };
  server?: { port?: number; host?: string };
  auth?: {
    /** HS256 secret; `ORMAI_JWT_SECRET` overrides. */
    jwtSecret?: string;
    tenantClaim?: string;
    /** Replaces JWT auth: return the request's principal, or null for 401. */
    resolvePrincipal?: (request: Request) => Promise<Principal | null> | Principal | null;
  };
  naming?: NamingOptions;
  writes?: {
    /** Decides writes the policy gates with requireApproval (default: the persistent queue). */
    approvalGate?: ApprovalGate;
  };
  audit?: {
    /** Where records go (default: the table and the JSONL file). */
    sinks?: ('sql' | 'jsonl')[];
    /** The JSONL file (default `.ormai/audit.jsonl`); rotated past `maxFileBytes` (default 50 MB). */
    jsonlPath?: string;
    maxFileBytes?: number;
    /** Refuse reads while the audit log cannot be written (default true); writes are always refused. */
    failClosedReads?: boolean;
  };
}

export function defineConfig(config: OrmaiConfig): OrmaiConfig {
  return config;
}

export const DEFAULT_CONFIG_FILE = 'ormai.config.ts';

export async function loadConfig(path = DEFAULT_CONFIG_FILE): Promise<OrmaiConfig> {
  const file = resolve(path);
  let loaded: { default?: OrmaiConfig };
  try {
    loaded = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new Error(`cannot load the config ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!loaded.default?.app) {
    throw new Error(`${file} must export default defineConfig({ app, … })`);
  }
  return loaded.default;
}
