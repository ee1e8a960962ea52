// Pins `ormai record` and `ormai replay`: 100+ recorded GraphQL and MCP calls of four roles in three tenants replay twice to byte-identical reports, writes leave the database as it was, a changed row or policy is a difference (exit 1), a planted leak is a violation.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { recordCalls } from '../src/cli/record.js';
import type { OrmaiConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import type { Policy } from '../src/policy/types.js';
import { parseRecordedCalls, type RecordedCall } from '../src/replay/recorded-call.js';
import { type ReplayReport, replayCalls } from '../src/replay/replay.js';
import { openReplaySession } from '../src/replay/replay-session.js';
import { openRuntime, runtimeOptionsFromConfig } from '../src/runtime.js';
import { createOrmai, type Ormai } from '../src/server/create-ormai.js';
import { createLogger } from '../src/server/logger.js';
import { findLeaks } from '../src/testing/leaks.js';
import { CONFIG, runCliAsync } from './helpers/cli.js';
import { graphqlRequest, toolCallRequest } from './helpers/ormai.js';
import { DATABASE_KINDS, type DatabaseKind } from './helpers/runtime.js';

const SECRET = 'replay-test-secret-0123456789abcdef';
const TENANTS = [1, 2, 3] as const;
/** The example's users per tenant and role (examples/saas/app.ts devPrincipals). */
const ROLES = { admin: 1, support: 3, sales: 6, agent: 1 } as const;
const subOf = (tenant: number, role: keyof typeof ROLES) => String((tenant - 1) * 10 + ROLES[role]);

interface Place {
  config: OrmaiConfig;
  /** The environment the CLI needs to open the same database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** The example on a database of the test's own: an embedded one in `dir`, or one on PostgreSQL. */
async function openPlace(kind: DatabaseKind, dir: string): Promise<Place> {
  if (kind === 'pglite') {
    return {
      // where the CLI, run in `dir` with the example's config, finds it
      config: {
        app: saasApp,
        database: { dataDir: join(dir, '.ormai', 'pgdata'), applyMigrations: true },
      },
      env: { ORMAI_JWT_SECRET: SECRET },
      drop: async () => {},
    };
  }
  const server = process.env.TEST_DATABASE_URL!;
  const name = `ormai_test_replay_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({ kind: 'postgres', url: server, poolSize: 1 });
  await admin.sql.exec(`CREATE DATABASE "${name}"`);
  await admin.close();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    config: { app: saasApp, database: { url: url.toString(), applyMigrations: true } },
    env: { ORMAI_JWT_SECRET: SECRET, DATABASE_URL: url.toString() },
    drop: async () => {
      const again = await openDatabase({ kind: 'postgres', url: server, poolSize: 1 });
      await again.sql.exec(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await again.close();
    },
  };
}

/** Raw SQL on the place's database, through a runtime opened for it alone. */
async function withSql<T>(
  place: Place,
  fn: (sql: <Row>(text: string, params?: unknown[]) => Promise<Row[]>) => Promise<T>,
): Promise<T> {
  const runtime = await openRuntime(saasApp, {
    ...runtimeOptionsFromConfig(place.config, {}),
    seedIfEmpty: false,
  });
  try {
    return await fn((text, params) => runtime.db.sql.query(text, params));
  } finally {
    await runtime.close();
  }
}

/**
 * Serves the calls to be recorded, as clients would send them (`/graphql`, `/mcp`): reads of every
 * role in every tenant, refusals, then writes (the reads come first: replay rolls writes back, so
 * a read recorded after a write would see what the replay does not).
 */
async function serveCalls(ormai: Ormai) {
  const gql = async (token: string, query: string, variables?: Record<string, unknown>) => {
    const response = await ormai.fetch(graphqlRequest(token, query, {}, variables));
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  const tool = async (token: string, name: string, args: Record<string, unknown>) => {
    const response = await ormai.fetch(toolCallRequest(token, name, args));
    return ((await response.json()) as { result: { isError?: boolean; structuredContent: any } })
      .result;
  };
  const tokenOf = (tenant: number, role: keyof typeof ROLES) =>
    ormai.signToken({ sub: subOf(tenant, role), tenantId: tenant, roles: [role] });
  const firstCustomer = new Map<number, number>();
  for (const tenant of TENANTS) {
    const [row] = await ormai.runtime.db.sql.query<{ id: number }>(
      'SELECT min(id) AS id FROM "Customer" WHERE "tenantId" = $1',
      [tenant],
    );
    firstCustomer.set(tenant, Number(row!.id));
  }
  for (const tenant of TENANTS) {
    const customerId = firstCustomer.get(tenant)!;
    for (const role of Object.keys(ROLES) as (keyof typeof ROLES)[]) {
      const token = await tokenOf(tenant, role);
      await gql(
        token,
        '{ orders(first: 5, orderBy: [{ id: ASC }]) { nodes { id status totalCents } totalCount pageInfo { endCursor } } }',
      );
      await gql(
        token,
        'query Customers($first: Int) { customers(first: $first, orderBy: [{ id: ASC }]) { nodes { id name email tier } } }',
        { first: 4 },
      );
      await gql(token, `{ customer(id: ${customerId}) { id name email } }`);
      // another tenant's id: null, not an error
      await gql(token, `{ customer(id: ${firstCustomer.get((tenant % 3) + 1)}) { id } }`);
      await gql(token, '{ ordersAggregate { count sum { totalCents } } }');
      await gql(token, '{ orders(first: 500) { nodes { id } } }'); // over the page budget
      await gql(token, '{ customers { nodes { ssn } } }'); // denied to sales and agent
      await tool(token, 'db_query', {
        model: 'Order',
        take: 3,
        order_by: [{ field: 'id', direction: 'asc' }],
      });
      await tool(token, 'db_get', { model: 'Customer', id: customerId });
      await tool(token, 'db_aggregate', { model: 'Order', operation: 'count' });
      await tool(token, 'orders_recent_for_customer', { customerId, first: 3 });
      await tool(token, 'db_query', { model: 'User', take: 2 }); // hidden from agent
      await tool(token, 'db_query', { model: 'Order', take: 0 }); // a bad parameter
    }
  }
  // writes, last: one committed by a tool, one created, one queued for approval, one GraphQL
  const support = await tokenOf(1, 'support');
  const [order] = await ormai.runtime.db.sql.query<{ id: number }>(
    'SELECT max(id) AS id FROM "Order" WHERE "tenantId" = 1',
  );
  const updated = await tool(support, 'db_update', {
    model: 'Order',
    id: Number(order!.id),
    data: { status: 'shipped' },
    reason: 'replay test',
  });
  expect(updated.isError).toBeFalsy();
  const created = await tool(await tokenOf(1, 'admin'), 'db_create', {
    model: 'Product',
    data: { sku: 'REPLAY-1', name: 'Replayed', priceCents: 100, costCents: 50, active: true },
    reason: 'replay test',
  });
  expect(created.isError).toBeFalsy();
  const queued = await tool(support, 'db_delete', {
    model: 'Order',
    id: Number(order!.id) - 1,
    reason: 'replay test',
  });
  expect(queued.structuredContent.error.code).toBe('WRITE_APPROVAL_REQUIRED');
  const mutation = await gql(
    support,
    `mutation { updateOrder(id: ${Number(order!.id) - 2}, data: { status: "paid" }, reason: "replay test") { id status } }`,
  );
  expect(mutation.errors).toBeUndefined();
}

const silent = createLogger('silent');

describe.each(DATABASE_KINDS)('record and replay (%s)', (kind) => {
  const dir = mkdtempSync(join(tmpdir(), 'ormai-replay-'));
  const callsFile = join(dir, 'calls.jsonl');
  let place: Place;
  let calls: RecordedCall[];

  beforeAll(async () => {
    place = await openPlace(kind, dir);
    const ormai = await createOrmai(
      { ...place.config, audit: { sinks: ['sql'] } },
      { logger: silent, env: place.env },
    );
    try {
      await serveCalls(ormai);
      await ormai.audit.flush();
      // back to the fixture the calls were recorded on (the audit log, in ormai's schema, stays)
      await saasApp.seed!.reset(ormai.runtime.db.sql);
      await saasApp.seed!.run(ormai.runtime.db.sql, {});
    } finally {
      await ormai.close();
    }
  }, 600_000);

  afterAll(async () => {
    await place?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    runCliAsync(dir, [...args, '--config', CONFIG], { env: place.env, timeoutMs: 300_000 });

  it('records every replayable call of the audit log with `ormai record`', async () => {
    const recorded = await cli(['record', '--out', callsFile]);
    expect(recorded.stderr).toBe('');
    expect(recorded.status).toBe(0);
    calls = parseRecordedCalls(readFileSync(callsFile, 'utf8'), callsFile);
    // 3 tenants × 4 roles × 13 calls, then 3 tool writes; the GraphQL write is left out
    expect(calls).toHaveLength(3 * 4 * 13 + 3);
    expect(recorded.stdout).toMatch(/recorded 159 call\(s\) from the table ormai_audit_log/);
    expect(recorded.stdout).toMatch(/left out 1: GraphQL write/);
    expect(new Set(calls.map((call) => call.surface))).toEqual(new Set(['graphql', 'mcp']));
    expect(new Set(calls.map((call) => call.principal.tenantId))).toEqual(new Set(TENANTS));
    expect(new Set(calls.flatMap((call) => call.principal.roles))).toEqual(
      new Set(Object.keys(ROLES)),
    );
    // every call names the policy it ran under, and every successful read its digest
    expect(calls.every((call) => /^[0-9a-f]{16}$/.test(call.policy_version ?? ''))).toBe(true);
    const reads = calls.filter(
      (call) => call.outcome === 'ok' && !/^db_(update|create)/.test(call.operation),
    );
    expect(reads.every((call) => /^[0-9a-f]{64}$/.test(call.result_digest ?? ''))).toBe(true);
    // a tool's write, recorded in its transaction, is given back its tool arguments
    const update = calls.find((call) => call.operation === 'db_update')!;
    expect(update.inputs).toMatchObject({
      model: 'Order',
      data: { status: 'shipped' },
      reason: 'replay test',
    });

    // --limit keeps the latest calls, --since the ones at or after an instant
    const limited = join(dir, 'limited.jsonl');
    await recordCalls(place.config, { out: limited, limit: 5 });
    const last = parseRecordedCalls(readFileSync(limited, 'utf8'), limited);
    expect(last.map((call) => call.id)).toEqual(calls.slice(-5).map((call) => call.id));
    const later = join(dir, 'later.jsonl');
    const since = calls.at(-3)!.ts;
    await recordCalls(place.config, { out: later, since: new Date(since) });
    const after = parseRecordedCalls(readFileSync(later, 'utf8'), later);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after.every((call) => call.ts >= since)).toBe(true);
    const bad = await cli(['record', '--out', later, '--since', 'yesterday']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--since yesterday is not a date: pass an ISO-8601 instant/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const missing = await cli(['replay', join(dir, 'none.jsonl')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      /none\.jsonl does not exist: write it with `ormai record --out FILE`/,
    );
    expect(() => parseRecordedCalls(`${JSON.stringify(calls[0])}\n{"v":1}\n`, 'x.jsonl')).toThrow(
      /^x\.jsonl:2 has no surface \(graphql or mcp\)/,
    );
  }, 600_000);

  it('replays them twice to byte-identical reports, every call as recorded, writes rolled back', async () => {
    const before = await withSql(place, async (sql) => ({
      orders: await sql('SELECT id, status FROM "Order" ORDER BY id'),
      products: await sql('SELECT count(*)::int AS n FROM "Product"'),
      approvals: await sql('SELECT count(*)::int AS n FROM ormai_approval_request'),
      sequence: await sql(
        `SELECT last_value::text AS last FROM pg_sequences WHERE sequencename = 'Product_id_seq'`,
      ),
    }));
    const reports = [join(dir, 'report-1.json'), join(dir, 'report-2.json')];
    for (const report of reports) {
      const run = await cli(['replay', callsFile, '--report', report]);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(
          `${calls.length} call\\(s\\) replayed under policy [0-9a-f]{16} .*: ${calls.length} same, 0 different, 0 with violations`,
        ),
      );
    }
    const [first, second] = reports.map((file) => readFileSync(file));
    expect(first!.equals(second!)).toBe(true);
    const report = JSON.parse(first!.toString()) as ReplayReport;
    expect(report.ok).toBe(true);
    expect(report.calls.map((call) => call.id)).toEqual(calls.map((call) => call.id));
    expect(report.calls.filter((call) => call.write).map((call) => call.operation)).toEqual([
      'db_update',
      'db_create',
      'db_delete',
    ]);
    // the refusals were replayed as refusals
    expect(report.calls.filter((call) => call.replayed.outcome === 'error').length).toBe(
      calls.filter((call) => call.outcome === 'error').length,
    );
    const after = await withSql(place, async (sql) => ({
      orders: await sql('SELECT id, status FROM "Order" ORDER BY id'),
      products: await sql('SELECT count(*)::int AS n FROM "Product"'),
      approvals: await sql('SELECT count(*)::int AS n FROM ormai_approval_request'),
      sequence: await sql(
        `SELECT last_value::text AS last FROM pg_sequences WHERE sequencename = 'Product_id_seq'`,
      ),
    }));
    expect(after).toEqual(before);
  }, 600_000);

  it('reports a changed row as a difference and exits 1', async () => {
    const [order] = await withSql(place, (sql) =>
      sql<{ id: number }>(
        'UPDATE "Order" SET "totalCents" = "totalCents" + 1 WHERE id = (SELECT min(id) FROM "Order" WHERE "tenantId" = 2) RETURNING id',
      ),
    );
    try {
      const report = join(dir, 'changed.json');
      const run = await cli(['replay', callsFile, '--report', report]);
      expect(run.status).toBe(1);
      expect(run.stdout).toMatch(/^DIFFERENT call \d+ graphql query orders sub \d+@2 /m);
      const changed = (JSON.parse(readFileSync(report, 'utf8')) as ReplayReport).calls.filter(
        (call) => call.status !== 'same',
      );
      // only tenant 2's calls that read the order's total: its first orders and their sum
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.every((call) => call.principal.includes('@2 '))).toBe(true);
      const readers = [
        'query orders',
        'query ordersAggregate',
        'db_query',
        'orders_recent_for_customer',
      ];
      expect(changed.every((call) => readers.includes(call.operation))).toBe(true);
      // the admin's first orders and sum hold it whatever the sales rep
      expect(
        changed.filter((call) => call.principal === 'sub 11@2 [admin]').map((c) => c.operation),
      ).toEqual(expect.arrayContaining(['query orders', 'query ordersAggregate', 'db_query']));
      expect(
        changed.every((call) => call.differences.some((d) => d.startsWith('result_digest'))),
      ).toBe(true);
    } finally {
      await withSql(place, (sql) =>
        sql('UPDATE "Order" SET "totalCents" = "totalCents" - 1 WHERE id = $1', [order!.id]),
      );
    }
  }, 600_000);

  it('reports the calls a changed policy changes, and no other', async () => {
    const policy: Policy = structuredClone(saasApp.policy);
    policy.roles!.agent!.models!.Order = { fields: { deny: ['totalCents'] } };
    const session = await openReplaySession(
      { ...place.config, app: { ...saasApp, policy } },
      { env: place.env },
    );
    let report: ReplayReport;
    try {
      report = await replayCalls(session.ormai, calls, { afterCall: session.afterCall });
    } finally {
      await session.close();
    }
    expect(report.ok).toBe(false);
    expect(report.policy.replayed).not.toBe(calls[0]!.policy_version);
    const changed = report.calls.filter((call) => call.status !== 'same');
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((call) => call.principal.endsWith('[agent]'))).toBe(true);
    expect(changed.every((call) => call.differences.length > 0)).toBe(true);
    // every agent read of orders' totals: the GraphQL list and sum are refused, db_query's rows lose a field
    for (const tenant of TENANTS) {
      const mine = changed.filter((call) => call.principal.includes(`@${tenant} `));
      expect(mine.map((call) => call.operation).sort()).toEqual(
        ['db_query', 'orders_recent_for_customer', 'query orders', 'query ordersAggregate'].sort(),
      );
    }
    const refused = changed.find((call) => call.operation === 'query ordersAggregate')!;
    expect(refused.differences[0]).toMatch(/^outcome: ok → error /);
  }, 600_000);

  it('reports a leak planted in the answers as a violation of the call', async () => {
    const session = await openReplaySession(place.config, { env: place.env });
    let report: ReplayReport;
    try {
      const [foreign] = await session.ormai.runtime.db.sql.query<Record<string, unknown>>(
        'SELECT id, name, email, tier FROM "Customer" WHERE "tenantId" = 3 ORDER BY id DESC LIMIT 1',
      );
      // a gateway that lets one row of tenant 3 into tenant 1's customer lists
      const execute = session.ormai.gateway.execute;
      session.ormai.gateway.execute = async (operation) => {
        const result = await execute(operation);
        const customers = (result.data as { customers?: { nodes: unknown[] } } | null)?.customers;
        if (operation.principal.tenantId === 1 && customers)
          customers.nodes.push({ ...foreign, tier: String(foreign!.tier) });
        return result;
      };
      report = await replayCalls(session.ormai, calls, {
        findLeaks,
        afterCall: session.afterCall,
      });
    } finally {
      await session.close();
    }
    const violations = report.calls.filter((call) => call.status === 'violation');
    // the customer lists of tenant 1's four roles, and nothing else
    expect(violations.map((call) => [call.operation, call.principal])).toEqual(
      (Object.keys(ROLES) as (keyof typeof ROLES)[]).map((role) => [
        'query Customers customers',
        `sub ${subOf(1, role)}@1 [${role}]`,
      ]),
    );
    expect(violations.every((call) => call.violations.some((v) => v.kind === 'tenant'))).toBe(true);
    expect(report.summary.violations).toBe(4);
    expect(report.ok).toBe(false);
  }, 600_000);
});
