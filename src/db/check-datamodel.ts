import type { Datamodel } from '../policy/datamodel.js';
import type { SqlDriver } from './database.js';

/** What the database lacks of the datamodel: whole tables, and columns of tables that exist. */
export interface DatamodelGaps {
  missingTables: string[];
  missingColumns: string[];
  /** Prisma migrations that started and did not finish (`_prisma_migrations`), a likely cause. */
  unfinishedMigrations: string[];
}

/**
 * Compares the datamodel with the database's catalog: every model's table (`@@map`, `@@schema`)
 * and every scalar field's column (`@map`). Only reads; the app's migrations are the app's to run.
 */
export async function findDatamodelGaps(
  sql: SqlDriver,
  datamodel: Datamodel,
  defaultSchema: string,
): Promise<DatamodelGaps> {
  const wanted = Object.entries(datamodel.datamodel.models).map(([name, model]) => ({
    schema: model.schema ?? defaultSchema,
    table: model.dbName ?? name,
    columns: model.fields
      .filter((field) => field.kind === 'scalar' || field.kind === 'enum')
      .map((field) => field.dbName ?? field.name),
  }));
  const schemas = [...new Set(wanted.map((model) => model.schema))];
  const rows = await sql.query<{ table_schema: string; table_name: string; column_name: string }>(
    `SELECT table_schema, table_name, column_name FROM information_schema.columns
      WHERE table_schema = ANY($1::text[])`,
    [schemas],
  );
  const columns = new Map<string, Set<string>>();
  for (const row of rows) {
    const key = `${row.table_schema}.${row.table_name}`;
    if (!columns.has(key)) columns.set(key, new Set());
    columns.get(key)!.add(row.column_name);
  }
  const gaps: DatamodelGaps = { missingTables: [], missingColumns: [], unfinishedMigrations: [] };
  for (const model of wanted) {
    const key = `${model.schema}.${model.table}`;
    const present = columns.get(key);
    if (!present) {
      gaps.missingTables.push(key);
      continue;
    }
    for (const column of model.columns) {
      if (!present.has(column)) gaps.missingColumns.push(`${key}.${column}`);
    }
  }
  if (gaps.missingTables.length > 0 || gaps.missingColumns.length > 0) {
    gaps.unfinishedMigrations = await unfinishedPrismaMigrations(sql, defaultSchema);
  }
  return gaps;
}

async function unfinishedPrismaMigrations(sql: SqlDriver, schema: string): Promise<string[]> {
  const [found] = await sql.query<{ table: string | null }>(
    'SELECT to_regclass($1)::text AS table',
    [`"${schema.replaceAll('"', '""')}"._prisma_migrations`],
  );
  if (!found?.table) return [];
  const rows = await sql.query<{ migration_name: string }>(
    `SELECT migration_name FROM ${found.table} WHERE finished_at IS NULL AND rolled_back_at IS NULL ORDER BY started_at`,
  );
  return rows.map((row) => row.migration_name);
}

/** One message naming what is missing and what to do, or null when nothing is. */
export function describeDatamodelGaps(gaps: DatamodelGaps, location: string): string | null {
  const missing = [
    ...gaps.missingTables.map((t) => `table ${t}`),
    ...gaps.missingColumns.map((c) => `column ${c}`),
  ];
  if (missing.length === 0) return null;
  const shown = missing.slice(0, 10).join(', ');
  const more = missing.length > 10 ? ` and ${missing.length - 10} more` : '';
  const unfinished =
    gaps.unfinishedMigrations.length > 0
      ? ` Prisma migrations that did not finish: ${gaps.unfinishedMigrations.join(', ')}.`
      : '';
  return (
    `the database (${location}) does not match the Prisma schema: missing ${shown}${more}.${unfinished} ` +
    "Run your app's migrations first (`npx prisma migrate deploy`), or point DATABASE_URL (and database.schema) at the database the app uses."
  );
}
