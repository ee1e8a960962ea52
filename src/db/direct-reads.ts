import type {
  ArgType,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';

/** A statement seen on its way to the database, for `logQueries` (tests and the bench count them). */
export interface StatementEvent {
  query: string;
  params: readonly unknown[];
}

/** Runs one raw SELECT and returns its rows as objects (the shape of `$queryRawUnsafe`). */
export interface RawReader {
  $queryRawUnsafe<Row>(query: string, ...values: unknown[]): Promise<Row[]>;
}

export interface DirectReads {
  /** The factory to build the Prisma client over: its connection is the one reads run on. */
  factory: SqlDriverAdapterFactory;
  /** Runs a statement on that connection, or through `fallback` until the client has connected. */
  reader(fallback: RawReader): RawReader;
  /** Called with each statement `reader` runs itself (Prisma's query events do not see them). */
  onStatement(listener: (event: StatementEvent) => void): void;
}

/**
 * The driver adapter the runtime's Prisma client connects, reachable for the one statement of a
 * compiled read (json-read.ts): Prisma's raw query path (serialising the values, its query
 * interpreter, mapping the result) costs more CPU than the read itself for a small statement.
 * The statement still goes through every wrapper of `factory` (planner budget, SQL spans, the
 * adapter's statement names), on the connection pool Prisma uses; only the client is skipped.
 * A new factory object is returned so that another client over `factory` (a replay's rollback
 * client) is never the one reads run on.
 */
export function directReads(factory: SqlDriverAdapterFactory): DirectReads {
  let connected: SqlDriverAdapter | null = null;
  const listeners: ((event: StatementEvent) => void)[] = [];
  const capturing: SqlDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = await factory.connect();
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        if (connected === adapter) connected = null;
        await dispose();
      };
      connected = adapter;
      return adapter;
    },
  };
  return {
    factory: capturing,
    reader: (fallback) => ({
      async $queryRawUnsafe<Row>(query: string, ...values: unknown[]): Promise<Row[]> {
        const adapter = connected;
        if (!adapter || !values.every(isPlainValue)) {
          return fallback.$queryRawUnsafe<Row>(query, ...values);
        }
        const result = await adapter.queryRaw({
          sql: query,
          args: values,
          argTypes: values.map(argTypeOf),
        });
        // after it ran, as Prisma's query events: a statement the planner budget refused was not sent
        for (const listener of listeners) listener({ query, params: values });
        return result.rows.map((row) => {
          const object: Record<string, unknown> = {};
          for (const [index, name] of result.columnNames.entries()) object[name] = row[index];
          return object as Row;
        });
      },
    }),
    onStatement: (listener) => {
      listeners.push(listener);
    },
  };
}

/**
 * Values the adapter sends as Prisma would: text, numbers and booleans as they are. Anything else
 * (a Date, a BigInt, bytes) goes through Prisma, which serialises it first.
 */
function isPlainValue(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** The type Prisma's raw query gives a value of `isPlainValue` (a number is a decimal to it). */
function argTypeOf(value: unknown): ArgType {
  const scalarType =
    typeof value === 'string' ? 'string' : typeof value === 'number' ? 'decimal' : 'unknown';
  return { scalarType, arity: 'scalar' };
}
