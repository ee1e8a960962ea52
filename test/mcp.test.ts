// Pins the MCP bridge: OrmAI's db.* tools and shapes, each answer equal to the same GraphQL query's
// and to SQL ground truth per tenant, and every correctable mistake a structured tool error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskValue } from '../src/policy/redaction.js';
import { connectMcp, type McpTestClient } from './helpers/mcp.js';
import { DATABASE_KINDS, ids, query, useTestApp } from './helpers/runtime.js';

describe.each(DATABASE_KINDS)('MCP tools on %s', (kind) => {
  const app = useTestApp(kind);
  let agent: McpTestClient;
  let agent2: McpTestClient;

  beforeAll(async () => {
    agent = await connectMcp(app, { tenantId: 1, roles: ['agent'] });
    agent2 = await connectMcp(app, { tenantId: 2, roles: ['agent'] });
  });
  afterAll(async () => {
    await agent?.close();
    await agent2?.close();
  });

  it('lists the read tools and the domain tools for the agent, with the readable models in the schema', async () => {
    const { tools } = await agent.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'db_describe_schema',
      'db_get',
      'db_query',
      'db_aggregate',
      'orders_recent_for_customer',
      'customers_top_by_revenue',
    ]);
    expect(tools.find((tool) => tool.name === 'orders_recent_for_customer')!.inputSchema).toEqual({
      type: 'object',
      properties: { customerId: { type: 'integer' }, first: { type: 'integer' } },
      required: ['customerId'],
      additionalProperties: false,
    });
    const queryTool = tools.find((tool) => tool.name === 'db_query')!;
    expect((queryTool.inputSchema.properties as any).model.enum).toEqual([
      'Tenant',
      'Customer',
      'Product',
      'Order',
      'OrderItem',
    ]);
    expect(queryTool.annotations?.readOnlyHint).toBe(true);
  });

  it('db.query pages through every row once with next_cursor, equal to SQL per tenant', async () => {
    for (const [client, tenantId] of [
      [agent, 1],
      [agent2, 2],
    ] as const) {
      const expected = await app.sql<{ id: number }>(
        'SELECT id FROM "Order" WHERE "tenantId" = $1 AND "deletedAt" IS NULL ORDER BY "totalCents" DESC, id ASC',
        [tenantId],
      );
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const { isError, structured } = await client.call('db.query', {
          model: 'Order',
          select: ['id'],
          order_by: [{ field: 'totalCents', direction: 'desc' }],
          take: 100,
          include_total: true,
          ...(cursor ? { cursor } : {}),
        });
        expect(isError).toBe(false);
        expect(structured.total_count).toBe(expected.length);
        seen.push(...ids(structured.data));
        expect(structured.has_more).toBe(structured.next_cursor !== null);
        cursor = structured.next_cursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(ids(expected));
      expect(pages).toBe(Math.ceil(expected.length / 100));
    }
  });

  it('equals the GraphQL query it stands for, masks included', async () => {
    const tool = await agent.call('db.query', {
      model: 'Customer',
      where: [{ field: 'tier', op: 'in', value: ['premium', 'enterprise'] }],
      order_by: [{ field: 'name', direction: 'asc' }],
      take: 10,
      include: [
        {
          relation: 'orders',
          select: ['id', 'totalCents'],
          take: 3,
          where: [{ field: 'status', op: 'ne', value: 'cancelled' }],
        },
      ],
      include_total: true,
    });
    const graphql = await query(
      app,
      { tenantId: 1, roles: ['agent'] },
      `{ customers(where: { tier: { in: ["premium", "enterprise"] } }, orderBy: [{ name: ASC }], first: 10) {
          totalCount nodes { id tenantId name email phone tier createdAt deletedAt
            orders(where: { status: { not: "cancelled" } }, first: 3) { id totalCents } } } }`,
    );
    expect(tool.structured.data).toEqual(graphql.customers.nodes);
    expect(tool.structured.total_count).toBe(graphql.customers.totalCount);
    const raw = await app.sql<{ id: number; email: string }>(
      'SELECT id, email FROM "Customer" WHERE "tenantId" = 1',
    );
    for (const row of tool.structured.data) {
      expect(row.email).toBe(maskValue(raw.find((r) => r.id === row.id)!.email));
    }
  });

  it('db.query sends no COUNT unless include_total asks for the total', async () => {
    const args = {
      model: 'Order',
      select: ['id'],
      where: [{ field: 'status', op: 'eq', value: 'paid' }],
      take: 5,
      include: [{ relation: 'customer', select: ['name'] }],
    };
    app.statements.length = 0;
    const page = await agent.call('db.query', args);
    const without = [...app.statements];
    expect(page.isError).toBe(false);
    expect(page.structured).not.toHaveProperty('total_count');
    expect(page.structured.has_more).toBe(true);
    expect(page.structured.next_cursor).toEqual(expect.any(String));
    // the page (with one row more, for has_more), its customers joined in the same statement
    expect(without).toHaveLength(1);
    expect(without.filter((statement) => /\bCOUNT\(/i.test(statement))).toEqual([]);

    app.statements.length = 0;
    const counted = await agent.call('db.query', { ...args, include_total: true });
    const [row] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status = 'paid'`,
    );
    expect(counted.structured.total_count).toBe(row!.n);
    expect(counted.structured.data).toEqual(page.structured.data);
    const counts = app.statements.filter((statement) => /\bCOUNT\(/i.test(statement));
    expect(app.statements).toHaveLength(without.length + 1);
    expect(counts).toHaveLength(1);
    expect(counts[0]).toMatch(/"tenantId" = \$\d+/);
  });

  it('the gateway runs a tool operation in process and answers what /graphql would send', async () => {
    const principal = { sub: '1', tenantId: 1, roles: ['agent'], claims: {} };
    const document =
      'query($first: Int) { orders(first: $first) { nodes { id customer { email } items { quantity } } } }';
    const variables = { first: 3 };
    const inProcess = await app.gateway.execute({ principal, document, variables });
    const served = await app.graphql({ tenantId: 1, roles: ['agent'] }, document, variables);
    // plain objects, as JSON would give them (not the executor's null-prototype ones)
    expect(inProcess.data).toStrictEqual(served.body.data);
    expect(inProcess.errors).toBeUndefined();

    const over = 'query($first: Int) { orders(first: $first) { nodes { id } } }';
    const refused = await app.gateway.execute({
      principal,
      document: over,
      variables: { first: 101 },
    });
    const sent = await app.graphql({ tenantId: 1, roles: ['agent'] }, over, { first: 101 });
    expect(refused.errors).toEqual([
      {
        message: sent.body.errors![0]!.message,
        extensions: { ...sent.body.errors![0]!.extensions, traceId: refused.traceId },
        path: ['orders'],
      },
    ]);
    expect(refused.errors![0]!.extensions).not.toHaveProperty('http');
  });

  it('defaults to 25 rows, refuses take 0 and take 101 with structured errors', async () => {
    expect((await agent.call('db.query', { model: 'Product' })).structured.data).toHaveLength(25);
    const zero = await agent.call('db.query', { model: 'Product', take: 0 });
    expect(zero.isError).toBe(true);
    expect(zero.structured.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      retryable: true,
      details: { field: 'take' },
    });
    const over = await agent.call('db.query', { model: 'Product', take: 101 });
    expect(over.structured.error).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      retryable: true,
      retry_hints: ['pass take of at most 100, and page with cursor: next_cursor'],
      details: { budget: 'max_rows', limit: 100, requested: 101 },
    });
    expect(over.text).toMatch(/^QUERY_BUDGET_EXCEEDED: take: 101 is over the limit/);
  });

  it('between and is_null filter as SQL does', async () => {
    const between = await agent.call('db.query', {
      model: 'Order',
      select: ['id'],
      where: [
        { field: 'totalCents', op: 'between', value: [50_000, 100_000] },
        { field: 'salesRepId', op: 'is_null', value: true },
      ],
      take: 100,
      include_total: true,
    });
    const [row] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL
         AND "totalCents" BETWEEN 50000 AND 100000 AND "salesRepId" IS NULL`,
    );
    expect(between.structured.total_count).toBe(row!.n);
    const bad = await agent.call('db.query', {
      model: 'Order',
      where: [{ field: 'totalCents', op: 'between', value: [1] }],
    });
    expect(bad.structured.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'where[0].value' },
    });
  });

  it('a tampered cursor is a VALIDATION_ERROR', async () => {
    const first = await agent.call('db.query', { model: 'Order', take: 2 });
    const cursor: string = first.structured.next_cursor;
    const tampered = `${cursor.slice(0, -3)}${cursor.endsWith('A') ? 'B' : 'A'}${cursor.slice(-2)}`;
    for (const bad of [tampered, 'garbage']) {
      const result = await agent.call('db.query', { model: 'Order', take: 2, cursor: bad });
      expect(result.structured.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { field: 'cursor' },
      });
    }
    // a cursor replayed with another order_by is refused too
    const other = await agent.call('db.query', {
      model: 'Order',
      take: 2,
      cursor,
      order_by: [{ field: 'status' }],
    });
    expect(other.structured.error.code).toBe('VALIDATION_ERROR');
  });

  it('db.get: a row of the tenant, not another tenant’s', async () => {
    const [own] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
    );
    const [other] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
    );
    const found = await agent.call('db.get', {
      model: 'Order',
      id: own!.id,
      select: ['id', 'tenantId'],
      include: [{ relation: 'customer', select: ['name'] }],
    });
    expect(found.structured).toMatchObject({
      found: true,
      data: { id: own!.id, tenantId: 1, customer: { name: expect.any(String) } },
    });
    expect((await agent.call('db.get', { model: 'Order', id: other!.id })).structured).toEqual({
      data: null,
      found: false,
    });
  });

  it('db.aggregate: count, sum and group_by equal SQL', async () => {
    const sum = await agent.call('db.aggregate', {
      model: 'Order',
      operation: 'sum',
      field: 'totalCents',
      where: [{ field: 'status', op: 'eq', value: 'paid' }],
    });
    const [row] = await app.sql<{ n: number; s: number }>(
      `SELECT count(*)::int AS n, sum("totalCents")::float AS s FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status = 'paid'`,
    );
    expect(sum.structured).toEqual({
      value: row!.s,
      operation: 'sum',
      field: 'totalCents',
      row_count: row!.n,
    });
    const grouped = await agent.call('db.aggregate', {
      model: 'Order',
      operation: 'count',
      group_by: ['status'],
    });
    const groups = await app.sql<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL GROUP BY status ORDER BY status`,
    );
    expect(grouped.structured.groups).toEqual(
      groups.map((g) => ({ key: { status: g.status }, value: g.n })),
    );
    const masked = await agent.call('db.aggregate', {
      model: 'Product',
      operation: 'sum',
      field: 'costCents',
    });
    expect(masked.structured.error.code).toBe('FIELD_NOT_ALLOWED');
  });

  it('db.describe_schema equals describeSchema', async () => {
    const tool = await agent.call('db.describe_schema', {});
    const graphql = await query(app, { tenantId: 1, roles: ['agent'] }, '{ describeSchema }');
    expect(tool.structured).toEqual(graphql.describeSchema);
  });

  it('names every correctable mistake with a code, the allowed values, and no internals', async () => {
    const cases: [Record<string, unknown>, string, RegExp | string][] = [
      [
        { model: 'User' },
        'MODEL_NOT_ALLOWED',
        'use one of: Tenant, Customer, Product, Order, OrderItem',
      ],
      [
        { model: 'Customer', select: ['ssn'] },
        'FIELD_NOT_ALLOWED',
        'allowed fields: id, tenantId, name, email, phone, tier, createdAt, deletedAt',
      ],
      [
        { model: 'Customer', where: [{ field: 'email', op: 'eq', value: 'x' }] },
        'FIELD_NOT_ALLOWED',
        'allowed fields: id, tenantId, name, tier, createdAt, deletedAt',
      ],
      [
        { model: 'Order', order_by: [{ field: 'nope' }] },
        'FIELD_NOT_ALLOWED',
        /^allowed fields: id, tenantId, customerId, salesRepId, status, totalCents, notes, createdAt, updatedAt, deletedAt$/,
      ],
      [
        { model: 'Order', where: [{ field: 'status', op: 'like', value: 'x' }] },
        'VALIDATION_ERROR',
        /operators: eq ne/,
      ],
      [
        { model: 'Order', include: [{ relation: 'salesRep' }] },
        'RELATION_NOT_ALLOWED',
        'relations of Order: tenant, customer, items',
      ],
      [
        { model: 'Order', where: [{ field: 'tenantId', op: 'eq', value: 2 }] },
        'TENANT_SCOPE_VIOLATION',
        /already limited to your tenant/,
      ],
      [
        { model: 'Order', where: [{ field: 'totalCents', op: 'gt', value: 'lots' }] },
        'VALIDATION_ERROR',
        /./,
      ],
      [{ model: 'Order', take: 'ten' }, 'VALIDATION_ERROR', 'see the tool input schema'],
    ];
    for (const field of ['', 'id; --', "name'", 'a"b', 'x/* y */', 'id -- x']) {
      cases.push([
        { model: 'Order', where: [{ field, op: 'eq', value: 1 }] },
        'VALIDATION_ERROR',
        'field names are identifiers such as totalCents',
      ]);
    }
    for (const [args, code, hint] of cases) {
      const result = await agent.call('db.query', args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(result.structured.error.code, JSON.stringify(args)).toBe(code);
      expect(result.structured.error.retry_hints.join(' '), JSON.stringify(args)).toMatch(hint);
      expect(JSON.stringify(result)).not.toMatch(/prisma|stack|node_modules|at \w+ \(/i);
    }
  });

  it('lists at most 10 allowed fields, then how many more', async () => {
    const admin = await connectMcp(app, { tenantId: 1, roles: ['admin'] });
    const result = await admin.call('db.query', { model: 'Order', select: ['nope'] });
    expect(result.structured.error.retry_hints).toEqual([
      'allowed fields: id, tenantId, customerId, salesRepId, status, totalCents, notes, createdAt, updatedAt, deletedAt',
    ]);
    const customer = await admin.call('db.get', {
      model: 'Order',
      id: 1,
      include: [{ relation: 'customer', select: ['x'] }],
    });
    expect(customer.structured.error.code).toBe('FIELD_NOT_ALLOWED');
    await admin.close();
  });

  it('domain tools run through the same policy: recent orders and top customers equal SQL', async () => {
    const [customer] = await app.sql<{ id: number }>(
      `SELECT "customerId" AS id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL GROUP BY "customerId" ORDER BY count(*) DESC LIMIT 1`,
    );
    const recent = await agent.call('orders.recent_for_customer', {
      customerId: customer!.id,
      first: 3,
    });
    const expected = await app.sql<{ id: number }>(
      `SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND "customerId" = $1 ORDER BY "createdAt" DESC, id LIMIT 3`,
      [customer!.id],
    );
    expect(ids(recent.structured.orders.nodes)).toEqual(ids(expected));

    const top = async (client: McpTestClient, ownerClause = '') => {
      const rows = await app.sql<{ customerId: number; n: number; s: number }>(
        `SELECT "customerId", count(*)::int AS n, sum("totalCents")::float AS s FROM "Order"
         WHERE "tenantId" = 1 AND "deletedAt" IS NULL ${ownerClause} GROUP BY "customerId" ORDER BY s DESC, "customerId" LIMIT 5`,
      );
      const result = await client.call('customers.top_by_revenue', { first: 5 });
      expect(result.structured.ordersGroupBy).toEqual(
        rows.map((row) => ({
          key: { customerId: row.customerId },
          count: row.n,
          sum: { totalCents: row.s },
        })),
      );
    };
    await top(agent);
    const sales = await connectMcp(app, { sub: '6', tenantId: 1, roles: ['sales'] });
    await top(sales, 'AND "salesRepId" = 6');
    await sales.close();

    const unknown = await agent.call('orders.recent_for_customer', {
      customerId: 1,
      status: 'paid',
    });
    expect(unknown.structured.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'status' },
    });
    const missing = await agent.call('orders.recent_for_customer', {});
    expect(missing.structured.error.code).toBe('VALIDATION_ERROR');
  });

  it('a domain tool reading what a role may not is not offered to it', async () => {
    const { createMcpServer } = await import('../src/mcp-bridge/index.js');
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
    const tools = async (roles: string[]) => {
      const server = createMcpServer(
        {
          execute: app.gateway.execute,
          policyFor: app.gateway.policyFor,
          schemaFor: app.gateway.schemaFor,
          domainTools: [
            {
              name: 'products.margins',
              description: 'cost and price',
              document: '{ products { nodes { priceCents costCents } } }',
            },
          ],
        },
        { sub: '1', tenantId: 1, roles, claims: {} },
      );
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(a);
      const client = new Client({ name: 't', version: '1' });
      await client.connect(b);
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      await client.close();
      return names;
    };
    expect(await tools(['admin'])).toContain('products_margins');
    expect(await tools(['agent'])).not.toContain('products_margins');
  });

  it('an unknown tool is a protocol error', async () => {
    await expect(agent.client.callTool({ name: 'db.drop_table', arguments: {} })).rejects.toThrow(
      /TOOL_NOT_FOUND/,
    );
  });

  it('reports every call to the audit hook, under the listed name whichever name was called', async () => {
    const client = await connectMcp(app, { tenantId: 3, roles: ['agent'] });
    await client.call('db_query', { model: 'Order', take: 3 });
    await client.call('db.query', { model: 'User' });
    expect(
      client.events.map((event) => [
        event.tool,
        event.outcome,
        event.errorCode ?? null,
        event.rowCount ?? null,
      ]),
    ).toEqual([
      ['db_query', 'ok', null, 3],
      ['db_query', 'error', 'MODEL_NOT_ALLOWED', null],
    ]);
    expect(client.events[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    await client.close();
  });
});
