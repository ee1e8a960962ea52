// Pins the SQL a nested request runs, from the runtime's query events: batched (no N+1), every tenant
// table a statement reads carries the tenant predicate, except a to-one relation joined into its
// parent's statement, whose rows carry the tenant column for the data-access point's check.
import { describe, expect, it } from 'vitest';
import {
  DATABASE_KINDS_AND_READ_PATHS,
  ORDER_GROUPS_BY_STATUS,
  orderGroupsByStatus,
  query,
  useTestApp,
} from './helpers/runtime.js';

const TENANT_TABLES = ['User', 'Customer', 'Product', 'Order', 'OrderItem'];

/** The tables a statement reads (a lateral join reads its relation's table in the same statement). */
function tablesOf(statement: string) {
  return [...statement.matchAll(/FROM\s+(?:"[^"]+"\.)?"([^"]+)"/gi)].map((match) => match[1]!);
}

/**
 * Each tenant table read has a tenant predicate of its own (the alias Prisma gave it, or its name),
 * except the `joinedToOne` tables: a to-one relation cannot take a where in Prisma, so its rows are
 * loaded with their tenant column and checked after the fetch (test/to-one-join.test.ts).
 */
function expectTenantScoped(statement: string, joinedToOne: string[] = []) {
  const tables = tablesOf(statement);
  expect(tables.length).toBeGreaterThan(0);
  for (const table of tables) expect(TENANT_TABLES).toContain(table);
  const predicates = statement.match(/"tenantId" = \$\d+/g) ?? [];
  const joined = tables.filter((table) => joinedToOne.includes(table));
  expect(joined).toHaveLength(joinedToOne.length);
  expect(predicates.length).toBeGreaterThanOrEqual(tables.length - joined.length);
  for (const table of joinedToOne) {
    const alias = new RegExp(`FROM (?:"[^"]+"\\.)?"${table}" AS "(t\\d+)"`).exec(statement)?.[1];
    expect(alias).toBeDefined();
    expect(statement).toContain(`'tenantId', "${alias}"."tenantId"`);
  }
}

// Compiled reads (src/schema/compiled-read.ts) answer these queries in one statement of their own,
// in which every table carries its own tenant predicate; the executor, which answers whatever they
// do not, is pinned too.
describe.each(DATABASE_KINDS_AND_READ_PATHS)(
  'SQL statements on %s, %s',
  (kind, _path, compiled) => {
    const app = useTestApp(kind, { compiledReads: compiled });
    /** The to-one tables the executor joins without a predicate of their own (checked on the row). */
    const joined = (tables: string[]) => (compiled ? [] : tables);

    // With relationJoins (the example's client), a list relation is a lateral join in its parent's
    // statement, and so is a to-one relation whose target's scope (tenant, soft delete) the
    // data-access point checks on the loaded row: one statement in all.
    it('orders → customer, items → product (Q1): 1 statement, tenant-scoped', async () => {
      app.statements.length = 0;
      const data = await query(
        app,
        { tenantId: 2 },
        '{ orders(first: 20) { nodes { customer { name } items { product { name } } } } }',
      );
      expect(data.orders.nodes).toHaveLength(20);
      expect(
        data.orders.nodes.every((order: any) => order.customer && order.items.length >= 2),
      ).toBe(true);
      const statements = [...app.statements];
      // orders with their customers and their items with their products
      expect(statements).toHaveLength(1);
      expectTenantScoped(statements[0]!, joined(['Customer', 'Product']));
    });

    it("orders grouped by status (Q3): 1 statement, tenant-scoped, its groups the database's", async () => {
      app.statements.length = 0;
      const data = await query(app, { tenantId: 2 }, ORDER_GROUPS_BY_STATUS);
      const statements = [...app.statements];
      expect(statements).toHaveLength(1);
      expectTenantScoped(statements[0]!);
      expect(statements[0]!.startsWith('SELECT (SELECT coalesce(json_agg(')).toBe(compiled);
      expect(data.ordersGroupBy).toEqual(await orderGroupsByStatus(app, 2));
    });

    it('one order → customer, items → product (Q2): 1 statement, tenant-scoped', async () => {
      const [order] = await app.sql<{ id: number }>(
        'SELECT id FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
      );
      app.statements.length = 0;
      const data = await query(
        app,
        { tenantId: 2 },
        `{ order(id: ${order!.id}) { status customer { name email } items { quantity product { name } } } }`,
      );
      expect(data.order.customer.name).toBeTruthy();
      expect(data.order.items.length).toBeGreaterThanOrEqual(2);
      expect(data.order.items.every((item: any) => item.product.name)).toBe(true);
      expect(app.statements).toHaveLength(1);
      expectTenantScoped(app.statements[0]!, joined(['Customer', 'Product']));
    });

    it('a to-one with a list beneath it: its own statement in the executor', async () => {
      app.statements.length = 0;
      await query(
        app,
        { tenantId: 1 },
        '{ orders(first: 10) { nodes { customer { orders(first: 5) { id } } items { product { name } } } } }',
      );
      if (compiled) {
        expect(app.statements).toHaveLength(1);
        expectTenantScoped(app.statements[0]!);
        return;
      }
      // orders with their items and products; customers with their orders, once per customer
      // rather than again for every order that shares one
      expect(app.statements).toHaveLength(2);
      expectTenantScoped(app.statements[0]!, ['Product']);
      expectTenantScoped(app.statements[1]!);
    });

    it('reads only the columns asked for, the keys and the join columns', async () => {
      app.statements.length = 0;
      await query(
        app,
        { tenantId: 1, roles: ['agent'] },
        '{ orders(first: 5) { nodes { status customer { name email } items { product { name } } } } order(id: 1) { totalCents } }',
      );
      const statements = app.statements.join('\n');
      expect(statements).toMatch(/"status"/);
      expect(statements).toMatch(/"email"/);
      // not asked for: the order's notes and dates, the customer's ssn (which the agent cannot
      // read at all), the product's prices
      for (const column of [
        'notes',
        'createdAt',
        'ssn',
        'tier',
        'costCents',
        'priceCents',
        'sku',
      ]) {
        expect(statements).not.toMatch(new RegExp(`\\."${column}"`));
      }
    });

    it('a request over the relation-depth budget runs no SQL at all', async () => {
      app.statements.length = 0;
      const { body } = await app.graphql(
        { tenantId: 1 },
        '{ orders(first: 10) { nodes { customer { orders(first: 5) { items { id } } } } } }',
      );
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'QUERY_BUDGET_EXCEEDED',
        details: { budget: 'max_include_depth', limit: 2, requested: 3 },
      });
      expect(app.statements).toEqual([]);
    });
  },
);
