// Pins to-one relations loaded in their parent's statement: a target out of scope (another tenant,
// soft-deleted) still resolves to null, as raw SQL says, on every example app; the columns loaded
// only for that check are never returned; a scope the in-memory check cannot decide exactly keeps
// the batched loader (a statement of its own).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpdeskApp } from '../examples/helpdesk/app.js';
import { orgId } from '../examples/helpdesk/seed.js';
import { runInScope } from '../src/data-access/index.js';
import { scopedPrismaClient } from '../src/data-access/prisma-client.js';
import { exactRowCheck } from '../src/data-access/row-check.js';
import type { DatamodelModel } from '../src/policy/datamodel.js';
import type { Principal } from '../src/policy/principal.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

type Row = Record<string, any>;

describe.each(DATABASE_KINDS)('to-one relations joined into their parent on %s (saas)', (kind) => {
  const app = useTestApp(kind);
  // order A points at another tenant's customer, order B's customer is soft-deleted, and item C at
  // another tenant's product: the foreign keys do not know tenants, the scope does
  let restore: () => Promise<unknown>;

  beforeAll(async () => {
    const [a, b] = await app.sql<{ id: number; customerId: number }>(
      `SELECT DISTINCT ON ("customerId") id, "customerId" FROM "Order"
        WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY "customerId", id LIMIT 2`,
    );
    const [foreignCustomer] = await app.sql<{ id: number }>(
      'SELECT id FROM "Customer" WHERE "tenantId" = 1 AND "deletedAt" IS NULL LIMIT 1',
    );
    const [c] = await app.sql<{ id: number; productId: number }>(
      `SELECT i.id, i."productId" FROM "OrderItem" i JOIN "Order" o ON o.id = i."orderId"
        WHERE o."tenantId" = 2 AND o."deletedAt" IS NULL AND o.id <> $1 ORDER BY i.id LIMIT 1`,
      [a!.id],
    );
    const [foreignProduct] = await app.sql<{ id: number }>(
      'SELECT id FROM "Product" WHERE "tenantId" = 1 LIMIT 1',
    );
    // the same three rows, pointed away (the test's case) or back (restore)
    const point = async (customer: number, customerDeleted: boolean, product: number) => {
      await app.sql('UPDATE "Order" SET "customerId" = $1 WHERE id = $2', [customer, a!.id]);
      await app.sql(
        'UPDATE "Customer" SET "deletedAt" = CASE WHEN $2 THEN now() END WHERE id = $1',
        [b!.customerId, customerDeleted],
      );
      await app.sql('UPDATE "OrderItem" SET "productId" = $1 WHERE id = $2', [product, c!.id]);
    };
    await point(foreignCustomer!.id, true, foreignProduct!.id);
    restore = () => point(a!.customerId, false, c!.productId);
  });
  afterAll(() => restore?.());

  /** Per visible order of tenant 2 (first 100): its customer and item products as the scope sees them. */
  async function truth() {
    const orders = await app.sql<{ id: number; customer: number | null }>(
      `SELECT o.id, c.id AS customer FROM "Order" o
         LEFT JOIN "Customer" c ON c.id = o."customerId" AND c."tenantId" = 2 AND c."deletedAt" IS NULL
        WHERE o."tenantId" = 2 AND o."deletedAt" IS NULL ORDER BY o.id LIMIT 100`,
    );
    const items = await app.sql<{ id: number; product: number | null }>(
      `SELECT i.id, p.id AS product FROM "OrderItem" i
         LEFT JOIN "Product" p ON p.id = i."productId" AND p."tenantId" = 2
        WHERE i."tenantId" = 2 AND i."orderId" = ANY($1) ORDER BY i.id`,
      [orders.map((order) => order.id)],
    );
    return { orders, items };
  }

  it('a customer or product of another tenant, or soft-deleted, resolves to null in 1 statement', async () => {
    const expected = await truth();
    // the mutations above must show, or this test proves nothing
    expect(expected.orders.filter((order) => order.customer === null).length).toBeGreaterThan(1);
    expect(expected.items.some((item) => item.product === null)).toBe(true);
    app.statements.length = 0;
    const data = await query(
      app,
      { tenantId: 2 },
      '{ orders(first: 100) { nodes { id customer { id name } items(first: 100) { id product { id name } } } } }',
    );
    expect(app.statements).toHaveLength(1);
    const orders = data.orders.nodes;
    expect(orders.map((order: Row) => [order.id, order.customer?.id ?? null])).toEqual(
      expected.orders.map((order) => [order.id, order.customer]),
    );
    const items = orders
      .flatMap((order: Row) => order.items)
      .map((item: Row) => [item.id, item.product?.id ?? null])
      .sort((x: number[], y: number[]) => x[0]! - y[0]!);
    expect(items).toEqual(expected.items.map((item) => [item.id, item.product]));
  });

  it('two aliases of one relation with different selections: the second is loaded, not the parents reloaded', async () => {
    const expected = await app.sql<Row>(
      `SELECT o.id, c.name, c.email FROM "Order" o
         LEFT JOIN "Customer" c ON c.id = o."customerId" AND c."tenantId" = 2 AND c."deletedAt" IS NULL
        WHERE o."tenantId" = 2 AND o."deletedAt" IS NULL ORDER BY o.id LIMIT 20`,
    );
    app.statements.length = 0;
    const data = await query(
      app,
      { tenantId: 2, roles: ['support'] },
      // a where keeps the executor (without it the query is one compiled statement, compiled-read.ts)
      '{ orders(first: 20, where: { id: { gt: 0 } }) { nodes { id a: customer { name } b: customer { email } } } }',
    );
    // the orders with one alias joined, and one batched statement for the other
    expect(app.statements).toHaveLength(2);
    expect(
      data.orders.nodes.map((order: Row) => ({
        id: order.id,
        name: order.a?.name ?? null,
        email: order.b?.email ?? null,
      })),
    ).toEqual(expected);
  });

  it('a field skipped under a joined relation in one request is loaded when the next includes it', async () => {
    // the parsed document, and its field nodes, are shared by every request that sends the text:
    // what one request's variables left out must not be left out of the next one's statement
    const text =
      'query ($skip: Boolean!) { orders(first: 20) { nodes { id customer { id name @skip(if: $skip) } } } }';
    const expected = await app.sql<Row>(
      `SELECT o.id, c.name FROM "Order" o
         LEFT JOIN "Customer" c ON c.id = o."customerId" AND c."tenantId" = 2 AND c."deletedAt" IS NULL
        WHERE o."tenantId" = 2 AND o."deletedAt" IS NULL ORDER BY o.id LIMIT 20`,
    );
    const skipped = await query(app, { tenantId: 2 }, text, { skip: true });
    expect(
      skipped.orders.nodes.some((order: Row) => order.customer && 'name' in order.customer),
    ).toBe(false);
    const included = await query(app, { tenantId: 2 }, text, { skip: false });
    expect(
      included.orders.nodes.map((order: Row) => ({
        id: order.id,
        name: order.customer?.name ?? null,
      })),
    ).toEqual(expected);
  });

  it('the scoped client nulls a to-one out of scope and returns no column loaded for the check', async () => {
    const principal: Principal = { sub: '1', tenantId: 2, roles: ['agent'], claims: {} };
    const client = scopedPrismaClient(app.runtime.prisma) as any;
    const rows: Row[] = await runInScope(
      { datamodel: app.runtime.app.datamodel, policy: app.gateway.policyFor(principal), principal },
      async () =>
        await client.order.findMany({
          orderBy: { id: 'asc' },
          take: 100,
          select: {
            id: true,
            customer: { select: { id: true, name: true } },
            items: { include: { product: { omit: { tenantId: true, priceCents: true } } } },
          },
        }),
    );
    const expected = await truth();
    expect(rows.map((row) => [row.id, row.customer?.id ?? null])).toEqual(
      expected.orders.map((order) => [order.id, order.customer]),
    );
    for (const row of rows) {
      if (row.customer) expect(Object.keys(row.customer).sort()).toEqual(['id', 'name']);
      for (const item of row.items) {
        if (item.product) {
          expect(item.product).not.toHaveProperty('tenantId');
          expect(item.product).not.toHaveProperty('priceCents');
          expect(item.product).toHaveProperty('name');
        }
      }
    }
  });
});

describe.each(DATABASE_KINDS)(
  'to-one relations joined into their parent on %s (helpdesk)',
  (kind) => {
    const app = useTestApp(kind, { app: helpdeskApp });
    const org = orgId(1);
    let restore: () => Promise<unknown>;

    beforeAll(async () => {
      // ticket A assigned to a user of another organization, ticket B's parent soft-deleted,
      // ticket C about another organization's product (products are keyed by a global sku)
      const tickets = await app.sql<{ id: number; assignee: string | null; sku: string | null }>(
        `SELECT id, assignee_id::text AS assignee, product_sku AS sku FROM tickets
        WHERE org_id = $1 AND deleted_at IS NULL AND parent_id IS NULL ORDER BY id LIMIT 2`,
        [org],
      );
      const [a, c] = tickets;
      const [b] = await app.sql<{ id: number; parent: number }>(
        `SELECT t.id, t.parent_id AS parent FROM tickets t
        WHERE t.org_id = $1 AND t.deleted_at IS NULL AND t.parent_id IS NOT NULL ORDER BY t.id LIMIT 1`,
        [org],
      );
      const [foreignUser] = await app.sql<{ id: string }>(
        'SELECT id::text AS id FROM users WHERE org_id = $1 LIMIT 1',
        [orgId(2)],
      );
      const [foreignProduct] = await app.sql<{ sku: string }>(
        'SELECT sku FROM products WHERE org_id = $1 LIMIT 1',
        [orgId(2)],
      );
      // the same three rows, pointed away (the test's case) or back (restore)
      const point = async (assignee: string | null, parentDeleted: boolean, sku: string | null) => {
        await app.sql('UPDATE tickets SET assignee_id = $1::uuid WHERE org_id = $2 AND id = $3', [
          assignee,
          org,
          a!.id,
        ]);
        await app.sql(
          'UPDATE tickets SET deleted_at = CASE WHEN $3 THEN now() END WHERE org_id = $1 AND id = $2',
          [org, b!.parent, parentDeleted],
        );
        await app.sql('UPDATE tickets SET product_sku = $1 WHERE org_id = $2 AND id = $3', [
          sku,
          org,
          c!.id,
        ]);
      };
      await point(foreignUser!.id, true, foreignProduct!.sku);
      restore = () => point(a!.assignee, false, c!.sku);
    });
    afterAll(() => restore?.());

    it('an assignee or product of another organization, or a soft-deleted parent, resolves to null in 1 statement', async () => {
      const expected = await app.sql<Row>(
        `SELECT t.id, u.id::text AS assignee, p.id AS parent, pr.id AS product FROM tickets t
         LEFT JOIN users u ON u.id = t.assignee_id AND u.org_id = $1
         LEFT JOIN tickets p ON p.org_id = t.org_id AND p.id = t.parent_id AND p.org_id = $1
          AND p.deleted_at IS NULL
         LEFT JOIN products pr ON pr.sku = t.product_sku AND pr.org_id = $1
        WHERE t.org_id = $1 AND t.deleted_at IS NULL ORDER BY t.id LIMIT 100`,
        [org],
      );
      const hidden = (column: string, linked: string) =>
        app.sql(
          `SELECT 1 FROM tickets t WHERE t.org_id = $1 AND t.deleted_at IS NULL AND t.${linked} IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ${column})`,
          [org],
        );
      // the mutations above must show, or this test proves nothing
      expect(
        await hidden('users u WHERE u.id = t.assignee_id AND u.org_id = $1', 'assignee_id'),
      ).not.toEqual([]);
      expect(
        await hidden(
          'tickets p WHERE p.org_id = t.org_id AND p.id = t.parent_id AND p.deleted_at IS NULL',
          'parent_id',
        ),
      ).not.toEqual([]);
      expect(
        await hidden('products pr WHERE pr.sku = t.product_sku AND pr.org_id = $1', 'product_sku'),
      ).not.toEqual([]);
      app.statements.length = 0;
      const data = await query(
        app,
        { tenantId: org, roles: ['admin'] },
        '{ tickets(first: 100) { nodes { id assignee { id } parent { id } product { id } } } }',
      );
      expect(app.statements).toHaveLength(1);
      expect(
        data.tickets.nodes.map((ticket: Row) => ({
          id: ticket.id,
          assignee: ticket.assignee?.id ?? null,
          parent: ticket.parent?.id ?? null,
          product: ticket.product?.id ?? null,
        })),
      ).toEqual(expected.map((row) => ({ ...row })));
    });

    it('one relation joined under nodes and loaded (a list beneath) under edges: each reads its own', async () => {
      const [product] = await app.sql<Row>(
        `SELECT p.id, o.plan, (SELECT count(*)::int FROM tickets t WHERE t.org_id = o.id
          AND t.deleted_at IS NULL) AS tickets
         FROM products p JOIN organizations o ON o.id = p.org_id WHERE p.org_id = $1 ORDER BY p.id LIMIT 1`,
        [org],
      );
      const { body } = await app.graphql(
        { tenantId: org, roles: ['admin'] },
        '{ products(first: 1) { nodes { id org { plan } } edges { node { org { tickets(first: 100) { id } } } } } }',
      );
      expect(body.errors).toBeUndefined();
      const [node] = body.data.products.nodes;
      expect(node).toEqual({ id: product!.id, org: { plan: product!.plan } });
      expect(body.data.products.edges[0].node.org.tickets).toHaveLength(
        Math.min(100, product!.tickets),
      );
    });

    it('a scope the in-memory check cannot decide (support: priority in …) keeps the loader', async () => {
      const expected = await app.sql<{ id: number; ticket: number | null }>(
        `SELECT c.id, CASE WHEN t.priority IN ('high', 'urgent') THEN t.id END AS ticket
         FROM comments c JOIN tickets t ON t.org_id = c.ticket_org_id AND t.id = c.ticket_id
        WHERE c.ticket_org_id = $1 AND t.deleted_at IS NULL ORDER BY c.id LIMIT 100`,
        [org],
      );
      expect(expected.some((row) => row.ticket === null)).toBe(true);
      expect(expected.some((row) => row.ticket !== null)).toBe(true);
      app.statements.length = 0;
      const data = await query(
        app,
        { tenantId: org, roles: ['support'] },
        '{ comments(first: 100) { nodes { id ticket { id } } } }',
      );
      // comments, then their tickets with support's row filter in the loader's where
      expect(app.statements).toHaveLength(2);
      expect(app.statements[1]).toMatch(/"priority" IN/);
      expect(
        data.comments.nodes.map((comment: Row) => ({
          id: comment.id,
          ticket: comment.ticket?.id ?? null,
        })),
      ).toEqual(expected);
    });
  },
);

describe('the in-memory check of a row scope', () => {
  const model = (fields: Row[]): DatamodelModel => ({
    primaryKey: null,
    uniqueIndexes: [],
    fields: fields.map((field) => ({
      kind: 'scalar',
      isRequired: true,
      isList: false,
      isId: false,
      isUnique: false,
      ...field,
    })) as never,
  });
  const saasLike = model([
    { name: 'tenantId', type: 'Int' },
    { name: 'deletedAt', type: 'DateTime', isRequired: false },
    { name: 'salesRepId', type: 'Int', isRequired: false },
    { name: 'orgId', type: 'String', nativeType: ['Uuid', []] },
    { name: 'name', type: 'String' },
    { name: 'code', type: 'String', nativeType: ['Char', ['4']] },
    { name: 'big', type: 'BigInt' },
    { name: 'flag', type: 'Boolean' },
    { name: 'price', type: 'Decimal' },
    { name: 'createdAt', type: 'DateTime' },
    { name: 'tags', type: 'Json', isRequired: false },
    { name: 'customer', type: 'Customer', kind: 'object' },
  ]);

  it('decides ANDed equalities of its own columns and soft delete exactly', () => {
    const check = exactRowCheck(saasLike, {
      tenantId: 2,
      deletedAt: null,
      AND: [{ salesRepId: { equals: 7, not: null } }, { big: 5n, flag: true, name: 'x' }],
    })!;
    expect(check.columns).toEqual(['tenantId', 'deletedAt', 'salesRepId', 'big', 'flag', 'name']);
    const row = { tenantId: 2, deletedAt: null, salesRepId: 7, big: 5n, flag: true, name: 'x' };
    expect(check.test(row)).toBe(true);
    expect(check.test({ ...row, tenantId: 1 })).toBe(false);
    expect(check.test({ ...row, deletedAt: new Date() })).toBe(false);
    expect(check.test({ ...row, salesRepId: null })).toBe(false);
    expect(check.test({ ...row, big: 5 })).toBe(false);
    expect(check.test({ ...row, name: 'X' })).toBe(false);
    const { tenantId: _, ...missing } = row;
    expect(check.test(missing)).toBe(false);
    const uuid = exactRowCheck(saasLike, { orgId: '6f1c2a3e-0000-4000-8000-000000000001' })!;
    expect(uuid.test({ orgId: '6f1c2a3e-0000-4000-8000-000000000001' })).toBe(true);
  });

  it.each([
    ['a relation filter (scope through a parent)', { customer: { is: { tenantId: 2 } } }],
    ['an in list', { tenantId: { in: [1, 2] } }],
    ['a missing claim', { salesRepId: { in: [] } }],
    ['a range', { tenantId: { gt: 1 } }],
    ['a case-insensitive match', { name: { equals: 'x', mode: 'insensitive' } }],
    ['an OR', { OR: [{ tenantId: 1 }, { tenantId: 2 }] }],
    ['a NOT', { NOT: { tenantId: 1 } }],
    ['a Decimal', { price: '1.5' }],
    ['a DateTime', { createdAt: new Date(0) }],
    ['a char(n) column', { code: 'ab' }],
    ['a uuid not in canonical form', { orgId: '6F1C2A3E-0000-4000-8000-000000000001' }],
    ['a value of another type', { tenantId: '2' }],
    ['null on a required column', { tenantId: null }],
    ['null on a Json column', { tags: null }],
    ['an unknown column', { other: 1 }],
  ])('leaves %s to the database', (_name, where) => {
    expect(exactRowCheck(saasLike, where as Row)).toBeNull();
  });
});
