// The saas example as the guarantee suites see it (CONTRACT §3): tenants 1-3, every table with
// tenantId, soft delete on customers and orders, sales reps owning orders, masked and hashed fields.
import fc from 'fast-check';
import { expect } from 'vitest';
import { saasApp } from '../../examples/saas/app.js';
import { maskValue } from '../../src/policy/redaction.js';
import type { AppSpec, RootSpec } from './spec.js';

const root = (
  field: string,
  table: string,
  tenantColumn: string,
  softDelete: boolean,
): RootSpec => ({
  field,
  single: field.replace(/s$/, ''),
  key: ['id'],
  sql: `SELECT id FROM "${table}" WHERE "${tenantColumn}" = $1 ${softDelete ? 'AND "deletedAt" IS NULL' : ''} ORDER BY id`,
  ...(softDelete
    ? {
        softDeletedSql: `SELECT id, "${tenantColumn}" AS tenant FROM "${table}" WHERE "deletedAt" IS NOT NULL ORDER BY id`,
      }
    : {}),
});

const ROLES = ['admin', 'support', 'sales', 'agent'] as const;
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];

/** What each role gets for a customer field, per the example policy. */
const CUSTOMER_FIELDS: Record<string, Record<string, (raw: unknown) => unknown>> = {
  admin: { email: (v) => v, phone: (v) => v, ssn: (v) => v },
  support: {
    email: (v) => v,
    phone: (v) => v,
    ssn: (v) => (v === null ? null : `****${String(v).slice(-4)}`),
  },
  sales: { email: (v) => v, phone: (v) => maskValue(v) },
  agent: { email: (v) => maskValue(v), phone: (v) => maskValue(v) },
};

interface SaasTruth {
  orders: Map<number, { tenantId: number; salesRepId: number | null }>;
  customers: Map<number, Record<string, unknown>>;
  items: Map<number, { tenantId: number; orderId: number; productId: number }>;
  salesReps: Map<number, number[]>;
}

const SSN = 'id customer { ssn } items(first: $nestedFirst) { id }';
const COST = 'id items(first: $nestedFirst) { product { costCents } }';
const SUPPORT = { sub: '3', tenantId: 1, roles: ['support'] };
const ADMIN = { sub: '1', tenantId: 1, roles: ['admin'] };

export const saasSpec: AppSpec = {
  app: saasApp,
  tenants: [1, 2, 3],
  roots: [
    root('tenants', 'Tenant', 'id', false),
    root('users', 'User', 'tenantId', false),
    root('customers', 'Customer', 'tenantId', true),
    root('products', 'Product', 'tenantId', false),
    root('orders', 'Order', 'tenantId', true),
    root('orderItems', 'OrderItem', 'tenantId', false),
  ],
  nested: [
    {
      root: 'customers',
      parentKey: ['id'],
      relation: 'orders',
      childKey: ['id'],
      sql: `SELECT "customerId"::text AS parent, id FROM "Order" WHERE "tenantId" = $1 AND "deletedAt" IS NULL ORDER BY id`,
    },
    {
      root: 'orders',
      parentKey: ['id'],
      relation: 'items',
      childKey: ['id'],
      sql: `SELECT "orderId"::text AS parent, id FROM "OrderItem" WHERE "tenantId" = $1 ORDER BY id`,
    },
  ],
  counts: [
    {
      // an order whose every visible item has quantity >= 1
      name: 'orders whose every item has a quantity',
      query:
        '{ result: orders(where: { items: { every: { quantity: { gte: 1 } } } }) { totalCount } }',
      sql: `SELECT count(*)::int AS n FROM "Order" o WHERE o."tenantId" = $1 AND o."deletedAt" IS NULL
              AND NOT EXISTS (SELECT 1 FROM "OrderItem" i WHERE i."orderId" = o.id AND i."tenantId" = $1 AND i.quantity < 1)`,
    },
  ],
  crossTenant: {
    // tenant 1's order pointing at tenant 2's customer, and tenant 2's item inside tenant 1's order
    async setup(sql) {
      const [foreignCustomer] = await sql<{ id: number; name: string }>(
        `SELECT id, name FROM "Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 1`,
      );
      const [product2] = await sql<{ id: number }>(
        'SELECT id FROM "Product" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
      );
      const [crossOrder] = await sql<{ id: number }>(
        `INSERT INTO "Order" ("tenantId", "customerId", status, "totalCents") VALUES (1, $1, 'pending', 1) RETURNING id`,
        [foreignCustomer!.id],
      );
      const [ownOrder] = await sql<{ id: number }>(
        `SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1`,
      );
      const [crossItem] = await sql<{ id: number }>(
        `INSERT INTO "OrderItem" ("tenantId", "orderId", "productId", quantity, "unitPriceCents") VALUES (2, $1, $2, 1, 1) RETURNING id`,
        [ownOrder!.id, product2!.id],
      );
      const ids = (rows: { id: unknown }[]) => rows.map((row) => Number(row.id));
      return {
        probes: [
          {
            name: "tenant 1 sees its order without tenant 2's customer, in no relation and no filter",
            principal: { sub: '1', tenantId: 1, roles: ['admin'] },
            query: `{ order(id: ${crossOrder!.id}) { id customer { id name } }
               own: order(id: ${ownOrder!.id}) { items(first: 100) { id product { id } } }
               byName: orders(where: { customer: { is: { name: { equals: ${JSON.stringify(foreignCustomer!.name)} } } } }) { nodes { id } }
               customers(where: { id: { equals: ${foreignCustomer!.id} } }) { totalCount } }`,
            check(data) {
              expect(data.order).toEqual({ id: crossOrder!.id, customer: null });
              expect(ids(data.own.items)).not.toContain(crossItem!.id);
              expect(ids(data.byName.nodes)).not.toContain(crossOrder!.id);
              expect(data.customers.totalCount).toBe(0);
            },
          },
          {
            name: "tenant 2 sees its item without tenant 1's order, and not tenant 1's order",
            principal: { sub: '11', tenantId: 2, roles: ['admin'] },
            query: `{ customer(id: ${foreignCustomer!.id}) { orders(first: 100) { id } }
               orderItem(id: ${crossItem!.id}) { id order { id } product { id } }
               customers(where: { orders: { some: { id: { equals: ${crossOrder!.id} } } } }) { totalCount }
               orders(where: { id: { equals: ${crossOrder!.id} } }) { totalCount } }`,
            check(data) {
              expect(ids(data.customer.orders)).not.toContain(crossOrder!.id);
              expect(data.orderItem).toEqual({
                id: crossItem!.id,
                order: null,
                product: { id: product2!.id },
              });
              expect(data.customers.totalCount).toBe(0);
              expect(data.orders.totalCount).toBe(0);
            },
          },
        ],
        async cleanup() {
          await sql('DELETE FROM "OrderItem" WHERE id = $1', [crossItem!.id]);
          await sql('DELETE FROM "Order" WHERE id = $1', [crossOrder!.id]);
        },
      };
    },
  },
  property: {
    roles: ROLES,
    field: 'orders',
    whereType: 'OrderWhereInput',
    orderByType: 'OrderOrderByInput',
    where: fc.oneof(
      fc.constant(null),
      fc.record({ status: fc.record({ in: fc.subarray(STATUSES, { minLength: 1 }) }) }),
      fc.record({ totalCents: fc.record({ gt: fc.integer({ min: 0, max: 300_000 }) }) }),
      fc.record({
        customer: fc.record({
          is: fc.record({
            tier: fc.record({
              equals: fc.constantFrom('free', 'standard', 'premium', 'enterprise'),
            }),
          }),
        }),
      }),
      fc.record({
        items: fc.record({
          some: fc.record({ quantity: fc.record({ gte: fc.integer({ min: 1, max: 5 }) }) }),
        }),
      }),
      fc.record({ NOT: fc.constant([{ status: { equals: 'paid' } }]) }),
      fc.record({
        OR: fc.constant([{ notes: { isNull: false } }, { salesRepId: { isNull: true } }]),
      }),
    ),
    orderBy: fc.constantFrom(
      null,
      [{ createdAt: 'DESC' }],
      [{ totalCents: 'ASC' }],
      [{ status: 'DESC' }, { id: 'DESC' }],
    ),
    async load(sql): Promise<SaasTruth> {
      const truth: SaasTruth = {
        orders: new Map(),
        customers: new Map(),
        items: new Map(),
        salesReps: new Map(),
      };
      for (const row of await sql<any>(
        'SELECT id, "tenantId", "salesRepId" FROM "Order" WHERE "deletedAt" IS NULL',
      )) {
        truth.orders.set(Number(row.id), {
          tenantId: Number(row.tenantId),
          salesRepId: row.salesRepId === null ? null : Number(row.salesRepId),
        });
      }
      for (const row of await sql<any>(
        'SELECT id, "tenantId", email, phone, ssn FROM "Customer" WHERE "deletedAt" IS NULL',
      )) {
        truth.customers.set(Number(row.id), row);
      }
      for (const row of await sql<any>(
        'SELECT id, "tenantId", "orderId", "productId" FROM "OrderItem"',
      )) {
        truth.items.set(Number(row.id), {
          tenantId: Number(row.tenantId),
          orderId: Number(row.orderId),
          productId: Number(row.productId),
        });
      }
      for (const row of await sql<any>(
        `SELECT id, "tenantId" FROM "User" WHERE role = 'sales' ORDER BY id`,
      )) {
        const list = truth.salesReps.get(Number(row.tenantId)) ?? [];
        list.push(Number(row.id));
        truth.salesReps.set(Number(row.tenantId), list);
      }
      return truth;
    },
    subs: (truth: SaasTruth, tenant) => truth.salesReps.get(Number(tenant))!.map(String),
    selection: (role) => `id tenantId salesRepId
      customer { id tenantId ${Object.keys(CUSTOMER_FIELDS[role]!).join(' ')} }
      items(first: $nestedFirst) { id tenantId orderId product { id tenantId } }`,
    // each names $nestedFirst, so the operation is valid and only the field is refused
    denied: {
      admin: [],
      support: [COST],
      sales: [SSN, COST],
      agent: [SSN, COST, 'id salesRep { id } items(first: $nestedFirst) { id }'],
    },
    check(order, principal, truth: SaasTruth, nestedFirst) {
      const row = truth.orders.get(order.id);
      expect(row, `order ${order.id} is not a visible row`).toBeDefined();
      expect(row!.tenantId).toBe(principal.tenantId);
      if (principal.role === 'sales') expect(row!.salesRepId).toBe(Number(principal.sub));
      if (order.customer) {
        const customer = truth.customers.get(order.customer.id);
        expect(customer, `customer ${order.customer.id} is not visible`).toBeDefined();
        expect(Number(customer!.tenantId)).toBe(principal.tenantId);
        for (const [field, expected] of Object.entries(CUSTOMER_FIELDS[principal.role]!)) {
          expect(order.customer[field]).toBe(expected(customer![field]));
        }
      }
      expect(order.items.length).toBeLessThanOrEqual(nestedFirst);
      for (const item of order.items) {
        const itemRow = truth.items.get(item.id)!;
        expect(itemRow.tenantId).toBe(principal.tenantId);
        expect(itemRow.orderId).toBe(order.id);
        expect(item.product.tenantId).toBe(principal.tenantId);
      }
    },
  },
  hashed: {
    principal: { sub: '16', tenantId: 2, roles: ['sales'] },
    query: '{ result: users(first: 50) { nodes { id email } } }',
    field: 'email',
    sql: 'SELECT id, email FROM "User" WHERE "tenantId" = $1 ORDER BY id',
    params: [2],
  },
  writes: {
    mutations: {
      agent: [],
      sales: [],
      support: ['updateOrder', 'deleteOrder', 'bulkUpdateOrders', 'updateCustomer'],
      admin: ['createProduct', 'approveRequest', 'rejectRequest'],
    },
    tables: ['"Tenant"', '"User"', '"Customer"', '"Product"', '"Order"', '"OrderItem"'],
    update: {
      principal: SUPPORT,
      pickSql: `SELECT id, status AS before FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status <> 'shipped' ORDER BY id LIMIT 1`,
      mutation: (row, reason) =>
        `mutation { updateOrder(id: ${row.id}, data: { status: "shipped" }, reason: ${JSON.stringify(reason)}) { id status } }`,
      root: 'updateOrder',
      field: 'status',
      value: 'shipped',
      readSql: 'SELECT status AS value FROM "Order" WHERE id = $1',
      readParams: (row) => [row.id],
    },
    invalid: {
      principal: SUPPORT,
      cases: [
        ['mutation { updateOrder(id: 1, data: { status: "paid" }) { id } }', 'VALIDATION_ERROR'],
        [
          'mutation { updateOrder(id: 1, data: { status: "paid" }, reason: " ") { id } }',
          'VALIDATION_ERROR',
        ],
        [
          'mutation { updateOrder(id: 1, data: { totalCents: 1 }, reason: "r") { id } }',
          'FIELD_NOT_ALLOWED',
        ],
        [
          'mutation { updateOrder(data: { status: "paid" }, reason: "r") { id } }',
          'VALIDATION_ERROR',
        ],
        [
          'mutation { bulkUpdateOrders(data: { status: "paid" }, reason: "r") { updatedCount } }',
          'VALIDATION_ERROR',
        ],
        [
          'mutation { bulkUpdateOrders(ids: [], data: { status: "paid" }, reason: "r") { updatedCount } }',
          'VALIDATION_ERROR',
        ],
        [
          `mutation { bulkUpdateOrders(ids: [${Array.from({ length: 51 }, (_, i) => i + 1).join(',')}], data: { status: "paid" }, reason: "r") { updatedCount } }`,
          'MAX_AFFECTED_ROWS_EXCEEDED',
        ],
        [
          'mutation { deleteOrder(id: 1, reason: "r", hard: true) { success } }',
          'VALIDATION_ERROR',
        ],
        [
          'mutation { updateOrder(id: 1, data: { status: 7 }, reason: "r") { id } }',
          'VALIDATION_ERROR',
        ],
      ],
    },
    async outOfScope(sql) {
      const [foreign] = await sql<{ id: number }>(
        'SELECT id FROM "Order" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
      );
      const [foreignCustomer] = await sql<{ id: number }>(
        'SELECT id FROM "Customer" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
      );
      const [deleted] = await sql<{ id: number }>(
        'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NOT NULL ORDER BY id LIMIT 1',
      );
      return [
        [
          SUPPORT,
          `mutation { updateOrder(id: ${foreign!.id}, data: { status: "paid" }, reason: "r") { id } }`,
          'NOT_FOUND',
        ],
        [
          SUPPORT,
          `mutation { updateOrder(id: ${deleted!.id}, data: { status: "paid" }, reason: "r") { id } }`,
          'NOT_FOUND',
        ],
        [
          SUPPORT,
          `mutation { updateCustomer(id: ${foreignCustomer!.id}, data: { email: "x@y.z" }, reason: "r") { id } }`,
          'NOT_FOUND',
        ],
        [
          ADMIN,
          'mutation { createProduct(data: { sku: "X", name: "X", priceCents: 1, costCents: 1, tenantId: 2 }, reason: "r") { id } }',
          'TENANT_SCOPE_VIOLATION',
        ],
        [
          { sub: '6', tenantId: 1, roles: ['sales'] },
          'mutation { updateOrder(id: 1, data: { status: "paid" }, reason: "r") { id } }',
          'WRITE_DISABLED',
        ],
      ];
    },
    softDelete: {
      requester: SUPPORT,
      approver: ADMIN,
      model: 'Order',
      pickSql:
        'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id DESC LIMIT 1',
      mutation: (row, reason) =>
        `mutation { deleteOrder(id: ${row.id}, reason: ${JSON.stringify(reason)}) { success } }`,
      read: (row) => `{ row: order(id: ${row.id}) { id } }`,
      deletedSql: 'SELECT "deletedAt" IS NOT NULL AS deleted FROM "Order" WHERE id = $1',
      params: (row) => [row.id],
    },
    mcpUpdate: {
      principal: SUPPORT,
      model: 'Customer',
      pickSql:
        'SELECT id FROM "Customer" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
      id: (row) => row.id,
      data: { phone: '+15550000000' },
    },
  },
};
