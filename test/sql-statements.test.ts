// Pins the SQL a nested request runs, from Prisma's query events: batched (no N+1), and every
// statement on a tenant table carries the tenant predicate.
import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const TENANT_TABLES = ['User', 'Customer', 'Product', 'Order', 'OrderItem'];

function tableOf(statement: string) {
  return /FROM\s+(?:"[^"]+"\.)?"([^"]+)"/i.exec(statement)?.[1];
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
    for (const statement of statements) {
      const table = tableOf(statement);
      expect(TENANT_TABLES).toContain(table);
      expect(statement).toMatch(new RegExp(`"${table}"\\."tenantId" = \\$\\d+`));
    }
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
    for (const statement of app.statements) {
      expect(statement).toMatch(/"tenantId" = \$\d+/);
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
