// Pins ormai as a user gets it: the packed tarball installed into a fresh Prisma project outside the
// repository, on a PostgreSQL database its own migrations made, then `npx ormai init` and
// `npx ormai serve`: one tenant's rows only, emails masked for `agent`. Needs TEST_DATABASE_URL.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/db/database.js';

const URL_ = process.env.TEST_DATABASE_URL;
const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'packed-app');
const SECRET = 'packed-install-secret-0123456789abcdef';
const ACME = '11111111-1111-4111-8111-111111111111';
const PRISMA_VERSION = JSON.parse(
  readFileSync(join(ROOT, 'node_modules', 'prisma', 'package.json'), 'utf8'),
).version as string;

describe.runIf(URL_)('the packed tarball in a fresh Prisma project', () => {
  const work = mkdtempSync(join(tmpdir(), 'ormai-packed-'));
  const project = join(work, 'my-app');
  const database = `ormai_packed_${randomBytes(4).toString('hex')}`;
  let admin: Database;
  let appDb: Database;
  let databaseUrl: string;
  let child: ChildProcess | undefined;
  // npm and npx of the Node running the tests (Node 24 in CI), never a global one
  const env = {
    ...process.env,
    PATH: [dirname(process.execPath), process.env.PATH].join(delimiter),
    PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  delete (env as Record<string, unknown>).DATABASE_URL;
  delete (env as Record<string, unknown>).ORMAI_JWT_SECRET;
  const run = (command: string, args: string[], extra: Record<string, string> = {}) =>
    spawnSync(command, args, {
      cwd: project,
      env: { ...env, ...extra },
      encoding: 'utf8',
      timeout: 240_000,
    });

  beforeAll(async () => {
    // the app's database, made by the app's own migration and holding its own data
    admin = await openDatabase({ kind: 'postgres', url: URL_!, schema: 'public', poolSize: 1 });
    await admin.sql.exec(`CREATE DATABASE "${database}"`);
    const url = new URL(URL_!);
    url.pathname = `/${database}`;
    databaseUrl = url.toString();
    appDb = await openDatabase({ kind: 'postgres', url: databaseUrl, schema: 'public' });
    await appDb.sql.exec(
      readFileSync(join(FIXTURE, 'prisma/migrations/20260101000000_init/migration.sql'), 'utf8'),
    );
    await appDb.sql.exec(`CREATE TABLE "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0);
      INSERT INTO "_prisma_migrations" VALUES ('m1', 'x', now(), '20260101000000_init', NULL, NULL, now(), 1);`);
    await appDb.sql.exec(readFileSync(join(FIXTURE, 'seed.sql'), 'utf8'));

    // the package as npm publishes it
    const packed = execFileSync(
      'npm',
      ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'],
      { cwd: ROOT, env, encoding: 'utf8' },
    ).trim();
    const tarball = join(work, packed.split('\n').at(-1)!);

    // a fresh project: its own schema, its own client, then ormai from the tarball
    cpSync(join(FIXTURE, 'prisma'), join(project, 'prisma'), { recursive: true });
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'my-app', private: true, type: 'module' }, null, 2),
    );
    const install = run('npm', [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      `prisma@${PRISMA_VERSION}`,
      `@prisma/client@${PRISMA_VERSION}`,
    ]);
    if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
    const generate = run('npx', ['--no-install', 'prisma', 'generate']);
    if (generate.status !== 0) throw new Error(`prisma generate failed:\n${generate.stderr}`);
  }, 400_000);

  afterAll(async () => {
    stopServer('SIGKILL');
    await appDb?.close();
    await admin?.sql.exec(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
    await admin?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('installs only compiled JavaScript, without tsx for ormai and without a postinstall', () => {
    const installed = join(project, 'node_modules', 'ormai');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.scripts?.postinstall).toBeUndefined();
    expect(readdirSync(installed).sort()).toEqual(
      ['LICENSE', 'README.md', 'dist', 'package.json'].sort(),
    );
    expect(readFileSync(join(installed, manifest.bin.ormai), 'utf8')).not.toMatch(/tsx/);
  });

  it('`ormai/ai` loads without its optional peers, and an adapter names the package it needs', () => {
    const probe = run('node', [
      '--input-type=module',
      '-e',
      `const ai = await import('ormai/ai');
       const missing = await ai.aiSdkTools({}, {}).catch((error) => error.message);
       const langchain = await ai.langchainTools({}, {}).catch((error) => error.message);
       console.log(JSON.stringify({ exports: Object.keys(ai).sort(), missing, langchain }));`,
    ]);
    expect(probe.status, probe.stderr).toBe(0);
    const { exports, missing, langchain } = JSON.parse(probe.stdout);
    expect(exports).toEqual(
      expect.arrayContaining(['aiSdkTools', 'anthropicTools', 'executeToolCall', 'openaiTools']),
    );
    expect(missing).toBe('aiSdkTools needs the ai package: npm install ai');
    expect(langchain).toBe(
      'langchainTools needs the @langchain/core package: npm install @langchain/core',
    );
  });

  it('`ormai/testing` loads without fast-check, and the leak search names the package it needs', () => {
    // Prisma 7 brings a fast-check of its own (prisma → @prisma/config → effect), hoisted into the
    // project: a resolve hook takes it away, as in a project whose ORM does not bring it
    writeFileSync(
      join(project, 'without-fast-check.mjs'),
      `import { register } from 'node:module';
       register('data:text/javascript,' + encodeURIComponent(\`export async function resolve(specifier, context, next) {
         if (specifier === 'fast-check') throw Object.assign(new Error('no fast-check'), { code: 'ERR_MODULE_NOT_FOUND' });
         return next(specifier, context);
       }\`));`,
    );
    const probe = run('node', [
      '--import',
      './without-fast-check.mjs',
      '--input-type=module',
      '-e',
      `const testing = await import('ormai/testing');
       const missing = await testing.searchForLeaks({}, { principals: [{}] }).catch((error) => error.message);
       console.log(JSON.stringify({ exports: Object.keys(testing).sort(), missing }));`,
    ]);
    expect(probe.status, probe.stderr).toBe(0);
    const { exports, missing } = JSON.parse(probe.stdout);
    expect(exports).toEqual(
      expect.arrayContaining([
        'expectNoLeaks',
        'expectWithinBudget',
        'findLeaks',
        'ormaiTest',
        'searchForLeaks',
        'seedTenants',
      ]),
    );
    expect(missing).toBe('searchForLeaks needs fast-check: npm install --save-dev fast-check');
  });

  it('`npx ormai init` writes the config and the policy, and `npx ormai serve` serves one tenant, masked', async () => {
    const init = run('npx', ['--no-install', 'ormai', 'init', '--yes']);
    expect(init.status, `${init.stdout}\n${init.stderr}`).toBe(0);
    expect(init.stdout).toMatch(/organizationId/);
    expect(init.stdout).toMatch(/npx ormai serve/);
    const policy = readFileSync(join(project, 'ormai.policy.ts'), 'utf8');
    expect(policy).toMatch(/scopeThrough: 'invoice'/);
    // idempotent: a second run keeps the files
    const again = run('npx', ['--no-install', 'ormai', 'init', '--yes']);
    expect(readFileSync(join(project, 'ormai.policy.ts'), 'utf8')).toBe(policy);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/ormai\.policy\.ts is up to date/);

    const serveEnv = { DATABASE_URL: databaseUrl, ORMAI_JWT_SECRET: SECRET };
    // a process group of its own: npx starts `ormai serve` as its child, which a signal to npx
    // alone leaves running after the test
    child = spawn('npx', ['--no-install', 'ormai', 'serve', '--port', '0'], {
      cwd: project,
      env: { ...env, ...serveEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      out += chunk;
    });
    const deadline = Date.now() + 90_000;
    while (!/GraphQL \+ GraphiQL\s+\S+/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /GraphQL \+ GraphiQL\s+(\S+)/.exec(out)![1]!;

    const token = run(
      'npx',
      ['--no-install', 'ormai', 'token', '--sub', '1', '--tenant', ACME, '--roles', 'agent'],
      serveEnv,
    );
    expect(token.status, token.stderr).toBe(0);
    const ask = async (query: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token.stdout.trim()}`,
        },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as { data?: any; errors?: unknown[] };
    };
    const members = await ask(
      '{ members(first: 100) { totalCount nodes { organizationId email name } } }',
    );
    expect(members.errors).toBeUndefined();
    const [truth] = await appDb.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM members WHERE organization_id = $1',
      [ACME],
    );
    expect(members.data.members.totalCount).toBe(truth!.n);
    expect(members.data.members.nodes).toHaveLength(truth!.n);
    for (const member of members.data.members.nodes) {
      expect(member.organizationId).toBe(ACME);
      expect(member.email).toMatch(/^m\*+@example\.com$/);
    }
    // a child reached only through its parent: scoped by the parent's tenant
    const lines = await ask('{ invoiceLines(first: 100) { totalCount } }');
    const [lineTruth] = await appDb.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE i.organization_id = $1`,
      [ACME],
    );
    expect(lines.errors).toBeUndefined();
    expect(lines.data.invoiceLines.totalCount).toBe(lineTruth!.n);
    // the secret column is not in the agent's schema at all
    const secret = await ask('{ members(first: 1) { nodes { passwordHash } } }');
    expect(JSON.stringify(secret.errors)).toMatch(/passwordHash/);

    // nothing of the app's was migrated or recorded; ormai's tables are in their own schema
    const schemas = await appDb.sql.query<{ table_schema: string; table_name: string }>(
      `SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_schema IN ('public', 'ormai') ORDER BY 1, 2`,
    );
    expect(schemas.map((row) => `${row.table_schema}.${row.table_name}`)).toEqual([
      'ormai._ormai_migrations',
      'ormai.ormai_api_key',
      'ormai.ormai_approval_request',
      'ormai.ormai_audit_log',
      'ormai.ormai_rate_limit',
      'public._prisma_migrations',
      'public.invoice_lines',
      'public.invoices',
      'public.members',
      'public.organizations',
    ]);
    stopServer('SIGTERM');
  }, 240_000);

  /** Signals npx and the server it started (their process group). */
  function stopServer(signal: NodeJS.Signals) {
    // the group, not npx's own exit, says whether the server still runs
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group has already exited
    }
  }
});
