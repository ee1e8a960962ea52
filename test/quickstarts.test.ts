// Pins the framework quickstarts (examples/quickstarts): each runs as a user runs it, a real Node
// process importing 'ormai' from its build, serves one tenant's rows with emails masked over GraphQL
// and MCP, GraphiQL, 401 without a token, and closes ormai (audit flushed) on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { seedExample } from '../examples/saas/seed.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { readMigrations } from '../src/db/migrate.js';
import { signToken } from '../src/server/auth.js';

const ROOT = resolve(import.meta.dirname, '..');
const HERE = join(ROOT, 'examples', 'quickstarts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SECRET = 'quickstarts-secret-0123456789abcdef';
const PG_URL = process.env.TEST_DATABASE_URL;

interface Quickstart {
  name: string;
  /** What `node --import tsx` runs, in a directory holding the user's ormai.config.ts. */
  argv: string[];
  paths: { graphql: string; mcp: string; healthz: string };
  /** Runs on the app's own PrismaClient, so on PostgreSQL (TEST_DATABASE_URL); else embedded. */
  postgres?: boolean;
}

const DEFAULT_PATHS = { graphql: '/graphql', mcp: '/mcp', healthz: '/healthz' };
const QUICKSTARTS: Quickstart[] = [
  { name: 'Express 5', argv: [join(HERE, 'express.ts')], paths: DEFAULT_PATHS, postgres: true },
  { name: 'Fastify 5', argv: [join(HERE, 'fastify.ts')], paths: DEFAULT_PATHS },
  { name: 'Hono 4', argv: [join(HERE, 'hono.ts')], paths: DEFAULT_PATHS },
  {
    // Next itself is too heavy for CI: its route module is served as the App Router calls it
    name: 'Next.js route handler',
    argv: [
      join(ROOT, 'test', 'fixtures', 'next-route-server.ts'),
      join(HERE, 'nextjs', 'app', 'api', '[...ormai]', 'route.ts'),
    ],
    paths: { graphql: '/api/graphql', mcp: '/api/mcp', healthz: '/api/healthz' },
  },
];

interface Running {
  child: ChildProcess;
  url: string;
  cwd: string;
  output: () => string;
  /** totalCount of tenant 2's customers as served, checked against the database at the end. */
  served?: number;
}

describe('the quickstarts, each started as a real process', () => {
  const running = new Map<Quickstart, Running>();
  const cwds: string[] = [];
  const children: ChildProcess[] = [];
  let pgDatabase: { name: string; url: string } | undefined;
  let admin: Database | undefined;

  const runs = (quickstart: Quickstart) => !quickstart.postgres || PG_URL !== undefined;

  async function start(quickstart: Quickstart): Promise<void> {
    const cwd = mkdtempSync(join(tmpdir(), 'ormai-quickstart-'));
    cwds.push(cwd);
    const database = quickstart.postgres
      ? {}
      : { dataDir: join(cwd, 'pgdata'), applyMigrations: true };
    const server =
      quickstart.paths === DEFAULT_PATHS
        ? ''
        : `server: { paths: ${JSON.stringify(quickstart.paths)} },`;
    // the user's config: the example app on the embedded database, made, migrated and seeded at
    // start (Express: on the PostgreSQL database its own PrismaClient opens)
    writeFileSync(
      join(cwd, 'ormai.config.ts'),
      `import { saasApp } from ${JSON.stringify(pathToFileURL(join(ROOT, 'examples', 'saas', 'app.ts')).href)};\n` +
        `export default { app: saasApp, database: ${JSON.stringify(database)}, ${server} };\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ORMAI_JWT_SECRET: SECRET };
    delete env.DATABASE_URL;
    if (quickstart.postgres) env.DATABASE_URL = pgDatabase!.url;
    const child = spawn(process.execPath, ['--import', TSX, ...quickstart.argv], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      output += chunk;
    });
    const deadline = Date.now() + 120_000;
    const listening = () => /listening on (http:\/\/\S+)/.exec(output)?.[1];
    while (!listening()) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`${quickstart.name} did not start:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = listening()!;
    // the health check answers once ormai is up (the Next.js route starts it on the first request)
    const health = await fetch(`${url}${quickstart.paths.healthz}`);
    if (health.status !== 200) {
      throw new Error(
        `${quickstart.name}: /healthz ${health.status}\n${await health.text()}\n${output}`,
      );
    }
    running.set(quickstart, { child, url, cwd, output: () => output });
  }

  /** The app's own database, migrated and seeded by the app before ormai ever sees it. */
  async function preparePostgres(url: string): Promise<void> {
    admin = await openDatabase({ kind: 'postgres', url, schema: 'public', poolSize: 1 });
    const name = `ormai_quickstart_${randomBytes(4).toString('hex')}`;
    await admin.sql.exec(`CREATE DATABASE "${name}"`);
    const appUrl = new URL(url);
    appUrl.pathname = `/${name}`;
    pgDatabase = { name, url: appUrl.toString() };
    const app = await openDatabase({ kind: 'postgres', url: pgDatabase.url, schema: 'public' });
    try {
      for (const migration of readMigrations(saasApp.migrationsDir!))
        await app.sql.exec(migration.sql);
      await seedExample(app.sql);
    } finally {
      await app.close();
    }
  }

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
      throw new Error("the quickstarts import 'ormai' from its build: run `npm run build` first");
    }
    await Promise.all(
      QUICKSTARTS.filter(runs).map(async (quickstart) => {
        if (quickstart.postgres) await preparePostgres(PG_URL!);
        await start(quickstart);
      }),
    );
  }, 150_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (admin && pgDatabase) {
      await admin.sql.exec(`DROP DATABASE IF EXISTS "${pgDatabase.name}" WITH (FORCE)`);
    }
    await admin?.close();
    for (const cwd of cwds) rmSync(cwd, { recursive: true, force: true });
  });

  const agentOfTenant2 = () =>
    signToken({ sub: '11', tenantId: 2, roles: ['agent'] }, { secret: SECRET });
  const maskedEmail = /^.\*\*\*@/;

  describe.each(QUICKSTARTS)('$name', (quickstart) => {
    const server = () => running.get(quickstart)!;
    const graphqlUrl = () => `${server().url}${quickstart.paths.graphql}`;
    const mcpUrl = () => `${server().url}${quickstart.paths.mcp}`;

    it.runIf(runs(quickstart))('serves GraphQL: one tenant, emails masked for agent', async () => {
      const response = await fetch(graphqlUrl(), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await agentOfTenant2()}`,
        },
        body: JSON.stringify({
          query: '{ customers(first: 100) { totalCount nodes { tenantId email } } }',
        }),
      });
      const body = (await response.json()) as any;
      expect(response.status, server().output()).toBe(200);
      expect(body.errors).toBeUndefined();
      const { totalCount, nodes } = body.data.customers;
      expect(nodes).toHaveLength(100);
      expect(new Set(nodes.map((node: any) => node.tenantId))).toEqual(new Set([2]));
      for (const node of nodes) expect(node.email).toMatch(maskedEmail);
      server().served = totalCount;
    });

    it.runIf(runs(quickstart))(
      'serves MCP over Streamable HTTP: tools/list, db.query',
      async () => {
        const client = new Client({ name: 'quickstart-test', version: '1' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(mcpUrl()), {
            requestInit: { headers: { authorization: `Bearer ${await agentOfTenant2()}` } },
          }),
        );
        try {
          const { tools } = await client.listTools();
          expect(tools.map((tool) => tool.name)).toContain('db_query');
          const result = (await client.callTool({
            name: 'db.query',
            arguments: { model: 'Customer', select: ['id', 'tenantId', 'email'], take: 20 },
          })) as any;
          expect(result.isError).toBeFalsy();
          const rows = result.structuredContent.data as { tenantId: number; email: string }[];
          expect(rows).toHaveLength(20);
          expect(new Set(rows.map((row) => row.tenantId))).toEqual(new Set([2]));
          for (const row of rows) expect(row.email).toMatch(maskedEmail);
        } finally {
          await client.close();
        }
      },
    );

    it.runIf(runs(quickstart))(
      'serves GraphiQL to a browser and 401 to a request without a token',
      async () => {
        const page = await fetch(graphqlUrl(), { headers: { accept: 'text/html' } });
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toContain('text/html');
        expect(await page.text()).toContain('<title>ormai · saas</title>');

        const anonymous = await fetch(graphqlUrl(), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }),
        });
        expect(anonymous.status).toBe(401);
        const body = (await anonymous.json()) as any;
        expect(body.errors[0].extensions.code).toBe('AUTHENTICATION_REQUIRED');

        const anonymousMcp = await fetch(mcpUrl(), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        expect(anonymousMcp.status).toBe(401);
        expect(((await anonymousMcp.json()) as any).error.code).toBe('AUTHENTICATION_REQUIRED');
      },
    );
  });

  it('each closes ormai on SIGTERM (exit 0, audit log written) and served what its database holds', async () => {
    const checks = [...running.entries()].map(
      async ([quickstart, { child, cwd, output, served }]) => {
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        child.kill('SIGTERM');
        const code = await Promise.race([
          exited,
          new Promise((r) => setTimeout(r, 30_000, 'hung')),
        ]);
        expect(code, `${quickstart.name}:\n${output()}`).toBe(0);
        // only now: the embedded database is the child's while it runs
        const db = quickstart.postgres
          ? await openDatabase({ kind: 'postgres', url: pgDatabase!.url, poolSize: 1 })
          : await openDatabase({ kind: 'pglite', dataDir: join(cwd, 'pgdata') });
        try {
          const [truth] = await db.sql.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM "Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL',
          );
          expect(served, quickstart.name).toBe(truth!.n);
          // the GraphQL query and the db.query call, at least, recorded before the process ended
          const [audited] = await db.sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "ormai"."ormai_audit_log" WHERE tenant_id = '2'`,
          );
          expect(audited!.n, quickstart.name).toBeGreaterThanOrEqual(2);
        } finally {
          await db.close();
        }
      },
    );
    await Promise.all(checks);
  }, 60_000);
});
