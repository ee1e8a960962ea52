// Pins findLeaks (ormai/testing): clean answers give no leak; a planted row of another tenant (with or without its key), a denied field, a raw masked value and an over-budget list are each found, counted against raw SQL.
import { beforeAll, describe, expect, it } from 'vitest';
import { callTool } from '../src/mcp-bridge/call-tool.js';
import { findLeaks, type LeakCheckCall } from '../src/testing/leaks.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

const agent1 = { sub: '1', tenantId: 1, roles: ['agent'], claims: {} };

describe.each(DATABASE_KINDS)('findLeaks on %s', (kind) => {
  const app = useTestApp(kind);
  const ormai = {} as Parameters<typeof findLeaks>[0];
  const gql = async (principal: typeof agent1, document: string, variables = {}) => {
    const result = await app.gateway.execute({ principal, document, variables });
    expect(result.errors).toBeUndefined();
    return result.data as any;
  };
  const graphqlCall = (document: string, data: unknown): LeakCheckCall => ({
    surface: 'graphql',
    document,
    data,
  });

  beforeAll(() => {
    Object.assign(ormai, { gateway: app.gateway, runtime: app.runtime });
  });

  const ORDERS = `{ orders(first: 20, orderBy: [{ id: ASC }]) { nodes { id status totalCents notes customer { name email tier } } } }`;
  const NO_KEYS = `{ orders(first: 20, orderBy: [{ id: ASC }]) { nodes { notes createdAt totalCents } } }`;

  it('finds nothing in answers the gateway gave (GraphQL and MCP)', async () => {
    const data = await gql(agent1, ORDERS);
    expect(data.orders.nodes).toHaveLength(20);
    expect(await findLeaks(ormai, agent1, graphqlCall(ORDERS, data))).toEqual([]);
    const args = { model: 'Order', take: 10, include: [{ relation: 'customer' }] };
    const result = await callTool(
      {
        execute: app.gateway.execute,
        policyFor: app.gateway.policyFor,
        schemaFor: app.gateway.schemaFor,
      },
      agent1,
      'db_query',
      args,
    );
    expect(result.isError).toBeFalsy();
    expect(
      await findLeaks(ormai, agent1, { surface: 'mcp', tool: 'db_query', arguments: args, result }),
    ).toEqual([]);
  });

  it('finds rows of another tenant, with their key or without it', async () => {
    const agent2 = { ...agent1, sub: '11', tenantId: 2 };
    const mine = await gql(agent1, ORDERS);
    const theirs = await gql(agent2, ORDERS);
    // the rows of tenant 2 whose id no order of tenant 1 has (raw SQL): each one is a leak
    const foreign = await app.sql<{ id: number }>(
      `SELECT id FROM "Order" WHERE "tenantId" = 2 AND id = ANY($1::int[])`,
      [theirs.orders.nodes.map((node: any) => node.id)],
    );
    expect(foreign).toHaveLength(20);
    const planted = {
      orders: { nodes: [...mine.orders.nodes.slice(0, 5), theirs.orders.nodes[3]] },
    };
    const leaks = await findLeaks(ormai, agent1, graphqlCall(ORDERS, planted));
    expect(leaks.map((leak) => [leak.kind, leak.path])).toContainEqual([
      'tenant',
      'orders.nodes[5]',
    ]);
    expect(leaks.every((leak) => leak.path.startsWith('orders.nodes[5]'))).toBe(true);

    // without any key: values no row of tenant 1 holds together, and a row of tenant 2 does
    const bare = await gql(agent2, NO_KEYS);
    const mineBare = await gql(agent1, NO_KEYS);
    const mixed = {
      orders: { nodes: [...mineBare.orders.nodes, ...bare.orders.nodes.slice(0, 3)] },
    };
    const found = await findLeaks(ormai, agent1, graphqlCall(NO_KEYS, mixed));
    const paths = new Set(
      found.filter((l) => l.kind === 'tenant').map((l) => l.path.split('.').slice(0, 2).join('.')),
    );
    expect([...paths].sort()).toEqual(['orders.nodes[20]', 'orders.nodes[21]', 'orders.nodes[22]']);
  });

  it('finds a nested row of another tenant, and one in an MCP result', async () => {
    const [other] = await app.sql<{ name: string; email: string; tier: string }>(
      `SELECT name, email, tier::text AS tier FROM "Customer" WHERE "tenantId" = 3 ORDER BY id LIMIT 1`,
    );
    const data = await gql(agent1, ORDERS);
    data.orders.nodes[2].customer = { ...data.orders.nodes[2].customer, name: other!.name };
    const leaks = await findLeaks(ormai, agent1, graphqlCall(ORDERS, data));
    expect(leaks.map((leak) => leak.kind)).toEqual(['tenant']);
    expect(leaks[0]!.path).toMatch(/^orders\.nodes\[2\]\.customer/);

    const args = { model: 'Customer', take: 3, select: ['name', 'tier'] };
    const structured = {
      data: [{ name: other!.name, tier: other!.tier }],
      next_cursor: null,
      has_more: false,
    };
    const mcp = await findLeaks(ormai, agent1, {
      surface: 'mcp',
      tool: 'db.query',
      arguments: args,
      result: structured,
    });
    expect(mcp.map((leak) => [leak.kind, leak.model])).toEqual([['tenant', 'Customer']]);
  });

  it('finds denied fields, raw masked values and lists over budget', async () => {
    const document = `{ customers(first: 5, orderBy: [{ id: ASC }]) { nodes { id name email } } }`;
    const data = await gql(agent1, document);
    const [raw] = await app.sql<{ email: string; ssn: string | null }>(
      `SELECT email, ssn FROM "Customer" WHERE "tenantId" = 1 ORDER BY id LIMIT 1`,
    );
    expect(data.customers.nodes[0].email).not.toBe(raw!.email);
    data.customers.nodes[0].email = raw!.email;
    const leaks = await findLeaks(ormai, agent1, graphqlCall(document, data));
    expect(leaks.map((leak) => [leak.kind, leak.path])).toEqual([
      ['raw-redacted', 'customers.nodes[0].email'],
    ]);

    const args = { model: 'Customer', take: 2 };
    const rows = [{ id: 1, name: 'x', ssn: raw!.ssn }];
    const denied = await findLeaks(ormai, agent1, {
      surface: 'mcp',
      tool: 'db_query',
      arguments: args,
      result: { data: rows },
    });
    expect(denied.map((leak) => [leak.kind, leak.path])).toContainEqual([
      'denied-field',
      'data[0].ssn',
    ]);

    const { maxTake } = app.gateway.policyFor(agent1).budgets;
    const list = await gql(agent1, `{ customers(first: ${maxTake}) { nodes { id } } }`);
    const long = { customers: { nodes: [...list.customers.nodes, list.customers.nodes[0]] } };
    const over = await findLeaks(
      ormai,
      agent1,
      graphqlCall(`{ customers { nodes { id } } }`, long),
    );
    expect(over.map((leak) => [leak.kind, leak.path])).toEqual([['budget', 'customers.nodes']]);
  });

  it('compares only the key of a write answer', async () => {
    const support = { sub: '3', tenantId: 1, roles: ['support'], claims: {} };
    const document = `mutation { updateOrder(id: 1, data: { notes: "changed" }, reason: "test") { id notes status } }`;
    // an answer whose values no longer match the database (rolled back) is no leak…
    const stale = { updateOrder: { id: 1, notes: 'never stored', status: 'shipped' } };
    expect(await findLeaks(ormai, support, graphqlCall(document, stale))).toEqual([]);
    // …but a key of another tenant's row is
    const [other] = await app.sql<{ id: number }>(
      `SELECT id FROM "Order" WHERE "tenantId" = 2 LIMIT 1`,
    );
    const foreign = { updateOrder: { id: other!.id, notes: 'x', status: 'shipped' } };
    const leaks = await findLeaks(ormai, support, graphqlCall(document, foreign));
    expect(leaks.map((leak) => leak.kind)).toEqual(['tenant']);
  });
});
