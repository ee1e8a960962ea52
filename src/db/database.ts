import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { Pool, PoolClient } from 'pg';
import { describeError } from '../describe-error.js';
import { connectFailure, parseDatabaseUrl } from './database-url.js';
import { displayPath, lockEmbeddedDatabase } from './embedded-lock.js';
import { preparesStatements, statementNames } from './statement-names.js';

/** Raw SQL access beside Prisma: migrations, seeding, health checks and tests use it. */
export interface SqlDriver {
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
}

export type DatabaseKind = 'pglite' | 'postgres' | 'prisma';

/** One open database: the raw driver and the Prisma driver adapter over the same connection(s). */
export interface Database {
  readonly kind: DatabaseKind;
  /** Where it lives, for messages: a directory, `memory`, or the URL without its password. */
  readonly location: string;
  /** The PostgreSQL schema the tables live in. */
  readonly schema: string;
  readonly sql: SqlDriver;
  /** The Prisma driver adapter; absent when the app handed ormai its own PrismaClient. */
  readonly adapter?: SqlDriverAdapterFactory;
  /** The pg pool ormai opened (PostgreSQL): its connection counts are exported as metrics. */
  readonly pool?: Pick<Pool, 'totalCount' | 'idleCount' | 'waitingCount'>;
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
      /** Schemas searched after `public` by raw SQL (ormai's own). */
      extraSearchPath?: string[];
      /** Fills a new data directory (migrations, seed) before it takes its place. */
      initialize?: (db: Database) => Promise<void>;
      /** Move a data directory that cannot be opened aside (`<dataDir>.damaged-<time>`) and start anew. */
      replaceDamaged?: boolean;
      /** Lines about the data directory: created, taken over, moved aside. */
      log?: (line: string) => void;
    }
  | {
      kind: 'postgres';
      url: string;
      schema?: string;
      poolSize?: number;
      statementTimeoutMs?: number;
      /** Schemas searched after the app's by raw SQL (ormai's own). */
      extraSearchPath?: string[];
    };

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.kind === 'pglite' ? openPglite(options) : openPostgres(options);
}

/** The embedded database's packages are optional peers: installed only by those who use it. */
async function importPglite() {
  try {
    const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('pglite-prisma-adapter'),
    ]);
    return { PGlite, PrismaPGlite };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error(
      'the embedded database needs @electric-sql/pglite and pglite-prisma-adapter: ' +
        '`npm install @electric-sql/pglite pglite-prisma-adapter`, or set DATABASE_URL to use PostgreSQL',
      { cause: error },
    );
  }
}

type PgliteOptions = Extract<DatabaseOptions, { kind: 'pglite' }>;
type PgliteModules = Awaited<ReturnType<typeof importPglite>>;

/**
 * The embedded database. In a data directory it is this process's alone (a lock file beside it),
 * and a new one is made whole in `<dataDir>.creating-<pid>` (with `initialize`) before it is
 * renamed into place, so a first start cut short leaves no half-made database behind.
 */
async function openPglite(options: PgliteOptions): Promise<Database> {
  const modules = await importPglite();
  if (!options.dataDir || options.dataDir.startsWith('memory://')) {
    return pgliteAt(modules, undefined, options, 'memory');
  }
  const dataDir = options.dataDir;
  const lock = await lockEmbeddedDatabase(dataDir, { log: options.log });
  try {
    removeInterruptedCreations(dataDir, options.log);
    if (!hasDataDir(dataDir)) await createDataDir(modules, dataDir, options);
    let db: Database;
    try {
      db = await pgliteAt(modules, dataDir, options, dataDir);
    } catch (error) {
      if (!options.replaceDamaged) throw new EmbeddedDatabaseDamagedError(dataDir, error);
      const aside = `${dataDir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(dataDir, aside);
      options.log?.(
        `the embedded database ${displayPath(dataDir)} could not be opened (${describeError(error)}): moved it to ${displayPath(aside)}`,
      );
      await createDataDir(modules, dataDir, options);
      db = await pgliteAt(modules, dataDir, options, dataDir);
    }
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** The data directory cannot be opened: an interrupted first start (before creation was atomic), a full disk. */
export class EmbeddedDatabaseDamagedError extends Error {
  readonly code = 'EMBEDDED_DATABASE_DAMAGED';

  constructor(
    readonly dataDir: string,
    cause: unknown,
  ) {
    const shown = displayPath(dataDir);
    super(
      `the embedded database ${shown} cannot be opened (${describeError(cause)}): it is damaged or a first start was interrupted; start a new one with \`ormai seed --reset\` (moves it aside to ${shown}.damaged-…) or delete ${shown}`,
      { cause },
    );
    this.name = 'EmbeddedDatabaseDamagedError';
  }
}

/** A data directory with something in it: an empty one (made by hand, or by an old ormai) is new. */
function hasDataDir(dataDir: string): boolean {
  if (!existsSync(dataDir)) return false;
  if (statSync(dataDir).isDirectory() && readdirSync(dataDir).length === 0) {
    rmdirSync(dataDir);
    return false;
  }
  return true;
}

async function createDataDir(modules: PgliteModules, dataDir: string, options: PgliteOptions) {
  const building = `${dataDir}.creating-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  options.log?.(`creating the embedded database in ${displayPath(dataDir)} (first run)…`);
  try {
    // messages about the new database name the directory it will be
    const fresh = await pgliteAt(modules, building, options, dataDir);
    try {
      await options.initialize?.(fresh);
    } finally {
      await fresh.close();
    }
    renameSync(building, dataDir);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
}

/** Under the lock, a `<dataDir>.creating-<pid>` is what a first start cut short left behind. */
function removeInterruptedCreations(dataDir: string, log?: (line: string) => void) {
  const parent = dirname(resolve(dataDir));
  const prefix = `${basename(resolve(dataDir))}.creating-`;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    rmSync(join(parent, name), { recursive: true, force: true });
    log?.(`removed ${displayPath(join(parent, name))}, left by an interrupted first start`);
  }
}

async function pgliteAt(
  { PGlite, PrismaPGlite }: PgliteModules,
  dataDir: string | undefined,
  options: PgliteOptions,
  location: string,
): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await keepingExitCode(() =>
    PGlite.create(dataDir, {
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    }),
  );
  try {
    if (options.statementTimeoutMs) {
      await pglite.exec(`SET statement_timeout = ${Math.floor(options.statementTimeoutMs)}`);
    }
    await pglite.exec(`SET search_path TO ${searchPath('public', options.extraSearchPath)}`);
  } catch (error) {
    await keepingExitCode(() => pglite.close()).catch(() => {});
    throw error;
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
    location,
    schema: 'public',
    sql: driverOf(pglite),
    // PGlite is one connection: Prisma and the raw driver share it, one statement at a time.
    adapter: new PrismaPGlite(pglite) as unknown as SqlDriverAdapterFactory,
    close: () => keepingExitCode(() => pglite.close()),
  };
}

/**
 * PGlite's Emscripten program sets process.exitCode as it starts (99) and ends (0): the exit code
 * stays the command's own (`ormai audit verify` on a broken chain exits 1, a clean run 0).
 */
async function keepingExitCode<T>(fn: () => Promise<T>): Promise<T> {
  const exitCode = process.exitCode;
  try {
    return await fn();
  } finally {
    process.exitCode = exitCode;
  }
}

async function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>) {
  const url = parseDatabaseUrl(options.url);
  const { default: pg } = await import('pg');
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const schema = options.schema ?? schemaFromUrl(options.url) ?? 'public';
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // adapter-pg names the schema in its SQL; raw SQL finds the tables through search_path.
    // The statement timeout is a budget the database enforces on every statement.
    options: [
      `-c search_path=${searchPath(schema, options.extraSearchPath)}`,
      ...(options.statementTimeoutMs
        ? [`-c statement_timeout=${Math.floor(options.statementTimeoutMs)}`]
        : []),
    ].join(' '),
  });
  // A connection can drop (the server restarting) while its client idles in the pool or is checked
  // out, even in the instant between the pool handing it over and its first statement; an 'error'
  // event nobody listens to would end the process. The statements fail on their own (callers get a
  // retryable error) and the pool discards broken clients, so these listeners only have to exist.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  // at start-up a server that cannot be reached is named, with what to check
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw connectFailure(error, url);
  }
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
  return {
    kind: 'postgres' as const,
    location: redactUrl(options.url),
    schema,
    sql: driverOf(pool),
    adapter: new PrismaPg(pool, {
      schema,
      // typed as always naming; adapter-pg passes undefined on, which node-postgres sends unnamed
      ...(preparesStatements(url)
        ? { statementNameGenerator: statementNames() as (query: { sql: string }) => string }
        : {}),
    }) as unknown as SqlDriverAdapterFactory,
    pool,
    close: () => pool.end(),
  };
}

/** The least a PrismaClient offers that ormai's own SQL (audit log, approvals, health) needs. */
export interface RawSqlClient {
  $queryRawUnsafe(query: string, ...values: unknown[]): Promise<unknown>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $transaction<T>(fn: (tx: RawSqlClient) => Promise<T>): Promise<T>;
}

/**
 * The app's own PrismaClient as ormai's database: ormai opens no pool of its own and runs its SQL
 * (audit log, approval queue, health checks) through the client's connections. Its tables are named
 * with their schema, since the app's connections search only the app's.
 */
export function databaseOverPrisma(prisma: RawSqlClient, schema = 'public'): Database {
  const driverOf = (client: RawSqlClient): SqlDriver => ({
    async exec(sql) {
      // Prisma prepares each statement, and a prepared statement is one statement
      for (const statement of splitStatements(sql)) await client.$executeRawUnsafe(statement);
    },
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await client.$queryRawUnsafe(sql, ...params)) as Row[];
    },
    transaction: (fn) => client.$transaction((tx) => fn(driverOf(tx))),
  });
  return {
    kind: 'prisma',
    location: "the app's PrismaClient",
    schema,
    sql: driverOf(prisma),
    // the app owns its client: closing ormai leaves it open
    close: async () => {},
  };
}

/** Splits SQL written as one statement per `;` at the end of a line (ormai's and Prisma's migration files). */
export function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter(Boolean);
}

function searchPath(first: string, extra: string[] = []): string {
  return [first, ...extra.filter((schema) => schema !== first)].map(quoteIdent).join(',');
}

const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// Prisma: can't reach (P1001), timed out (P1002), the server closed the connection (P1017)
const UNREACHABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017']);
const UNREACHABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const UNREACHABLE_MESSAGE =
  /Connection terminated|not queryable|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * Whether an error (pg's, the Prisma adapter's or Prisma's, at any depth of its causes) says the
 * database could not be reached or dropped the connection: SQLSTATE class 08, an administrator or
 * crash shutdown (57P01-57P03), too many connections (53300), or a socket error. Such a failure is
 * the database's, not the request's: the same request can succeed once it is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < 16) {
    const current = pending.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const candidate = current as {
      code?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      message?: unknown;
      cause?: unknown;
      originalError?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    for (const code of [candidate.code, candidate.originalCode]) {
      if (typeof code !== 'string') continue;
      if (
        /^08[0-9A-Z]{3}$/.test(code) ||
        /^57P0[123]$/.test(code) ||
        code === '53300' ||
        UNREACHABLE_SOCKET_CODES.has(code) ||
        UNREACHABLE_PRISMA_CODES.has(code)
      )
        return true;
    }
    if (typeof candidate.kind === 'string' && UNREACHABLE_ADAPTER_KINDS.has(candidate.kind))
      return true;
    if (UNREACHABLE_MESSAGE.test(String(candidate.message ?? ''))) return true;
    pending.push(candidate.cause, candidate.originalError, candidate.meta?.driverAdapterError);
  }
  return false;
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
