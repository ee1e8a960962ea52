import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OrmaiApp } from './app.js';
import type { Principal } from './policy/principal.js';
import type { ApprovalGate } from './schema/approval-gate.js';
import type { NamingOptions } from './schema/naming.js';
import { StartupError } from './startup-error.js';

/** `ormai.config.ts`: which app to serve and how. Env vars override it (CONTRACT §1). */
export interface OrmaiConfig {
  app: OrmaiApp;
  database?: {
    /** PostgreSQL URL; when absent the embedded database is used. `DATABASE_URL` overrides. */
    url?: string;
    /** PostgreSQL schema of the app's tables (default `public`; adapter-pg ignores `?schema=`). */
    schema?: string;
    /** Where the embedded database keeps its files (default `.ormai/pgdata`). */
    dataDir?: string;
    /** PostgreSQL schema of ormai's own tables: audit log, approvals (default `ormai`). */
    ormaiSchema?: string;
    /**
     * Apply `app.migrationsDir` at start (default false). The app's tables are the app's: ormai only
     * checks that they match the datamodel. The examples, which own their database, set it.
     */
    applyMigrations?: boolean;
  };
  server?: {
    port?: number;
    host?: string;
    /** Where the endpoints are served (defaults `/graphql`, `/mcp`, `/healthz`). */
    paths?: OrmaiPaths;
  };
  auth?: {
    /** HS256 secret; `ORMAI_JWT_SECRET` overrides. */
    jwtSecret?: string;
    tenantClaim?: string;
    /** Replaces JWT auth: return the request's principal, or null for 401. */
    resolvePrincipal?: (request: Request) => Promise<Principal | null> | Principal | null;
  };
  naming?: NamingOptions;
  redaction?: {
    /**
     * Keys the HMAC-SHA256 of hashed fields; `ORMAI_HASH_KEY` overrides. Required with
     * `NODE_ENV=production`. Changing it changes every hashed value.
     */
    hashKey?: string;
  };
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

export interface OrmaiPaths {
  graphql?: string;
  mcp?: string;
  healthz?: string;
}

export function defineConfig(config: OrmaiConfig): OrmaiConfig {
  return config;
}

export const DEFAULT_CONFIG_FILE = 'ormai.config.ts';

export async function loadConfig(path = DEFAULT_CONFIG_FILE): Promise<OrmaiConfig> {
  const file = resolve(path);
  const url = pathToFileURL(file).href;
  let loaded: { default?: OrmaiConfig };
  try {
    if (!/\.[cm]?js$/.test(file)) {
      // a TypeScript config, and the TypeScript it imports (a generated Prisma client), loads
      // through tsx. Not tsImport: its private module namespace would load a second graphql and a
      // second ormai for the config, whose errors and classes the server would not recognise.
      const marker = Symbol.for('ormai.tsx-registered');
      const registered = globalThis as Record<symbol, boolean | undefined>;
      if (!registered[marker]) {
        const { register } = await import('tsx/esm/api');
        register();
        registered[marker] = true;
      }
    }
    loaded = await import(url);
  } catch (error) {
    throw new Error(`cannot load the config ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // in a project without "type": "module" the config is compiled as CommonJS, and import() hands
  // back its module.exports, whose `default` is the config
  const config =
    (loaded.default as { default?: OrmaiConfig } | undefined)?.default ?? loaded.default;
  if (!config?.app) {
    throw new Error(`${file} must export default defineConfig({ app, … })`);
  }
  return config;
}

/** The hash key `ORMAI_HASH_KEY` or the config names, if any. */
export function configuredHashKey(
  config: Pick<OrmaiConfig, 'redaction'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return env.ORMAI_HASH_KEY || config.redaction?.hashKey || undefined;
}

export interface HashKeyChoice {
  /** The configured key, or undefined for the fallback (the policy's `hashSalt`, else the dev key). */
  key: string | undefined;
  /** Said once at start when hashed values are not keyed by a secret of this deployment. */
  warning?: string;
}

const GENERATE_KEY = 'generate one with `openssl rand -hex 32`';

/**
 * The key hashed fields are keyed with, as the server starts: `ORMAI_HASH_KEY`, else the config's
 * `redaction.hashKey`. Without either, `NODE_ENV=production` refuses to start; elsewhere the
 * policy's deprecated `hashSalt` or the published dev key is used, with a warning.
 */
export function resolveHashKey(
  config: Pick<OrmaiConfig, 'app' | 'redaction'>,
  env: NodeJS.ProcessEnv = process.env,
): HashKeyChoice {
  const key = configuredHashKey(config, env);
  if (key) return { key };
  const salt = (config.app.policy as { hashSalt?: unknown } | undefined)?.hashSalt;
  if (env.NODE_ENV === 'production') {
    throw new StartupError(
      'HASH_KEY_REQUIRED',
      'ORMAI_HASH_KEY is required when NODE_ENV=production (it keys the HMAC of hashed fields)',
      {
        hints: [
          `set ORMAI_HASH_KEY; ${GENERATE_KEY}`,
          ...(salt ? ['policy.hashSalt is deprecated and is not used as a production key'] : []),
        ],
      },
    );
  }
  return {
    key: undefined,
    warning: salt
      ? `policy.hashSalt is deprecated and keys hashed fields only outside production: set ORMAI_HASH_KEY instead (${GENERATE_KEY})`
      : `ORMAI_HASH_KEY is unset: hashed fields use the published dev key, so anyone can recompute them; set it (${GENERATE_KEY}), as NODE_ENV=production requires`,
  };
}
