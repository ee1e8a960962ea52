import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { Pool, PoolClient } from 'pg';

/** Raw SQL access beside Prisma: migrations, seeding, health checks and tests use it. */
export interface SqlDriver {
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
}

export type DatabaseKind = 'pglite' | 'postgres';

/** One open database: the raw driver and the Prisma driver adapter over the same connection(s). */
export interface Database {
  readonly kind: DatabaseKind;
  /** Where it lives, for messages: a directory, `memory`, or the URL without its password. */
  readonly location: string;
  /** The PostgreSQL schema the tables live in. */
  readonly schema: string;
  readonly sql: SqlDriver;
  readonly adapter: SqlDriverAdapterFactory;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | {
      kind: 'pglite';
      /** A data directory, or `memory://` (or undefined) for an in-memory database. */
      dataDir?: string;
      /** A tarball made by PGlite's dumpDataDir, to start from instead of an empty cluster. */
      loadDataDir?: Blob;
      statementTimeoutMs?: number;
    }
  | {
      kind: 'postgres';
      url: string;
      schema?: string;
      poolSize?: number;
      statementTimeoutMs?: number;
    };

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.kind === 'pglite' ? openPglite(options) : openPostgres(options);
}

async function openPglite(options: Extract<DatabaseOptions, { kind: 'pglite' }>) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const inMemory = !options.dataDir || options.dataDir.startsWith('memory://');
  if (!inMemory && options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pglite = await PGlite.create(inMemory ? undefined : options.dataDir, {
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  if (options.statementTimeoutMs) {
    await pglite.exec(`SET statement_timeout = ${Math.floor(options.statementTimeoutMs)}`);
  }
  type Queryable = Pick<typeof pglite, 'exec' | 'query'>;
  const driverOf = (db: Queryable): SqlDriver => ({
    async exec(sql) {
      await db.exec(sql);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await db.query<Row>(sql, params)).rows;
    },
    transaction: (fn) => pglite.transaction((tx) => fn(driverOf(tx))),
  });
  return {
    kind: 'pglite' as const,
    location: options.dataDir ?? 'memory',
    schema: 'public',
    sql: driverOf(pglite),
    // PGlite is one connection: Prisma and the raw driver share it, one statement at a time.
    adapter: new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory,
    close: () => pglite.close(),
  };
}

async function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>) {
  const { default: pg } = await import('pg');
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const schema = options.schema ?? schemaFromUrl(options.url) ?? 'public';
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // adapter-pg names the schema in its SQL; raw SQL finds the tables through search_path.
    // The statement timeout is a budget the database enforces on every statement.
    options: [
      `-c search_path=${quoteIdent(schema)}`,
      ...(options.statementTimeoutMs
        ? [`-c statement_timeout=${Math.floor(options.statementTimeoutMs)}`]
        : []),
    ].join(' '),
  });
  const driverOf = (db: Pool | PoolClient): SqlDriver => ({
    async exec(sql) {
      await db.query(sql);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await db.query(sql, params)).rows as Row[];
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(driverOf(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
  });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  return {
    kind: 'postgres' as const,
    location: redactUrl(options.url),
    schema,
    sql: driverOf(pool),
    adapter: new PrismaPg(pool, { schema }) as unknown as SqlDriverAdapterFactory,
    close: () => pool.end(),
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function schemaFromUrl(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('schema') ?? undefined;
  } catch {
    return undefined;
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgresql://(unparsable url)';
  }
}

/** A stable 63-bit number for pg_advisory_lock from a name. */
export function advisoryLockKey(name: string): string {
  return BigInt.asIntN(
    64,
    BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 16)}`),
  ).toString();
}
