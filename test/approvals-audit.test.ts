// Pins who decided in the audit log: approve and reject are records of their own under the approver
// (sub, tenant, roles, approval id, decision, reason), the write an approval runs names its approver,
// and nobody decides a request they made unless the policy says `writes.allowSelfApproval`.
import { describe, expect, it } from 'vitest';
import { saasPolicy } from '../examples/saas/policy.js';
import type { Principal } from '../src/policy/principal.js';
import { DATABASE_KINDS, query, type TestApp, useTestApp } from './helpers/runtime.js';

const SUPPORT = { sub: '3', tenantId: 1, roles: ['support'] };
const ADMIN = { sub: '1', tenantId: 1, roles: ['admin'] };
/** One person who may both ask for a gated write and approve: the case the rule is about. */
const SUPPORT_ADMIN = { sub: '3', tenantId: 1, roles: ['support', 'admin'] };

type Row = Record<string, any>;
const asJson = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

/** The table's records for an approval (or a trace), oldest first, every async one flushed. */
async function recordsOf(app: TestApp, where: { approvalId?: string; traceId?: string }) {
  await app.audit!.log.flush();
  const rows = await app.sql<Row>(
    where.approvalId
      ? 'SELECT * FROM ormai_audit_log WHERE approval_id = $1 ORDER BY id'
      : 'SELECT * FROM ormai_audit_log WHERE trace_id = $1 ORDER BY id',
    [where.approvalId ?? where.traceId],
  );
  return rows.map(
    (row): Row => ({
      ...row,
      roles: asJson(row.roles),
      decisions: asJson(row.decisions),
      before: asJson(row.before),
      after: asJson(row.after),
    }),
  );
}

/** A live order of tenant 1 no earlier test touched. */
async function liveOrder(app: TestApp, offset: number) {
  const [order] = await app.sql<{ id: number }>(
    'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1 OFFSET $1',
    [offset],
  );
  return order!.id;
}

/** Asks to soft-delete an order as `principal`; returns the approval id it waits under. */
async function askDelete(app: TestApp, principal: object, id: number, reason: string) {
  const { body } = await app.graphql(
    principal,
    `mutation { deleteOrder(id: ${id}, reason: "${reason}") { success } }`,
  );
  expect(body.errors?.[0]?.extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
  return body.errors![0]!.extensions.details.approval_id as string;
}

async function approvalRow(app: TestApp, id: string) {
  const [row] = await app.sql<{ status: string; decided_by: string | null }>(
    'SELECT status, decided_by FROM ormai_approval_request WHERE id = $1',
    [id],
  );
  return row;
}

async function deletedAt(app: TestApp, id: number) {
  const [row] = await app.sql<{ deletedAt: unknown }>(
    'SELECT "deletedAt" FROM "Order" WHERE id = $1',
    [id],
  );
  return row!.deletedAt;
}

describe.each(DATABASE_KINDS)('approvals in the audit log on %s', (kind) => {
  const app = useTestApp(kind, { audit: true });

  it('approve: a record of its own under the approver, and the write it runs names the approver', async () => {
    const order = await liveOrder(app, 0);
    const approvalId = await askDelete(app, SUPPORT, order, 'duplicate order');
    const approved = await app.graphql(
      ADMIN,
      `mutation { approveRequest(id: "${approvalId}") { status decidedBy } }`,
    );
    expect(approved.body.data.approveRequest).toEqual({ status: 'approved', decidedBy: '1' });

    const records = await recordsOf(app, { approvalId });
    // the queueing call's record is written after its response, so ids need not follow time
    const [queued, decision, executed] = [
      'mutation deleteOrder',
      'approve ormai_approval_request',
      'approved delete Order',
    ].map((operation) => {
      const found = records.filter((r) => r.operation === operation);
      expect(found, operation).toHaveLength(1);
      return found[0];
    });
    expect(records).toHaveLength(3);
    // the call that queued it names it too
    expect(queued).toMatchObject({
      operation: 'mutation deleteOrder',
      principal_sub: '3',
      outcome: 'error',
      error_code: 'WRITE_APPROVAL_REQUIRED',
    });
    expect(decision).toMatchObject({
      surface: 'graphql',
      operation: 'approve ormai_approval_request',
      model: 'Order',
      principal_sub: '1',
      tenant_id: '1',
      roles: ['admin'],
      approval_id: approvalId,
      outcome: 'ok',
      error_code: null,
      affected_rows: 1,
      before: { status: 'pending' },
      after: { status: 'approved' },
    });
    expect(decision!.decisions).toMatchObject({
      decision: 'approve',
      request: {
        operation: 'delete',
        model: 'Order',
        requestedBy: { sub: '3', tenantId: 1, roles: ['support'] },
      },
    });
    expect(decision!.decisions.selfApproval).toBeUndefined();
    expect(executed).toMatchObject({
      operation: 'approved delete Order',
      principal_sub: '3',
      roles: ['support'],
      reason: 'duplicate order',
      approval_id: approvalId,
      affected_rows: 1,
    });
    expect(executed!.decisions.approvedBy).toEqual({ sub: '1', tenantId: 1, roles: ['admin'] });
    // one request, one decision: its records share the trace and nothing else was recorded for it
    expect(executed!.trace_id).toBe(decision!.trace_id);
    expect(await recordsOf(app, { traceId: decision!.trace_id })).toHaveLength(2);
    // the other sinks hold the same records once the transaction committed
    expect(
      app
        .audit!.memory.records.filter((r) => r.approval_id === approvalId)
        .map((r) => r.operation)
        .sort(),
    ).toEqual(['approve ormai_approval_request', 'approved delete Order', 'mutation deleteOrder']);
  });

  it('reject: a record of its own with the reason; nothing runs', async () => {
    const order = await liveOrder(app, 0);
    const approvalId = await askDelete(app, SUPPORT, order, 'wrong customer');
    const rejected = await query(
      app,
      ADMIN,
      `mutation { rejectRequest(id: "${approvalId}", reason: "not authorised") { status } }`,
    );
    expect(rejected.rejectRequest.status).toBe('rejected');
    expect(await deletedAt(app, order)).toBeNull();

    const records = await recordsOf(app, { approvalId });
    expect(records.map((r) => r.operation).sort()).toEqual([
      'mutation deleteOrder',
      'reject ormai_approval_request',
    ]);
    const decision = records.find((r) => r.operation === 'reject ormai_approval_request');
    expect(decision).toMatchObject({
      surface: 'graphql',
      operation: 'reject ormai_approval_request',
      principal_sub: '1',
      tenant_id: '1',
      roles: ['admin'],
      approval_id: approvalId,
      reason: 'not authorised',
      outcome: 'ok',
      after: { status: 'rejected' },
    });
    expect(decision!.decisions).toMatchObject({
      decision: 'reject',
      request: { requestedBy: { sub: '3' } },
    });
    expect(await recordsOf(app, { traceId: decision!.trace_id })).toHaveLength(1);
  });

  it('nobody decides their own request (APPROVAL_SELF_DENIED, still pending); another approver can', async () => {
    const order = await liveOrder(app, 1);
    const approvalId = await askDelete(app, SUPPORT_ADMIN, order, 'asked and approved by one');
    // the same sub in the same tenant, whatever roles the token carries now
    for (const [self, mutation] of [
      [SUPPORT_ADMIN, `approveRequest(id: "${approvalId}")`],
      [{ ...SUPPORT_ADMIN, roles: ['admin'] }, `approveRequest(id: "${approvalId}")`],
      [SUPPORT_ADMIN, `rejectRequest(id: "${approvalId}", reason: "never mind")`],
    ] as const) {
      const { body } = await app.graphql(self, `mutation { ${mutation} { status } }`);
      expect(body.errors?.[0]?.extensions).toMatchObject({
        code: 'APPROVAL_SELF_DENIED',
        details: { approval_id: approvalId },
      });
    }
    expect(await approvalRow(app, approvalId)).toEqual({ status: 'pending', decided_by: null });
    expect(await deletedAt(app, order)).toBeNull();
    const refusals = (await recordsOf(app, { approvalId })).filter(
      (r) => r.error_code === 'APPROVAL_SELF_DENIED',
    );
    expect(refusals.map((r) => [r.principal_sub, r.operation])).toEqual([
      ['3', 'mutation approveRequest'],
      ['3', 'mutation approveRequest'],
      ['3', 'mutation rejectRequest'],
    ]);

    await query(app, ADMIN, `mutation { approveRequest(id: "${approvalId}") { status } }`);
    expect(await approvalRow(app, approvalId)).toEqual({ status: 'approved', decided_by: '1' });
    expect(await deletedAt(app, order)).not.toBeNull();
  });

  it('as the CLI runs it (the gateway, in process): the approver principal is recorded, failures too', async () => {
    const order = await liveOrder(app, 2);
    const approvalId = await askDelete(app, SUPPORT, order, 'cli reject');
    const approver: Principal = { sub: '2', tenantId: 1, roles: ['admin'], claims: {} };
    const run = (document: string) =>
      app.gateway.execute({ principal: approver, document, surface: 'graphql' });

    const rejected = await run(
      `mutation { rejectRequest(id: "${approvalId}", reason: "from the cli") { status } }`,
    );
    expect(rejected.data).toEqual({ rejectRequest: { status: 'rejected' } });
    const [decision] = await recordsOf(app, { traceId: rejected.traceId });
    expect(decision).toMatchObject({
      operation: 'reject ormai_approval_request',
      principal_sub: '2',
      tenant_id: '1',
      roles: ['admin'],
      reason: 'from the cli',
      approval_id: approvalId,
    });

    // a refused decision is the operation's own record, under the approver, naming the request
    const late = await run(`mutation { approveRequest(id: "${approvalId}") { status } }`);
    expect(late.errors?.[0]?.extensions.code).toBe('VALIDATION_ERROR');
    expect(await recordsOf(app, { traceId: late.traceId })).toEqual([
      expect.objectContaining({
        operation: 'mutation approveRequest',
        principal_sub: '2',
        roles: ['admin'],
        outcome: 'error',
        error_code: 'VALIDATION_ERROR',
        approval_id: approvalId,
      }),
    ]);
  });
});

describe.each(DATABASE_KINDS)('writes.allowSelfApproval on %s', (kind) => {
  const app = useTestApp(kind, {
    audit: true,
    policy: { ...saasPolicy, writes: { ...saasPolicy.writes, allowSelfApproval: true } },
  });

  it('lets one person ask and approve; the decision says it was their own', async () => {
    const order = await liveOrder(app, 0);
    const approvalId = await askDelete(app, SUPPORT_ADMIN, order, 'one-person shop');
    const approved = await query(
      app,
      SUPPORT_ADMIN,
      `mutation { approveRequest(id: "${approvalId}") { status decidedBy } }`,
    );
    expect(approved.approveRequest).toEqual({ status: 'approved', decidedBy: '3' });
    expect(await deletedAt(app, order)).not.toBeNull();
    const decision = (await recordsOf(app, { approvalId })).find(
      (r) => r.operation === 'approve ormai_approval_request',
    );
    expect(decision).toMatchObject({ principal_sub: '3', roles: ['support', 'admin'] });
    expect(decision!.decisions).toMatchObject({ decision: 'approve', selfApproval: true });
  });
});
