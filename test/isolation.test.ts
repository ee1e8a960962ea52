// Pins tenant isolation against the database itself: every root list, nested list, count and
// relation returns exactly the rows SQL says the tenant may see, even with cross-tenant foreign keys.
import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, ids, query, useTestApp } from './helpers/runtime.js';

const TENANTS = [1, 2, 3];
const ROOTS = [
  { field: 'tenants', table: 'Tenant', tenantColumn: 'id', softDelete: false },
  { field: 'users', table: 'User', tenantColumn: 'tenantId', softDelete: false },
  { field: 'customers', table: 'Customer', tenantColumn: 'tenantId', softDelete: true },
  { field: 'products', table: 'Product', tenantColumn: 'tenantId', softDelete: false },
  { field: 'orders', table: 'Order', tenantColumn: 'tenantId', softDelete: true },
  { field: 'orderItems', table: 'OrderItem', tenantColumn: 'tenantId', softDelete: false },
];

describe.each(DATABASE_KINDS)('tenant isolation on %s', (kind) => {
  const app = useTestApp(kind);

  async function pageAll(tenantId: number, field: string, first = 100) {
    const seen: number[] = [];
    let after: string | null = null;
    let totalCount = -1;
    for (let page = 0; page < 1000; page++) {
      const data = await query(
        app,
        { tenantId },
        `query($first: Int, $after: String) { ${field}(first: $first, after: $after) {
            totalCount nodes { id } edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
        { first, after },
      );
      const connection = data[field];
      totalCount = connection.totalCount;
      expect(ids(connection.edges.map((edge: any) => edge.node))).toEqual(ids(connection.nodes));
      seen.push(...ids(connection.nodes));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    return { seen, totalCount };
  }

  it.each(ROOTS)(
    '$field: paging through every page returns exactly the SQL rows of each tenant',
    async (root) => {
      for (const tenantId of TENANTS) {
        const rows = await app.sql<{ id: number }>(
          `SELECT id FROM "${root.table}" WHERE "${root.tenantColumn}" = $1 ${root.softDelete ? 'AND "deletedAt" IS NULL' : ''} ORDER BY id`,
          [tenantId],
        );
        expect(rows.length).toBeGreaterThan(0);
        const { seen, totalCount } = await pageAll(tenantId, root.field);
        expect(seen).toEqual(ids(rows));
        expect(totalCount).toBe(rows.length);
      }
    },
  );

  it('soft-deleted rows exist in the database but are never returned', async () => {
    const [deleted] = await app.sql<{ id: number; tenantId: number }>(
      'SELECT id, "tenantId" FROM "Order" WHERE "deletedAt" IS NOT NULL ORDER BY id LIMIT 1',
    );
    expect(deleted).toBeDefined();
    const data = await query(
      app,
      { tenantId: deleted!.tenantId },
      `{ order(id: ${deleted!.id}) { id } }`,
    );
    expect(data.order).toBeNull();
  });

  it('nested to-many lists hold exactly the SQL rows of the tenant', async () => {
    for (const tenantId of TENANTS) {
      const data = await query(
        app,
        { tenantId },
        `{ customers(first: 100) { nodes { id orders(first: 50) { id tenantId items(first: 10) { id } } } } }`,
      );
      const customerIds = ids(data.customers.nodes);
      const orders = await app.sql<{ id: number; customerId: number }>(
        `SELECT id, "customerId" FROM "Order" WHERE "tenantId" = $1 AND "deletedAt" IS NULL AND "customerId" = ANY($2::int[]) ORDER BY id`,
        [tenantId, customerIds],
      );
      const items = await app.sql<{ id: number; orderId: number }>(
        `SELECT id, "orderId" FROM "OrderItem" WHERE "tenantId" = $1 ORDER BY id`,
        [tenantId],
      );
      for (const customer of data.customers.nodes) {
        const expected = orders.filter((order) => Number(order.customerId) === customer.id);
        expect(ids(customer.orders)).toEqual(ids(expected));
        for (const order of customer.orders) {
          expect(order.tenantId).toBe(tenantId);
          const expectedItems = items.filter((item) => Number(item.orderId) === order.id);
          expect(ids(order.items)).toEqual(ids(expectedItems));
        }
      }
    }
  });

  it('order(id) of another tenant is null, of its own tenant is the row', async () => {
    const [other] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
    );
    expect(
      (await query(app, { tenantId: 1 }, `{ order(id: ${other!.id}) { id } }`)).order,
    ).toBeNull();
    expect((await query(app, { tenantId: 2 }, `{ order(id: ${other!.id}) { id } }`)).order).toEqual(
      {
        id: other!.id,
      },
    );
  });

  it('a cross-tenant foreign key leaks through no relation and no relation filter', async () => {
    // tenant 1's order pointing at tenant 2's customer, and tenant 2's item inside tenant 1's order
    const [foreignCustomer] = await app.sql<{ id: number; name: string }>(
      `SELECT id, name FROM "Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 1`,
    );
    const [product2] = await app.sql<{ id: number }>(
      'SELECT id FROM "Product" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
    );
    const [crossOrder] = await app.sql<{ id: number }>(
      `INSERT INTO "Order" ("tenantId", "customerId", status, "totalCents") VALUES (1, $1, 'pending', 1) RETURNING id`,
      [foreignCustomer!.id],
    );
    const [ownOrder] = await app.sql<{ id: number }>(
      `SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1`,
    );
    const [crossItem] = await app.sql<{ id: number }>(
      `INSERT INTO "OrderItem" ("tenantId", "orderId", "productId", quantity, "unitPriceCents") VALUES (2, $1, $2, 1, 1) RETURNING id`,
      [ownOrder!.id, product2!.id],
    );
    try {
      const asTenant1 = await query(
        app,
        { tenantId: 1 },
        `{ order(id: ${crossOrder!.id}) { id customer { id name } }
           own: order(id: ${ownOrder!.id}) { items(first: 100) { id product { id } } }
           byName: orders(where: { customer: { is: { name: { equals: ${JSON.stringify(foreignCustomer!.name)} } } } }) { nodes { id } }
           customers(where: { id: { equals: ${foreignCustomer!.id} } }) { totalCount } }`,
      );
      expect(asTenant1.order).toEqual({ id: crossOrder!.id, customer: null });
      expect(ids(asTenant1.own.items)).not.toContain(crossItem!.id);
      expect(ids(asTenant1.byName.nodes)).not.toContain(crossOrder!.id);
      expect(asTenant1.customers.totalCount).toBe(0);

      const asTenant2 = await query(
        app,
        { tenantId: 2 },
        `{ customer(id: ${foreignCustomer!.id}) { orders(first: 100) { id } }
           orderItem(id: ${crossItem!.id}) { id order { id } product { id } }
           customers(where: { orders: { some: { id: { equals: ${crossOrder!.id} } } } }) { totalCount }
           orders(where: { id: { equals: ${crossOrder!.id} } }) { totalCount } }`,
      );
      expect(ids(asTenant2.customer.orders)).not.toContain(crossOrder!.id);
      expect(asTenant2.orderItem).toEqual({
        id: crossItem!.id,
        order: null,
        product: { id: product2!.id },
      });
      expect(asTenant2.customers.totalCount).toBe(0);
      expect(asTenant2.orders.totalCount).toBe(0);
    } finally {
      await app.sql('DELETE FROM "OrderItem" WHERE id = $1', [crossItem!.id]);
      await app.sql('DELETE FROM "Order" WHERE id = $1', [crossOrder!.id]);
    }
  });

  it('every filters ignore rows the caller cannot see', async () => {
    // an order of tenant 1 whose every visible item has quantity >= 1, plus a hidden item of tenant 2
    const data = await query(
      app,
      { tenantId: 1 },
      `{ orders(where: { items: { every: { quantity: { gte: 1 } } } }) { totalCount } }`,
    );
    const [row] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" o WHERE o."tenantId" = 1 AND o."deletedAt" IS NULL
         AND NOT EXISTS (SELECT 1 FROM "OrderItem" i WHERE i."orderId" = o.id AND i."tenantId" = 1 AND i.quantity < 1)`,
    );
    expect(data.orders.totalCount).toBe(row!.n);
  });
});
