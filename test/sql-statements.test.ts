// Pins the SQL a nested request runs, from Prisma's query events: batched (no N+1), and every
// tenant table a statement reads carries the tenant predicate.
import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const TENANT_TABLES = ['User', 'Customer', 'Product', 'Order', 'OrderItem'];

/** The tables a statement reads (a lateral join reads its relation's table in the same statement). */
function tablesOf(statement: string) {
  return [...statement.matchAll(/FROM\s+(?:"[^"]+"\.)?"([^"]+)"/gi)].map((match) => match[1]!);
}

/** Each tenant table read has a tenant predicate of its own (the alias Prisma gave it, or its name). */
function expectTenantScoped(statement: string) {
  const tables = tablesOf(statement);
  expect(tables.length).toBeGreaterThan(0);
  for (const table of tables) expect(TENANT_TABLES).toContain(table);
  const predicates = statement.match(/"tenantId" = \$\d+/g) ?? [];
  expect(predicates.length).toBeGreaterThanOrEqual(tables.length);
}

describe.each(DATABASE_KINDS)('SQL statements on %s', (kind) => {
  const app = useTestApp(kind);

  // With relationJoins (the example's client), a list relation is a lateral join in its parent's
  // statement and each to-one level is one batched statement: nesting depth + 1 in all.
  it('orders → customer, items → product (Q1): 3 statements, each tenant-scoped', async () => {
    app.statements.length = 0;
    const data = await query(
      app,
      { tenantId: 2 },
      '{ orders(first: 20) { nodes { customer { name } items { product { name } } } } }',
    );
    expect(data.orders.nodes).toHaveLength(20);
    expect(data.orders.nodes.every((order: any) => order.customer && order.items.length >= 2)).toBe(
      true,
    );
    const statements = [...app.statements];
    // orders with their items, customers, products
    expect(statements).toHaveLength(3);
    for (const statement of statements) expectTenantScoped(statement);
  });

  it('one order → customer, items → product (Q2): 3 statements, each tenant-scoped', async () => {
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
    expect(app.statements).toHaveLength(3);
    for (const statement of app.statements) expectTenantScoped(statement);
  });

  it('a wider request stays at nesting depth + 1 statements', async () => {
    app.statements.length = 0;
    await query(
      app,
      { tenantId: 1 },
      '{ orders(first: 10) { nodes { customer { orders(first: 5) { id } } items { product { name } } } } }',
    );
    // orders with their items, customers with their orders, products
    expect(app.statements).toHaveLength(3);
    for (const statement of app.statements) expectTenantScoped(statement);
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
    for (const column of ['notes', 'createdAt', 'ssn', 'tier', 'costCents', 'priceCents', 'sku']) {
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
});
