// Pins every budget (CONTRACT §8): each rejection is QUERY_BUDGET_EXCEEDED (or QUERY_TOO_BROAD)
// naming the budget, its limit and what was asked, before any SQL runs; the statement timeout is
// enforced by PostgreSQL itself on a really slow query.
import { describe, expect, it } from 'vitest';
import { saasPolicy } from '../examples/saas/policy.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

describe.each(DATABASE_KINDS)('budgets on %s', (kind) => {
  const app = useTestApp(kind);

  const rejected = async (text: string) => {
    app.statements.length = 0;
    const { body } = await app.graphql({ tenantId: 1 }, text);
    expect(app.statements, 'no SQL runs for a rejected request').toEqual([]);
    return body.errors ?? [];
  };
  const budgetOf = (errors: { extensions: Record<string, any> }[], budget: string) =>
    errors.find((error) => error.extensions.details?.budget === budget)?.extensions;

  it('max selected fields', async () => {
    const fields = `id tenantId customerId salesRepId status totalCents notes createdAt updatedAt deletedAt
      customer { id tenantId name email phone ssn tier createdAt deletedAt }
      items { id tenantId orderId productId quantity unitPriceCents product { id tenantId sku name priceCents costCents active } }
      tenant { id slug name plan }`;
    const ok = await query(app, { tenantId: 1 }, `{ orders(first: 1) { nodes { ${fields} } } }`);
    expect(ok.orders.nodes).toHaveLength(1);
    const errors = await rejected(
      `{ orders(first: 1) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount nodes { ${fields} } } }`,
    );
    expect(budgetOf(errors, 'max_selected_fields')).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      retryable: true,
      details: { limit: 40, requested: 41 },
    });
  });

  it('complexity: the requested rows multiply', async () => {
    const errors = await rejected(
      '{ customers(first: 100) { nodes { orders(first: 100) { items(first: 100) { id } } } } }',
    );
    expect(budgetOf(errors, 'complexity')).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { limit: 100_000, requested: expect.any(Number) },
    });
    expect(budgetOf(errors, 'complexity')!.details.requested).toBeGreaterThan(1_000_000);
    // the same shape with smaller pages fits
    await query(
      app,
      { tenantId: 1 },
      '{ customers(first: 10) { nodes { orders(first: 10) { items(first: 10) { id } } } } }',
    );
  });

  it('GraphQL depth, aliases, directives and tokens (graphql-armor)', async () => {
    const deep =
      '{ orders { nodes { customer { orders { customer { orders { customer { orders { customer { tenant { id } } } } } } } } } } }';
    expect(budgetOf(await rejected(deep), 'max_depth')).toMatchObject({
      details: { limit: 10, requested: 11 },
    });

    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: describeSchema`).join(' ');
    expect(budgetOf(await rejected(`{ ${aliases} }`), 'max_aliases')).toMatchObject({
      details: { limit: 15, requested: 16 },
    });

    const directives = Array.from({ length: 11 }, () => '@include(if: true)').join(' ');
    expect(
      budgetOf(await rejected(`{ describeSchema ${directives} }`), 'max_directives'),
    ).toMatchObject({
      details: { limit: 10, requested: 11 },
    });

    const tokens = `{ ${Array.from({ length: 2100 }, () => '__typename').join(' ')} }`;
    expect(budgetOf(await rejected(tokens), 'max_tokens')).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { limit: 2000 },
    });
  });
});

describe.each(DATABASE_KINDS)('requireFilter on %s', (kind) => {
  const app = useTestApp(kind, {
    policy: { ...saasPolicy, models: { ...saasPolicy.models, Order: { requireFilter: true } } },
  });

  it('an unfiltered list of a model marked requireFilter is QUERY_TOO_BROAD', async () => {
    for (const text of [
      '{ orders { totalCount } }',
      '{ orders(where: {}) { totalCount } }',
      '{ ordersAggregate { count } }',
    ]) {
      const { body } = await app.graphql({ tenantId: 1 }, text);
      expect(body.errors?.[0]?.extensions, text).toMatchObject({
        code: 'QUERY_TOO_BROAD',
        retryable: true,
        details: { model: 'Order' },
      });
    }
    const data = await query(
      app,
      { tenantId: 1 },
      '{ orders(where: { status: { equals: "paid" } }) { totalCount } }',
    );
    expect(data.orders.totalCount).toBeGreaterThan(0);
  });
});

// PGlite runs PostgreSQL inside this process without its timers, so it cannot cancel a statement:
// the timeout is PostgreSQL's, and is proven there.
describe.each(DATABASE_KINDS.filter((k) => k === 'postgres'))('statement timeout on %s', (kind) => {
  const app = useTestApp(kind, {
    policy: { ...saasPolicy, budgets: { ...saasPolicy.budgets, statementTimeoutMs: 300 } },
  });

  it('a really slow query is cancelled by the database and reported as the budget', async () => {
    // every Product row now costs 20 ms to read
    await app.sql('ALTER TABLE "Product" RENAME TO "ProductData"');
    await app.sql(
      'CREATE VIEW "Product" AS SELECT * FROM "ProductData" WHERE pg_sleep(0.02) IS NOT NULL',
    );
    try {
      const started = Date.now();
      const { body } = await app.graphql(
        { tenantId: 1 },
        '{ products(first: 50) { nodes { id } } }',
      );
      expect(Date.now() - started).toBeLessThan(1500);
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'QUERY_BUDGET_EXCEEDED',
        retryable: true,
        details: { budget: 'statement_timeout', limit: 300 },
      });
      // a fast statement on the same pool still works
      const fast = await query(app, { tenantId: 1 }, '{ orders(first: 1) { nodes { id } } }');
      expect(fast.orders.nodes).toHaveLength(1);
    } finally {
      await app.sql('DROP VIEW "Product"');
      await app.sql('ALTER TABLE "ProductData" RENAME TO "Product"');
    }
  });
});
