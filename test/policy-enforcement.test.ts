// Pins what the policy does at request time, against SQL ground truth: ownership (sales sees its
// orders everywhere), role unions, per-role schemas, tenant-scope violations, aggregates, views and
// describeSchema.
import { describe, expect, it } from 'vitest';
import {
  DATABASE_KINDS,
  ids,
  ORDER_GROUPS_BY_STATUS,
  orderGroupsByStatus,
  query,
  useTestApp,
} from './helpers/runtime.js';

const SALES = { sub: '6', tenantId: 1, roles: ['sales'] };

describe.each(DATABASE_KINDS)('policy enforcement on %s', (kind) => {
  const app = useTestApp(kind);

  it('sales sees exactly its own orders at the root, with totalCount', async () => {
    const expected = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND "salesRepId" = 6 ORDER BY id',
    );
    expect(expected.length).toBeGreaterThan(10);
    const seen: number[] = [];
    let after: string | null = null;
    let total = 0;
    for (;;) {
      const data = await query(
        app,
        SALES,
        'query($after: String) { orders(first: 50, after: $after) { totalCount nodes { id salesRepId } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      total = data.orders.totalCount;
      for (const node of data.orders.nodes) expect(node.salesRepId).toBe(6);
      seen.push(...ids(data.orders.nodes));
      if (!data.orders.pageInfo.hasNextPage) break;
      after = data.orders.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids(expected));
    expect(total).toBe(expected.length);
  });

  it('sales sees only its own orders inside customer.orders, and in relation filters', async () => {
    const data = await query(
      app,
      SALES,
      '{ customers(first: 100) { nodes { id orders(first: 50) { id } } } withOrders: customersAggregate(where: { orders: { some: {} } }) { count } }',
    );
    const rows = await app.sql<{ id: number; customerId: number }>(
      'SELECT id, "customerId" FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND "salesRepId" = 6 ORDER BY id',
    );
    for (const customer of data.customers.nodes) {
      expect(ids(customer.orders)).toEqual(
        ids(rows.filter((row) => Number(row.customerId) === customer.id)),
      );
    }
    const [owning] = await app.sql<{ n: number }>(
      `SELECT count(DISTINCT c.id)::int AS n FROM "Customer" c JOIN "Order" o ON o."customerId" = c.id
       WHERE c."tenantId" = 1 AND c."deletedAt" IS NULL AND o."salesRepId" = 6 AND o."deletedAt" IS NULL AND o."tenantId" = 1`,
    );
    expect(data.withOrders.count).toBe(owning!.n);
  });

  it('several roles read the union: sales + support sees every order of the tenant', async () => {
    const [row] = await app.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL',
    );
    const data = await query(
      app,
      { sub: '6', tenantId: 1, roles: ['sales', 'support'] },
      '{ orders { totalCount } }',
    );
    expect(data.orders.totalCount).toBe(row!.n);
  });

  it('a principal with no role the policy knows reads nothing: it is refused at authentication', async () => {
    const { status, body } = await app.graphql(
      { tenantId: 1, roles: ['intern'] },
      '{ orders { totalCount } }',
    );
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions.code).toBe('AUTHENTICATION_REQUIRED');
    expect(body.data ?? null).toBeNull();
  });

  it('each role introspects its own schema: the agent has no User, no ssn, no costCents', async () => {
    const introspect = async (role: string) => {
      const data = await query(
        app,
        { tenantId: 1, roles: [role] },
        '{ __schema { types { name } } c: __type(name: "Customer") { fields { name } } p: __type(name: "Product") { fields { name } } }',
      );
      return {
        types: data.__schema.types.map((t: { name: string }) => t.name) as string[],
        customer: data.c.fields.map((f: { name: string }) => f.name) as string[],
        product: data.p.fields.map((f: { name: string }) => f.name) as string[],
      };
    };
    const agent = await introspect('agent');
    const admin = await introspect('admin');
    expect(admin.types).toContain('User');
    expect(agent.types).not.toContain('User');
    expect(admin.customer).toContain('ssn');
    expect(agent.customer).not.toContain('ssn');
    expect(agent.customer).toEqual(expect.arrayContaining(['email', 'phone']));
    expect(admin.product).toContain('costCents');
    expect(agent.product).not.toContain('costCents');
  });

  it('a filter or id naming another tenant is TENANT_SCOPE_VIOLATION, retryable, with the hint', async () => {
    for (const text of [
      '{ orders(where: { tenantId: { equals: 2 } }) { totalCount } }',
      '{ orders(where: { tenantId: { in: [1, 2] } }) { totalCount } }',
      '{ orders(where: { customer: { is: { tenantId: { equals: 3 } } } }) { totalCount } }',
      '{ tenant(id: 2) { slug } }',
    ]) {
      const { body } = await app.graphql({ tenantId: 1 }, text);
      expect(body.errors?.[0]?.extensions, text).toMatchObject({
        code: 'TENANT_SCOPE_VIOLATION',
        retryable: true,
        retryHints: [expect.stringContaining('results are already limited to your tenant')],
      });
    }
    const own = await query(
      app,
      { tenantId: 1 },
      '{ orders(where: { tenantId: { equals: 1 } }) { totalCount } tenant(id: 1) { slug } }',
    );
    expect(own.tenant.slug).toBe('acme');
    expect(own.orders.totalCount).toBeGreaterThan(0);
  });

  it('aggregates equal SQL and follow the row scope', async () => {
    const text = `{ ordersAggregate(where: { status: { equals: "paid" } }) { count sum { totalCents } avg { totalCents } min { totalCents } max { totalCents } } }`;
    const [all] = await app.sql<Record<string, string | number>>(
      `SELECT count(*)::int AS n, sum("totalCents")::float AS s, avg("totalCents")::float AS a, min("totalCents") AS lo, max("totalCents") AS hi
       FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL AND status = 'paid'`,
    );
    const asAdmin = await query(app, { tenantId: 2 }, text);
    expect(asAdmin.ordersAggregate).toEqual({
      count: all!.n,
      sum: { totalCents: all!.s },
      avg: { totalCents: expect.closeTo(Number(all!.a), 6) },
      min: { totalCents: all!.lo },
      max: { totalCents: all!.hi },
    });
    const [own] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status = 'paid' AND "salesRepId" = 6`,
    );
    const asSales = await query(app, SALES, text);
    expect(asSales.ordersAggregate.count).toBe(own!.n);
  });

  it('groupBy equals SQL GROUP BY, capped by the row budget', async () => {
    const data = await query(app, { tenantId: 3 }, ORDER_GROUPS_BY_STATUS);
    expect(data.ordersGroupBy).toEqual(await orderGroupsByStatus(app, 3));
    const { body } = await app.graphql(
      { tenantId: 3 },
      '{ ordersGroupBy(by: [customerId], first: 101) { count } }',
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budget: 'max_rows' },
    });
  });

  it('the CustomerSummary view counts and sums only the orders the caller can see', async () => {
    const expected = async (ownerClause: string) =>
      app.sql<{ id: number; name: string; tier: string; n: number; s: number }>(
        `SELECT c.id, c.name, c.tier, count(o.id)::int AS n, coalesce(sum(o."totalCents"), 0)::float AS s
         FROM "Customer" c LEFT JOIN "Order" o ON o."customerId" = c.id AND o."tenantId" = 1 AND o."deletedAt" IS NULL ${ownerClause}
         WHERE c."tenantId" = 1 AND c."deletedAt" IS NULL GROUP BY c.id ORDER BY c.id LIMIT 40`,
      );
    const text =
      '{ customerSummaries(first: 40) { totalCount nodes { id name tier orderCount lifetimeCents } } }';
    for (const [principal, clause] of [
      [{ tenantId: 1, roles: ['agent'] }, ''],
      [SALES, 'AND o."salesRepId" = 6'],
    ] as const) {
      const data = await query(app, principal, text);
      const rows = await expected(clause);
      expect(data.customerSummaries.nodes).toEqual(
        rows.map((row) => ({
          id: row.id,
          name: row.name,
          tier: row.tier,
          orderCount: row.n,
          lifetimeCents: row.s,
        })),
      );
    }
    const one = await query(
      app,
      SALES,
      '{ customerSummary(id: 1) { orderCount } other: customerSummary(id: 201) { id } }',
    );
    expect(one.other).toBeNull();
    expect(typeof one.customerSummary.orderCount).toBe('number');
  });

  it('describeSchema returns what the roles can read, in the OrmAI shape', async () => {
    const agent = (await query(app, { tenantId: 1, roles: ['agent'] }, '{ describeSchema }'))
      .describeSchema;
    expect(Object.keys(agent.models).sort()).toEqual([
      'Customer',
      'Order',
      'OrderItem',
      'Product',
      'Tenant',
    ]);
    expect(agent.models.Customer.fields.email).toEqual({
      type: 'String',
      nullable: false,
      primaryKey: false,
      redaction: 'mask',
      description: expect.stringMatching(/^Masked for your role, e\.g\. j\*\*\*@example\.com/),
      filterable: false,
    });
    expect(agent.models.Customer.fields.ssn).toBeUndefined();
    expect(agent.models.Customer.fields.id).toMatchObject({
      type: 'Int',
      primaryKey: true,
      filterable: true,
    });
    expect(agent.models.Order.relations).toEqual({
      tenant: { target: 'Tenant', type: 'one' },
      customer: { target: 'Customer', type: 'one' },
      items: { target: 'OrderItem', type: 'many' },
    });
    expect(agent.models.Order).toMatchObject({
      readable: true,
      writable: false,
      tenantScoped: true,
      softDelete: true,
    });
    expect(agent.budgets).toMatchObject({ maxTake: 100, defaultTake: 25 });
    expect(agent.views.CustomerSummary).toEqual({
      model: 'Customer',
      fields: ['id', 'name', 'tier'],
      computed: ['orderCount', 'lifetimeCents'],
    });

    const one = await query(
      app,
      { tenantId: 1, roles: ['agent'] },
      '{ describeSchema(model: "Order") }',
    );
    expect(Object.keys(one.describeSchema.models)).toEqual(['Order']);
    const { body } = await app.graphql(
      { tenantId: 1, roles: ['agent'] },
      '{ describeSchema(model: "User") }',
    );
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'MODEL_NOT_ALLOWED',
      retryHints: ['models you can read: Tenant, Customer, Product, Order, OrderItem'],
    });
  });
});
