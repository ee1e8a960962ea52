// A compiled read's one statement runs on the runtime's own driver adapter, past Prisma's client
// (src/db/direct-reads.ts): Prisma's query events never see it, the runtime's do, and the answer is
// the database's. The reader itself: through the client until it has connected, for a value Prisma
// would serialise, and after the adapter is disposed.
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
} from '@prisma/driver-adapter-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { directReads, type RawReader } from '../src/db/direct-reads.js';
import {
  DATABASE_KINDS,
  ORDER_GROUPS_BY_STATUS,
  orderGroupsByStatus,
  query,
  useTestApp,
} from './helpers/runtime.js';

describe.each(DATABASE_KINDS)('compiled reads on the driver adapter, %s', (kind) => {
  const app = useTestApp(kind);
  const prismaEvents: string[] = [];
  beforeAll(() => {
    (
      app.runtime.prisma as unknown as {
        $on(event: 'query', listener: (event: { query: string }) => void): void;
      }
    ).$on('query', (event) => prismaEvents.push(event.query));
  });

  it('runs the statement without Prisma and answers what the database holds', async () => {
    // the first request connects the client: from then on reads skip it
    await query(app, { tenantId: 1 }, '{ orders(first: 1) { nodes { id } } }');
    for (const tenantId of [1, 2]) {
      prismaEvents.length = 0;
      app.statements.length = 0;
      const data = await query(app, { tenantId, roles: ['agent'] }, ORDER_GROUPS_BY_STATUS);
      expect(data.ordersGroupBy).toEqual(await orderGroupsByStatus(app, tenantId));
      expect(app.statements).toHaveLength(1);
      expect(app.statements[0]).toMatch(/^SELECT \(SELECT coalesce\(json_agg\(/);
      expect(prismaEvents).toEqual([]);
    }
  });

  it('keeps the row scope on a nested read: every row is the tenant’s, as raw SQL says', async () => {
    prismaEvents.length = 0;
    const data = await query(
      app,
      { tenantId: 2 },
      '{ orders(first: 50) { nodes { id customer { id } items { id product { id } } } } }',
    );
    expect(prismaEvents).toEqual([]);
    const ids = data.orders.nodes.map((order: { id: number }) => order.id);
    const truth = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 50',
    );
    expect(ids).toEqual(truth.map((row) => row.id));
  });
});

/** A driver adapter that answers every statement with one row naming the statement. */
function fakeFactory(sent: SqlQuery[]) {
  const connects: SqlDriverAdapter[] = [];
  const factory = {
    provider: 'postgres',
    adapterName: 'fake',
    async connect() {
      const adapter = {
        provider: 'postgres',
        adapterName: 'fake',
        async queryRaw(query: SqlQuery) {
          sent.push(query);
          return { columnNames: ['rows', 'n'], columnTypes: [], rows: [[query.sql, 1]] };
        },
        async dispose() {},
      } as unknown as SqlDriverAdapter;
      connects.push(adapter);
      return adapter;
    },
  } as unknown as SqlDriverAdapterFactory;
  return { factory, connects };
}

describe('directReads', () => {
  const fallback = (seen: unknown[][]): RawReader => ({
    async $queryRawUnsafe<Row>(_query: string, ...values: unknown[]) {
      seen.push(values);
      return [{ rows: 'fallback' }] as Row[];
    },
  });

  it('reads through the client until it has connected, then on its adapter', async () => {
    const sent: SqlQuery[] = [];
    const viaClient: unknown[][] = [];
    const { factory } = fakeFactory(sent);
    const reads = directReads(factory);
    const reader = reads.reader(fallback(viaClient));
    expect(await reader.$queryRawUnsafe('SELECT 1', 7)).toEqual([{ rows: 'fallback' }]);
    const adapter = await reads.factory.connect();
    const events: unknown[] = [];
    reads.onStatement((event) => events.push(event));
    expect(await reader.$queryRawUnsafe('SELECT $1, $2, $3', 'a', 2, true)).toEqual([
      { rows: 'SELECT $1, $2, $3', n: 1 },
    ]);
    expect(sent).toEqual([
      {
        sql: 'SELECT $1, $2, $3',
        args: ['a', 2, true],
        argTypes: [
          { scalarType: 'string', arity: 'scalar' },
          { scalarType: 'decimal', arity: 'scalar' },
          { scalarType: 'unknown', arity: 'scalar' },
        ],
      },
    ]);
    expect(events).toEqual([{ query: 'SELECT $1, $2, $3', params: ['a', 2, true] }]);
    // a value Prisma serialises first (a Date, a BigInt) still goes through it
    await reader.$queryRawUnsafe('SELECT $1', new Date(0));
    await reader.$queryRawUnsafe('SELECT $1', 1n);
    expect(sent).toHaveLength(1);
    expect(viaClient).toHaveLength(3);
    // a disposed adapter is never read on again
    await adapter.dispose();
    await reader.$queryRawUnsafe('SELECT 2');
    expect(sent).toHaveLength(1);
    expect(viaClient).toHaveLength(4);
  });

  it('reads only on the connection of its own factory, not another client’s over the same adapter', async () => {
    const sent: SqlQuery[] = [];
    const viaClient: unknown[][] = [];
    const { factory, connects } = fakeFactory(sent);
    const reads = directReads(factory);
    const reader = reads.reader(fallback(viaClient));
    // a replay's rollback client connects the underlying factory itself
    await factory.connect();
    await reader.$queryRawUnsafe('SELECT 1');
    expect(sent).toHaveLength(0);
    expect(viaClient).toHaveLength(1);
    const own = await reads.factory.connect();
    expect(connects).toHaveLength(2);
    expect(own).toBe(connects[1]);
    await reader.$queryRawUnsafe('SELECT 1');
    expect(sent).toHaveLength(1);
  });
});
