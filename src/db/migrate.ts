import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { advisoryLockKey, quoteIdent, type SqlDriver } from './database.js';
import type { OrmaiTables } from './ormai-tables.js';

export const MIGRATIONS_TABLE = '_ormai_migrations';

export interface MigrationFile {
  /** The folder name, e.g. `20261127000000_init`. */
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationChecksumError extends Error {
  constructor(readonly migration: string) {
    super(
      `migration ${migration} was changed after it was applied; restore the file and add a new migration instead`,
    );
    this.name = 'MigrationChecksumError';
  }
}

/** Reads `<dir>/<timestamp>_<name>/migration.sql` folders in Prisma's layout, oldest first. */
export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** ormai's own migrations (the audit log, the approval queue), shipped beside the compiled code. */
export const ORMAI_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Applies the migrations not applied yet, in one transaction together with their records in
 * `table` (default `_ormai_migrations` on the search path). Refuses to run when an applied file has
 * changed since. Several processes may call it at once: an advisory lock makes them take turns.
 * With `schema`, the migrations run with that schema first on the search path (ormai's own).
 */
export async function migrate(
  sql: SqlDriver,
  migrations: MigrationFile[],
  options: { table?: string; schema?: string } = {},
): Promise<MigrateResult> {
  const table = options.table ?? quoteIdent(MIGRATIONS_TABLE);
  if (options.schema) await sql.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
  await sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  return sql.transaction(async (tx) => {
    await tx.query('SELECT 1 AS locked FROM pg_advisory_xact_lock($1::bigint)', [
      advisoryLockKey(table),
    ]);
    if (options.schema) {
      await tx.query(`SELECT set_config('search_path', $1, true) AS path`, [
        quoteIdent(options.schema),
      ]);
    }
    const rows = await tx.query<{ name: string; checksum: string }>(
      `SELECT name, checksum FROM ${table}`,
    );
    const done = new Map(rows.map((row) => [row.name, row.checksum]));
    for (const migration of migrations) {
      const checksum = done.get(migration.name);
      if (checksum !== undefined && checksum !== migration.checksum) {
        throw new MigrationChecksumError(migration.name);
      }
    }
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      if (done.has(migration.name)) {
        result.alreadyApplied.push(migration.name);
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query(`INSERT INTO ${table} (name, checksum) VALUES ($1, $2)`, [
        migration.name,
        migration.checksum,
      ]);
      result.applied.push(migration.name);
    }
    return result;
  });
}

/**
 * ormai's own tables in their own schema. When they are up to date this only reads (no DDL, so a
 * least-privilege role can start the server); otherwise it creates the schema and applies what is
 * missing, which needs a role that may create in the database.
 */
export async function migrateOrmai(sql: SqlDriver, tables: OrmaiTables): Promise<MigrateResult> {
  const migrations = readMigrations(ORMAI_MIGRATIONS_DIR);
  const pending = await pendingMigrations(sql, tables.migrations, migrations);
  if (pending.length === 0) {
    return { applied: [], alreadyApplied: migrations.map((migration) => migration.name) };
  }
  try {
    return await migrate(sql, migrations, { table: tables.migrations, schema: tables.schema });
  } catch (error) {
    if ((error as { code?: string }).code === '42501' || /permission denied/i.test(String(error))) {
      throw new Error(
        `ormai's own tables (schema ${tables.schema}) need ${pending.join(', ')}, and this database role may not create them: run \`npx ormai migrate\` once as the database owner`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The migrations not recorded in `table`, read without creating anything. */
async function pendingMigrations(
  sql: SqlDriver,
  table: string,
  migrations: MigrationFile[],
): Promise<string[]> {
  const [found] = await sql.query<{ table: string | null }>(
    'SELECT to_regclass($1)::text AS table',
    [table],
  );
  if (!found?.table) return migrations.map((migration) => migration.name);
  const rows = await sql.query<{ name: string }>(`SELECT name FROM ${table}`);
  const done = new Set(rows.map((row) => row.name));
  return migrations.filter((migration) => !done.has(migration.name)).map((m) => m.name);
}
