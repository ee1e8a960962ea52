// Pins controlled writes on every example app: off by default, and when on: reasons, field
// allowlists, soft delete, approvals that run exactly once, audit with before/after, and writes
// outside the caller's scope that change nothing at all (each app's writes are in test/apps/). The
// approval machinery (bulk gates, races, restarts, expiry, pluggable gates) is pinned on saas.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { createMcpServer } from '../src/mcp-bridge/index.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { type ApprovalGate, approvalCallback, autoApprove } from '../src/schema/approval-gate.js';
import { buildSchema } from '../src/schema/build-schema.js';
import { createGateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';
import { APP_SPECS } from './apps/index.js';
import { saasSpec } from './apps/saas.js';
import type { AppSpec } from './apps/spec.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, JWT_SECRET, query, type TestApp, useTestApp } from './helpers/runtime.js';

const SUPPORT = { sub: '3', tenantId: 1, roles: ['support'] };
const ADMIN = { sub: '1', tenantId: 1, roles: ['admin'] };
const asJson = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

/** A checksum of every row of every app table. */
async function checksum(app: TestApp, tables: string[]) {
  const sums: Record<string, string> = {};
  for (const table of tables) {
    const [row] = await app.sql<{ sum: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${table} t`,
    );
    sums[table] = row!.sum;
  }
  return sums;
}

const auditOf = (app: TestApp, approvalOrTrace: { approvalId?: string; reason?: string }) =>
  app.sql<Record<string, any>>(
    approvalOrTrace.approvalId
      ? 'SELECT * FROM ormai_audit_log WHERE approval_id = $1 ORDER BY id'
      : 'SELECT * FROM ormai_audit_log WHERE reason = $1 ORDER BY id',
    [approvalOrTrace.approvalId ?? approvalOrTrace.reason],
  );

describe.each(APP_SPECS.map((spec) => [spec.app.name, spec] as const))(
  'writes are off by default: %s',
  (_name, spec: AppSpec) => {
    const { app } = spec;
    const { writes: _writes, ...readOnly } = app.policy;
    const roles = Object.keys(spec.writes.mutations);

    it('no Mutation type and no write tool, for any role, without the toggle', async () => {
      const engine = compilePolicy(readOnly, app.datamodel);
      if (!engine.ok) throw new Error(engine.message);
      for (const role of roles) {
        const policy = engine.value.forRoles([role]);
        expect(
          buildSchema({ datamodel: app.datamodel, policy, cursorSecret: 'x' }).getMutationType(),
        ).toBeUndefined();
        const server = createMcpServer(
          { execute: async () => ({ traceId: 'x' }), policyFor: () => policy },
          { sub: '1', tenantId: spec.tenants[0]!, roles: [role], claims: {} },
        );
        const [a, b] = InMemoryTransport.createLinkedPair();
        await server.connect(a);
        const client = new Client({ name: 't', version: '1' });
        await client.connect(b);
        const names = (await client.listTools()).tools.map((tool) => tool.name);
        expect(
          names.filter(
            (name) => !['db_describe_schema', 'db_get', 'db_query', 'db_aggregate'].includes(name),
          ),
        ).toEqual([]);
        await client.close();
      }
    });

    it('with the toggle, only the roles given writes get them', () => {
      expect(roles.sort()).toEqual(Object.keys(app.policy.roles ?? {}).sort());
      const engine = compilePolicy(app.policy, app.datamodel);
      if (!engine.ok) throw new Error(engine.message);
      for (const role of roles) {
        const fields = Object.keys(
          buildSchema({
            datamodel: app.datamodel,
            policy: engine.value.forRoles([role]),
            cursorSecret: 'x',
          })
            .getMutationType()
            ?.getFields() ?? {},
        );
        expect(fields, role).toEqual(spec.writes.mutations[role]);
      }
    });
  },
);

describe.each(
  DATABASE_KINDS.flatMap((kind) => APP_SPECS.map((spec) => [spec.app.name, kind, spec] as const)),
)('controlled writes: %s on %s', (_name, kind, spec: AppSpec) => {
  const app = useTestApp(kind, { app: spec.app, audit: true });
  const writes = spec.writes;

  it('a write with a reason changes the row; the audit record holds reason, before and after', async () => {
    const { update } = writes;
    const [row] = await app.sql(update.pickSql);
    expect(row).toBeDefined();
    const reason = `${spec.app.name}: carrier confirmed pickup`;
    const data = await query(app, update.principal, update.mutation(row!, reason));
    expect(data[update.root][update.field]).toEqual(update.value);
    const [after] = await app.sql<{ value: unknown }>(update.readSql, update.readParams(row!));
    expect(after!.value).toEqual(update.value);
    const [record] = await auditOf(app, { reason });
    expect(record).toMatchObject({
      surface: 'graphql',
      operation: `mutation ${update.root}`,
      principal_sub: update.principal.sub,
      affected_rows: 1,
      outcome: 'ok',
    });
    expect(asJson(record!.before)[update.field]).toEqual(row!.before);
    expect(asJson(record!.after)[update.field]).toEqual(update.value);
  });

  it('needs a reason, an allowed field, a whole key, and values of the right type', async () => {
    for (const [text, code] of writes.invalid.cases) {
      const { body } = await app.graphql(writes.invalid.principal, text);
      expect(body.errors?.[0]?.extensions.code, text).toBe(code);
    }
  });

  it("writes outside the caller's scope change nothing: every table has the same checksum", async () => {
    const before = await checksum(app, writes.tables);
    for (const [principal, text, codes] of await writes.outOfScope(app.sql)) {
      const { body } = await app.graphql(principal, text);
      expect(codes.split('|'), `${text}: ${JSON.stringify(body.errors)}`).toContain(
        body.errors?.[0]?.extensions.code,
      );
    }
    expect(await checksum(app, writes.tables)).toEqual(before);
  });

  it('soft delete waits for approval, then runs once: the row stays with deletedAt set and leaves every read', async () => {
    const { softDelete } = writes;
    const [row] = await app.sql(softDelete.pickSql);
    const reason = `${spec.app.name}: duplicate`;
    const { body } = await app.graphql(softDelete.requester, softDelete.mutation(row!, reason));
    expect(body.errors?.[0]?.extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
    const approvalId: string = body.errors![0]!.extensions.details.approval_id;
    const deleted = async () =>
      (await app.sql<{ deleted: boolean }>(softDelete.deletedSql, softDelete.params(row!)))[0]!
        .deleted;
    expect(await deleted()).toBe(false);
    const polled = await query(
      app,
      softDelete.requester,
      `{ approvalRequest(id: "${approvalId}") { status operation model reason } }`,
    );
    expect(polled.approvalRequest).toEqual({
      status: 'pending',
      operation: 'delete',
      model: softDelete.model,
      reason,
    });

    const approved = await query(
      app,
      softDelete.approver,
      `mutation { approveRequest(id: "${approvalId}") { status result decidedBy } }`,
    );
    expect(approved.approveRequest).toEqual({
      status: 'approved',
      result: { found: true, softDeleted: true },
      decidedBy: softDelete.approver.sub,
    });
    expect(await deleted()).toBe(true);
    expect((await query(app, softDelete.approver, softDelete.read(row!))).row).toBeNull();

    const again = await app.graphql(
      softDelete.approver,
      `mutation { approveRequest(id: "${approvalId}") { status } }`,
    );
    expect(again.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { status: 'approved' },
    });
    // it ran once, recorded under the requester (test/approvals-audit.test.ts pins the other records)
    const executed = (await auditOf(app, { approvalId })).filter((r) =>
      r.operation.startsWith('approved'),
    );
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatchObject({
      operation: `approved delete ${softDelete.model}`,
      principal_sub: softDelete.requester.sub,
      reason,
      affected_rows: 1,
    });
  });

  it('through MCP: db.update with a reason is one audit record', async () => {
    const { mcpUpdate } = writes;
    const client = await connectMcp(app, mcpUpdate.principal);
    const [row] = await app.sql(mcpUpdate.pickSql);
    const reason = `${spec.app.name}: customer asked by phone`;
    const updated = await client.call('db.update', {
      model: mcpUpdate.model,
      id: mcpUpdate.id(row!),
      data: mcpUpdate.data,
      reason,
    });
    expect(updated.structured).toMatchObject({ success: true, found: true, data: mcpUpdate.data });
    const records = await auditOf(app, { reason });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      surface: 'mcp',
      operation: 'db_update',
      model: mcpUpdate.model,
    });
    await app.audit!.log.flush();
    expect(
      (
        await app.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM ormai_audit_log WHERE trace_id = $1`,
          [records[0]!.trace_id],
        )
      )[0]!.n,
    ).toBe(1);
    expect(app.audit!.memory.records.filter((r) => r.reason === reason)).toHaveLength(1);
    const missing = await client.call('db.update', {
      model: mcpUpdate.model,
      data: mcpUpdate.data,
      reason: 'r',
    });
    expect(missing.structured.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'id' },
    });
    await client.close();
  });
});

describe.each(DATABASE_KINDS)('approval machinery on saas on %s', (kind) => {
  const app = useTestApp(kind, { audit: true });
  const TABLES = saasSpec.writes.tables;

  it('a value of the wrong type names its field, in a literal and through MCP variables', async () => {
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

  it('bulk and MCP writes outside the scope change nothing; tools follow the grants', async () => {
    const before = await checksum(app, TABLES);
    const [foreign] = await app.sql<{ id: number }>(
      'SELECT id FROM "Order" WHERE "tenantId" = 2 ORDER BY id LIMIT 1',
    );
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
    expect(tools).not.toContain('db_update');
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
    const names = (await support.client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'db_update',
        'db_delete',
        'db_bulk_update_by_ids',
        'db_approval_status',
      ]),
    );
    const noIds = await support.call('db.bulk_update_by_ids', {
      model: 'Order',
      ids: [],
      data: { status: 'paid' },
      reason: 'r',
    });
    expect(noIds.structured.error.code).toBe('VALIDATION_ERROR');
    await support.close();
    expect(await checksum(app, TABLES)).toEqual(before);
  });

  it('through MCP: delete waits, approval_status follows it', async () => {
    const support = await connectMcp(app, SUPPORT);
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
    const before = await checksum(app, TABLES);
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
    expect(await checksum(app, TABLES)).toEqual(before);

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
    const raced = await auditOf(app, { approvalId: racedId });
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
    const [gated, ...more] = await auditOf(app, { approvalId: 'gate:auto' });
    expect(more).toEqual([]);
    expect(gated).toMatchObject({ reason: 'auto gate', affected_rows: 1 });
    expect(asJson(gated!.decisions).approvedBy).toEqual({ gate: 'auto' });

    const seen: unknown[] = [];
    const picky = approvalCallback('picky', ({ request, principal }) => {
      seen.push({ kind: request.kind, model: request.model, sub: principal.sub });
      return request.reason === 'please queue' ? 'queue' : 'deletes need a ticket number';
    });
    const before = await checksum(app, TABLES);
    const refused = await asSupport(
      gatewayWith(picky),
      `mutation { deleteOrder(id: ${live[1]!.id}, reason: "no ticket") { softDeleted } }`,
    );
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'WRITE_DISABLED',
      details: { gate: 'picky' },
    });
    expect(refused.errors?.[0]?.message).toContain('deletes need a ticket number');
    expect(await checksum(app, TABLES)).toEqual(before);
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
});
