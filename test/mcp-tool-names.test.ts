// Pins the names, annotations and output schemas of the MCP tools: listed function-safe by default
// (OrmAI's dotted names as aliases) or dotted by config, one audit record per call under the listed
// name, a start refused on colliding or too long names, and every result (errors included) valid
// against its tool's outputSchema in the MCP SDK client.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import {
  assertToolNames,
  createMcpServer,
  FUNCTION_NAME,
  type McpBridgeOptions,
  type ToolCallEvent,
  type ToolNameStyle,
} from '../src/mcp-bridge/index.js';
import type { Policy } from '../src/policy/types.js';
import { auditToolCall } from '../src/server/audit-setup.js';
import { createOrmai } from '../src/server/create-ormai.js';
import { DATABASE_KINDS, type TestApp, useTestApp } from './helpers/runtime.js';

/** The example's policy, with support's order deletes run at once (the bulk gate stays). */
const policy: Policy = {
  ...saasPolicy,
  writes: {
    ...saasPolicy.writes!,
    models: {
      ...saasPolicy.writes!.models,
      Order: {
        support: {
          ...saasPolicy.writes!.models!.Order!.support!,
          delete: {},
        },
      },
    },
  },
};

const WRITER = { sub: '3', tenantId: 1, roles: ['admin', 'support'] };

interface Connected {
  client: Client;
  events: ToolCallEvent[];
  close(): Promise<void>;
}

async function connect(
  app: TestApp,
  principal: { sub: string; tenantId: number; roles: string[] },
  options: { toolNames?: ToolNameStyle; traceId?: string } = {},
): Promise<Connected> {
  const events: ToolCallEvent[] = [];
  const record = auditToolCall(app.audit!.log, app.gateway.policyFor);
  const bridge: McpBridgeOptions = {
    execute: app.gateway.execute,
    policyFor: app.gateway.policyFor,
    schemaFor: app.gateway.schemaFor,
    domainTools: app.runtime.app.domainTools ?? [],
    ...(options.toolNames ? { toolNames: options.toolNames } : {}),
    onToolCall: (event) => {
      events.push(event);
      record(event);
    },
  };
  const server = createMcpServer(
    bridge,
    { ...principal, claims: {} },
    options.traceId ? { traceId: options.traceId } : {},
  );
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'tool-names-test', version: '1' });
  await client.connect(clientSide);
  return { client, events, close: () => client.close() };
}

async function records(app: TestApp, traceId: string) {
  await app.audit!.log.flush();
  return app.sql<{ operation: string; outcome: string; error_code: string | null }>(
    'SELECT operation, outcome, error_code FROM ormai_audit_log WHERE trace_id = $1',
    [traceId],
  );
}

describe.each(DATABASE_KINDS)('MCP tool names on %s', (kind) => {
  const app = useTestApp(kind, { audit: true, policy });
  let writer: Connected;
  beforeAll(async () => {
    writer = await connect(app, WRITER);
  });
  afterAll(() => writer?.close());

  it('lists function-safe names by default, and describes the tools by those names', async () => {
    const client = await connect(app, { sub: '1', tenantId: 1, roles: ['agent'] });
    const { tools } = await client.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'db_describe_schema',
      'db_get',
      'db_query',
      'db_aggregate',
      'orders_recent_for_customer',
      'customers_top_by_revenue',
    ]);
    expect(client.client.getInstructions()).toContain('Call db_describe_schema first');
    const { tools: written } = await writer.client.listTools();
    expect(written.map((tool) => tool.name)).toEqual([
      'db_describe_schema',
      'db_get',
      'db_query',
      'db_aggregate',
      'db_create',
      'db_update',
      'db_delete',
      'db_bulk_update_by_ids',
      'db_approval_status',
      'orders_recent_for_customer',
      'customers_top_by_revenue',
    ]);
    for (const tool of written) {
      expect(tool.name).toMatch(FUNCTION_NAME);
      // no description sends the model to a name it is not listed under
      expect(tool.description, tool.name).not.toMatch(/\bdb\.[a-z]/);
    }
    expect(written.find((tool) => tool.name === 'db_delete')!.description).toContain(
      'poll db_approval_status',
    );
    await client.close();
  });

  it('annotates every tool: reads read-only and idempotent, create not idempotent, delete destructive', async () => {
    const { tools } = await writer.client.listTools();
    const hints = Object.fromEntries(tools.map((tool) => [tool.name, tool.annotations]));
    const read = {
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    };
    expect(hints).toEqual({
      db_describe_schema: read,
      db_get: read,
      db_query: read,
      db_aggregate: read,
      db_create: { ...read, readOnlyHint: false, idempotentHint: false },
      db_update: { ...read, readOnlyHint: false, destructiveHint: true },
      db_delete: { ...read, readOnlyHint: false, destructiveHint: true },
      db_bulk_update_by_ids: { ...read, readOnlyHint: false, destructiveHint: true },
      db_approval_status: read,
      orders_recent_for_customer: read,
      customers_top_by_revenue: read,
    });
    for (const tool of tools) expect(tool.outputSchema?.type, tool.name).toBe('object');
    // a domain tool's output follows its selection on the role's schema
    const recent = tools.find((tool) => tool.name === 'orders_recent_for_customer')!;
    const success = (recent.outputSchema as any).anyOf[0];
    expect(success.properties.orders.properties.nodes.items.properties.totalCents).toEqual({
      type: 'integer',
    });
  });

  it('every tool, read and write, answers within its outputSchema in the SDK client, errors too', async () => {
    const call = async (name: string, args: Record<string, unknown>) => {
      // the SDK client checks structuredContent against the listed outputSchema, and throws if not
      const result = (await writer.client.callTool({ name, arguments: args })) as any;
      return { isError: result.isError === true, structured: result.structuredContent };
    };
    await writer.client.listTools();
    const [order] = await app.sql<{ id: number; customerId: number }>(
      'SELECT id, "customerId" FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
    );
    const orders = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id DESC LIMIT 7',
    );
    const calls: [string, Record<string, unknown>, boolean][] = [
      ['db_describe_schema', {}, false],
      ['db_describe_schema', { model: 'Order' }, false],
      ['db_get', { model: 'Order', id: order!.id }, false],
      ['db_get', { model: 'Order', id: 999_999 }, false],
      ['db_query', { model: 'Order', take: 2, include: [{ relation: 'items', take: 1 }] }, false],
      ['db_aggregate', { model: 'Order', operation: 'count' }, false],
      ['db_aggregate', { model: 'Order', operation: 'sum', field: 'totalCents' }, false],
      [
        'db_aggregate',
        { model: 'Order', operation: 'avg', field: 'totalCents', group_by: ['status'] },
        false,
      ],
      [
        'db_create',
        {
          model: 'Product',
          data: { sku: 'TN-1', name: 'Tool names', priceCents: 100, costCents: 50, active: true },
          reason: 'test',
        },
        false,
      ],
      [
        'db_update',
        { model: 'Order', id: order!.id, data: { notes: 'named' }, reason: 'test' },
        false,
      ],
      [
        'db_bulk_update_by_ids',
        { model: 'Order', ids: [order!.id], data: { status: 'paid' }, reason: 'test' },
        false,
      ],
      ['db_delete', { model: 'Order', id: orders[0]!.id, reason: 'test' }, false],
      ['orders_recent_for_customer', { customerId: order!.customerId, first: 2 }, false],
      ['customers_top_by_revenue', {}, false],
      // errors: a denial, a bad parameter, a gated write
      ['db_query', { model: 'Nope' }, true],
      ['db_query', { model: 'Order', take: 0 }, true],
      ['orders_recent_for_customer', { nope: 1 }, true],
    ];
    for (const [name, args, isError] of calls) {
      const result = await call(name, args);
      expect(result.isError, `${name} ${JSON.stringify(result.structured)}`).toBe(isError);
    }
    const gated = await call('db_bulk_update_by_ids', {
      model: 'Order',
      ids: orders.slice(1).map((row) => row.id),
      data: { status: 'paid' },
      reason: 'test',
    });
    expect(gated.structured.error.code).toBe('WRITE_APPROVAL_REQUIRED');
    // the gateway's hint names the tool as listed
    expect(gated.structured.error.retry_hints.join(' ')).toMatch(/\bdb_approval_status\b/);
    const approvalId = gated.structured.error.details.approval_id as string;
    expect(await call('db_approval_status', { approval_id: approvalId })).toEqual({
      isError: false,
      structured: { status: 'pending' },
    });
    const approved = await app.graphql(
      { sub: '1', tenantId: 1, roles: ['admin'] },
      `mutation { approveRequest(id: "${approvalId}") { status } }`,
    );
    expect(approved.body.errors).toBeUndefined();
    const status = await call('db_approval_status', { approval_id: approvalId });
    expect(status.structured).toMatchObject({ status: 'approved', result: expect.anything() });

    // one audit record per call, under the listed name
    expect(writer.events).toHaveLength(calls.length + 3);
    for (const event of writer.events) {
      const found = await records(app, event.traceId);
      expect(found, `${event.tool} ${event.traceId}`).toHaveLength(1);
      expect(found[0]!.operation).toBe(event.tool);
      expect(found[0]!.error_code).toBe(event.errorCode ?? null);
    }
  });

  it("OrmAI's dotted names are aliases: not listed, called, recorded under the listed name", async () => {
    const client = await connect(app, { sub: '1', tenantId: 2, roles: ['agent'] });
    const result = (await client.client.callTool({
      name: 'db.aggregate',
      arguments: { model: 'Customer', operation: 'count' },
    })) as any;
    const [truth] = await app.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL',
    );
    expect(result.structuredContent.value).toBe(truth!.n);
    const domain = (await client.client.callTool({
      name: 'customers.top_by_revenue',
      arguments: { first: 1 },
    })) as any;
    expect(domain.isError).toBeUndefined();
    expect(client.events.map((event) => event.tool)).toEqual([
      'db_aggregate',
      'customers_top_by_revenue',
    ]);
    expect((await records(app, client.events[0]!.traceId))[0]!.operation).toBe('db_aggregate');
    // an alias is one of the principal's tools under another name, nothing looser
    for (const name of ['db.create', "db.query'; DROP", 'db-query', 'DB_QUERY', 'db__query']) {
      await expect(client.client.callTool({ name, arguments: {} }), name).rejects.toThrow(
        /TOOL_NOT_FOUND/,
      );
    }
    await client.close();
  });

  it("mcp.toolNames 'dotted' lists OrmAI's names and takes the function names as aliases", async () => {
    const client = await connect(app, WRITER, { toolNames: 'dotted' });
    const { tools } = await client.client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('db.query');
    expect(tools.map((tool) => tool.name)).toContain('orders.recent_for_customer');
    expect(tools.some((tool) => tool.name.includes('_') && tool.name.startsWith('db_'))).toBe(
      false,
    );
    expect(client.client.getInstructions()).toContain('Call db.describe_schema first');
    expect(tools.find((tool) => tool.name === 'db.delete')!.description).toContain(
      'poll db.approval_status',
    );
    const viaAlias = (await client.client.callTool({
      name: 'db_query',
      arguments: { model: 'Order', take: 1 },
    })) as any;
    expect(viaAlias.structuredContent.data).toHaveLength(1);
    expect(client.events.map((event) => event.tool)).toEqual(['db.query']);
    await client.close();
  });

  it('every call of an MCP request carries its trace id into the audit record', async () => {
    const traceId = 'a'.repeat(16) + 'b'.repeat(16);
    const client = await connect(app, WRITER, { traceId });
    await client.client.callTool({ name: 'db_query', arguments: { model: 'Order', take: 1 } });
    await client.client.callTool({
      name: 'db_update',
      arguments: { model: 'Order', id: 1, data: {} },
    });
    expect(client.events.map((event) => event.traceId)).toEqual([traceId, traceId]);
    const found = await records(app, traceId);
    expect(found.map((record) => record.operation).sort()).toEqual(['db_query', 'db_update']);
    await client.close();
  });
});

describe('tool names refused at start', () => {
  it('two tools with one function name, or a name over 64 characters, is a StartupError', () => {
    expect(() => assertToolNames(['db.query', 'orders.recent', 'orders_recent'])).toThrow(
      expect.objectContaining({ code: 'TOOL_NAME_COLLISION' }),
    );
    expect(() => assertToolNames(['db.query', 'db_query'])).toThrow(/db\.query.*db_query/);
    expect(() => assertToolNames([`t.${'x'.repeat(63)}`])).toThrow(
      expect.objectContaining({ code: 'TOOL_NAME_INVALID' }),
    );
    expect(() => assertToolNames([''])).toThrow(
      expect.objectContaining({ code: 'TOOL_NAME_INVALID' }),
    );
    expect(() => assertToolNames(['a.b', 'a-b', `x.${'y'.repeat(62)}`])).not.toThrow();
  });

  it('createOrmai refuses a domain tool named like a db tool before opening any database', async () => {
    const domainTools = [
      ...(saasApp.domainTools ?? []),
      { name: 'db_query', description: 'shadows db.query', document: '{ orders { totalCount } }' },
    ];
    await expect(
      createOrmai(
        {
          app: { ...saasApp, domainTools },
          database: { dataDir: '/nonexistent/ormai-never-opened' },
        },
        { env: { ORMAI_JWT_SECRET: 'x'.repeat(32) } },
      ),
    ).rejects.toMatchObject({
      code: 'TOOL_NAME_COLLISION',
      message: expect.stringContaining('"db.query" and "db_query" are both db_query'),
    });
  });
});
