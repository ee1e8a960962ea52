// createOrmai on the example app, on a fresh database per test file: the embedded one in memory,
// or a schema of its own on TEST_DATABASE_URL (dropped at the end). Every endpoint is reached
// through `ormai.fetch`, as an app mounting ormai would.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { saasApp } from '../../examples/saas/app.js';
import type { OrmaiConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { createOrmai, type Ormai } from '../../src/server/create-ormai.js';
import { createLogger } from '../../src/server/logger.js';
import type { DatabaseKind } from './runtime.js';

export const ORMAI_SECRET = 'ormai-helper-secret-0123456789abcdef';

export interface OrmaiHandle {
  ormai: Ormai;
  /** A bearer token for a principal of the example. */
  token(principal: { sub?: string; tenantId?: number; roles?: string[] }): Promise<string>;
  /** Raw SQL on the same database (ormai's own tables are found unqualified). */
  sql<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
}

/** Registers beforeAll/afterAll for createOrmai over `kind`; the handle is filled in beforeAll. */
export function useOrmai(
  kind: DatabaseKind,
  config: Partial<OrmaiConfig> = {},
  env: Record<string, string> = {},
): OrmaiHandle {
  const handle = {} as OrmaiHandle;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    let database: OrmaiConfig['database'];
    if (kind === 'postgres') {
      const url = process.env.TEST_DATABASE_URL!;
      const schema = `ormai_obs_${randomBytes(5).toString('hex')}`;
      database = { url, schema, ormaiSchema: `${schema}_ormai`, applyMigrations: true };
      drop = async () => {
        const admin = await openDatabase({ kind: 'postgres', url, poolSize: 1 });
        await admin.sql.exec(
          `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_ormai" CASCADE`,
        );
        await admin.close();
      };
    } else {
      database = { dataDir: 'memory://', applyMigrations: true };
    }
    const ormai = await createOrmai(
      { app: saasApp, database, audit: { sinks: ['sql'] }, ...config },
      { logger: createLogger('silent'), env: { ORMAI_JWT_SECRET: ORMAI_SECRET, ...env } },
    );
    Object.assign(handle, {
      ormai,
      token: ({ sub = '1', tenantId = 1, roles = ['agent'] }) =>
        ormai.signToken({ sub, tenantId, roles }),
      sql: (text: string, params?: unknown[]) => ormai.runtime.db.sql.query(text, params),
    } satisfies OrmaiHandle);
  }, 120_000);
  afterAll(async () => {
    await handle.ormai?.close();
    await drop?.();
  });
  return handle;
}

/** A request served by the handle's ormai: its status, headers and JSON body. */
export async function fetchAnswer(h: OrmaiHandle, request: Request) {
  const response = await h.ormai.fetch(request);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as any,
  };
}

/** A JSON-RPC `tools/call` POSTed to `/mcp` (stateless Streamable HTTP answers it as JSON). */
export function toolCallRequest(
  token: string,
  name: string,
  args: Record<string, unknown>,
  headers: Record<string, string> = {},
): Request {
  return new Request('http://127.0.0.1/mcp', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name, arguments: args },
    }),
  });
}

/** A GraphQL POST to `/graphql`. */
export function graphqlRequest(
  token: string | undefined,
  query: string,
  headers: Record<string, string> = {},
  variables?: Record<string, unknown>,
): Request {
  return new Request('http://127.0.0.1/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
}
