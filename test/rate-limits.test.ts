// Pins rate limits: requests and written rows per tenant and principal, counted in ormai's table (shared by gateways), refused with RATE_LIMITED.
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import type { OrmaiConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { createOrmai, type Ormai } from '../src/server/create-ormai.js';
import { createLogger } from '../src/server/logger.js';
import { principalLimits, type RateLimits } from '../src/server/rate-limit.js';
import { DATABASE_KINDS, type DatabaseKind } from './helpers/runtime.js';

const JWT_SECRET = 'rate-limit-test-secret-0123456789';

interface Principal {
  sub: string;
  tenantId: number | null;
  roles: string[];
}

const support = (sub: string, tenantId = 1): Principal => ({ sub, tenantId, roles: ['support'] });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** ormai instances of one test file on one database (PostgreSQL), or each on its own embedded one. */
function useOrmais(kind: DatabaseKind) {
  const suffix = randomBytes(4).toString('hex');
  const schema = `ormai_rl_${suffix}`;
  const opened: Ormai[] = [];
  const open = async (rateLimits: RateLimits): Promise<Ormai> => {
    const config: OrmaiConfig = {
      app: saasApp,
      database:
        kind === 'postgres'
          ? {
              url: process.env.TEST_DATABASE_URL!,
              schema,
              ormaiSchema: `${schema}_ormai`,
              applyMigrations: true,
            }
          : { dataDir: 'memory://', applyMigrations: true },
      auth: { jwtSecret: JWT_SECRET },
      audit: { sinks: ['sql'] },
      metrics: { enabled: false },
      rateLimits,
    };
    const ormai = await createOrmai(config, { env: {}, logger: createLogger('silent') });
    opened.push(ormai);
    return ormai;
  };
  afterAll(async () => {
    for (const ormai of opened) await ormai.close();
    if (kind === 'postgres') {
      const admin = await openDatabase({
        kind: 'postgres',
        url: process.env.TEST_DATABASE_URL!,
        poolSize: 1,
      });
      await admin.sql.exec(
        `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_ormai" CASCADE`,
      );
      await admin.close();
    }
  });
  return open;
}

async function graphql(ormai: Ormai, principal: Principal, query: string, variables = {}) {
  const token = await ormai.signToken(principal);
  const response = await ormai.fetch(
    new Request('http://ormai.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    }),
  );
  const body = (await response.json()) as {
    data?: any;
    errors?: { message: string; extensions: Record<string, any> }[];
  };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

const READ = '{ orders(first: 1) { nodes { id } } }';

interface Counter {
  bucket: string;
  scope: string;
  tenant_id: string;
  sub: string;
  used: number;
  refused: number;
}

const counters = (ormai: Ormai) =>
  ormai.runtime.db.sql.query<Counter>(
    `SELECT bucket, scope, tenant_id, sub, used, refused FROM ${ormai.runtime.tables.rateLimit} ORDER BY bucket, scope, tenant_id, sub`,
  );

const counter = async (ormai: Ormai, bucket: string, scope: string, tenant: string, sub = '') =>
  (await counters(ormai)).find(
    (row) =>
      row.bucket === bucket && row.scope === scope && row.tenant_id === tenant && row.sub === sub,
  );

const resetCounters = (ormai: Ormai) =>
  ormai.runtime.db.sql.query(`DELETE FROM ${ormai.runtime.tables.rateLimit}`);

describe.each(DATABASE_KINDS)('request rate limits on %s', (kind) => {
  const open = useOrmais(kind);
  let ormai: Ormai;
  beforeAll(async () => {
    ormai = await open({
      perPrincipal: { requests: 3, windowSeconds: 2 },
      perTenant: { requests: 5, windowSeconds: 2 },
    });
  }, 120_000);
  beforeEach(() => resetCounters(ormai));

  it('serves N requests of a principal in a window and answers the next with 429, Retry-After and RATE_LIMITED', async () => {
    const alice = support('3');
    for (let i = 0; i < 3; i++) {
      const served = await graphql(ormai, alice, READ);
      expect(served.status).toBe(200);
      expect(served.body.errors).toBeUndefined();
    }
    const refused = await graphql(ormai, alice, READ);
    expect(refused.status).toBe(429);
    expect(refused.body.data).toBeUndefined();
    const error = refused.body.errors![0]!;
    expect(error.extensions.code).toBe('RATE_LIMITED');
    expect(error.extensions.retryable).toBe(true);
    expect(error.extensions.details).toMatchObject({ limit: 3, window: 2, scope: 'principal' });
    const retryAfter = error.extensions.details.retryAfter as number;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.retryAfter).toBe(String(retryAfter));
    expect(error.extensions.retryHints).toEqual([`retry after ${retryAfter} s`]);
    expect(error.extensions.http).toBeUndefined();
    // the table: three served for the principal and its tenant; the refused one only at the principal
    expect(await counter(ormai, 'requests', 'principal', '1', '3')).toMatchObject({
      used: 3,
      refused: 1,
    });
    expect(await counter(ormai, 'requests', 'tenant', '1')).toMatchObject({ used: 3, refused: 0 });
  });

  it('shares the tenant limit between principals of a tenant, and leaves other tenants alone', async () => {
    for (let i = 0; i < 3; i++) expect((await graphql(ormai, support('3'), READ)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await graphql(ormai, support('4'), READ)).status).toBe(200);
    const refused = await graphql(ormai, support('4'), READ);
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0]!.extensions.details).toMatchObject({
      limit: 5,
      window: 2,
      scope: 'tenant',
    });
    // the principal's counter admitted the call before the tenant's refused it: taken back
    expect(await counter(ormai, 'requests', 'principal', '1', '4')).toMatchObject({ used: 2 });
    expect(await counter(ormai, 'requests', 'tenant', '1')).toMatchObject({ used: 5, refused: 1 });
    const other = await graphql(ormai, support('13', 2), READ);
    expect(other.status).toBe(200);
    expect(other.body.errors).toBeUndefined();
  });

  it('serves the principal again once the window has passed', async () => {
    const alice = support('3');
    for (let i = 0; i < 3; i++) await graphql(ormai, alice, READ);
    const refused = await graphql(ormai, alice, READ);
    expect(refused.status).toBe(429);
    await sleep(Number(refused.retryAfter) * 1000 + 100);
    const again = await graphql(ormai, alice, READ);
    expect(again.status).toBe(200);
    expect(again.body.errors).toBeUndefined();
    expect(await counter(ormai, 'requests', 'principal', '1', '3')).toMatchObject({
      used: 1,
      refused: 0,
    });
  });

  it('records a refused request in the audit log like any refused request', async () => {
    const alice = support('3');
    for (let i = 0; i < 4; i++) await graphql(ormai, alice, READ);
    await ormai.audit.flush();
    const rows = await ormai.runtime.db.sql.query<{ outcome: string; error_code: string | null }>(
      `SELECT outcome, error_code FROM ${ormai.runtime.tables.auditLog}
        WHERE principal_sub = '3' AND error_code = 'RATE_LIMITED'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows[0]!.outcome).not.toBe('ok');
  });

  it('counts each MCP tool call once and refuses the next with a structured RATE_LIMITED result', async () => {
    const token = await ormai.signToken(support('5'));
    const client = new Client({ name: 'rate-limit-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://ormai.test/mcp'), {
        fetch: (url, init) => ormai.fetch(new Request(url, init)),
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      // listing tools runs no GraphQL: not counted
      await client.listTools();
      const call = () =>
        client.callTool({ name: 'db.query', arguments: { model: 'Order', take: 1 } });
      const first = await call();
      expect(first.isError).toBeFalsy();
      expect(await counter(ormai, 'requests', 'principal', '1', '5')).toMatchObject({ used: 1 });
      await call();
      await call();
      expect(await counter(ormai, 'requests', 'principal', '1', '5')).toMatchObject({ used: 3 });
      const refused = await call();
      expect(refused.isError).toBe(true);
      const error = (refused.structuredContent as { error: Record<string, any> }).error;
      expect(error.code).toBe('RATE_LIMITED');
      expect(error.retryable).toBe(true);
      expect(error.details).toMatchObject({ limit: 3, window: 2, scope: 'principal' });
      expect(error.details.retryAfter).toBeGreaterThanOrEqual(1);
      expect(error.retry_hints).toEqual([`retry after ${error.details.retryAfter} s`]);
      // GraphQL and MCP share the counter: the same principal is refused on /graphql too
      expect((await graphql(ormai, support('5'), READ)).status).toBe(429);
      await ormai.audit.flush();
      const audited = await ormai.runtime.db.sql.query<{ surface: string }>(
        `SELECT surface FROM ${ormai.runtime.tables.auditLog}
          WHERE principal_sub = '5' AND surface = 'mcp' AND error_code = 'RATE_LIMITED'`,
      );
      expect(audited).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});

describe.each(DATABASE_KINDS)('rate limits on rows written on %s', (kind) => {
  const open = useOrmais(kind);
  let ormai: Ormai;
  let orders: number[];
  beforeAll(async () => {
    ormai = await open({
      writes: {
        perPrincipal: { affectedRows: 4, windowSeconds: 60 },
        perTenant: { affectedRows: 6, windowSeconds: 60 },
      },
    });
    const rows = await ormai.runtime.db.sql.query<{ id: number }>(
      `SELECT id FROM "${ormai.runtime.db.schema}"."Order" WHERE "tenantId" = 1 ORDER BY id LIMIT 12`,
    );
    orders = rows.map((row) => Number(row.id));
  }, 120_000);

  const statusOf = async (ids: number[]) =>
    (
      await ormai.runtime.db.sql.query<{ id: number; status: string }>(
        `SELECT id, status FROM "${ormai.runtime.db.schema}"."Order" WHERE id = ANY($1::int[]) ORDER BY id`,
        [ids],
      )
    ).map((row) => row.status);

  const BULK =
    'mutation ($ids: [Int!]!) { bulkUpdateOrders(ids: $ids, data: { status: "rl-bulk" }, reason: "rate limit test") { updatedCount } }';
  const UPDATE =
    'mutation ($id: Int!) { updateOrder(id: $id, data: { status: "rl-one" }, reason: "rate limit test") { id } }';

  it('counts affected rows after the write and refuses a write that would pass the limit (rolled back)', async () => {
    const alice = support('3');
    const bulk = await graphql(ormai, alice, BULK, { ids: orders.slice(0, 3) });
    expect(bulk.body.errors).toBeUndefined();
    expect(bulk.body.data.bulkUpdateOrders.updatedCount).toBe(3);
    expect(await counter(ormai, 'affected_rows', 'principal', '1', '3')).toMatchObject({ used: 3 });

    // 3 + 2 > 4: refused inside its transaction, so nothing was written
    const before = await statusOf(orders.slice(3, 5));
    const over = await graphql(ormai, alice, BULK, { ids: orders.slice(3, 5) });
    expect(over.status).toBe(429);
    expect(over.retryAfter).toMatch(/^\d+$/);
    expect(over.body.errors![0]!.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: true,
      details: { limit: 4, window: 60, scope: 'principal', kind: 'affected_rows' },
    });
    expect(await statusOf(orders.slice(3, 5))).toEqual(before);
    expect(await counter(ormai, 'affected_rows', 'principal', '1', '3')).toMatchObject({ used: 3 });

    // one more row fits, then the window is full
    expect((await graphql(ormai, alice, UPDATE, { id: orders[3] })).body.errors).toBeUndefined();
    const full = await graphql(ormai, alice, UPDATE, { id: orders[4] });
    expect(full.body.errors![0]!.extensions.code).toBe('RATE_LIMITED');
    expect(await statusOf([orders[4]!])).toEqual(before.slice(1));
    expect(await counter(ormai, 'affected_rows', 'principal', '1', '3')).toMatchObject({ used: 4 });

    // the tenant's window (6) is shared: another principal gets the 2 rows left
    const bob = support('4');
    expect(
      (await graphql(ormai, bob, BULK, { ids: orders.slice(5, 7) })).body.errors,
    ).toBeUndefined();
    const tenantFull = await graphql(ormai, bob, UPDATE, { id: orders[7] });
    expect(tenantFull.body.errors![0]!.extensions.details).toMatchObject({
      scope: 'tenant',
      limit: 6,
    });
    expect(await counter(ormai, 'affected_rows', 'tenant', '1')).toMatchObject({ used: 6 });
    // reads are not limited by the write limits
    expect((await graphql(ormai, bob, READ)).status).toBe(200);
    // another tenant writes on
    const [otherOrder] = await ormai.runtime.db.sql.query<{ id: number }>(
      `SELECT id FROM "${ormai.runtime.db.schema}"."Order" WHERE "tenantId" = 2 ORDER BY id LIMIT 1`,
    );
    expect(
      (await graphql(ormai, support('13', 2), UPDATE, { id: Number(otherOrder!.id) })).body.errors,
    ).toBeUndefined();
  });

  it('refuses before it runs a bulk write naming more rows than a window allows', async () => {
    await resetCounters(ormai);
    const before = await statusOf(orders.slice(0, 5));
    const refused = await graphql(ormai, support('3'), BULK, { ids: orders.slice(0, 5) });
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0]!.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: 4, scope: 'principal', requested: 5, kind: 'affected_rows' },
    });
    expect(await statusOf(orders.slice(0, 5))).toEqual(before);
    // refused before any counter was touched
    expect(await counters(ormai)).toEqual([]);
  });
});

describe.each(DATABASE_KINDS)('rate limits under concurrency on %s', (kind) => {
  const open = useOrmais(kind);
  let first: Ormai;
  let second: Ormai | undefined;
  beforeAll(async () => {
    const limits: RateLimits = { perTenant: { requests: 10, windowSeconds: 60 } };
    first = await open(limits);
    // a second gateway on the same PostgreSQL database stands in for a replica
    if (kind === 'postgres') second = await open(limits);
  }, 120_000);
  beforeEach(() => resetCounters(first));

  it('serves exactly 10 of 50 parallel requests with a limit of 10', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => graphql(first, support(String(100 + (i % 7))), READ)),
    );
    const served = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status === 429);
    expect(served).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const result of served) expect(result.body.errors).toBeUndefined();
    for (const result of refused)
      expect(result.body.errors![0]!.extensions.code).toBe('RATE_LIMITED');
    expect(await counter(first, 'requests', 'tenant', '1')).toMatchObject({
      used: 10,
      refused: 40,
    });
  });

  // PostgreSQL only: the embedded database is one process's
  if (kind === 'postgres')
    it('holds the limit across two gateways on one database', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          graphql(i % 2 === 0 ? first : second!, support(String(200 + (i % 5))), READ),
        ),
      );
      const served = results.filter((result) => result.status === 200);
      expect(served).toHaveLength(10);
      // each gateway served some and refused some: the counter is the database's, not theirs
      const servedBy = (start: number) =>
        results.filter((result, i) => i % 2 === start && result.status === 200).length;
      expect(servedBy(0) + servedBy(1)).toBe(10);
      expect(await counter(first, 'requests', 'tenant', '1')).toMatchObject({
        used: 10,
        refused: 40,
      });
      // once full, either gateway refuses
      expect((await graphql(first, support('1'), READ)).status).toBe(429);
      expect((await graphql(second!, support('1'), READ)).status).toBe(429);
      expect((await graphql(second!, support('13', 2), READ)).status).toBe(200);
    });
});

describe('rate limit config', () => {
  it('is refused at start when a limit is not a positive whole number or names an unknown role', async () => {
    const start = (rateLimits: unknown) =>
      createOrmai(
        {
          app: saasApp,
          database: { dataDir: '/nonexistent/ormai-never-opened' },
          rateLimits: rateLimits as RateLimits,
        },
        { env: {}, logger: createLogger('silent') },
      );
    await expect(start({ perTenant: { requests: 0, windowSeconds: 60 } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('rateLimits.perTenant.requests'),
    });
    await expect(
      start({ writes: { perPrincipal: { affectedRows: 10, windowSeconds: 1.5 } } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('windowSeconds') });
    await expect(
      start({ roles: { robot: { perPrincipal: { requests: 1, windowSeconds: 1 } } } }),
    ).rejects.toMatchObject({ message: expect.stringContaining('rateLimits.roles.robot') });
  });

  it('gives a principal the most generous override of its roles, and tenant limits only with a tenant', () => {
    const limits: RateLimits = {
      perTenant: { requests: 100, windowSeconds: 60 },
      perPrincipal: { requests: 10, windowSeconds: 60 },
      roles: {
        agent: { perPrincipal: { requests: 30, windowSeconds: 60 } },
        support: { perPrincipal: { requests: 5, windowSeconds: 60 } },
        admin: { perPrincipal: null },
      },
    };
    const of = (roles: string[], tenantId: number | null = 1) =>
      principalLimits(limits, { sub: 's', tenantId, roles, claims: {} }).requests.map(
        ({ scope, limit, windowSeconds }) => [scope, limit, windowSeconds],
      );
    expect(of(['sales'])).toEqual([
      ['principal', 10, 60],
      ['tenant', 100, 60],
    ]);
    expect(of(['agent', 'support'])).toEqual([
      ['principal', 30, 60],
      ['tenant', 100, 60],
    ]);
    // generosity is the rate: 3 per second beats 30 per minute
    expect(
      principalLimits(
        {
          roles: {
            agent: limits.roles!.agent!,
            support: { perPrincipal: { requests: 3, windowSeconds: 1 } },
          },
        },
        { sub: 's', tenantId: null, roles: ['agent', 'support'], claims: {} },
      ).requests,
    ).toEqual([{ bucket: 'requests', scope: 'principal', limit: 3, windowSeconds: 1 }]);
    expect(of(['agent', 'admin'])).toEqual([['tenant', 100, 60]]);
    expect(of(['sales'], null)).toEqual([['principal', 10, 60]]);
  });
});
