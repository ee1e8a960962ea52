import type { SqlDriver } from './db/database.js';
import type { Datamodel } from './policy/datamodel.js';
import type { Policy } from './policy/types.js';
import type { PrismaClientLike } from './schema/context.js';

export interface PrismaClientOptions {
  log?: { emit: 'event' | 'stdout'; level: 'query' | 'info' | 'warn' | 'error' }[];
}

/** What ormai needs to know about an application: its ORM metadata, client, migrations and policy. */
export interface OrmaiApp {
  name: string;
  /** The datamodel from the `prisma-pothos-types` generator's `getDatamodel()`. */
  datamodel: Datamodel;
  /** Prisma migrations folder (`<timestamp>_<name>/migration.sql`). */
  migrationsDir: string;
  /** Builds the app's generated PrismaClient over a driver adapter. */
  createPrismaClient: (
    adapter: unknown,
    options?: PrismaClientOptions,
  ) => PrismaClientLike & PrismaLifecycle;
  policy: Policy;
  seed?: {
    isSeeded: (sql: SqlDriver) => Promise<boolean>;
    reset: (sql: SqlDriver) => Promise<void>;
    run: (sql: SqlDriver, options: { log?: (line: string) => void }) => Promise<unknown>;
  };
  /** Named GraphQL operations served as MCP tools next to the db.* tools. */
  domainTools?: DomainTool[];
  /** Principals `ormai serve` prints dev tokens for. */
  devPrincipals?: { sub: string; tenantId: number | string; roles: string[] }[];
}

/** A named GraphQL operation exposed as an MCP tool; its inputs are the operation's variables. */
export interface DomainTool {
  /** e.g. `orders.recent_for_customer` */
  name: string;
  description: string;
  /** One GraphQL query; it runs through the same schema and policy as every other call. */
  document: string;
}

export interface PrismaLifecycle {
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
  $on(
    event: 'query',
    callback: (event: { query: string; params: string; duration: number }) => void,
  ): void;
}
