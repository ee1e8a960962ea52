// Pins the bugs the security suite found, one precise case each: valid or malformed input that
// made the server answer INTERNAL_ERROR, hang, or return rows SQL says are wrong.
import { describe, expect, it } from 'vitest';
import { useHttpServer } from '../helpers/http.js';
import { connectMcp } from '../helpers/mcp.js';
import { DATABASE_KINDS, useTestApp } from '../helpers/runtime.js';

const admin = { sub: '1', tenantId: 1, roles: ['admin'] };

describe.each(DATABASE_KINDS)('security regressions on %s', (kind) => {
  const app = useTestApp(kind);
  const count = async (sql: string, params: unknown[] = []) =>
    (await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))[0]!.n;
  const orders = async (where: unknown, principal: object = admin) => {
    const { status, body } = await app.graphql(
      principal,
      'query($w: OrderWhereInput) { orders(where: $w) { totalCount } }',
      { w: where },
    );
    expect(status).toBeLessThan(500);
    return body;
  };
  const scope = '"Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL';

  it('isNull, equals: null and not: null on a required field answer instead of INTERNAL_ERROR', async () => {
    const all = await count(scope);
    expect((await orders({ customerId: { isNull: false } })).data.orders.totalCount).toBe(all);
    expect((await orders({ customerId: { isNull: true } })).data.orders.totalCount).toBe(0);
    expect((await orders({ customerId: { equals: null } })).data.orders.totalCount).toBe(0);
    expect((await orders({ customerId: { not: null } })).data.orders.totalCount).toBe(all);
    expect(
      (await orders({ items: { some: { orderId: { isNull: false } } } })).errors,
    ).toBeUndefined();
  });

  it('pages past the first page of a list ordered by a Boolean field', async () => {
    for (const direction of ['ASC', 'DESC']) {
      const seen: number[] = [];
      let after: string | null = null;
      do {
        const { body } = await app.graphql(
          admin,
          'query($a: String, $o: [ProductOrderByInput!]) { products(first: 7, after: $a, orderBy: $o) { nodes { id } pageInfo { hasNextPage endCursor } } }',
          { a: after, o: [{ active: direction }] },
        );
        expect(body.errors).toBeUndefined();
        seen.push(...body.data.products.nodes.map((node: { id: number }) => node.id));
        after = body.data.products.pageInfo.hasNextPage
          ? body.data.products.pageInfo.endCursor
          : null;
      } while (after);
      const rows = await app.sql<{ id: number }>(
        `SELECT id FROM "Product" WHERE "tenantId" = 1 ORDER BY active ${direction}, id ASC`,
      );
      expect(seen).toEqual(rows.map((row) => row.id));
    }
  });

  it('empty AND/OR/NOT lists and empty filters follow logic: OR [] is nothing, NOT [{}] is nothing', async () => {
    const all = await count(scope);
    const paid = await count(`${scope} AND status = 'paid'`);
    const total = async (where: unknown) => (await orders(where)).data.orders.totalCount;
    expect(await total({ OR: [] })).toBe(0);
    expect(await total({ NOT: [{}] })).toBe(0);
    expect(await total({ NOT: [{ status: null }] })).toBe(0);
    expect(await total({ OR: [{}, { status: { equals: 'paid' } }] })).toBe(all);
    expect(await total({ NOT: [{}, { status: { equals: 'paid' } }] })).toBe(0);
    expect(await total({ AND: [] })).toBe(all);
    expect(await total({ NOT: [] })).toBe(all);
    expect(await total({ OR: [{ status: { equals: 'paid' } }] })).toBe(paid);
    expect(await total({ items: { every: {} } })).toBe(all);
    expect(await total({ customer: { is: { OR: [] } } })).toBe(0);
  });

  it('contains, startsWith and endsWith match % _ and \\ literally', async () => {
    const notes = await count(`${scope} AND notes IS NOT NULL`);
    expect(notes).toBeGreaterThan(0);
    const total = async (where: unknown) => (await orders(where)).data.orders.totalCount;
    expect(await total({ notes: { contains: '%' } })).toBe(0);
    expect(await total({ notes: { contains: '_' } })).toBe(0);
    expect(await total({ notes: { startsWith: '%' } })).toBe(0);
    expect(await total({ notes: { endsWith: '\\' } })).toBe(0);
    expect(await total({ notes: { contains: 'xp_d' } })).toBe(0);
    expect(await total({ notes: { contains: 'xped' } })).toBe(
      await count(`${scope} AND strpos(notes, 'xped') > 0`),
    );
  });

  it("a sales rep's NOT over a relation it cannot see counts the rows whose related row is not its own", async () => {
    const rep = (
      await app.sql<{ id: number }>(
        `SELECT id FROM "User" WHERE "tenantId" = 3 AND role = 'sales' ORDER BY id LIMIT 1`,
      )
    )[0]!.id;
    const { body } = await app.graphql(
      { sub: String(rep), tenantId: 3, roles: ['sales'] },
      '{ orderItemsAggregate(where: { NOT: [{ order: { is: {} } }] }) { count } }',
    );
    const expected = await count(
      `"OrderItem" i WHERE i."tenantId" = 3 AND NOT EXISTS (SELECT 1 FROM "Order" o WHERE o.id = i."orderId" AND o."tenantId" = 3 AND o."deletedAt" IS NULL AND o."salesRepId" = $1)`,
      [rep],
    );
    expect(body.data.orderItemsAggregate.count).toBe(expected);
  });

  it('a NUL character, a year out of range, a 70,000-value list or a 200-deep filter is a typed error', async () => {
    const cases: [unknown, string][] = [
      [{ notes: { equals: 'a\u0000b' } }, 'VALIDATION_ERROR'],
      [{ createdAt: { gt: '0000-01-01T00:00:00Z' } }, 'VALIDATION_ERROR'],
      [{ createdAt: { lt: '9999-12-31T23:00:00-05:00' } }, 'VALIDATION_ERROR'],
      [{ id: { in: Array.from({ length: 70_000 }, (_, i) => i) } }, 'QUERY_BUDGET_EXCEEDED'],
    ];
    let deep: unknown = { id: { gt: 0 } };
    for (let i = 0; i < 200; i++) deep = { AND: [deep] };
    cases.push([deep, 'QUERY_BUDGET_EXCEEDED']);
    let chain: unknown = {};
    for (let i = 0; i < 30; i++) chain = { items: { some: { order: { is: chain } } } };
    cases.push([chain, 'QUERY_BUDGET_EXCEEDED']);
    for (const [where, code] of cases) {
      const body = await orders(where);
      expect(body.errors?.[0]?.extensions.code, JSON.stringify(where).slice(0, 100)).toBe(code);
    }
    const literal = await app.graphql(
      admin,
      `{ orders(where: ${'{ AND: ['.repeat(100)}{ id: { gt: 0 } }${'] }'.repeat(100)}) { totalCount } }`,
    );
    expect(literal.body.errors?.[0]?.extensions.code).toBe('QUERY_BUDGET_EXCEEDED');
    const nul = await app.graphql(
      admin,
      '{ customers(where: { name: { equals: "a\\u0000" } }) { totalCount } }',
    );
    expect(nul.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'equals' },
    });
    let variables = '1';
    for (let i = 0; i < 5_000; i++) variables = `[${variables}]`;
    const response = await app.gateway.fetch('http://ormai.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await app.token(admin)}`,
      },
      body: `{"query":"query($x: Int) { orders(first: $x) { totalCount } }","variables":{"x":${variables}}}`,
    });
    expect((await response.json()).errors[0].extensions.code).toBe('QUERY_BUDGET_EXCEEDED');
  });

  it('a fragment that spreads another twice, 24 deep, is refused at once', async () => {
    const fragments = ['fragment F0 on Order { id }'];
    for (let i = 1; i <= 24; i++)
      fragments.push(`fragment F${i} on Order { ...F${i - 1} ...F${i - 1} }`);
    const started = performance.now();
    const { body } = await app.graphql(
      admin,
      `{ orders(first: 1) { nodes { ...F24 } } } ${fragments.join(' ')}`,
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(body.errors?.[0]?.extensions.code).toBe('QUERY_BUDGET_EXCEEDED');
  });

  it('an MCP operator named like an Object method is an unknown operator', async () => {
    const client = await connectMcp(app, admin);
    for (const op of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const result = await client.call('db.query', {
        model: 'Order',
        where: [{ field: 'id', op, value: 1 }],
      });
      expect(result.structured.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { field: 'where[0].op' },
      });
    }
    await client.close();
  });

  describe('over HTTP', () => {
    const server = useHttpServer(app);
    const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${await app.token(admin)}`,
          ...headers,
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, text: await response.text() };
    };

    it('an unsupported content-type and a GET with invalid variables JSON are typed 4xx errors', async () => {
      const plain = await post('/graphql', '{ tenants { totalCount } }', {
        'content-type': 'text/plain',
      });
      expect(plain.status).toBe(415);
      expect(JSON.parse(plain.text).errors[0].extensions.code).toBe('VALIDATION_ERROR');
      const get = await fetch(
        `${server.url}/graphql?query=%7B%20tenants%20%7B%20totalCount%20%7D%20%7D&variables=%7Bnope`,
        {
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${await app.token(admin)}`,
          },
        },
      );
      expect(get.status).toBe(400);
      expect((await get.json()).errors[0].extensions.code).toBe('VALIDATION_ERROR');
    });

    it('malformed tools/call params are InvalidParams, and GET /mcp is refused rather than held open', async () => {
      for (const params of [undefined, { name: 5 }, { name: 'db.query', arguments: 'x' }]) {
        const { status, text } = await post(
          '/mcp',
          JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            ...(params ? { params } : {}),
          }),
        );
        expect(status).toBeLessThan(500);
        expect(JSON.parse(text).error.code).toBe(-32602);
      }
      for (const method of ['GET', 'DELETE']) {
        const response = await fetch(`${server.url}/mcp`, {
          method,
          headers: {
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${await app.token(admin)}`,
          },
          signal: AbortSignal.timeout(10_000),
        });
        expect(response.status).toBe(405);
        expect((await response.json()).error.code).toBe(-32000);
      }
    });
  });
});
