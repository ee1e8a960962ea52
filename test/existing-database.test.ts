// Pins ormai on a database the app already migrated: the app's migrations are neither applied nor
// recorded, a missing table or column stops the start with its name, ormai's tables live in their
// own schema, the server runs as a least-privilege role, and createOrmai serves through the app's
// own PrismaClient. PostgreSQL only (roles and grants); runs when TEST_DATABASE_URL is set.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { PrismaClient } from '../examples/saas/generated/prisma/client.js';
import { seedExample } from '../examples/saas/seed.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { readMigrations } from '../src/db/migrate.js';
import { openRuntime } from '../src/runtime.js';
import { signToken } from '../src/server/auth.js';
import { createOrmai } from '../src/server/create-ormai.js';
import { createLogger } from '../src/server/logger.js';

const URL_ = process.env.TEST_DATABASE_URL;
const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ormai.js');
const SECRET = 'existing-database-secret-0123456789';

describe.runIf(URL_)('an already-migrated PostgreSQL database', () => {
  const suffix = randomBytes(4).toString('hex');
  const appSchema = `app_${suffix}`;
  const ormaiSchema = `ormai_${suffix}`;
  const role = `ormai_reader_${suffix}`;
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-existing-'));
  let admin: Database;
  let child: ChildProcess | undefined;

  const withUser = (user: string) => {
    const url = new URL(URL_!);
    url.username = user;
    url.password = '';
    return url.toString();
  };
  const tables = async (schema: string) =>
    (
      await admin.sql.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [schema],
      )
    ).map((row) => row.table_name);

  beforeAll(async () => {
    admin = await openDatabase({ kind: 'postgres', url: URL_!, schema: 'public', poolSize: 2 });
    // the app's own migrations, run the way the app runs them (here: its SQL, in its schema)
    await admin.sql.exec(`CREATE SCHEMA "${appSchema}"`);
    const app = await openDatabase({ kind: 'postgres', url: URL_!, schema: appSchema });
    for (const migration of readMigrations(saasApp.migrationsDir!))
      await app.sql.exec(migration.sql);
    await seedExample(app.sql);
    await app.close();
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await admin.sql.exec(
      `DROP SCHEMA IF EXISTS "${appSchema}" CASCADE; DROP SCHEMA IF EXISTS "${ormaiSchema}" CASCADE`,
    );
    await admin.sql.exec(`DROP ROLE IF EXISTS "${role}"`).catch(() => {});
    await admin.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("starts without applying or recording the app's migrations; ormai's tables go to their own schema", async () => {
    const before = await tables(appSchema);
    const runtime = await openRuntime(saasApp, {
      databaseUrl: URL_,
      schema: appSchema,
      ormaiSchema,
      seedIfEmpty: false,
    });
    try {
      expect(runtime.migrations.applied.every((name) => !name.endsWith('_init'))).toBe(true);
      expect(runtime.migrations.applied.length).toBeGreaterThan(0);
    } finally {
      await runtime.close();
    }
    expect(await tables(appSchema)).toEqual(before);
    expect(await tables(ormaiSchema)).toEqual([
      '_ormai_migrations',
      'ormai_api_key',
      'ormai_approval_request',
      'ormai_audit_log',
      'ormai_rate_limit',
    ]);
    // a second start reads only: nothing more is applied
    const again = await openRuntime(saasApp, {
      databaseUrl: URL_,
      schema: appSchema,
      ormaiSchema,
      seedIfEmpty: false,
    });
    expect(again.migrations.applied).toEqual([]);
    await again.close();
  });

  it('refuses to start on a database that lacks a table or a column, naming it', async () => {
    await admin.sql.exec(
      `ALTER TABLE "${appSchema}"."Customer" RENAME COLUMN "phone" TO "phone_old"`,
    );
    try {
      await expect(
        openRuntime(saasApp, { databaseUrl: URL_, schema: appSchema, ormaiSchema }),
      ).rejects.toThrow(
        new RegExp(
          `does not match the Prisma schema: missing column ${appSchema}\\.Customer\\.phone\\. .*prisma migrate deploy`,
        ),
      );
    } finally {
      await admin.sql.exec(
        `ALTER TABLE "${appSchema}"."Customer" RENAME COLUMN "phone_old" TO "phone"`,
      );
    }
    await expect(
      openRuntime(saasApp, { databaseUrl: URL_, schema: `${appSchema}_nope`, ormaiSchema }),
    ).rejects.toThrow(/missing table app_\w+_nope\.Tenant, table app_\w+_nope\.User/);
  });

  it('`ormai serve` runs as a least-privilege role: SELECT on the app, INSERT/SELECT on the audit log', async () => {
    await admin.sql.exec(`
      CREATE ROLE "${role}" LOGIN;
      GRANT USAGE ON SCHEMA "${appSchema}" TO "${role}";
      GRANT SELECT ON ALL TABLES IN SCHEMA "${appSchema}" TO "${role}";
      GRANT USAGE ON SCHEMA "${ormaiSchema}" TO "${role}";
      GRANT SELECT ON "${ormaiSchema}"."_ormai_migrations" TO "${role}";
      GRANT SELECT, INSERT ON "${ormaiSchema}"."ormai_audit_log" TO "${role}";
      GRANT USAGE ON SEQUENCE "${ormaiSchema}"."ormai_audit_log_id_seq" TO "${role}";
      GRANT SELECT, INSERT, UPDATE ON "${ormaiSchema}"."ormai_approval_request" TO "${role}";
    `);
    const config = join(cwd, 'ormai.config.ts');
    writeFileSync(
      config,
      `import { saasApp } from ${JSON.stringify(join(ROOT, 'examples/saas/app.ts'))};
export default {
  app: { ...saasApp, seed: undefined },
  database: { schema: ${JSON.stringify(appSchema)}, ormaiSchema: ${JSON.stringify(ormaiSchema)} },
  audit: { sinks: ['sql'] },
};
`,
    );
    const env = {
      ...process.env,
      DATABASE_URL: withUser(role),
      ORMAI_JWT_SECRET: SECRET,
    };
    const started = spawn(process.execPath, [BIN, 'serve', '--config', config, '--port', '0'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let out = '';
    started.stdout!.on('data', (chunk) => {
      out += chunk;
    });
    started.stderr!.on('data', (chunk) => {
      out += chunk;
    });
    const deadline = Date.now() + 90_000;
    while (!/In GraphiQL/.test(out)) {
      if (Date.now() > deadline || started.exitCode !== null) throw new Error(`no start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /GraphQL \+ GraphiQL\s+(\S+)/.exec(out)![1]!;
    const token = await signToken({ sub: '1', tenantId: 2, roles: ['agent'] }, { secret: SECRET });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: '{ customers(first: 100) { totalCount nodes { tenantId email } } }',
      }),
    });
    const body = (await response.json()) as any;
    expect(body.errors).toBeUndefined();
    const [truth] = await admin.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${appSchema}"."Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL`,
    );
    expect(body.data.customers.totalCount).toBe(truth!.n);
    expect(new Set(body.data.customers.nodes.map((n: any) => n.tenantId))).toEqual(new Set([2]));
    for (const node of body.data.customers.nodes) expect(node.email).toMatch(/^.\*\*\*@/);
    started.kill('SIGTERM');
    await new Promise((r) => started.once('exit', r));
    const [audited] = await admin.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${ormaiSchema}"."ormai_audit_log" WHERE tenant_id = '2'`,
    );
    expect(audited!.n).toBe(1);
    // that role may not write the app's tables: the database, not only ormai, says so
    const asRole = new pg.Client({ connectionString: withUser(role) });
    await asRole.connect();
    await expect(
      asRole.query(`UPDATE "${appSchema}"."Customer" SET name = 'x' WHERE id = 1`),
    ).rejects.toThrow(/permission denied/);
    await asRole.end();

    // and it may not create ormai's tables: `ormai migrate` as the owner is the way
    const migrate = spawnSync(process.execPath, [BIN, 'migrate', '--config', config], {
      cwd,
      env: { ...env, DATABASE_URL: withUser(role) },
      encoding: 'utf8',
    });
    expect(migrate.status).toBe(0);
    expect(migrate.stdout).toContain(`ormai's tables in schema ${ormaiSchema} are up to date`);
    writeFileSync(config, readFileSync(config, 'utf8').replace(ormaiSchema, `${ormaiSchema}_new`));
    const refused = spawnSync(process.execPath, [BIN, 'serve', '--config', config, '--port', '0'], {
      cwd,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`ormai's own tables (schema ${ormaiSchema}_new) need`);
    expect(refused.stderr).toContain('run `npx ormai migrate` once as the database owner');
  }, 180_000);

  it("createOrmai serves through the app's own PrismaClient and leaves it open", async () => {
    const pool = new pg.Pool({ connectionString: URL_, max: 4 });
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: appSchema }) });
    const ormai = await createOrmai(
      {
        app: { ...saasApp, createPrismaClient: undefined, seed: undefined },
        database: { schema: appSchema, ormaiSchema },
        audit: { sinks: ['sql'] },
      },
      {
        prisma,
        logger: createLogger('silent'),
        env: { ORMAI_JWT_SECRET: SECRET },
      },
    );
    try {
      const token = await ormai.signToken({ sub: '1', tenantId: 3, roles: ['agent'] });
      const response = await ormai.fetch(
        new Request('http://app.example/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ orders(first: 5) { totalCount nodes { tenantId } } }' }),
        }),
      );
      const body = (await response.json()) as any;
      expect(body.errors).toBeUndefined();
      const [truth] = await admin.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${appSchema}"."Order" WHERE "tenantId" = 3 AND "deletedAt" IS NULL`,
      );
      expect(body.data.orders.totalCount).toBe(truth!.n);
      expect(body.data.orders.nodes.every((n: any) => n.tenantId === 3)).toBe(true);
      const health = await ormai.fetch(new Request('http://app.example/healthz'));
      expect(await health.json()).toEqual({ status: 'ok', database: 'prisma' });
    } finally {
      await ormai.close();
    }
    // the audit record went through the app's client, into ormai's schema
    const [audited] = await admin.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${ormaiSchema}"."ormai_audit_log" WHERE tenant_id = '3'`,
    );
    expect(audited!.n).toBe(1);
    // the app's client is still the app's
    expect(await prisma.tenant.count()).toBe(3);
    await prisma.$disconnect();
    await pool.end();
  });
});
