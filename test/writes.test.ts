// Pins controlled writes: off by default, and when on: reasons, field allowlists, row limits, soft
// delete, approvals that run exactly once (never after reject or expiry), audit with before/after,
// and writes outside the caller's scope that change nothing at all.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import { createMcpServer } from '../src/mcp-bridge/index.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { type ApprovalGate, approvalCallback, autoApprove } from '../src/schema/approval-gate.js';
import { buildSchema } from '../src/schema/build-schema.js';
import { createGateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, JWT_SECRET, query, type TestApp, useTestApp } from './helpers/runtime.js';

const SUPPORT = { sub: '3', tenantId: 1, roles: ['support'] };
const ADMIN = { sub: '1', tenantId: 1, roles: ['admin'] };
const TABLES = ['Tenant', 'User', 'Customer', 'Product', 'Order', 'OrderItem'];
const asJson = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

/** A checksum of every row of every app table. */
async function checksum(app: TestApp) {
  const sums: Record<string, string> = {};
  for (const table of TABLES) {
    const [row] = await app.sql<{ sum: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS sum FROM "${table}" t`,
    );
    sums[table] = row!.sum;
  }
  return sums;
}

describe('writes are off by default', () => {
  const { writes: _writes, ...readOnly } = saasPolicy;

  it('no Mutation type and no write tool, for any role, without the toggle', async () => {
    const engine = compilePolicy(readOnly, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    for (const role of ['admin', 'support', 'sales', 'agent']) {
      const policy = engine.value.forRoles([role]);
      expect(
        buildSchema({ datamodel: saasApp.datamodel, policy, cursorSecret: 'x' }).getMutationType(),
      ).toBeUndefined();
      const server = createMcpServer(
        { execute: async () => ({ traceId: 'x' }), policyFor: () => policy },
        { sub: '1', tenantId: 1, roles: [role], claims: {} },
      );
      const [a, b] = InMemoryTransport.createLinkedPair();
      await server.connect(a);
      const client = new Client({ name: 't', version: '1' });
      await client.connect(b);
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(
        names.filter(
          (name) => !['db.describe_schema', 'db.get', 'db.query', 'db.aggregate'].includes(name),
        ),
      ).toEqual([]);
      await client.close();
    }
  });

  it('with the toggle, only the roles given writes get them: the agent still has none', () => {
    const engine = compilePolicy(saasPolicy, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    const fields = (role: string) =>
      Object.keys(
        buildSchema({
          datamodel: saasApp.datamodel,
          policy: engine.value.forRoles([role]),
          cursorSecret: 'x',
        })
          .getMutationType()
          ?.getFields() ?? {},
      );
    expect(fields('agent')).toEqual([]);
    expect(fields('sales')).toEqual([]);
    expect(fields('support')).toEqual([
      'updateOrder',
      'deleteOrder',
      'bulkUpdateOrders',
      'updateCustomer',
    ]);
    expect(fields('admin')).toEqual(['createProduct', 'approveRequest', 'rejectRequest']);
  });
});

describe.each(DATABASE_KINDS)('controlled writes on %s', (kind) => {
  const app = useTestApp(kind, { audit: true });

  const auditOf = async (approvalOrTrace: { approvalId?: string; reason?: string }) =>
    app.sql<Record<string, any>>(
      approvalOrTrace.approvalId
        ? 'SELECT * FROM ormai_audit_log WHERE approval_id = $1 ORDER BY id'
        : 'SELECT * FROM ormai_audit_log WHERE reason = $1 ORDER BY id',
      [approvalOrTrace.approvalId ?? approvalOrTrace.reason],
    );

  it('support changes an order status with a reason; the audit record holds reason, before and after', async () => {
    const [order] = await app.sql<{ id: number; status: string }>(
      `SELECT id, status FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status <> 'shipped' ORDER BY id LIMIT 1`,
    );
    const data = await query(
      app,
      SUPPORT,
      `mutation { updateOrder(id: ${order!.id}, data: { status: "shipped" }, reason: "carrier confirmed pickup") { id status } }`,
    );
    expect(data.updateOrder).toEqual({ id: order!.id, status: 'shipped' });
    const [row] = await app.sql<{ status: string }>('SELECT status FROM "Order" WHERE id = $1', [
      order!.id,
    ]);
    expect(row!.status).toBe('shipped');
    const [record] = await auditOf({ reason: 'carrier confirmed pickup' });
    expect(record).toMatchObject({
      surface: 'graphql',
      operation: 'mutation updateOrder',
      principal_sub: '3',
      affected_rows: 1,
      outcome: 'ok',
    });
    const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    expect(parse(record!.before).status).toBe(order!.status);
    expect(parse(record!.after).status).toBe('shipped');
  });

  it('needs a reason, an allowed field, an id, and ids within the limit', async () => {
    const cases: [string, string][] = [
      ['mutation { updateOrder(id: 1, data: { status: "paid" }) { id } }', 'VALIDATION_ERROR'],
      [
        'mutation { updateOrder(id: 1, data: { status: "paid" }, reason: " ") { id } }',
        'VALIDATION_ERROR',
      ],
      [
        'mutation { updateOrder(id: 1, data: { totalCents: 1 }, reason: "r") { id } }',
        'FIELD_NOT_ALLOWED',
      ],
      [
        'mutation { updateOrder(data: { status: "paid" }, reason: "r") { id } }',
        'VALIDATION_ERROR',
      ],
      [
        'mutation { bulkUpdateOrders(data: { status: "paid" }, reason: "r") { updatedCount } }',
        'VALIDATION_ERROR',
      ],
      [
        'mutation { bulkUpdateOrders(ids: [], data: { status: "paid" }, reason: "r") { updatedCount } }',
        'VALIDATION_ERROR',
      ],
      [
        `mutation { bulkUpdateOrders(ids: [${Array.from({ length: 51 }, (_, i) => i + 1).join(',')}], data: { status: "paid" }, reason: "r") { updatedCount } }`,
        'MAX_AFFECTED_ROWS_EXCEEDED',
      ],
      ['mutation { deleteOrder(id: 1, reason: "r", hard: true) { success } }', 'VALIDATION_ERROR'],
      [
        'mutation { updateOrder(id: 1, data: { status: 7 }, reason: "r") { id } }',
        'VALIDATION_ERROR',
      ],
    ];
    for (const [text, code] of cases) {
      const { body } = await app.graphql(SUPPORT, text);
      expect(body.errors?.[0]?.extensions.code, text).toBe(code);
    }
    // a value of the wrong type names its field, in a literal and through MCP's variables
    const literal = await app.graphql(
      SUPPORT,
      'mutation { updateOrder(id: 1, data: { notes: "ok", status: 7 }, reason: "r") { id } }',
    );
    expect(literal.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'status' },
    });
    const support = await connectMcp(app, SUPPORT);
    const typed = await support.call('db.update', {
      model: 'Customer',
      id: 1,
      data: { phone: 5550100 },
      reason: 'r',
    });
    expect(typed.structured.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'phone' },
    });
    await support.close();
  });

  it("writes outside the caller's scope change nothing: every table has the same checksum", async () => {
    const before = await checksum(app);
    const [foreign] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
    );
    const [foreignCustomer] = await app.sql<{ id: number }>(
      'SELECT id FROM "Customer" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
    );
    const [deleted] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NOT NULL ORDER BY id LIMIT 1',
    );
    const attempts: [object, string, string][] = [
      [
        SUPPORT,
        `mutation { updateOrder(id: ${foreign!.id}, data: { status: "paid" }, reason: "r") { id } }`,
        'NOT_FOUND',
      ],
      [
        SUPPORT,
        `mutation { updateOrder(id: ${deleted!.id}, data: { status: "paid" }, reason: "r") { id } }`,
        'NOT_FOUND',
      ],
      [
        SUPPORT,
        `mutation { updateCustomer(id: ${foreignCustomer!.id}, data: { email: "x@y.z" }, reason: "r") { id } }`,
        'NOT_FOUND',
      ],
      [
        ADMIN,
        'mutation { createProduct(data: { sku: "X", name: "X", priceCents: 1, costCents: 1, tenantId: 2 }, reason: "r") { id } }',
        'TENANT_SCOPE_VIOLATION',
      ],
      [
        { sub: '6', tenantId: 1, roles: ['sales'] },
        'mutation { updateOrder(id: 1, data: { status: "paid" }, reason: "r") { id } }',
        'WRITE_DISABLED',
      ],
    ];
    for (const [principal, text, code] of attempts) {
      const { body } = await app.graphql(principal as never, text);
      expect(body.errors?.[0]?.extensions.code, JSON.stringify(body.errors)).toBe(code);
    }
    const bulk = await query(
      app,
      SUPPORT,
      `mutation { bulkUpdateOrders(ids: [${foreign!.id}], data: { status: "paid" }, reason: "r") { updatedCount success failedIds } }`,
    );
    expect(bulk.bulkUpdateOrders).toEqual({
      updatedCount: 0,
      success: false,
      failedIds: [String(foreign!.id)],
    });
    const agent = await connectMcp(app, { tenantId: 1, roles: ['agent'] });
    const tools = (await agent.client.listTools()).tools.map((tool) => tool.name);
    expect(tools).not.toContain('db.update');
    await expect(
      agent.client.callTool({
        name: 'db.update',
        arguments: { model: 'Order', id: 1, data: { status: 'x' } },
      }),
    ).rejects.toThrow(/TOOL_NOT_FOUND/);
    await agent.close();
    const support = await connectMcp(app, SUPPORT);
    const tenantMove = await support.call('db.update', {
      model: 'Order',
      id: 1,
      data: { tenantId: 2 },
      reason: 'r',
    });
    expect(tenantMove.structured.error.code).toBe('TENANT_SCOPE_VIOLATION');
    // support may update customers but not delete them; and has no create tool at all
    const customerDelete = await support.call('db.delete', {
      model: 'Customer',
      id: 1,
      reason: 'r',
    });
    expect(customerDelete.structured.error.code).toBe('WRITE_DISABLED');
    await expect(
      support.client.callTool({
        name: 'db.create',
        arguments: { model: 'Product', data: { sku: 'Y' } },
      }),
    ).rejects.toThrow(/TOOL_NOT_FOUND/);
    await support.close();
    expect(await checksum(app)).toEqual(before);
  });

  it('soft delete waits for approval, then runs once: the row stays with deletedAt set and leaves every read', async () => {
    const [order] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id DESC LIMIT 1',
    );
    const { body } = await app.graphql(
      SUPPORT,
      `mutation { deleteOrder(id: ${order!.id}, reason: "duplicate order") { success } }`,
    );
    expect(body.errors?.[0]?.extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
    const approvalId: string = body.errors![0]!.extensions.details.approval_id;
    expect(
      (await app.sql('SELECT "deletedAt" FROM "Order" WHERE id = $1', [order!.id]))[0],
    ).toEqual({ deletedAt: null });
    const polled = await query(
      app,
      SUPPORT,
      `{ approvalRequest(id: "${approvalId}") { status operation model reason } }`,
    );
    expect(polled.approvalRequest).toEqual({
      status: 'pending',
      operation: 'delete',
      model: 'Order',
      reason: 'duplicate order',
    });

    const approved = await query(
      app,
      ADMIN,
      `mutation { approveRequest(id: "${approvalId}") { status result decidedBy } }`,
    );
    expect(approved.approveRequest).toEqual({
      status: 'approved',
      result: { found: true, softDeleted: true },
      decidedBy: '1',
    });
    const [row] = await app.sql<{ deletedAt: unknown }>(
      'SELECT "deletedAt" FROM "Order" WHERE id = $1',
      [order!.id],
    );
    expect(row!.deletedAt).not.toBeNull();
    expect((await query(app, ADMIN, `{ order(id: ${order!.id}) { id } }`)).order).toBeNull();

    const again = await app.graphql(
      ADMIN,
      `mutation { approveRequest(id: "${approvalId}") { status } }`,
    );
    expect(again.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { status: 'approved' },
    });
    // it ran once, recorded under the requester (test/approvals-audit.test.ts pins the other records)
    const executed = (await auditOf({ approvalId })).filter((r) =>
      r.operation.startsWith('approved'),
    );
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({
      operation: 'approved delete Order',
      principal_sub: '3',
      reason: 'duplicate order',
      affected_rows: 1,
    });
  });

  it('a rejected request never runs; two approvers at once run it once', async () => {
    const [a] = await app.sql<{ id: number; status: string }>(
      `SELECT id, status FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1 OFFSET 20`,
    );
    const ids = (n: number) => Array.from({ length: n }, (_, i) => a!.id + i);
    const ask = async (reason: string) => {
      const { body } = await app.graphql(
        SUPPORT,
        `mutation { bulkUpdateOrders(ids: [${ids(6).join(',')}], data: { status: "refunded" }, reason: "${reason}") { updatedCount } }`,
      );
      expect(body.errors?.[0]?.extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
      return body.errors![0]!.extensions.details.approval_id as string;
    };
    const rejectedId = await ask('refund batch one');
    const before = await checksum(app);
    const rejected = await query(
      app,
      ADMIN,
      `mutation { rejectRequest(id: "${rejectedId}", reason: "not authorised") { status } }`,
    );
    expect(rejected.rejectRequest.status).toBe('rejected');
    const late = await app.graphql(
      ADMIN,
      `mutation { approveRequest(id: "${rejectedId}") { status } }`,
    );
    expect(late.body.errors?.[0]?.extensions.details).toMatchObject({ status: 'rejected' });
    expect(await checksum(app)).toEqual(before);

    const racedId = await ask('refund batch two');
    const results = await Promise.all([
      app.graphql(ADMIN, `mutation { approveRequest(id: "${racedId}") { status } }`),
      app.graphql(
        { sub: '2', tenantId: 1, roles: ['admin'] },
        `mutation { approveRequest(id: "${racedId}") { status } }`,
      ),
    ]);
    expect(results.filter((r) => r.body.data?.approveRequest?.status === 'approved')).toHaveLength(
      1,
    );
    expect(
      results.filter((r) => r.body.errors?.[0]?.extensions.code === 'VALIDATION_ERROR'),
    ).toHaveLength(1);
    const raced = await auditOf({ approvalId: racedId });
    expect(raced.filter((r) => r.operation.startsWith('approved'))).toHaveLength(1);
    expect(raced.filter((r) => r.operation === 'approve ormai_approval_request')).toHaveLength(1);
  });

  it('a request approved by another gateway (as after a restart) runs once; an expired one never', async () => {
    const [order] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
    );
    const support2 = { sub: '13', tenantId: 2, roles: ['support'] };
    const { body } = await app.graphql(
      support2,
      `mutation { deleteOrder(id: ${order!.id}, reason: "restart test") { success } }`,
    );
    const approvalId = body.errors![0]!.extensions.details.approval_id as string;
    // a fresh gateway shares nothing with the first but the database
    const fresh = createGateway({
      runtime: app.runtime,
      jwtSecret: JWT_SECRET,
      logger: createLogger('silent'),
    });
    const result = await fresh.execute({
      principal: { sub: '11', tenantId: 2, roles: ['admin'], claims: {} },
      document: `mutation { approveRequest(id: "${approvalId}") { status } }`,
      surface: 'graphql',
    });
    expect(result.data).toEqual({ approveRequest: { status: 'approved' } });
    expect(
      (
        await app.sql<{ n: number }>(
          'SELECT count(*)::int AS n FROM "Order" WHERE id = $1 AND "deletedAt" IS NOT NULL',
          [order!.id],
        )
      )[0]!.n,
    ).toBe(1);

    const [other] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
    );
    const pending = await app.graphql(
      support2,
      `mutation { deleteOrder(id: ${other!.id}, reason: "will expire") { success } }`,
    );
    const expiring = pending.body.errors![0]!.extensions.details.approval_id as string;
    await app.sql(
      `UPDATE ormai_approval_request SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [expiring],
    );
    expect(
      (await query(app, support2, `{ approvalRequest(id: "${expiring}") { status } }`))
        .approvalRequest.status,
    ).toBe('expired');
    const refused = await app.graphql(
      { sub: '11', tenantId: 2, roles: ['admin'] },
      `mutation { approveRequest(id: "${expiring}") { status } }`,
    );
    expect(refused.body.errors?.[0]?.extensions.details).toMatchObject({ status: 'expired' });
    expect(
      (await app.sql('SELECT "deletedAt" FROM "Order" WHERE id = $1', [other!.id]))[0],
    ).toEqual({ deletedAt: null });
  });

  it('a pluggable approval gate: auto-approve runs at once, a callback can refuse or hand over to the queue', async () => {
    const gatewayWith = (approvalGate: ApprovalGate) =>
      createGateway({
        runtime: app.runtime,
        jwtSecret: JWT_SECRET,
        logger: createLogger('silent'),
        audit: app.audit!.log,
        approvalGate,
      });
    const asSupport = (gateway: ReturnType<typeof createGateway>, document: string) =>
      gateway.execute({ principal: { ...SUPPORT, claims: {} }, document, surface: 'graphql' });
    const live = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 3 OFFSET 40',
    );

    const auto = await asSupport(
      gatewayWith(autoApprove),
      `mutation { deleteOrder(id: ${live[0]!.id}, reason: "auto gate") { softDeleted } }`,
    );
    expect(auto.errors).toBeUndefined();
    expect(auto.data).toEqual({ deleteOrder: { softDeleted: true } });
    expect(
      (
        await app.sql<{ n: number }>(
          'SELECT count(*)::int AS n FROM "Order" WHERE id = $1 AND "deletedAt" IS NOT NULL',
          [live[0]!.id],
        )
      )[0]!.n,
    ).toBe(1);
    const [gated, ...more] = await auditOf({ approvalId: 'gate:auto' });
    expect(more).toEqual([]);
    expect(gated).toMatchObject({ reason: 'auto gate', affected_rows: 1 });
    expect(asJson(gated!.decisions).approvedBy).toEqual({ gate: 'auto' });

    const seen: unknown[] = [];
    const picky = approvalCallback('picky', ({ request, principal }) => {
      seen.push({ kind: request.kind, model: request.model, sub: principal.sub });
      return request.reason === 'please queue' ? 'queue' : 'deletes need a ticket number';
    });
    const before = await checksum(app);
    const refused = await asSupport(
      gatewayWith(picky),
      `mutation { deleteOrder(id: ${live[1]!.id}, reason: "no ticket") { softDeleted } }`,
    );
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'WRITE_DISABLED',
      details: { gate: 'picky' },
    });
    expect(refused.errors?.[0]?.message).toContain('deletes need a ticket number');
    expect(await checksum(app)).toEqual(before);
    expect(seen).toEqual([{ kind: 'delete', model: 'Order', sub: '3' }]);
    const queued = await asSupport(
      gatewayWith(picky),
      `mutation { deleteOrder(id: ${live[2]!.id}, reason: "please queue") { softDeleted } }`,
    );
    expect(queued.errors?.[0]?.extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
    // updates the policy does not gate never reach the gate
    const plain = await asSupport(
      gatewayWith(picky),
      `mutation { updateOrder(id: ${live[2]!.id}, data: { notes: "n" }, reason: "ungated") { notes } }`,
    );
    expect(plain.data).toEqual({ updateOrder: { notes: 'n' } });
    expect(seen).toHaveLength(2);
  });

  it('through MCP: update with a reason, delete waits, approval_status follows it, one audit record per change', async () => {
    const support = await connectMcp(app, SUPPORT);
    const names = (await support.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'db.update',
        'db.delete',
        'db.bulk_update_by_ids',
        'db.approval_status',
      ]),
    );
    expect(names).not.toContain('db.create');
    const [customer] = await app.sql<{ id: number }>(
      'SELECT id FROM "Customer" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1',
    );
    const updated = await support.call('db.update', {
      model: 'Customer',
      id: customer!.id,
      data: { phone: '+15550000000' },
      reason: 'customer asked by phone',
    });
    expect(updated.structured).toMatchObject({
      success: true,
      found: true,
      data: { id: customer!.id, phone: '+15550000000' },
    });
    const records = await auditOf({ reason: 'customer asked by phone' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ surface: 'mcp', operation: 'db.update', model: 'Customer' });
    await app.audit!.log.flush();
    expect(
      (
        await app.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM ormai_audit_log WHERE trace_id = $1`,
          [records[0]!.trace_id],
        )
      )[0]!.n,
    ).toBe(1);
    expect(
      app.audit!.memory.records.filter((r) => r.reason === 'customer asked by phone'),
    ).toHaveLength(1);

    const missing = await support.call('db.update', {
      model: 'Customer',
      data: { phone: '1' },
      reason: 'r',
    });
    expect(missing.structured.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'id' },
    });
    const noIds = await support.call('db.bulk_update_by_ids', {
      model: 'Order',
      ids: [],
      data: { status: 'paid' },
      reason: 'r',
    });
    expect(noIds.structured.error.code).toBe('VALIDATION_ERROR');

    const [order] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id DESC LIMIT 1',
    );
    const waiting = await support.call('db.delete', {
      model: 'Order',
      id: order!.id,
      reason: 'customer cancelled',
    });
    expect(waiting.structured.error.code).toBe('WRITE_APPROVAL_REQUIRED');
    const approvalId = waiting.structured.error.details.approval_id;
    expect(
      (await support.call('db.approval_status', { approval_id: approvalId })).structured,
    ).toEqual({ status: 'pending' });
    await query(app, ADMIN, `mutation { approveRequest(id: "${approvalId}") { status } }`);
    expect(
      (await support.call('db.approval_status', { approval_id: approvalId })).structured,
    ).toEqual({
      status: 'approved',
      result: { found: true, softDeleted: true },
    });
    await support.close();
  });
});
