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
  /** The datamodel: `readPrismaSchema('prisma/schema.prisma')` (or Pothos's `getDatamodel()`). */
  datamodel: Datamodel;
  /**
   * Prisma migrations folder (`<timestamp>_<name>/migration.sql`), applied by ormai only when the
   * config sets `database.applyMigrations` (the examples do); a real app runs its own migrations.
   */
  migrationsDir?: string;
  /**
   * Builds the app's generated PrismaClient over the driver adapter ormai opened:
   * `(adapter, options) => new PrismaClient({ adapter, ...options })`. Not needed when the app hands
   * its own client to `createOrmai({ prisma })`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the adapter type is the app's own @prisma/client's
  createPrismaClient?: (adapter: any, options?: PrismaClientOptions) => PrismaClientLike;
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
