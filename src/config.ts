import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OrmaiApp } from './app.js';
import type { Principal } from './policy/principal.js';
import type { ApprovalGate } from './schema/approval-gate.js';
import type { NamingOptions } from './schema/naming.js';
import type { ClaimPaths } from './server/claim-paths.js';
import type { JwksOptions } from './server/jwks.js';
import type { RateLimits } from './server/rate-limit.js';
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
    /** Where the endpoints are served (defaults `/graphql`, `/mcp`, `/healthz`, `/metrics`). */
    paths?: OrmaiPaths;
    /**
     * The URL clients reach ormai at (`https://ormai.example.com`), named by the OAuth metadata
     * and the 401 challenge; default: each request's own origin.
     */
    publicUrl?: string;
    /** Behind a proxy: take the request's origin from X-Forwarded-Proto and X-Forwarded-Host. */
    trustProxy?: boolean;
    /**
     * Sets of roles kept compiled, each with its GraphQL schema and MCP tool list (default 100);
     * past it the least recently used is dropped and built again when next used. A role set takes
     * about 0.3 MB of heap per model it reads (measured: `npm run bench -- --huge`).
     */
    roleSetCacheSize?: number;
  };
  auth?: {
    /** HS256 secret; `ORMAI_JWT_SECRET` overrides. */
    jwtSecret?: string;
    /** The claim holding the tenant id (default `tenantId`); `claims.tenant` takes precedence. */
    tenantClaim?: string;
    /**
     * An identity provider's key set: tokens not signed with HS* are verified against it.
     * `ORMAI_JWKS_URL`, `ORMAI_JWT_ISSUER` and `ORMAI_JWT_AUDIENCE` override; issuer and audience
     * are then checked on every JWT, HS256 ones included.
     */
    jwks?: JwksOptions;
    /** Where sub, tenant and roles are in a token (`realm_access.roles`, `['https://x.com/org'].id`). */
    claims?: ClaimPaths;
    /** Accept `ormai_sk_…` API keys (`ormai api-key create`) as bearer tokens (default true). */
    apiKeys?: boolean;
    /** The OAuth metadata's `authorization_servers` (default: the JWT issuer, when set). */
    authorizationServers?: string[];
    /** The OAuth metadata's `scopes_supported`. */
    scopesSupported?: string[];
    /** Replaces JWT auth: return the request's principal, or null for 401. */
    resolvePrincipal?: (request: Request) => Promise<Principal | null> | Principal | null;
  };
  naming?: NamingOptions;
  mcp?: {
    /**
     * How MCP tools are listed: `function` (default) names every model API accepts (`db_query`,
     * `orders_recent_for_customer`); `dotted` OrmAI's (`db.query`). tools/call takes either.
     */
    toolNames?: 'function' | 'dotted';
    /**
     * Browser origins that may call `/mcp` (`'https://app.example.com'`, or `'*'` for any); any
     * other `Origin` gets 403 (DNS rebinding). Default: none but the server's own on localhost;
     * requests without `Origin` (agents, CLIs) are not affected.
     */
    allowedOrigins?: string[];
  };
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
    /**
     * Answer a read only once its record is written (default false: reads are recorded in the
     * background, in batches, so a process killed mid-load loses the records still queued; writes
     * are always recorded before their answer). Costs a write round trip per read batch.
     */
    durableReads?: boolean;
    /**
     * Records waiting per sink at most (default 10,000): past it, during a long outage, calls are
     * refused without a record ("too far behind to record this call"), never served unrecorded.
     */
    maxQueue?: number;
    /**
     * How long a read's record may wait for others to share its write (default 100 ms; 0 with
     * `durableReads`): one INSERT and one append for a batch of calls instead of one each.
     */
    batchDelayMs?: number;
  };
  /**
   * Requests (GraphQL operations, MCP tool calls) and rows written per tenant and per principal,
   * counted in ormai's table so every replica shares them; refused with RATE_LIMITED. Off when absent.
   */
  rateLimits?: RateLimits;
  /** `GET /metrics` (Prometheus text format) and who may scrape it. */
  metrics?: {
    /** Serve `/metrics` (default true). */
    enabled?: boolean;
    /** Scrapes must send `Authorization: Bearer <token>`; `ORMAI_METRICS_TOKEN` overrides. */
    token?: string;
    /**
     * Client addresses or CIDR ranges that may scrape (`'10.0.0.0/8'`), `'*'` for any. Default:
     * loopback only (`127.0.0.0/8`, `::1`) without a token, any address with one.
     */
    allowFrom?: string[];
    /** Also export the process's CPU, memory, event-loop and GC metrics as `ormai_*` (default true). */
    processMetrics?: boolean;
  };
}

export interface OrmaiPaths {
  graphql?: string;
  mcp?: string;
  /** The readiness check; liveness and readiness are also at `<healthz>/live` and `<healthz>/ready`. */
  healthz?: string;
  metrics?: string;
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

/** `server.roleSetCacheSize`, checked: a positive integer, or undefined for the default. */
export function roleSetCacheSizeOf(config: Pick<OrmaiConfig, 'server'>): number | undefined {
  const size = config.server?.roleSetCacheSize;
  if (size === undefined) return undefined;
  if (!Number.isInteger(size) || size < 1) {
    throw new StartupError(
      'CONFIG_INVALID',
      `server.roleSetCacheSize must be a positive integer, not ${JSON.stringify(size)}`,
      { hints: ['leave it out for the default (100), or give the number of role sets to keep'] },
    );
  }
  return size;
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
