// Pins the audit log (CONTRACT §9): exactly one record per GraphQL operation and per MCP tool call,
// successes and every failure kind, in the table, the JSONL file and memory alike; a hash chain that
// names the first edited or deleted record; concurrency; sanitized inputs; no loss through an outage.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type AuditRecord, sanitizeInputs, verifyChain } from '../src/audit/index.js';
import { verifyAudit } from '../src/cli/audit.js';
import { auditEntry } from './helpers/audit.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

const traceparent = () => {
  const id = randomBytes(16).toString('hex');
  return { id, header: `00-${id}-${randomBytes(8).toString('hex')}-01` };
};

async function all(records: AsyncIterable<AuditRecord>) {
  const out: AuditRecord[] = [];
  for await (const record of records) out.push(record);
  return out;
}

describe('sanitizeInputs', () => {
  it('redacts secret-looking keys at any depth and keeps email', () => {
    expect(
      sanitizeInputs({
        email: 'a@b.c',
        password: 'hunter2',
        api_key: 'k',
        apiKey: 'k',
        data: { auth_token: 't', nested: [{ ssn: '1', card_number: '4242', cvv: '1' }], name: 'x' },
        sessionId: 's',
        jwt: 'j',
      }),
    ).toEqual({
      email: 'a@b.c',
      password: '[REDACTED]',
      api_key: '[REDACTED]',
      apiKey: '[REDACTED]',
      data: {
        auth_token: '[REDACTED]',
        nested: [{ ssn: '[REDACTED]', card_number: '[REDACTED]', cvv: '[REDACTED]' }],
        name: 'x',
      },
      sessionId: '[REDACTED]',
      jwt: '[REDACTED]',
    });
  });
});

describe.each(DATABASE_KINDS)('audit log on %s', (kind) => {
  const app = useTestApp(kind, { audit: true });

  const post = async (token: string | null, query: string, variables?: Record<string, unknown>) => {
    const trace = traceparent();
    const response = await app.gateway.fetch('http://ormai.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: trace.header,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return { trace: trace.id, status: response.status, body: await response.json() };
  };
  const tableRecords = async () => all(app.audit!.sql.read());

  it('one record per call, with the right outcome, error code, row count and trace id, in every sink', async () => {
    const before = (await tableRecords()).length;
    const admin = await app.token({ sub: '1', tenantId: 1, roles: ['admin'] });
    const agentToken = await app.token({ sub: '1', tenantId: 1, roles: ['agent'] });
    const expected: {
      trace: string;
      surface: string;
      outcome: string;
      code: string | null;
      rows: number | null;
    }[] = [];
    const graphql = async (
      token: string | null,
      query: string,
      code: string | null,
      rows: number | null,
    ) => {
      const { trace } = await post(token, query);
      expected.push({ trace, surface: 'graphql', outcome: code ? 'error' : 'ok', code, rows });
    };
    await graphql(admin, '{ orders(first: 7) { nodes { id } } }', null, 7);
    await graphql(admin, '{ order(id: 1) { id } customer(id: 1) { id } }', null, 2);
    await graphql(null, '{ orders { totalCount } }', 'AUTHENTICATION_REQUIRED', null);
    await graphql(admin, '{ orders { nodes { id } }', 'VALIDATION_ERROR', null);
    await graphql(agentToken, '{ users { totalCount } }', 'FIELD_NOT_ALLOWED', null);
    await graphql(admin, '{ orders(first: 500) { nodes { id } } }', 'QUERY_BUDGET_EXCEEDED', null);
    await graphql(
      admin,
      '{ orders(where: { tenantId: { equals: 2 } }) { totalCount } }',
      'TENANT_SCOPE_VIOLATION',
      null,
    );
    await app.sql('ALTER TABLE "Product" RENAME COLUMN "sku" TO "sku_x"');
    try {
      await graphql(admin, '{ products(first: 1) { nodes { sku } } }', 'INTERNAL_ERROR', null);
    } finally {
      await app.sql('ALTER TABLE "Product" RENAME COLUMN "sku_x" TO "sku"');
    }
    const mcp = await connectMcp(app, { tenantId: 1, roles: ['agent'] });
    await mcp.call('db.query', { model: 'Order', take: 4 });
    await mcp.call('db.query', { model: 'User' });
    await mcp.call('db.query', { model: 'Order', take: 101 });
    await mcp.close();
    for (const [event, rows] of mcp.events.map(
      (event, i) => [event, [4, null, null][i]] as const,
    )) {
      expected.push({
        trace: event.traceId,
        surface: 'mcp',
        outcome: event.outcome,
        code: event.errorCode ?? null,
        rows: rows ?? null,
      });
    }
    expect(expected.map((e) => e.code).slice(-3)).toEqual([
      null,
      'MODEL_NOT_ALLOWED',
      'QUERY_BUDGET_EXCEEDED',
    ]);

    await app.audit!.log.flush();
    const table = (await tableRecords()).slice(before);
    expect(table).toHaveLength(expected.length);
    for (const want of expected) {
      const matching = table.filter((record) => record.trace_id === want.trace);
      expect(matching, want.trace).toHaveLength(1);
      expect(matching[0]).toMatchObject({
        surface: want.surface,
        outcome: want.outcome,
        error_code: want.code,
        row_count: want.rows,
      });
    }
    const mcpRecord = table.find((record) => record.surface === 'mcp' && record.outcome === 'ok')!;
    expect(mcpRecord).toMatchObject({
      operation: 'db_query',
      model: 'Order',
      principal_sub: '1',
      tenant_id: '1',
      roles: ['agent'],
    });
    expect((mcpRecord.decisions as any).scopes.Order).toEqual({
      tenant: 'tenantId',
      softDelete: 'deletedAt',
    });
    const graphqlRecord = table.find((record) => record.trace_id === expected[0]!.trace)!;
    expect(graphqlRecord).toMatchObject({
      operation: 'query orders',
      model: 'Order',
      roles: ['admin'],
    });

    // the JSONL file and memory hold the same calls
    for (const sink of [app.audit!.jsonl, app.audit!.memory]) {
      const records = (await all(sink.read())).slice(before);
      expect(records.map((r) => [r.trace_id, r.outcome, r.error_code, r.row_count])).toEqual(
        table.map((r) => [r.trace_id, r.outcome, r.error_code, r.row_count]),
      );
      expect(verifyChain(await all(sink.read())).ok).toBe(true);
    }
  });

  it('verify passes on a clean chain and names an edited or deleted record', async () => {
    const admin = await app.token({ tenantId: 2 });
    for (let i = 0; i < 5; i++) await post(admin, '{ customers(first: 2) { nodes { id } } }');
    await app.audit!.log.flush();
    expect((await verifyAudit(app.runtime)).ok).toBe(true);
    const records = await tableRecords();
    const victim = records.at(-3)!;

    await app.sql('UPDATE ormai_audit_log SET row_count = 99 WHERE id = $1', [victim.id]);
    const edited = await verifyAudit(app.runtime);
    expect(edited.ok).toBe(false);
    expect(edited.lines[0]).toBe(
      `broken: record ${victim.id} in the table ormai_audit_log: hash does not match its content: the record was changed`,
    );
    await app.sql('UPDATE ormai_audit_log SET row_count = $2 WHERE id = $1', [
      victim.id,
      victim.row_count,
    ]);
    expect((await verifyAudit(app.runtime)).ok).toBe(true);

    await app.sql('DELETE FROM ormai_audit_log WHERE id = $1', [victim.id]);
    const deleted = await verifyAudit(app.runtime);
    expect(deleted.ok).toBe(false);
    expect(deleted.lines[0]).toContain(`broken: record ${records.at(-2)!.id} `);
    expect(deleted.lines[0]).toContain('a record before it is missing');
    // put it back as it was, so later tests start from an intact chain
    const { id, ...content } = victim;
    const columns = Object.keys(content);
    await app.sql(
      `INSERT INTO ormai_audit_log (id, ${columns.join(', ')}) VALUES ($1, ${columns.map((c, i) => (['roles', 'inputs', 'decisions', 'before', 'after'].includes(c) ? `$${i + 2}::jsonb` : `$${i + 2}`)).join(', ')})`,
      [
        id,
        ...columns.map((c) => {
          const v = (content as any)[c];
          return ['roles', 'inputs', 'decisions', 'before', 'after'].includes(c)
            ? JSON.stringify(v)
            : v;
        }),
      ],
    );
    expect((await verifyAudit(app.runtime)).ok).toBe(true);
  });

  it('200 concurrent requests give exactly 200 records and an intact chain', async () => {
    const before = (await tableRecords()).length;
    const token = await app.token({ tenantId: 3 });
    const traces = await Promise.all(
      Array.from({ length: 200 }, () => post(token, '{ products(first: 1) { nodes { id } } }')),
    );
    expect(traces.every((t) => t.status === 200)).toBe(true);
    await app.audit!.log.flush();
    const records = await tableRecords();
    expect(records.length - before).toBe(200);
    expect(new Set(records.slice(before).map((r) => r.trace_id))).toEqual(
      new Set(traces.map((t) => t.trace)),
    );
    expect(verifyChain(records)).toMatchObject({ ok: true, checked: records.length });
  });

  it('inputs are recorded sanitized', async () => {
    const token = await app.token({ tenantId: 1 });
    const { trace } = await post(
      token,
      'query($first: Int, $password: String, $data: JSON) { orders(first: $first) { nodes { id } } }',
      {
        first: 1,
        password: 'hunter2',
        data: { auth_token: 'abc', email: 'a@b.c' },
      },
    );
    await app.audit!.log.flush();
    const record = (await tableRecords()).find((r) => r.trace_id === trace)!;
    expect((record.inputs as any).variables).toEqual({
      first: 1,
      password: '[REDACTED]',
      data: { auth_token: '[REDACTED]', email: 'a@b.c' },
    });
    expect(JSON.stringify(record)).not.toContain('hunter2');
  });

  it('while the table cannot be written, calls are refused; afterwards no accepted record is missing', async () => {
    const before = (await tableRecords()).length;
    const token = await app.token({ tenantId: 1 });
    await app.sql('ALTER TABLE ormai_audit_log RENAME TO ormai_audit_log_away');
    const outcomes: number[] = [];
    try {
      outcomes.push((await post(token, '{ orders(first: 1) { nodes { id } } }')).status);
      // the failed flush marks the sink down
      await expect.poll(() => app.audit!.log.available(), { timeout: 5000 }).toBe(false);
      for (let i = 0; i < 3; i++) {
        const refused = await post(token, '{ orders(first: 1) { nodes { id } } }');
        outcomes.push(refused.status);
        expect(refused.body.errors[0].extensions).toMatchObject({
          code: 'INTERNAL_ERROR',
          retryable: true,
        });
        expect(refused.body.errors[0].message).toContain('audit log');
      }
    } finally {
      await app.sql('ALTER TABLE ormai_audit_log_away RENAME TO ormai_audit_log');
    }
    expect(outcomes).toEqual([200, 503, 503, 503]);
    await app.audit!.log.flush();
    expect(app.audit!.log.available()).toBe(true);
    expect((await post(token, '{ orders(first: 1) { nodes { id } } }')).status).toBe(200);
    await app.audit!.log.flush();
    const records = await tableRecords();
    expect(records.length - before).toBe(5);
    expect(verifyChain(records).ok).toBe(true);
  });

  it('an admin reads the tenant log in GraphQL; other roles have no such field', async () => {
    const admin = await app.token({ sub: '1', tenantId: 1, roles: ['admin'] });
    const { trace } = await post(admin, '{ tenants { totalCount } }');
    await app.audit!.log.flush();
    const page = await post(
      admin,
      `{ auditRecords(where: { traceId: "${trace}" }) { nodes { traceId tenantId operation outcome inputs } } all: auditRecords(first: 5) { nodes { tenantId } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(page.body.data.auditRecords.nodes).toEqual([
      {
        traceId: trace,
        tenantId: '1',
        operation: 'query tenants',
        outcome: 'ok',
        inputs: { operationName: null, variables: null, query: '{ tenants { totalCount } }' },
      },
    ]);
    expect(page.body.data.all.nodes.every((n: { tenantId: string }) => n.tenantId === '1')).toBe(
      true,
    );
    const next = await post(
      admin,
      `{ auditRecords(first: 5, after: "${page.body.data.all.pageInfo.endCursor}") { nodes { tenantId } } }`,
    );
    expect(next.body.data.auditRecords.nodes.length).toBeGreaterThan(0);
    const agent = await app.token({ tenantId: 1, roles: ['agent'] });
    expect(
      (await post(agent, '{ auditRecords { nodes { id } } }')).body.errors[0].extensions.code,
    ).toBe('FIELD_NOT_ALLOWED');
  });
});

describe('JSONL sink', () => {
  it('rotates past its size and keeps one chain across the files', async () => {
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { JsonlAuditSink } = await import('../src/audit/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'ormai-jsonl-'));
    const path = join(dir, 'audit.jsonl');
    const entry = (i: number) =>
      auditEntry({
        ts: new Date(2026, 0, 1, 0, 0, i).toISOString(),
        trace_id: `t${i}`,
        operation: 'query orders',
        model: 'Order',
        roles: ['admin'],
        inputs: { i },
        decisions: {},
        row_count: i,
      });
    const sink = new JsonlAuditSink(path, 2000);
    for (let i = 0; i < 30; i++) await sink.write([entry(i)]);
    expect(readdirSync(dir).length).toBeGreaterThan(2);
    // a new sink on the same files continues the chain
    await new JsonlAuditSink(path, 2000).write([entry(30)]);
    const records = await all(new JsonlAuditSink(path, 2000).read());
    expect(records.map((r) => r.trace_id)).toEqual(Array.from({ length: 31 }, (_, i) => `t${i}`));
    expect(verifyChain(records)).toEqual({ ok: true, checked: 31, chains: 1 });
  });
});
