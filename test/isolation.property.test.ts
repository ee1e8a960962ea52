// Property: for random principals (3 tenants × 4 roles) and random filters, orders, page sizes and
// nesting, no response holds a row outside what SQL says the principal may see, a denied field, or
// the raw value of a masked or hashed field.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashValue, maskValue } from '../src/policy/redaction.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

const ROLES = ['admin', 'support', 'sales', 'agent'] as const;
type Role = (typeof ROLES)[number];
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];

/** What each role gets for a customer field, per the example policy. */
const CUSTOMER_FIELDS: Record<Role, Record<string, (raw: unknown) => unknown>> = {
  admin: { email: (v) => v, phone: (v) => v, ssn: (v) => v },
  support: {
    email: (v) => v,
    phone: (v) => v,
    ssn: (v) => (v === null ? null : `****${String(v).slice(-4)}`),
  },
  sales: { email: (v) => v, phone: (v) => maskValue(v) },
  agent: { email: (v) => maskValue(v), phone: (v) => maskValue(v) },
};
const DENIED: Record<Role, string[]> = {
  admin: [],
  support: ['product { costCents }'],
  sales: ['customer { ssn }', 'product { costCents }'],
  agent: ['customer { ssn }', 'product { costCents }', 'salesRep { id }'],
};

const whereArb = fc.oneof(
  fc.constant(null),
  fc.record({ status: fc.record({ in: fc.subarray(STATUSES, { minLength: 1 }) }) }),
  fc.record({ totalCents: fc.record({ gt: fc.integer({ min: 0, max: 300_000 }) }) }),
  fc.record({
    customer: fc.record({
      is: fc.record({
        tier: fc.record({ equals: fc.constantFrom('free', 'standard', 'premium', 'enterprise') }),
      }),
    }),
  }),
  fc.record({
    items: fc.record({
      some: fc.record({ quantity: fc.record({ gte: fc.integer({ min: 1, max: 5 }) }) }),
    }),
  }),
  fc.record({ NOT: fc.constant([{ status: { equals: 'paid' } }]) }),
  fc.record({ OR: fc.constant([{ notes: { isNull: false } }, { salesRepId: { isNull: true } }]) }),
);
const requestArb = fc.record({
  tenantId: fc.constantFrom(1, 2, 3),
  role: fc.constantFrom(...ROLES),
  rep: fc.integer({ min: 0, max: 4 }),
  where: whereArb,
  orderBy: fc.constantFrom(
    null,
    [{ createdAt: 'DESC' }],
    [{ totalCents: 'ASC' }],
    [{ status: 'DESC' }, { id: 'DESC' }],
  ),
  first: fc.integer({ min: 1, max: 40 }),
  itemsFirst: fc.integer({ min: 1, max: 5 }),
  denied: fc.boolean(),
});

describe.each(DATABASE_KINDS)('isolation property on %s', (kind) => {
  const app = useTestApp(kind);
  const truth = {
    orders: new Map<number, { tenantId: number; salesRepId: number | null }>(),
    customers: new Map<number, Record<string, unknown>>(),
    items: new Map<number, { tenantId: number; orderId: number; productId: number }>(),
    salesReps: new Map<number, number[]>(),
  };

  beforeAll(async () => {
    for (const row of await app.sql<any>(
      'SELECT id, "tenantId", "salesRepId" FROM "Order" WHERE "deletedAt" IS NULL',
    )) {
      truth.orders.set(Number(row.id), {
        tenantId: Number(row.tenantId),
        salesRepId: row.salesRepId === null ? null : Number(row.salesRepId),
      });
    }
    for (const row of await app.sql<any>(
      'SELECT id, "tenantId", email, phone, ssn FROM "Customer" WHERE "deletedAt" IS NULL',
    )) {
      truth.customers.set(Number(row.id), row);
    }
    for (const row of await app.sql<any>(
      'SELECT id, "tenantId", "orderId", "productId" FROM "OrderItem"',
    )) {
      truth.items.set(Number(row.id), {
        tenantId: Number(row.tenantId),
        orderId: Number(row.orderId),
        productId: Number(row.productId),
      });
    }
    for (const row of await app.sql<any>(
      `SELECT id, "tenantId" FROM "User" WHERE role = 'sales' ORDER BY id`,
    )) {
      const list = truth.salesReps.get(Number(row.tenantId)) ?? [];
      list.push(Number(row.id));
      truth.salesReps.set(Number(row.tenantId), list);
    }
  });

  it('never returns a row, field or raw value the principal may not see', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const reps = truth.salesReps.get(request.tenantId)!;
        const sub = String(reps[request.rep % reps.length]);
        const principal = { sub, tenantId: request.tenantId, roles: [request.role] };
        const customerFields = Object.keys(CUSTOMER_FIELDS[request.role]).join(' ');
        const extra = request.denied ? DENIED[request.role][0] : undefined;
        const text = `query($where: OrderWhereInput, $orderBy: [OrderOrderByInput!], $first: Int, $itemsFirst: Int) {
          orders(where: $where, orderBy: $orderBy, first: $first) {
            nodes { id tenantId salesRepId
              customer { id tenantId ${customerFields} ${extra?.startsWith('customer') ? extra.slice(10, -2) : ''} }
              items(first: $itemsFirst) { id tenantId orderId product { id tenantId ${extra?.startsWith('product') ? 'costCents' : ''} } }
              ${extra?.startsWith('salesRep') ? extra : ''} } } }`;
        const { body } = await app.graphql(principal, text, {
          where: request.where,
          orderBy: request.orderBy,
          first: request.first,
          itemsFirst: request.itemsFirst,
        });

        if (extra) {
          expect(body.errors?.[0]?.extensions.code).toBe('FIELD_NOT_ALLOWED');
          expect(body.data ?? undefined).toBeUndefined();
          return;
        }
        expect(body.errors).toBeUndefined();
        for (const order of body.data.orders.nodes) {
          const row = truth.orders.get(order.id);
          expect(row, `order ${order.id} is not a visible row`).toBeDefined();
          expect(row!.tenantId).toBe(request.tenantId);
          if (request.role === 'sales') expect(row!.salesRepId).toBe(Number(sub));
          if (order.customer) {
            const customer = truth.customers.get(order.customer.id);
            expect(customer, `customer ${order.customer.id} is not visible`).toBeDefined();
            expect(Number(customer!.tenantId)).toBe(request.tenantId);
            for (const [field, expected] of Object.entries(CUSTOMER_FIELDS[request.role])) {
              expect(order.customer[field]).toBe(expected(customer![field]));
            }
          }
          expect(order.items.length).toBeLessThanOrEqual(request.itemsFirst);
          for (const item of order.items) {
            const itemRow = truth.items.get(item.id)!;
            expect(itemRow.tenantId).toBe(request.tenantId);
            expect(itemRow.orderId).toBe(order.id);
            expect(item.product.tenantId).toBe(request.tenantId);
          }
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) },
    );
  });

  it('hashed values are the salted digest, never the raw value', async () => {
    const users = await app.sql<{ id: number; email: string }>(
      'SELECT id, email FROM "User" WHERE "tenantId" = 2',
    );
    const { body } = await app.graphql(
      { sub: '16', tenantId: 2, roles: ['sales'] },
      '{ users(first: 50) { nodes { id email } } }',
    );
    expect(body.data.users.nodes).toEqual(
      users
        .sort((a, b) => a.id - b.id)
        .map((user) => ({ id: user.id, email: hashValue(user.email, 'ormai') })),
    );
  });
});
