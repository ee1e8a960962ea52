// Pins keyset pagination: every row once and in order, stable when rows are inserted mid-way, and
// cursors that cannot be forged or reused for another query.
import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, ids, query, useTestApp } from './helpers/runtime.js';

const PAGE = `query($first: Int, $after: String, $orderBy: [OrderOrderByInput!]) {
  orders(first: $first, after: $after, orderBy: $orderBy) {
    nodes { id createdAt } pageInfo { hasNextPage endCursor } } }`;

describe.each(DATABASE_KINDS)('pagination on %s', (kind) => {
  const app = useTestApp(kind);

  async function* pages(tenantId: number, first: number, orderBy?: unknown) {
    let after: string | null = null;
    for (;;) {
      const data = await query(app, { tenantId }, PAGE, { first, after, orderBy });
      yield data.orders.nodes as { id: number; createdAt: string }[];
      if (!data.orders.pageInfo.hasNextPage) return;
      after = data.orders.pageInfo.endCursor;
    }
  }

  it('first: 7 through all orders returns every id once, in id order', async () => {
    const expected = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id',
    );
    const seen: number[] = [];
    let count = 0;
    for await (const nodes of pages(1, 7)) {
      expect(nodes.length).toBeLessThanOrEqual(7);
      seen.push(...ids(nodes));
      count++;
    }
    expect(seen).toEqual(ids(expected));
    expect(count).toBe(Math.ceil(expected.length / 7));
  });

  it('rows inserted mid-way neither duplicate nor skip the others (orderBy createdAt DESC)', async () => {
    const before = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY "createdAt" DESC, id ASC',
    );
    const [customer] = await app.sql<{ id: number }>(
      'SELECT id FROM "Customer" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
    );
    const seen: number[] = [];
    const inserted: number[] = [];
    let page = 0;
    for await (const nodes of pages(2, 7, [{ createdAt: 'DESC' }])) {
      seen.push(...ids(nodes));
      if (++page === 3) {
        // one row sorting before the cursor (already passed), one after it (still ahead)
        const passed = await app.sql<{ id: number }>(
          `INSERT INTO "Order" ("tenantId", "customerId", status, "totalCents", "createdAt")
           VALUES (2, $1, 'pending', 1, now() + interval '1 day') RETURNING id`,
          [customer!.id],
        );
        const ahead = await app.sql<{ id: number }>(
          `INSERT INTO "Order" ("tenantId", "customerId", status, "totalCents", "createdAt")
           VALUES (2, $1, 'pending', 1, '2000-01-01') RETURNING id`,
          [customer!.id],
        );
        inserted.push(passed[0]!.id, ahead[0]!.id);
      }
    }
    try {
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...ids(before), inserted[1]]);
    } finally {
      await app.sql('DELETE FROM "Order" WHERE id = ANY($1::int[])', [inserted]);
    }
  });

  it('orders by a nullable field with nulls placed consistently across pages', async () => {
    const expected = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 3 AND "deletedAt" IS NULL ORDER BY "salesRepId" DESC NULLS FIRST, id ASC',
    );
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const data = await query(
        app,
        { tenantId: 3 },
        `query($after: String) { orders(first: 50, after: $after, orderBy: [{ salesRepId: DESC }]) {
          nodes { id } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      seen.push(...ids(data.orders.nodes));
      if (!data.orders.pageInfo.hasNextPage) break;
      after = data.orders.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids(expected));
  });

  it('rejects a tampered cursor and a cursor of another query', async () => {
    const data = await query(app, { tenantId: 1 }, PAGE, { first: 2 });
    const cursor: string = data.orders.pageInfo.endCursor;
    const [body, mac] = cursor.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString());
    payload.v = [1];
    const forged = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${mac}`;
    for (const [after, orderBy] of [
      [forged, undefined],
      ['not-a-cursor', undefined],
      [cursor, [{ createdAt: 'DESC' }]],
    ] as const) {
      const { body: result } = await app.graphql({ tenantId: 1 }, PAGE, {
        first: 2,
        after,
        orderBy,
      });
      expect(result.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
      expect(result.errors?.[0]?.extensions.details).toEqual({ field: 'after' });
    }
  });

  it('enforces the row budget instead of truncating', async () => {
    const { body } = await app.graphql({ tenantId: 1 }, '{ orders(first: 101) { nodes { id } } }');
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      retryable: true,
      details: { budget: 'max_rows', limit: 100, requested: 101 },
    });
    const zero = await app.graphql({ tenantId: 1 }, '{ orders(first: 0) { nodes { id } } }');
    expect(zero.body.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    const nested = await app.graphql(
      { tenantId: 1 },
      '{ customers(first: 1) { nodes { orders(first: 500) { id } } } }',
    );
    expect(nested.body.errors?.[0]?.extensions.code).toBe('QUERY_BUDGET_EXCEEDED');
  });

  it('defaults to 25 rows per page', async () => {
    const data = await query(
      app,
      { tenantId: 1 },
      '{ orders { nodes { id } pageInfo { hasNextPage } } }',
    );
    expect(data.orders.nodes).toHaveLength(25);
    expect(data.orders.pageInfo.hasNextPage).toBe(true);
  });
});
