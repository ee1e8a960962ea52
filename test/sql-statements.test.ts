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

  it('orders → customer, items → product: at most 4 statements, each tenant-scoped', async () => {
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
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.length).toBeLessThanOrEqual(4);
    for (const statement of statements) expectTenantScoped(statement);
  });

  it('a wider request stays one statement per relation', async () => {
    app.statements.length = 0;
    await query(
      app,
      { tenantId: 1 },
      '{ orders(first: 10) { nodes { customer { orders(first: 5) { id } } items { product { name } } } } }',
    );
    // orders, items, customer, customer.orders, product
    expect(app.statements.length).toBeLessThanOrEqual(5);
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
