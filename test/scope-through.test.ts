// Pins scopeThrough: a model with no tenant field of its own is scoped by its parent's tenant and
// soft delete, in SQL, on every read and write path; the policy compiler refuses a scope that
// cannot hold. The example's OrderItem is scoped through its order, and its tenantId copy is
// corrupted on purpose: rows must follow their order, compared with raw SQL per tenant.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute, parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import { runChecks } from '../src/cli/check.js';
import { activeRowScope, runInScope } from '../src/data-access/data-scope.js';
import { relationsOf, scopeArgs } from '../src/data-access/scope-args.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { describeSchema } from '../src/policy/describe.js';
import { explainPolicy } from '../src/policy/explain.js';
import { rowScope, visibleParentWhere } from '../src/policy/row-scope.js';
import type { Policy } from '../src/policy/types.js';
import { readPrismaSchema } from '../src/prisma/read-schema.js';
import { buildSchema } from '../src/schema/build-schema.js';
import { DATABASE_KINDS, ids, query, useTestApp } from './helpers/runtime.js';

const TENANTS = [1, 2, 3];
const ADMIN = (tenantId: number) => ({ sub: '1', tenantId, roles: ['admin'] });

/** The example's policy with OrderItem scoped through its order, not its tenantId column. */
const policy: Policy = {
  ...saasPolicy,
  models: { ...saasPolicy.models, OrderItem: { scopeThrough: 'order' } },
  roles: {
    ...saasPolicy.roles,
    sales: {
      models: {
        ...saasPolicy.roles!.sales!.models,
        // the order's ownership rule does not carry over to its items; this says it for them
        OrderItem: { rowFilter: { order: { is: { salesRepId: '$principal.sub' } } } },
      },
    },
  },
  views: [
    ...(saasPolicy.views ?? []),
    {
      name: 'OrderCard',
      model: 'Order',
      fields: ['id', 'status'],
      computed: { itemCount: { count: 'items' } },
    },
  ],
  writes: {
    ...saasPolicy.writes,
    models: {
      ...saasPolicy.writes!.models,
      OrderItem: {
        admin: {
          create: { fields: ['orderId', 'productId', 'quantity', 'unitPriceCents', 'tenantId'] },
          update: { fields: ['orderId', 'quantity'] },
          delete: { allowHardDelete: true },
        },
      },
    },
  },
};

const engine = () => {
  const compiled = compilePolicy(policy, saasApp.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.value;
};

/** The datamodel of a Prisma schema given as text. */
const datamodelOf = (models: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'ormai-scope-through-'));
  writeFileSync(
    join(dir, 'schema.prisma'),
    `datasource db {\n  provider = "postgresql"\n}\n${models}`,
  );
  return readPrismaSchema(join(dir, 'schema.prisma'));
};

const hints = (input: unknown, datamodel = saasApp.datamodel) => {
  const compiled = compilePolicy(input, datamodel);
  return compiled.ok ? [] : compiled.hints;
};

describe('scopeThrough in the policy compiler', () => {
  it('compiles to a relation filter on the parent: its tenant and soft delete, recursively', () => {
    const item = engine().forRoles(['admin']).models.get('OrderItem')!;
    expect(item.tenantField).toBeNull();
    expect(item.scopeThrough).toMatchObject({
      relation: 'order',
      keys: [{ localField: 'orderId', targetField: 'id' }],
      parent: { name: 'Order', tenantField: { name: 'tenantId' }, softDeleteField: 'deletedAt' },
    });
    const principal = { sub: '1', tenantId: '2', roles: ['admin'], claims: {} };
    expect(rowScope(item, principal, saasApp.datamodel)).toEqual({
      ok: true,
      value: { order: { is: { tenantId: 2, deletedAt: null } } },
    });

    const chained = compilePolicy(
      {
        models: {
          Tenant: { tenantField: 'id' },
          Order: { scopeThrough: 'customer' },
          OrderItem: { scopeThrough: 'order' },
        },
      },
      saasApp.datamodel,
    );
    if (!chained.ok) throw new Error(chained.message);
    const chainedItem = chained.value.forRoles([]).models.get('OrderItem')!;
    expect(rowScope(chainedItem, principal, saasApp.datamodel)).toEqual({
      ok: true,
      value: {
        order: {
          is: { customer: { is: { tenantId: 2, deletedAt: null } }, deletedAt: null },
        },
      },
    });
    expect(visibleParentWhere(chainedItem.scopeThrough!, { orderId: 5 }, principal)).toEqual({
      ok: true,
      value: { customer: { is: { tenantId: 2, deletedAt: null } }, deletedAt: null, id: 5 },
    });
    expect(visibleParentWhere(chainedItem.scopeThrough!, { quantity: 1 }, principal)).toEqual({
      ok: true,
      value: null,
    });
  });

  it('a parent hidden from a role still scopes its children', () => {
    const hidden = compilePolicy(
      { ...policy, roles: { ...policy.roles, agent: { models: { Order: { hidden: true } } } } },
      saasApp.datamodel,
    );
    if (!hidden.ok) throw new Error(hidden.message);
    const agent = hidden.value.forRoles(['agent']);
    expect(agent.models.has('Order')).toBe(false);
    expect(agent.models.get('OrderItem')!.scopeThrough!.parent.tenantField?.name).toBe('tenantId');
  });

  it.each([
    [
      { OrderItem: { scopeThrough: 'ordr' } },
      'models.OrderItem.scopeThrough: unknown relation ordr; did you mean order?',
    ],
    [
      { OrderItem: { scopeThrough: 'orderId' } },
      'models.OrderItem.scopeThrough: unknown relation orderId (the foreign key of order: name the relation)',
    ],
    [
      { Order: { scopeThrough: 'items' } },
      'models.Order.scopeThrough: items is a to-many relation; scope through the required to-one relation to the parent',
    ],
    [
      { Order: { scopeThrough: 'salesRep' } },
      'models.Order.scopeThrough: salesRep is optional, so a row without a parent would belong to no tenant; scope through a required relation',
    ],
    [
      { OrderItem: { scopeThrough: 'order', tenantField: 'tenantId' } },
      'models.OrderItem.scopeThrough: OrderItem names both tenantField and scopeThrough; keep one (scopeThrough takes the tenant of the parent)',
    ],
    [
      { OrderItem: { scopeThrough: 'order', global: true } },
      'models.OrderItem.scopeThrough: OrderItem is global and scoped through order; keep one',
    ],
    [
      { Product: { global: true }, OrderItem: { scopeThrough: 'product' } },
      "models.OrderItem.scopeThrough: Product is global, so scoping through it would show every tenant's rows; give OrderItem a tenant field or mark it global",
    ],
  ])('refuses %j', (models, problem) => {
    expect(hints({ models: { Tenant: { tenantField: 'id' }, ...models } })).toContain(problem);
  });

  it('refuses a parent that is not tenant-scoped, and a cycle', () => {
    expect(
      hints({
        tenantField: 'slug',
        models: { Tenant: { tenantField: 'id' }, OrderItem: { scopeThrough: 'order' } },
      }),
    ).toEqual([
      'models.OrderItem.scopeThrough: Order is not tenant-scoped (no tenant field), so it cannot scope OrderItem',
    ]);

    const datamodel = datamodelOf(`
model A {
  id  Int @id
  bId Int @unique
  b   B   @relation("ab", fields: [bId], references: [id])
  bs  B[] @relation("ba")
}
model B {
  id  Int @id
  aId Int
  a   A   @relation("ba", fields: [aId], references: [id])
  ab  A?  @relation("ab")
}
`);
    expect(
      hints({ models: { A: { scopeThrough: 'b' }, B: { scopeThrough: 'a' } } }, datamodel),
    ).toEqual([
      'models.A.scopeThrough: a cycle: A → B → A',
      'models.B.scopeThrough: a cycle: B → A → B',
    ]);
  });

  it('a to-one over a compound key into such a model is loaded with the scope in SQL', async () => {
    // Prisma cannot put a where on a to-one include: the schema loads these rows itself, in one
    // batched query that the data-access layer scopes (simulated here over a fake client)
    const datamodel = datamodelOf(`
model Tenant {
  id          Int          @id
  tickets     Ticket[]
  attachments Attachment[]
}
model Ticket {
  id       Int       @id
  tenantId Int
  tenant   Tenant    @relation(fields: [tenantId], references: [id])
  comments Comment[]
}
model Comment {
  ticketId    Int
  no          Int
  body        String
  ticket      Ticket       @relation(fields: [ticketId], references: [id])
  attachments Attachment[]
  @@id([ticketId, no])
}
model Attachment {
  id        Int     @id
  tenantId  Int
  ticketId  Int
  commentNo Int
  tenant    Tenant  @relation(fields: [tenantId], references: [id])
  comment   Comment @relation(fields: [ticketId, commentNo], references: [ticketId, no])
}
`);
    const compiled = compilePolicy(
      { models: { Tenant: { tenantField: 'id' }, Comment: { scopeThrough: 'ticket' } } },
      datamodel,
    );
    if (!compiled.ok) throw new Error(compiled.message);
    const schema = buildSchema({
      datamodel,
      policy: compiled.value.forRoles([]),
      cursorSecret: 'x',
    });
    const tenant3 = { sub: '1', tenantId: 3, roles: [], claims: {} };
    const calls: { model: string; op: string; args: any }[] = [];
    const delegate = (model: string, row: object) =>
      new Proxy(
        {},
        {
          get: (_target, op: string) => async (args: Record<string, unknown>) => {
            const source = { rowScope: activeRowScope, relation: relationsOf(datamodel) };
            calls.push({ model, op, args: scopeArgs(source, model, op, args) });
            return op === 'findMany' ? [row] : row;
          },
        },
      );
    const scope = { datamodel, policy: compiled.value.forRoles([]), principal: tenant3 };
    const result = await runInScope(scope, () =>
      execute({
        schema,
        document: parse('{ attachments { nodes { id comment { body } } } }'),
        contextValue: {
          prisma: {
            attachment: delegate('Attachment', { id: 1, tenantId: 3, ticketId: 5, commentNo: 2 }),
            comment: delegate('Comment', { ticketId: 5, no: 2, body: 'hi' }),
          },
          principal: tenant3,
          traceId: 't',
        },
      }),
    );
    expect(result.errors).toBeUndefined();
    expect(calls.find((call) => call.model === 'Comment')).toMatchObject({
      model: 'Comment',
      op: 'findMany',
      args: {
        where: { AND: [{ ticket: { is: { tenantId: 3 } } }, { OR: [{ ticketId: 5, no: 2 }] }] },
      },
    });
  });

  it('ormai check counts it as scoped; describeSchema and explain say through which relation', () => {
    const report = runChecks({ ...saasApp, policy });
    expect(report.findings).toEqual([]);
    const described = describeSchema(engine().forRoles(['agent']), 'OrderItem');
    if (!described.ok) throw new Error(described.message);
    expect(described.value.models.OrderItem).toMatchObject({
      tenantScoped: true,
      scopedThrough: { relation: 'order', model: 'Order' },
    });
    expect(explainPolicy(engine())).toContain(
      '- OrderItem rows are scoped through order (Order): visible where that Order is (its tenant, not deleted)',
    );
  });
});

describe.each(DATABASE_KINDS)('scopeThrough served on %s', (kind) => {
  const app = useTestApp(kind, { policy });

  /** Items whose order the tenant sees: the ground truth, from the orders, never the items' copy. */
  const truth = async (tenantId: number, extra = '') =>
    ids(
      await app.sql<{ id: number }>(
        `SELECT i.id FROM "OrderItem" i JOIN "Order" o ON o.id = i."orderId"
         WHERE o."tenantId" = $1 AND o."deletedAt" IS NULL ${extra} ORDER BY i.id`,
        [tenantId],
      ),
    );

  /** The same rows with their order and product, for checks per parent. */
  const visibleItems = (tenantId: number) =>
    app.sql<{ id: number; orderId: number; productId: number }>(
      `SELECT i.id, i."orderId", i."productId" FROM "OrderItem" i JOIN "Order" o ON o.id = i."orderId"
       WHERE o."tenantId" = $1 AND o."deletedAt" IS NULL ORDER BY i.id`,
      [tenantId],
    );
  const idsWhere = (rows: { id: number }[], keep: (row: any) => boolean) => ids(rows.filter(keep));

  beforeAll(async () => {
    // the items' tenantId copy now names the next tenant for every 7th item: a scope that read
    // the column would show these rows to the wrong tenant and hide them from the right one
    await app.sql(
      `UPDATE "OrderItem" SET "tenantId" = CASE "tenantId" WHEN 1 THEN 2 WHEN 2 THEN 3 ELSE 1 END
       WHERE id % 7 = 0`,
    );
  });

  it('the root list pages through exactly the items of the tenant’s visible orders', async () => {
    for (const tenantId of TENANTS) {
      const seen: number[] = [];
      let after: string | null = null;
      let totalCount = -1;
      for (let page = 0; page < 200; page++) {
        const data = await query(
          app,
          ADMIN(tenantId),
          `query($after: String) { orderItems(first: 100, after: $after) {
             totalCount nodes { id } pageInfo { hasNextPage endCursor } } }`,
          { after },
        );
        totalCount = data.orderItems.totalCount;
        seen.push(...ids(data.orderItems.nodes));
        if (!data.orderItems.pageInfo.hasNextPage) break;
        after = data.orderItems.pageInfo.endCursor;
      }
      const expected = await truth(tenantId);
      expect(expected.length).toBeGreaterThan(0);
      expect(seen).toEqual(expected);
      expect(totalCount).toBe(expected.length);
    }
  });

  it('the SQL filters on the parent order, not on the items’ tenantId', async () => {
    app.statements.length = 0;
    await query(app, ADMIN(1), '{ orderItems(first: 5) { nodes { id } } }');
    const sql = app.statements.find((statement) => /FROM "[^"]*"\."OrderItem"/.test(statement));
    expect(sql).toBeDefined();
    expect(sql).toMatch(/"Order"/);
    expect(sql).toMatch(/"deletedAt" IS NULL/);
    expect(sql).not.toMatch(/"OrderItem"\."tenantId" =/);
  });

  it('orderItem(id) follows the order: the corrupted copy neither shows nor hides a row', async () => {
    const [item] = await app.sql<{ id: number; tenantId: number; orderTenant: number }>(
      `SELECT i.id, i."tenantId", o."tenantId" AS "orderTenant" FROM "OrderItem" i
       JOIN "Order" o ON o.id = i."orderId"
       WHERE i."tenantId" <> o."tenantId" AND o."deletedAt" IS NULL ORDER BY i.id LIMIT 1`,
    );
    expect(item).toBeDefined();
    const single = `query($id: Int!) { orderItem(id: $id) { id order { id tenantId } } }`;
    const own = await query(app, ADMIN(item!.orderTenant), single, { id: item!.id });
    expect(own.orderItem).toEqual({
      id: item!.id,
      order: { id: expect.any(Number), tenantId: item!.orderTenant },
    });
    const copy = await query(app, ADMIN(item!.tenantId), single, { id: item!.id });
    expect(copy.orderItem).toBeNull();
  });

  it('a filter on the items’ tenantId copy cannot reach another tenant', async () => {
    const data = await query(
      app,
      ADMIN(1),
      '{ orderItems(first: 100, where: { tenantId: { equals: 2 } }) { totalCount nodes { id } } }',
    );
    const expected = await truth(1, 'AND i."tenantId" = 2');
    expect(expected.length).toBeGreaterThan(0);
    expect(data.orderItems.totalCount).toBe(expected.length);
    expect(ids(data.orderItems.nodes)).toEqual(expected.slice(0, 100));
  });

  it('order.items and product.orderItems hold the items of visible orders only', async () => {
    for (const tenantId of TENANTS) {
      const data = await query(
        app,
        ADMIN(tenantId),
        '{ orders(first: 50) { nodes { id items(first: 20) { id } } } products(first: 5) { nodes { id orderItems(first: 100) { id } } } }',
      );
      const rows = await visibleItems(tenantId);
      for (const order of data.orders.nodes) {
        expect(ids(order.items)).toEqual(idsWhere(rows, (row) => row.orderId === order.id));
      }
      for (const product of data.products.nodes) {
        const expected = idsWhere(rows, (row) => row.productId === product.id);
        expect(ids(product.orderItems)).toEqual(expected.slice(0, 100));
      }
    }
  });

  it('aggregates, groups and view counts count the same rows as SQL', async () => {
    for (const tenantId of TENANTS) {
      const [sums] = await app.sql<{ count: number; quantity: number }>(
        `SELECT count(*)::int AS count, sum(i.quantity)::int AS quantity FROM "OrderItem" i
         JOIN "Order" o ON o.id = i."orderId" WHERE o."tenantId" = $1 AND o."deletedAt" IS NULL`,
        [tenantId],
      );
      const data = await query(
        app,
        ADMIN(tenantId),
        `{ orderItemsAggregate { count sum { quantity } }
           orderItemsGroupBy(by: [productId], first: 100) { count }
           orderCards(first: 20) { nodes { id itemCount } } }`,
      );
      expect(data.orderItemsAggregate).toEqual({
        count: sums!.count,
        sum: { quantity: sums!.quantity },
      });
      const grouped = data.orderItemsGroupBy.reduce(
        (n: number, g: { count: number }) => n + g.count,
        0,
      );
      expect(grouped).toBeLessThanOrEqual(sums!.count);
      const rows = await visibleItems(tenantId);
      for (const card of data.orderCards.nodes) {
        expect(card.itemCount).toBe(idsWhere(rows, (row) => row.orderId === card.id).length);
      }
    }
  });

  it('a soft-deleted order hides its items everywhere', async () => {
    const [deleted] = await app.sql<{ id: number; orderId: number; tenantId: number }>(
      `SELECT i.id, i."orderId", o."tenantId" FROM "OrderItem" i JOIN "Order" o ON o.id = i."orderId"
       WHERE o."deletedAt" IS NOT NULL ORDER BY i.id LIMIT 1`,
    );
    expect(deleted).toBeDefined();
    const data = await query(
      app,
      ADMIN(deleted!.tenantId),
      `query($id: Int!, $orderId: Int!) {
         orderItem(id: $id) { id }
         orderItems(where: { orderId: { equals: $orderId } }) { totalCount }
         orderItemsAggregate(where: { orderId: { equals: $orderId } }) { count } }`,
      { id: deleted!.id, orderId: deleted!.orderId },
    );
    expect(data).toEqual({
      orderItem: null,
      orderItems: { totalCount: 0 },
      orderItemsAggregate: { count: 0 },
    });
  });

  it("a role's own row filter on the child narrows it (the order's ownership does not carry over)", async () => {
    const sales = { sub: '6', tenantId: 1, roles: ['sales'] };
    const data = await query(app, sales, '{ orderItems(first: 100) { totalCount nodes { id } } }');
    const expected = await truth(1, 'AND o."salesRepId" = 6');
    expect(expected.length).toBeGreaterThan(0);
    expect(data.orderItems.totalCount).toBe(expected.length);
    expect(ids(data.orderItems.nodes)).toEqual(expected.slice(0, 100));
  });

  describe('writes', () => {
    const orderOf = async (tenantId: number, deleted: boolean) => {
      const [row] = await app.sql<{ id: number; productId: number }>(
        `SELECT o.id, (SELECT p.id FROM "Product" p WHERE p."tenantId" = o."tenantId" ORDER BY p.id LIMIT 1) AS "productId"
         FROM "Order" o WHERE o."tenantId" = $1 AND o."deletedAt" IS ${deleted ? 'NOT NULL' : 'NULL'}
         ORDER BY o.id LIMIT 1`,
        [tenantId],
      );
      return row!;
    };
    const create = (tenantId: number, orderId: number, productId: number) =>
      app.graphql(
        ADMIN(tenantId),
        `mutation($orderId: Int!, $productId: Int!, $tenantId: Int!) {
           createOrderItem(data: { orderId: $orderId, productId: $productId, quantity: 1,
             unitPriceCents: 100, tenantId: $tenantId }, reason: "test") { id order { id } } }`,
        { orderId, productId, tenantId },
      );

    it('create under a visible order works; under another tenant’s or a deleted order it is NOT_FOUND', async () => {
      const own = await orderOf(1, false);
      const created = await create(1, own.id, own.productId);
      expect(created.body.errors).toBeUndefined();
      expect(created.body.data.createOrderItem.order).toEqual({ id: own.id });

      const before = await app.sql<{ n: number }>('SELECT count(*)::int AS n FROM "OrderItem"');
      for (const order of [await orderOf(2, false), await orderOf(1, true)]) {
        const refused = await create(1, order.id, own.productId);
        expect(refused.body.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
        expect(refused.body.errors?.[0]?.message).toContain(`orderId ${order.id}`);
      }
      expect(await app.sql('SELECT count(*)::int AS n FROM "OrderItem"')).toEqual(before);
    });

    it('update and delete reach visible items only, and an item cannot move to another tenant’s order', async () => {
      const [mine] = await truth(1);
      const [theirs] = await truth(2);
      const foreignOrder = await orderOf(2, false);
      const update = (id: number, data: string) =>
        app.graphql(
          ADMIN(1),
          `mutation { updateOrderItem(id: ${id}, data: { ${data} }, reason: "test") { id quantity } }`,
        );
      expect((await update(mine!, 'quantity: 9')).body.data.updateOrderItem).toEqual({
        id: mine,
        quantity: 9,
      });
      expect((await update(theirs!, 'quantity: 9')).body.errors?.[0]?.extensions.code).toBe(
        'NOT_FOUND',
      );
      const moved = await update(mine!, `orderId: ${foreignOrder.id}`);
      expect(moved.body.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
      const [row] = await app.sql<{ orderId: number }>(
        'SELECT "orderId" FROM "OrderItem" WHERE id = $1',
        [mine],
      );
      expect(row!.orderId).not.toBe(foreignOrder.id);

      const remove = (id: number) =>
        app.graphql(
          ADMIN(1),
          `mutation { deleteOrderItem(id: ${id}, reason: "test", hard: true) { success } }`,
        );
      expect((await remove(theirs!)).body.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
      expect((await remove(mine!)).body.data.deleteOrderItem).toEqual({ success: true });
      expect(
        await app.sql('SELECT id FROM "OrderItem" WHERE id = ANY($1::int[])', [[mine, theirs]]),
      ).toEqual([{ id: theirs }]);
    });
  });
});
