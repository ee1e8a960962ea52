// Pins the planner budget (issue 16): maxEstimatedRows / maxEstimatedCost refuse a list, aggregate or groupBy with QUERY_BUDGET_EXCEEDED before its SQL runs, from an EXPLAIN of the very statement (row scope and parameter values), cached per statement and parameters, on PGlite and PostgreSQL; the policy compiles them per role and model.
import { beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import { plannerStats } from '../src/data-access/index.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { describeSchema } from '../src/policy/describe.js';
import type { Policy } from '../src/policy/types.js';
import { openRuntime } from '../src/runtime.js';
import { createOrmai } from '../src/server/create-ormai.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const roles = saasPolicy.roles!;
const policy: Policy = {
  ...saasPolicy,
  roles: {
    ...roles,
    // a budget per model for one role: the tenant's order items (~3,000) are over it, one order's are not
    support: {
      ...roles.support,
      models: {
        ...roles.support!.models,
        OrderItem: { budgets: { maxEstimatedRows: 1500 } },
        Order: { budgets: { maxEstimatedRows: 600 } },
      },
    },
    // the same through the role's own statement timeout (each read in a transaction of its own)
    agent: {
      ...roles.agent,
      budgets: { statementTimeoutMs: 1900 },
      models: { ...roles.agent!.models, OrderItem: { budgets: { maxEstimatedRows: 1500 } } },
    },
    // a cost budget for every model the role reads
    sales: { ...roles.sales, budgets: { maxEstimatedCost: 2 } },
  },
};

const SUPPORT = { tenantId: 1, roles: ['support'] };
const TABLES = ['Tenant', 'User', 'Customer', 'Product', 'Order', 'OrderItem'];

describe.each(DATABASE_KINDS)('planner budget on %s', (kind) => {
  const app = useTestApp(kind, { policy });
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await app.sql<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params))[0]!.n);
  const stats = () => ({ ...plannerStats(app.runtime.db.adapter!)! });

  // every statement that reaches the driver, below the planner's wrapper: the ground truth of what ran
  const sent: { sql: string; args: unknown[] }[] = [];
  beforeAll(async () => {
    // the planner's estimates come from statistics: PGlite has no autovacuum to gather them
    for (const table of TABLES) await app.sql(`ANALYZE "${table}"`);
    // the client connects at its first query: its queryables then bind this recording queryRaw
    const probe = (await app.runtime.db.adapter!.connect()) as object;
    let proto = Object.getPrototypeOf(probe);
    while (proto && !Object.hasOwn(proto, 'queryRaw')) proto = Object.getPrototypeOf(proto);
    const original = proto.queryRaw;
    proto.queryRaw = function (query: { sql: string; args: unknown[] }) {
      sent.push({ sql: query.sql, args: query.args });
      return original.call(this, query);
    };
    return () => {
      proto.queryRaw = original;
    };
  });
  const onOrderItem = () => sent.filter((statement) => statement.sql.includes('"OrderItem"'));

  const refused = async (principal: object, text: string) => {
    app.statements.length = 0;
    const { body } = await app.graphql(principal, text);
    expect(body.errors, JSON.stringify(body)).toHaveLength(1);
    return { error: body.errors![0]!, statements: [...app.statements] };
  };

  it('refuses a list over the rows budget before it runs, with the scoped estimate', async () => {
    sent.length = 0;
    const { error, statements } = await refused(SUPPORT, '{ orderItems { nodes { id } } }');
    // planned, never run: the one-statement read planned its statement and, refused, left the
    // query to the executor, which planned Prisma's and words the refusal
    const planned = onOrderItem().map((statement) => statement.sql.slice(0, 22));
    expect(planned.length).toBeGreaterThan(0);
    expect(planned.every((sql) => sql === 'EXPLAIN (FORMAT JSON) ')).toBe(true);
    expect(error.extensions).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      retryable: true,
      details: { budget: 'max_estimated_rows', limit: 1500, requested: expect.any(Number) },
    });
    expect(statements.filter((sql) => sql.includes('"OrderItem"'))).toEqual([]);
    // the EXPLAIN carried the tenant scope: its estimate is tenant 1's items, not the table's
    const tenant = await count(`"OrderItem" WHERE "tenantId" = 1`);
    const all = await count(`"OrderItem"`);
    const requested = error.extensions.details.requested as number;
    expect(Math.abs(requested - tenant) / tenant).toBeLessThan(0.25);
    expect(requested).toBeLessThan(all * 0.6);
    // the hint names an indexed field the role may filter on (@@index([tenantId, orderId]))
    expect(error.extensions.retryHints[0]).toBe(
      'filter OrderItem on an indexed field: orderId, productId, id (or ask for fewer rows)',
    );
    expect(error.message).toMatch(/OrderItem query to read \d+ rows; the limit is 1500/);
  });

  it('lets the same list through once filtered on the indexed field, with the same rows as SQL', async () => {
    const [first] = await app.sql<{ orderId: number }>(
      `SELECT "orderId" FROM "OrderItem" WHERE "tenantId" = 1 ORDER BY id LIMIT 1`,
    );
    const orderId = first!.orderId;
    sent.length = 0;
    const data = await query(
      app,
      SUPPORT,
      `{ orderItems(where: { orderId: { equals: ${orderId} } }) { nodes { id } } }`,
    );
    const truth = await app.sql<{ id: number }>(
      `SELECT id FROM "OrderItem" WHERE "tenantId" = 1 AND "orderId" = $1 ORDER BY id`,
      [orderId],
    );
    expect(data.orderItems.nodes.map((row: { id: number }) => Number(row.id))).toEqual(
      truth.map((row) => Number(row.id)),
    );
    // the statement planned is the statement run: same text, same parameters, row scope included
    const [explain, real] = onOrderItem();
    expect(onOrderItem()).toHaveLength(2);
    expect(explain!.sql).toBe(`EXPLAIN (FORMAT JSON) ${real!.sql}`);
    expect(explain!.args).toEqual(real!.args);
    expect(real!.sql).toMatch(/"tenantId" = \$\d/);
  });

  it('plans a read answered in one statement: the very statement, from the cache once planned', async () => {
    const text = '{ customers(first: 3) { nodes { id name orders(first: 2) { id totalCents } } } }';
    const onCustomer = () => sent.filter((statement) => statement.sql.includes('"Customer"'));
    sent.length = 0;
    const before = stats();
    const data = await query(app, SUPPORT, text);
    // one statement, json built in SQL, planned with the same text and parameters, then run
    const [explain, real] = onCustomer();
    expect(onCustomer()).toHaveLength(2);
    expect(real!.sql).toMatch(/^SELECT \(SELECT coalesce\(json_agg/);
    expect(explain!.sql).toBe(`EXPLAIN (FORMAT JSON) ${real!.sql}`);
    expect(explain!.args).toEqual(real!.args);
    expect(stats().explained).toBe(before.explained + 1);
    // the rows are the database's
    const customers = await app.sql<{ id: number; name: string }>(
      `SELECT id, name FROM "Customer" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 3`,
    );
    expect(data.customers.nodes.map((row: { id: number }) => Number(row.id))).toEqual(
      customers.map((row) => Number(row.id)),
    );
    for (const [index, customer] of customers.entries()) {
      const orders = await app.sql<{ id: number }>(
        `SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND "customerId" = $1 ORDER BY id LIMIT 2`,
        [customer.id],
      );
      expect(
        data.customers.nodes[index].orders.map((row: { id: number }) => Number(row.id)),
      ).toEqual(orders.map((row) => Number(row.id)));
    }
    // asked again: the estimate comes from the cache, and only the statement itself is sent
    sent.length = 0;
    const warm = stats();
    expect(await query(app, SUPPORT, text)).toEqual(data);
    expect(onCustomer().map((statement) => statement.sql)).toEqual([real!.sql]);
    expect(stats()).toMatchObject({ explained: warm.explained, cached: warm.cached + 1 });
  });

  it("refuses a one-statement read over a related model's budget, with the executor's words", async () => {
    sent.length = 0;
    // 1,000 live orders per tenant, over Order's 600: a list of 3 is planned as the scan it is
    const { error, statements } = await refused(SUPPORT, '{ orders(first: 3) { nodes { id } } }');
    expect(error.extensions).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budget: 'max_estimated_rows', limit: 600 },
    });
    expect(error.message).toMatch(/Order query to read \d+ rows; the limit is 600/);
    const onOrder = sent.filter((statement) => statement.sql.includes('"Order"'));
    expect(onOrder.some((statement) => statement.sql.includes('json_agg'))).toBe(true);
    expect(onOrder.every((statement) => statement.sql.startsWith('EXPLAIN (FORMAT JSON) '))).toBe(
      true,
    );
    expect(statements.filter((sql) => sql.includes('"Order"'))).toEqual([]);
  });

  it("plans with the statement's parameter values", async () => {
    const live = `"Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL`;
    const [percentiles] = await app.sql<{ low: number; high: number }>(
      `SELECT percentile_disc(0.2) WITHIN GROUP (ORDER BY "totalCents") AS low,
              percentile_disc(0.8) WITHIN GROUP (ORDER BY "totalCents") AS high FROM ${live}`,
    );
    const { low, high } = percentiles!;
    // the same statement: a value matching few rows fits, one matching most does not
    await query(
      app,
      SUPPORT,
      `{ orders(where: { totalCents: { gt: ${high} } }) { nodes { id } } }`,
    );
    const { error } = await refused(
      SUPPORT,
      `{ orders(where: { totalCents: { gt: ${low} } }) { nodes { id } } }`,
    );
    const matching = await count(`${live} AND "totalCents" > $1`, [low]);
    expect(error.extensions.details).toMatchObject({ budget: 'max_estimated_rows', limit: 600 });
    expect(Math.abs(error.extensions.details.requested - matching) / matching).toBeLessThan(0.25);
  });

  it('applies to aggregates and groupBys', async () => {
    const aggregate = await refused(SUPPORT, '{ orderItemsAggregate { count } }');
    expect(aggregate.error.extensions.details.budget).toBe('max_estimated_rows');
    const grouped = await refused(SUPPORT, '{ orderItemsGroupBy(by: [productId]) { count } }');
    expect(grouped.error.extensions.details.budget).toBe('max_estimated_rows');
    expect([...aggregate.statements, ...grouped.statements]).toEqual([]);
    const data = await query(
      app,
      SUPPORT,
      '{ orderItemsAggregate(where: { orderId: { in: [1, 2] } }) { count } }',
    );
    expect(data.orderItemsAggregate.count).toBe(
      await count(`"OrderItem" WHERE "tenantId" = 1 AND "orderId" IN (1, 2)`),
    );
  });

  it('refuses over MCP too, through a role with its own statement timeout', async () => {
    const mcp = await connectMcp(app, { tenantId: 1, roles: ['agent'] });
    try {
      const over = await mcp.call('db_query', { model: 'OrderItem', take: 10 });
      expect(over.isError).toBe(true);
      expect(over.text).toContain('QUERY_BUDGET_EXCEEDED');
      expect(over.text).toContain('orderId');
      const fits = await mcp.call('db_query', {
        model: 'OrderItem',
        take: 10,
        where: [{ field: 'orderId', op: 'eq', value: 1 }],
      });
      expect(fits.isError, fits.text).toBe(false);
    } finally {
      await mcp.close();
    }
  });

  it('refuses over the cost budget; a role without a budget plans nothing', async () => {
    const { error } = await refused(
      { tenantId: 1, sub: '2', roles: ['sales'] },
      '{ orders(first: 5) { nodes { id } } }',
    );
    expect(error.extensions.details).toMatchObject({ budget: 'max_estimated_cost', limit: 2 });
    expect(error.extensions.details.requested).toBeGreaterThan(2);
    const before = stats();
    await query(app, { tenantId: 1, roles: ['admin'] }, '{ orderItems { nodes { id } } }');
    expect(stats().explained).toBe(before.explained);
    expect(stats().cached).toBe(before.cached);
  });

  it("plans a bulk write's reads inside its transaction, and lets ones that fit through", async () => {
    const orders = await app.sql<{ id: number }>(
      `SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 2`,
    );
    const ids = orders.map((order) => Number(order.id));
    const before = stats();
    const data = await query(
      app,
      SUPPORT,
      `mutation { bulkUpdateOrders(ids: [${ids.join(',')}], data: { status: "planned" }, reason: "planner test") { updatedCount } }`,
    );
    expect(data.bulkUpdateOrders.updatedCount).toBe(2);
    const after = stats();
    expect(after.explained + after.cached).toBeGreaterThan(before.explained + before.cached);
    expect(await count(`"Order" WHERE id = ANY($1) AND status = 'planned'`, [ids])).toBe(2);
  });

  it('caches an estimate per statement and parameter values', async () => {
    const text = (orderId: number) =>
      `{ orderItems(where: { orderId: { equals: ${orderId} } }) { nodes { id quantity } } }`;
    const first = stats();
    await query(app, SUPPORT, text(3));
    const planned = stats();
    expect(planned.explained).toBeGreaterThan(first.explained);
    await query(app, SUPPORT, text(3));
    expect(stats().explained).toBe(planned.explained);
    expect(stats().cached).toBeGreaterThan(planned.cached);
    // another value is another statement for the planner
    await query(app, SUPPORT, text(4));
    expect(stats().explained).toBeGreaterThan(planned.explained);
  });

  it("holds through an app's own client built over plannerBudgetAdapter (plannedAdapter: true)", async () => {
    // the test app's client is over the planned adapter, as a user's would be
    const ormai = await createOrmai(
      {
        app: { ...saasApp, policy },
        database: { schema: app.runtime.db.schema, ormaiSchema: app.runtime.tables.schema },
        audit: { sinks: [] },
      },
      { prisma: app.runtime.prisma as never, plannedAdapter: true, env: {} },
    );
    try {
      const principal = { sub: '1', tenantId: 1, roles: ['support'], claims: {} };
      const over = await ormai.gateway.execute({
        principal,
        document: '{ orderItems { nodes { id } } }',
      });
      expect(over.errors?.[0]?.extensions.code).toBe('QUERY_BUDGET_EXCEEDED');
      const within = await ormai.gateway.execute({
        principal,
        document: '{ customers(first: 2) { nodes { id } } }',
      });
      expect(within.errors).toBeUndefined();
      expect((within.data!.customers as { nodes: unknown[] }).nodes).toHaveLength(2);
    } finally {
      await ormai.close();
    }
  });
});

describe('planner budget in the policy', () => {
  const compile = (input: Policy) => {
    const compiled = compilePolicy(input, saasApp.datamodel);
    if (!compiled.ok) throw new Error(compiled.message);
    return compiled.value;
  };
  const budgetOf = (input: Policy, roleSet: string[], model: string) =>
    compile(input).forRoles(roleSet).models.get(model)!.plannerBudget;

  it('holds the lower of the general and the model limit; several roles take the most generous', () => {
    const input: Policy = {
      budgets: { maxEstimatedRows: 10_000 },
      models: { Order: { budgets: { maxEstimatedRows: 5_000, maxEstimatedCost: 900 } } },
      roles: {
        a: { budgets: { maxEstimatedRows: 2_000 } },
        b: { models: { Order: { budgets: { maxEstimatedRows: 50_000 } } } },
        c: { models: { Order: { hidden: true } } },
      },
    };
    expect(budgetOf(input, ['a'], 'Order')).toEqual({
      maxEstimatedRows: 2_000,
      maxEstimatedCost: 900,
    });
    expect(budgetOf(input, ['a'], 'Customer')).toEqual({
      maxEstimatedRows: 2_000,
      maxEstimatedCost: null,
    });
    // b's own Order limit replaces the base model's, and the policy's 10,000 still holds
    expect(budgetOf(input, ['b'], 'Order')).toEqual({
      maxEstimatedRows: 10_000,
      maxEstimatedCost: 900,
    });
    expect(budgetOf(input, ['a', 'b'], 'Order')!.maxEstimatedRows).toBe(10_000);
    // a role that cannot read the model does not lift its limit
    expect(budgetOf(input, ['a', 'c'], 'Order')!.maxEstimatedRows).toBe(2_000);
    expect(budgetOf({}, [], 'Order')).toBeNull();
    // the role set's other budgets are untouched by the planner's
    expect(compile(input).forRoles(['a']).budgets).not.toHaveProperty('maxEstimatedRows');
  });

  it('a role without a limit lifts it for its role set', () => {
    const input: Policy = {
      roles: { a: { budgets: { maxEstimatedCost: 100 } }, b: {} },
    };
    expect(budgetOf(input, ['a'], 'Order')!.maxEstimatedCost).toBe(100);
    expect(budgetOf(input, ['a', 'b'], 'Order')).toBeNull();
  });

  it('is described to callers per model and validated', () => {
    const input: Policy = { models: { Order: { budgets: { maxEstimatedRows: 5_000 } } } };
    const described = describeSchema(compile(input).forRoles([]), 'Order');
    expect(described.ok && described.value.models.Order!.budgets).toEqual({
      maxEstimatedRows: 5_000,
    });
    const bad = compilePolicy(
      { models: { Order: { budgets: { maxEstimatedRows: -1, maxRows: 3 } } } },
      saasApp.datamodel,
    );
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/models\.Order\.budgets/);
  });

  it("refuses to start over an app's own PrismaClient, which it cannot plan through", async () => {
    await expect(
      openRuntime(
        { ...saasApp, policy: { ...saasPolicy, budgets: { maxEstimatedRows: 1000 } } },
        { prisma: {} as never },
      ),
    ).rejects.toThrow(/maxEstimatedRows or maxEstimatedCost.*createPrismaClient/);
  });
});
