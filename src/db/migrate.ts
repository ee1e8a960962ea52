import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advisoryLockKey, type SqlDriver } from './database.js';

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

/**
 * Applies the migrations not applied yet, in one transaction together with their records in
 * `_ormai_migrations`. Refuses to run when an applied file has changed since. Several processes may
 * call it at once: an advisory lock makes them take turns.
 */
export async function migrate(sql: SqlDriver, migrations: MigrationFile[]): Promise<MigrateResult> {
  await sql.exec(`CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  return sql.transaction(async (tx) => {
    await tx.query('SELECT 1 AS locked FROM pg_advisory_xact_lock($1::bigint)', [
      advisoryLockKey(MIGRATIONS_TABLE),
    ]);
    const rows = await tx.query<{ name: string; checksum: string }>(
      `SELECT name, checksum FROM "${MIGRATIONS_TABLE}"`,
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
      await tx.query(`INSERT INTO "${MIGRATIONS_TABLE}" (name, checksum) VALUES ($1, $2)`, [
        migration.name,
        migration.checksum,
      ]);
      result.applied.push(migration.name);
    }
    return result;
  });
}
