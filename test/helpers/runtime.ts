// Opens an example app on a fresh database for one test file: PGlite always, PostgreSQL too when
// TEST_DATABASE_URL is set (each file in a schema of its own, dropped at the end; an app that pins
// its tables to named schemas with @@schema gets a database of its own instead).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { helpdeskApp } from '../../examples/helpdesk/app.js';
import { saasApp } from '../../examples/saas/app.js';
import type { OrmaiApp } from '../../src/app.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { JsonlAuditSink, MemoryAuditSink, SqlAuditSink } from '../../src/audit/sinks.js';
import { openDatabase } from '../../src/db/database.js';
import type { Principal } from '../../src/policy/principal.js';
import type { Policy } from '../../src/policy/types.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { signToken } from '../../src/server/auth.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { createLogger } from '../../src/server/logger.js';

export type DatabaseKind = 'pglite' | 'postgres';

export const DATABASE_KINDS: DatabaseKind[] = process.env.TEST_DATABASE_URL
  ? ['pglite', 'postgres']
  : ['pglite'];

/**
 * Each database kind twice: with compiled reads (one statement of ormai's own for the queries it
 * answers) and with the executor alone, for suites that pin both paths.
 */
export const DATABASE_KINDS_AND_READ_PATHS = DATABASE_KINDS.flatMap(
  (kind) =>
    [
      [kind, 'compiled reads', true],
      [kind, 'the executor', false],
    ] as const,
);

/** The saas example's orders grouped by status (the bench's Q3); `orderGroupsByStatus` is its truth. */
export const ORDER_GROUPS_BY_STATUS =
  '{ ordersGroupBy(by: [status]) { key { status } count sum { totalCents } } }';

/** `ORDER_GROUPS_BY_STATUS` for one tenant, as SQL computes it over the tenant's live orders. */
export async function orderGroupsByStatus(app: TestApp, tenantId: number) {
  const rows = await app.sql<{ status: string; n: number; s: number }>(
    `SELECT status, count(*)::int AS n, sum("totalCents")::float AS s FROM "Order"
     WHERE "tenantId" = $1 AND "deletedAt" IS NULL GROUP BY status ORDER BY status`,
    [tenantId],
  );
  return rows.map((row) => ({
    key: { status: row.status },
    count: row.n,
    sum: { totalCents: row.s },
  }));
}

export const JWT_SECRET = 'test-secret-0123456789abcdef';

/** Every example app: the suites that prove the guarantee run over each (test/apps/ has their specs). */
export const EXAMPLE_APPS: readonly OrmaiApp[] = [saasApp, helpdeskApp];

export interface TestApp {
  runtime: Runtime;
  gateway: Gateway;
  /** With `audit: true`: the log and its sinks. */
  audit?: { log: AuditLog; sql: SqlAuditSink; jsonl: JsonlAuditSink; memory: MemoryAuditSink };
  /** SQL statements sent (by Prisma, or a compiled read's own) since the last `statements.length = 0`. */
  statements: string[];
  /** Raw SQL on the same database, the ground truth tests compare with. */
  sql<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  token(principal: Partial<Principal> & { sub?: string }): Promise<string>;
  /** POST /graphql in-process with a bearer token for the principal. */
  graphql(
    principal:
      | { sub?: string; tenantId?: number | string | null; roles?: readonly string[] }
      | string
      | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; body: GraphQLBody; headers: Headers }>;
}

export interface GraphQLBody {
  data?: any;
  errors?: { message: string; extensions: Record<string, any>; path?: unknown[] }[];
}

export interface TestAppOptions {
  /** The example app to serve (default saas). */
  app?: OrmaiApp;
  /** Serve the example with this policy instead of its own. */
  policy?: Policy;
  /** Record every call: the table, a JSONL file and memory. */
  audit?: boolean;
  /** false: every query through the executor (the gateway's `compiledReads`). */
  compiledReads?: boolean;
}

/** Registers beforeAll/afterAll for a database of `kind` and returns a handle filled in beforeAll. */
export function useTestApp(kind: DatabaseKind, testOptions: TestAppOptions = {}): TestApp {
  const app = {} as TestApp;
  const example = testOptions.app ?? saasApp;
  let dropSchema: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    let options: Parameters<typeof openRuntime>[1];
    if (kind === 'postgres' && pinsSchemas(example)) {
      const { url, drop } = await createTestDatabase(process.env.TEST_DATABASE_URL!);
      options = { databaseUrl: url, applyMigrations: true, logQueries: true };
      dropSchema = drop;
    } else if (kind === 'postgres') {
      const url = process.env.TEST_DATABASE_URL!;
      const schema = `ormai_test_${randomBytes(5).toString('hex')}`;
      options = {
        databaseUrl: url,
        schema,
        ormaiSchema: `${schema}_ormai`,
        applyMigrations: true,
        logQueries: true,
      };
      dropSchema = async () => {
        const admin = await openDatabase({ kind: 'postgres', url, schema: 'public', poolSize: 1 });
        await admin.sql.exec(
          `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_ormai" CASCADE`,
        );
        await admin.close();
      };
    } else {
      options = { dataDir: 'memory://', applyMigrations: true, logQueries: true };
    }
    const runtime = await openRuntime(
      testOptions.policy ? { ...example, policy: testOptions.policy } : example,
      options,
    );
    const statements: string[] = [];
    runtime.onQuery((event) => statements.push(event.query));
    let audit: TestApp['audit'];
    if (testOptions.audit) {
      const dir = mkdtempSync(join(tmpdir(), 'ormai-audit-'));
      const sinks = {
        sql: new SqlAuditSink(runtime.db.sql, runtime.tables),
        jsonl: new JsonlAuditSink(join(dir, 'audit.jsonl')),
        memory: new MemoryAuditSink(),
      };
      audit = { log: new AuditLog({ sinks: [sinks.sql, sinks.jsonl, sinks.memory] }), ...sinks };
    }
    const gateway = createGateway({
      runtime,
      jwtSecret: JWT_SECRET,
      logger: createLogger('silent'),
      ...(audit ? { audit: audit.log } : {}),
      ...(testOptions.compiledReads === false ? { compiledReads: false } : {}),
    });
    // without a sub or tenant, the app's first dev principal's (saas: user 1 of tenant 1)
    const fallback = example.devPrincipals?.[0] ?? { sub: '1', tenantId: 1 };
    const token = (principal: Partial<Principal>) =>
      signToken(
        {
          sub: principal.sub ?? fallback.sub,
          tenantId: principal.tenantId === undefined ? fallback.tenantId : principal.tenantId,
          roles: [...(principal.roles ?? ['admin'])],
        },
        { secret: JWT_SECRET },
      );
    Object.assign(app, {
      runtime,
      gateway,
      audit,
      statements,
      sql: (text: string, params?: unknown[]) => runtime.db.sql.query(text, params),
      token,
      async graphql(principal, query, variables) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (typeof principal === 'string') headers.authorization = `Bearer ${principal}`;
        else if (principal) headers.authorization = `Bearer ${await token(principal)}`;
        const response = await gateway.fetch('http://ormai.test/graphql', {
          method: 'POST',
          headers,
          body: JSON.stringify({ query, variables }),
        });
        return { status: response.status, body: await response.json(), headers: response.headers };
      },
    } satisfies TestApp);
  }, 120_000);

  afterAll(async () => {
    await app.audit?.log.close().catch(() => {});
    await app.runtime?.close();
    await dropSchema?.();
  });

  return app;
}

/**
 * Whether the app names the PostgreSQL schema of its tables (@@schema): Prisma then qualifies
 * every table with it, so a per-file schema cannot keep test files apart.
 */
function pinsSchemas(app: OrmaiApp): boolean {
  return Object.values(app.datamodel.datamodel.models).some((model) => model.schema);
}

/** A database of its own on the test server, dropped (with its connections) at the end. */
export async function createTestDatabase(serverUrl: string) {
  const name = `ormai_test_${randomBytes(5).toString('hex')}`;
  const url = new URL(serverUrl);
  const admin = await openDatabase({ kind: 'postgres', url: serverUrl, poolSize: 1 });
  try {
    await admin.sql.exec(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.close();
  }
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const again = await openDatabase({ kind: 'postgres', url: serverUrl, poolSize: 1 });
      try {
        await again.sql.exec(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await again.close();
      }
    },
  };
}

/** Runs a GraphQL query and fails the test on any error. */
export async function query(
  app: TestApp,
  principal: Parameters<TestApp['graphql']>[0],
  text: string,
  variables?: Record<string, unknown>,
): Promise<any> {
  const { body } = await app.graphql(principal, text, variables);
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export const ids = (rows: { id: number | string }[]) => rows.map((row) => Number(row.id));
