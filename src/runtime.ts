import { join } from 'node:path';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { OrmaiApp, PrismaLifecycle } from './app.js';
import { configuredHashKey, type OrmaiConfig, roleSetCacheSizeOf } from './config.js';
import { plannerBudgetAdapter } from './data-access/planner-budget.js';
import { describeDatamodelGaps, findDatamodelGaps } from './db/check-datamodel.js';
import {
  type Database,
  databaseOverPrisma,
  openDatabase,
  quoteIdent,
  type RawSqlClient,
} from './db/database.js';
import { type DirectReads, directReads, type StatementEvent } from './db/direct-reads.js';
import { type MigrateResult, migrate, migrateOrmai, readMigrations } from './db/migrate.js';
import { DEFAULT_ORMAI_SCHEMA, type OrmaiTables, ormaiTables } from './db/ormai-tables.js';
import { tracedSqlAdapter } from './observability/sql-spans.js';
import { checkPolicy, formatFinding } from './policy/check-policy.js';
import { compilePolicy, hasPlannerBudgets, type PolicyEngine } from './policy/compile-policy.js';
import type { PrismaClientLike } from './schema/context.js';

export interface RuntimeOptions {
  /** PostgreSQL URL; otherwise the embedded database in `dataDir`. */
  databaseUrl?: string | undefined;
  /** The PostgreSQL schema of the app's tables (default `public`). */
  schema?: string | undefined;
  dataDir?: string | undefined;
  /** The PostgreSQL schema of ormai's own tables (default `ormai`). */
  ormaiSchema?: string | undefined;
  /** Apply the app's migrations (`app.migrationsDir`) too: the examples do; a real app runs its own. */
  applyMigrations?: boolean | undefined;
  /**
   * The app's own PrismaClient (embedding): ormai opens no connection of its own and runs its SQL
   * through it. Without it, ormai opens the database and builds a client with `app.createPrismaClient`.
   */
  prisma?: (PrismaClientLike & RawSqlClient) | undefined;
  /**
   * `prisma` was built over a driver adapter wrapped in `plannerBudgetAdapter`, so planner budgets
   * (`maxEstimatedRows`, `maxEstimatedCost`) can be enforced through it; without it such a policy
   * is refused with an app's own client.
   */
  plannedAdapter?: boolean | undefined;
  /** Seed the example data when the database has none (default true; apps with a `seed` only). */
  seedIfEmpty?: boolean;
  /** The embedded database only: move a data directory that cannot be opened aside and start anew. */
  replaceDamaged?: boolean;
  /** Keys hashed fields (`ORMAI_HASH_KEY`); without it the policy's `hashSalt` or the dev key. */
  hashKey?: string | undefined;
  /** Role sets kept compiled, each with its schema (`server.roleSetCacheSize`, default 100). */
  roleSetCacheSize?: number | undefined;
  /** Emit query events: Prisma's, and `onQuery` (tests and the bench count statements with it). */
  logQueries?: boolean;
  log?: (line: string) => void;
}

/** An app wired to its database: checked against the datamodel, with its Prisma client and policy. */
export interface Runtime {
  app: OrmaiApp;
  db: Database;
  prisma: PrismaClientLike & PrismaLifecycle;
  /** The app's policy, compiled per set of roles on demand. */
  policy: PolicyEngine;
  /** ormai's own tables (audit log, approvals) and their schema. */
  tables: OrmaiTables;
  /** Migrations applied now or before: ormai's, and the app's when `applyMigrations`. */
  migrations: MigrateResult;
  seeded: boolean;
  /**
   * Reads run on the client's own driver adapter, past Prisma's query engine (compiled reads):
   * present when ormai built the client over the database it opened.
   */
  directReads?: Pick<DirectReads, 'reader'>;
  /** With `logQueries`: each statement sent, by Prisma (its query events) or by `directReads`. */
  onQuery(listener: (event: StatementEvent) => void): void;
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = join('.ormai', 'pgdata');

export function runtimeOptionsFromConfig(config: OrmaiConfig, env = process.env): RuntimeOptions {
  return {
    databaseUrl: env.DATABASE_URL || config.database?.url,
    schema: config.database?.schema,
    dataDir: config.database?.dataDir ?? DEFAULT_DATA_DIR,
    ormaiSchema: config.database?.ormaiSchema,
    applyMigrations: config.database?.applyMigrations,
    hashKey: configuredHashKey(config, env),
    roleSetCacheSize: roleSetCacheSizeOf(config),
  };
}

/** The policy compiled and checked: a policy `ormai check` rejects is never served. */
export function compileAppPolicy(
  app: OrmaiApp,
  hashKey?: string,
  roleSetCacheSize?: number,
): PolicyEngine {
  const compiled = compilePolicy(app.policy, app.datamodel, {
    ...(hashKey ? { hashKey } : {}),
    ...(roleSetCacheSize ? { roleSetCacheSize } : {}),
  });
  if (!compiled.ok) throw new Error(compiled.message);
  const errors = checkPolicy(compiled.value).filter((finding) => finding.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`the policy fails ormai check:\n  ${errors.map(formatFinding).join('\n  ')}`);
  }
  return compiled.value;
}

export async function openRuntime(app: OrmaiApp, options: RuntimeOptions = {}): Promise<Runtime> {
  const policy = compileAppPolicy(app, options.hashKey, options.roleSetCacheSize);
  if (options.prisma && !options.plannedAdapter && hasPlannerBudgets(policy.policy)) {
    // the estimate is asked through ormai's driver adapter, which an app's own client does not have
    throw new Error(
      'the policy sets maxEstimatedRows or maxEstimatedCost, which ormai enforces only on a database it opens (DATABASE_URL or the embedded one): drop them, or let ormai build the client with app.createPrismaClient, or build yours over plannerBudgetAdapter(adapter) and pass createOrmai({ prisma, plannedAdapter: true })',
    );
  }
  const { statementTimeoutMs } = policy.forRoles(policy.declaredRoles).budgets;
  const tables = ormaiTables(options.ormaiSchema ?? DEFAULT_ORMAI_SCHEMA);
  // a new embedded database is prepared out of sight and then moved into place: a first start cut
  // short leaves nothing half made; the same steps then find nothing left to do
  let created: Prepared | undefined;
  const db = await openAppDatabase(options, tables, statementTimeoutMs, async (fresh) => {
    created = await prepareDatabase(app, fresh, tables, options);
  });
  try {
    const prepared = await prepareDatabase(app, db, tables, options);
    const { migrations, seeded } = created ?? prepared;
    const reads = options.prisma || !db.adapter ? undefined : directReads(ormaiAdapter(db.adapter));
    const prisma = (options.prisma ??
      createClient(app, reads?.factory, options)) as PrismaClientLike & PrismaLifecycle;
    return {
      app,
      db,
      prisma,
      policy,
      tables,
      migrations,
      seeded,
      ...(reads ? { directReads: reads } : {}),
      onQuery(listener) {
        if (!options.logQueries) throw new Error('onQuery needs the runtime option logQueries');
        (prisma as unknown as QueryEvents).$on('query', (event) =>
          listener({ query: event.query, params: JSON.parse(event.params) as unknown[] }),
        );
        reads?.onStatement(listener);
      },
      async close() {
        // a client the app handed over stays the app's to close
        if (!options.prisma) await (prisma as Partial<PrismaLifecycle>).$disconnect?.();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

interface Prepared {
  migrations: MigrateResult;
  seeded: boolean;
}

/** Migrations, the datamodel check, and the example data when the database has none. */
async function prepareDatabase(
  app: OrmaiApp,
  db: Database,
  tables: OrmaiTables,
  options: RuntimeOptions,
): Promise<Prepared> {
  const migrations = await migrateAll(app, db, tables, options);
  const gaps = describeDatamodelGaps(
    await findDatamodelGaps(db.sql, app.datamodel, db.schema),
    db.location,
  );
  if (gaps) throw new Error(gaps);
  let seeded = false;
  if ((options.seedIfEmpty ?? true) && app.seed && !(await app.seed.isSeeded(db.sql))) {
    options.log?.(`seeding the ${app.name} example data (first run)…`);
    await app.seed.run(db.sql, { log: options.log });
    seeded = true;
  }
  return { migrations, seeded };
}

function openAppDatabase(
  options: RuntimeOptions,
  tables: OrmaiTables,
  statementTimeoutMs: number,
  initialize: (db: Database) => Promise<void>,
) {
  if (options.prisma) return Promise.resolve(databaseOverPrisma(options.prisma, options.schema));
  // raw SQL finds ormai's tables unqualified too (tests and psql sessions read them so)
  const extraSearchPath = [tables.schema];
  return options.databaseUrl
    ? openDatabase({
        kind: 'postgres',
        url: options.databaseUrl,
        schema: options.schema,
        statementTimeoutMs,
        extraSearchPath,
      })
    : openDatabase({
        kind: 'pglite',
        dataDir: options.dataDir ?? DEFAULT_DATA_DIR,
        statementTimeoutMs,
        extraSearchPath,
        initialize,
        ...(options.replaceDamaged ? { replaceDamaged: true } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
}

/** ormai's own migrations always (reading only when up to date); the app's only when asked. */
async function migrateAll(
  app: OrmaiApp,
  db: Database,
  tables: OrmaiTables,
  options: RuntimeOptions,
): Promise<MigrateResult> {
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  if (options.applyMigrations && app.migrationsDir) {
    await db.sql.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(db.schema)}`);
    const own = await migrate(db.sql, readMigrations(app.migrationsDir));
    result.applied.push(...own.applied);
    result.alreadyApplied.push(...own.alreadyApplied);
  }
  const ormai = await migrateOrmai(db.sql, tables);
  result.applied.push(...ormai.applied);
  result.alreadyApplied.push(...ormai.alreadyApplied);
  return result;
}

/**
 * The database's driver adapter with ormai's wrappers; the planner budget outermost: its EXPLAIN
 * gets a span of its own.
 */
function ormaiAdapter(adapter: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  return plannerBudgetAdapter(tracedSqlAdapter(adapter));
}

/** Prisma's query events, on a client built with `log: [{ emit: 'event', level: 'query' }]`. */
interface QueryEvents {
  $on(event: 'query', listener: (event: { query: string; params: string }) => void): void;
}

function createClient(
  app: OrmaiApp,
  adapter: SqlDriverAdapterFactory | undefined,
  options: RuntimeOptions,
) {
  if (!app.createPrismaClient || !adapter) {
    throw new Error(
      `the app ${app.name} gives ormai no PrismaClient: set app.createPrismaClient in the config, or pass your client to createOrmai({ prisma })`,
    );
  }
  return app.createPrismaClient(
    adapter,
    options.logQueries ? { log: [{ emit: 'event', level: 'query' }] } : {},
  );
}
