import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrmaiApp, PrismaLifecycle } from './app.js';
import type { OrmaiConfig } from './config.js';
import { type Database, openDatabase } from './db/database.js';
import { type MigrateResult, migrate, readMigrations } from './db/migrate.js';
import { checkPolicy, formatFinding } from './policy/check-policy.js';
import { compilePolicy, type PolicyEngine } from './policy/compile-policy.js';
import type { PrismaClientLike } from './schema/context.js';

export interface RuntimeOptions {
  /** PostgreSQL URL; otherwise the embedded database in `dataDir`. */
  databaseUrl?: string | undefined;
  schema?: string | undefined;
  dataDir?: string | undefined;
  /** Seed the example data when the database has none (default true). */
  seedIfEmpty?: boolean;
  /** Emit Prisma query events (tests count statements with them). */
  logQueries?: boolean;
  log?: (line: string) => void;
}

/** An app wired to its database: migrated, seeded when empty, with its Prisma client and policy. */
export interface Runtime {
  app: OrmaiApp;
  db: Database;
  prisma: PrismaClientLike & PrismaLifecycle;
  /** The app's policy, compiled per set of roles on demand. */
  policy: PolicyEngine;
  migrations: MigrateResult;
  seeded: boolean;
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = join('.ormai', 'pgdata');

/** ormai's own tables (the audit log, the approval queue), migrated beside the app's. */
export const ORMAI_MIGRATIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  'db',
  'migrations',
);

export function runtimeOptionsFromConfig(config: OrmaiConfig, env = process.env): RuntimeOptions {
  return {
    databaseUrl: env.DATABASE_URL || config.database?.url,
    schema: config.database?.schema,
    dataDir: config.database?.dataDir ?? DEFAULT_DATA_DIR,
  };
}

export async function openRuntime(app: OrmaiApp, options: RuntimeOptions = {}): Promise<Runtime> {
  const compiled = compilePolicy(app.policy, app.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  // a policy `ormai check` rejects is never served
  const errors = checkPolicy(compiled.value).filter((finding) => finding.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`the policy fails ormai check:\n  ${errors.map(formatFinding).join('\n  ')}`);
  }

  const { statementTimeoutMs } = compiled.value.forRoles(compiled.value.declaredRoles).budgets;
  const db = options.databaseUrl
    ? await openDatabase({
        kind: 'postgres',
        url: options.databaseUrl,
        schema: options.schema,
        statementTimeoutMs,
      })
    : await openDatabase({
        kind: 'pglite',
        dataDir: options.dataDir ?? DEFAULT_DATA_DIR,
        statementTimeoutMs,
      });
  try {
    // the app's migrations and ormai's own (the audit table), in timestamp order
    const migrations = await migrate(
      db.sql,
      [...readMigrations(app.migrationsDir), ...readMigrations(ORMAI_MIGRATIONS_DIR)].sort((a, b) =>
        a.name.localeCompare(b.name),
      ),
    );
    let seeded = false;
    if ((options.seedIfEmpty ?? true) && app.seed && !(await app.seed.isSeeded(db.sql))) {
      options.log?.(`seeding the ${app.name} example data (first run)…`);
      await app.seed.run(db.sql, { log: options.log });
      seeded = true;
    }
    const prisma = app.createPrismaClient(
      db.adapter,
      options.logQueries ? { log: [{ emit: 'event', level: 'query' }] } : {},
    );
    return {
      app,
      db,
      prisma,
      policy: compiled.value,
      migrations,
      seeded,
      async close() {
        await prisma.$disconnect();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
