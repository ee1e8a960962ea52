import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { SqlDriver } from '../db/database.js';

/**
 * The Prisma driver adapter with every transaction rolled back where it would commit: a replayed
 * write runs whole (checks, before, write, after, its audit record) and leaves nothing behind, so
 * the next call, and the next replay, read the database as the fixture left it.
 */
export function rollbackAdapter(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  // a factory of its own: the one given may serve a client that commits
  const wrapped = Object.create(factory) as SqlDriverAdapterFactory;
  wrapped.connect = async () => {
    const adapter: SqlDriverAdapter = await factory.connect();
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args) => rollingBack(await start(...args));
    return adapter;
  };
  return wrapped;
}

function rollingBack(transaction: Transaction): Transaction {
  if (transaction.options.usePhantomQuery) {
    // the adapter ends the transaction itself (PGlite): its commit becomes its rollback
    transaction.commit = transaction.rollback.bind(transaction);
    return transaction;
  }
  // Prisma sends COMMIT as a statement, then releases the connection (node-postgres)
  const executeRaw = transaction.executeRaw.bind(transaction);
  transaction.executeRaw = (query: SqlQuery) =>
    executeRaw(/^\s*COMMIT\s*;?\s*$/i.test(query.sql) ? { ...query, sql: 'ROLLBACK' } : query);
  return transaction;
}

interface SequenceState {
  name: string;
  last: string | null;
  start: string;
}

/**
 * The app schema's sequences, put back after each call: PostgreSQL never rolls a sequence back,
 * so without this a replayed create would take the next id, and the one after it another.
 */
export class SequenceKeeper {
  #saved = new Map<string, SequenceState>();

  constructor(
    private readonly sql: SqlDriver,
    private readonly schema: string,
  ) {}

  async save(): Promise<void> {
    this.#saved = new Map((await this.#read()).map((state) => [state.name, state]));
  }

  /** Sets every sequence that moved since `save` back to where it was. */
  async restore(): Promise<void> {
    for (const now of await this.#read()) {
      const saved = this.#saved.get(now.name);
      if (!saved || saved.last === now.last) continue;
      await this.sql.query(
        'SELECT setval($1::regclass, $2::bigint, $3::boolean) AS restored',
        saved.last === null ? [saved.name, saved.start, false] : [saved.name, saved.last, true],
      );
    }
  }

  async #read(): Promise<SequenceState[]> {
    const rows = await this.sql.query<{ name: string; last: unknown; start: unknown }>(
      `SELECT format('%I.%I', schemaname, sequencename) AS name, last_value AS last, start_value AS start
         FROM pg_sequences WHERE schemaname = $1 ORDER BY sequencename`,
      [this.schema],
    );
    return rows.map((row) => ({
      name: row.name,
      last: row.last === null || row.last === undefined ? null : String(row.last),
      start: String(row.start),
    }));
  }
}
