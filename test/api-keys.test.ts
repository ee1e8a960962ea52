// Pins API keys for service agents: a key is one principal on /graphql and /mcp, the table holds
// only its hash (checked with raw SQL), a revoked, expired, tampered or malformed key is refused on
// the next request, and `ormai api-key create | list | revoke` does it through the real CLI, on
// the embedded database (with `ormai serve`) and on PostgreSQL.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { verifyToken } from '../src/server/auth.js';
import { CONFIG, runCliAsync, serve } from './helpers/cli.js';
import {
  fetchAnswer,
  graphqlRequest,
  ORMAI_SECRET,
  type OrmaiHandle,
  toolCallRequest,
  useOrmai,
} from './helpers/ormai.js';
import { DATABASE_KINDS } from './helpers/runtime.js';

const ORDERS = '{ orders(first: 20) { nodes { tenantId } } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const secretOf = (key: string) => /^ormai_sk_[0-9a-f]{16}_(.+)$/.exec(key)![1]!;

async function graphql(h: OrmaiHandle, token: string) {
  return fetchAnswer(h, graphqlRequest(token, ORDERS));
}

async function countCustomers(h: OrmaiHandle, token: string) {
  return fetchAnswer(
    h,
    toolCallRequest(token, 'db_aggregate', { model: 'Customer', operation: 'count' }),
  );
}

const customersOf = async (h: OrmaiHandle, tenant: number) =>
  (
    await h.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Customer" WHERE "tenantId" = $1 AND "deletedAt" IS NULL',
      [tenant],
    )
  )[0]!.n;

/** Every value of the key table as text: what someone reading the database would see. */
const tableText = async (h: OrmaiHandle) =>
  (await h.sql<{ row: string }>(`SELECT t::text AS row FROM ${h.ormai.runtime.tables.apiKey} t`))
    .map((r) => r.row)
    .join('\n');

/** Expects both endpoints to refuse a key with this message and the OAuth challenge. */
async function expectRefused(h: OrmaiHandle, key: string, message: RegExp) {
  const { status, body, headers } = await graphql(h, key);
  expect(status).toBe(401);
  expect(body.errors[0].extensions.code).toBe('AUTHENTICATION_REQUIRED');
  expect(body.errors[0].message).toMatch(message);
  expect(headers.get('www-authenticate')).toMatch(
    /^Bearer resource_metadata=".*", error="invalid_token"$/,
  );
  const mcp = await countCustomers(h, key);
  expect(mcp.status).toBe(401);
  expect(mcp.body.error.message).toMatch(message);
}

describe.each(DATABASE_KINDS)('API keys on %s', (kind) => {
  const h = useOrmai(kind);

  it('a key is its principal on /graphql and /mcp; the table holds its SHA-256, never the key', async () => {
    const { key, record } = await h.ormai.apiKeys!.create({
      sub: 'svc-7',
      tenantId: 2,
      roles: ['admin'],
      name: 'nightly export',
    });
    expect(key).toMatch(/^ormai_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(`ormai_sk_${record.id}_`)).toBe(true);
    const { status, body } = await graphql(h, key);
    expect(status).toBe(200);
    expect(body.data.orders.nodes.length).toBe(20);
    expect(body.data.orders.nodes.every((n: { tenantId: number }) => n.tenantId === 2)).toBe(true);

    const agent = await h.ormai.apiKeys!.create({ sub: 'svc-8', tenantId: 3, roles: ['agent'] });
    const mcp = await countCustomers(h, agent.key);
    expect(mcp.status).toBe(200);
    expect(mcp.body.result.structuredContent.value).toBe(await customersOf(h, 3));

    const [row] = await h.sql<Record<string, unknown>>(
      `SELECT * FROM ${h.ormai.runtime.tables.apiKey} WHERE id = $1`,
      [record.id],
    );
    expect(row).toMatchObject({
      key_hash: sha256(key),
      sub: 'svc-7',
      tenant_id: 2,
      roles: ['admin'],
      name: 'nightly export',
      revoked_at: null,
      expires_at: null,
    });
    const text = await tableText(h);
    for (const secret of [key, agent.key, secretOf(key), secretOf(agent.key)]) {
      expect(text).not.toContain(secret);
    }
  });

  it('a revoked key is refused on the very next request, on both endpoints', async () => {
    const { key, record } = await h.ormai.apiKeys!.create({
      sub: 'svc-9',
      tenantId: 1,
      roles: ['agent'],
    });
    expect((await countCustomers(h, key)).status).toBe(200);
    const revoked = await h.ormai.apiKeys!.revoke(record.id);
    expect(revoked?.revokedAt).toBeInstanceOf(Date);
    await expectRefused(h, key, new RegExp(`^the API key ${record.id} was revoked$`));
    // revoking twice keeps the first time
    expect((await h.ormai.apiKeys!.revoke(record.id))?.revokedAt).toEqual(revoked!.revokedAt);
    expect(await h.ormai.apiKeys!.revoke('0000000000000000')).toBeUndefined();
  });

  it('an expired, tampered, unknown or malformed key is refused saying so', async () => {
    const expired = await h.ormai.apiKeys!.create({
      sub: 'svc-old',
      tenantId: 1,
      roles: ['agent'],
      expiresAt: new Date(Date.now() - 1000),
    });
    await expectRefused(h, expired.key, /^the API key [0-9a-f]{16} expired at \d{4}-/);
    const { key } = await h.ormai.apiKeys!.create({ sub: 'svc-10', tenantId: 1, roles: ['agent'] });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    await expectRefused(h, `${key.slice(0, -1)}${last}`, /^the API key is not valid$/);
    await expectRefused(
      h,
      key.replace(/_[0-9a-f]{16}_/, '_0123456789abcdef_'),
      /^the API key is not valid$/,
    );
    await expectRefused(h, 'ormai_sk_short', /^the API key is malformed$/);
  });

  it('a key whose roles the policy does not have is refused', async () => {
    const { key } = await h.ormai.apiKeys!.create({ sub: 'svc-11', tenantId: 1, roles: ['ghost'] });
    await expectRefused(h, key, /roles \(ghost\) are not roles of this policy/);
  });
});

describe('API keys turned off', () => {
  it('an API key is refused when no store resolves keys', async () => {
    await expect(
      verifyToken(`ormai_sk_0123456789abcdef_${'a'.repeat(43)}`, { secret: ORMAI_SECRET }),
    ).rejects.toThrow('API keys are not accepted by this server');
  });
});

const keyIn = (stdout: string) => /^(ormai_sk_([0-9a-f]{16})_\S+)$/m.exec(stdout);

describe('`ormai api-key` on the embedded database, with `ormai serve`', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-api-keys-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  const cli = (...args: string[]) =>
    runCliAsync(cwd, ['api-key', ...args, '--config', CONFIG], { timeoutMs: 120_000 });

  it('create prints the key once; serve accepts it; revoke refuses it; list shows both states', async () => {
    const created = await cli(
      'create',
      '--sub',
      'svc-1',
      '--tenant',
      '2',
      '--roles',
      'agent',
      '--name',
      'reporting bot',
      '--expires',
      '30d',
    );
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const [, key, id] = keyIn(created.stdout)!;
    expect(created.stdout).toContain(
      `created API key ${id} (reporting bot): sub svc-1, tenant 2, roles agent, expires 20`,
    );
    expect(created.stdout).toContain('cannot be shown again');

    const refusedRole = await cli('create', '--sub', 'x', '--roles', 'agent,ghost');
    expect(refusedRole.status).toBe(1);
    expect(refusedRole.stderr).toContain('--roles names roles the policy does not have: ghost');

    let served = await serve(cwd);
    try {
      const base = new URL(served.url).origin;
      const body = await served.graphql(
        key!,
        '{ customers(first: 5) { nodes { id } } customersAggregate { count } }',
      );
      expect(body.errors).toBeUndefined();
      expect(body.data.customers.nodes.length).toBe(5);
      const mcp = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'db_aggregate', arguments: { model: 'Customer', operation: 'count' } },
        }),
      });
      expect(mcp.status).toBe(200);
      expect(((await mcp.json()) as any).result.structuredContent.value).toBe(
        body.data.customersAggregate.count,
      );
      // the server holds the embedded database: the CLI says so instead of opening it
      const busy = await cli('list');
      expect(busy.status).toBe(1);
      expect(busy.stderr).toMatch(/the embedded database .* is in use by /);
    } finally {
      expect(await served.stop()).toBe(0);
    }

    const revoked = await cli('revoke', id!);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toMatch(
      new RegExp(`^revoked API key ${id} \\(sub svc-1, tenant 2, roles agent\\) at `),
    );
    const list = await cli('list');
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${id} revoked sub svc-1, tenant 2, roles agent "reporting bot" created `, 'm'),
    );
    expect(list.stdout).not.toContain(key);
    const unknown = await cli('revoke', '0000000000000000');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no API key has the id 0000000000000000');

    served = await serve(cwd);
    try {
      const refused = await fetch(served.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ customers(first: 1) { nodes { id } } }' }),
      });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as any).errors[0].message).toBe(
        `the API key ${id} was revoked`,
      );
    } finally {
      expect(await served.stop()).toBe(0);
    }

    // what the database holds: the hash, not the key
    const db = await openDatabase({ kind: 'pglite', dataDir: join(cwd, '.ormai', 'pgdata') });
    try {
      const rows = await db.sql.query<{ id: string; key_hash: string; row: string }>(
        'SELECT id, key_hash, t::text AS row FROM ormai.ormai_api_key t',
      );
      expect(rows.map((row) => row.id)).toEqual([id]);
      expect(rows[0]!.key_hash).toBe(sha256(key!));
      expect(rows[0]!.row).not.toContain(secretOf(key!));
    } finally {
      await db.close();
    }
  }, 400_000);
});

describe.runIf(process.env.TEST_DATABASE_URL)(
  '`ormai api-key` on PostgreSQL, beside a running ormai',
  () => {
    const h = useOrmai('postgres');
    const cwd = mkdtempSync(join(tmpdir(), 'ormai-api-keys-pg-'));
    afterAll(() => rmSync(cwd, { recursive: true, force: true }));
    // the CLI on the same database and schemas as the running ormai
    const cli = (...args: string[]) => {
      const config = join(cwd, 'ormai.config.ts');
      writeFileSync(
        config,
        `import base from ${JSON.stringify(CONFIG)};\nexport default { ...base, database: { ...base.database, schema: ${JSON.stringify(h.ormai.runtime.db.schema)}, ormaiSchema: ${JSON.stringify(h.ormai.runtime.tables.schema)} } };\n`,
      );
      return runCliAsync(cwd, ['api-key', ...args, '--config', config], {
        env: { DATABASE_URL: process.env.TEST_DATABASE_URL! },
        timeoutMs: 120_000,
      });
    };

    it('a key made by the CLI works at once and is refused on the next request after revoke', async () => {
      const created = await cli(
        'create',
        '--sub',
        'svc-pg',
        '--tenant',
        '1',
        '--roles',
        'admin,agent',
      );
      expect(created.status).toBe(0);
      const [, key, id] = keyIn(created.stdout)!;
      const { status, body } = await graphql(h, key!);
      expect(status).toBe(200);
      expect(body.data.orders.nodes.every((n: { tenantId: number }) => n.tenantId === 1)).toBe(
        true,
      );
      expect((await countCustomers(h, key!)).body.result.structuredContent.value).toBe(
        await customersOf(h, 1),
      );

      const list = await cli('list');
      expect(list.stdout).toMatch(
        new RegExp(
          `^${id} active  sub svc-pg, tenant 1, roles admin,agent created .* expires never$`,
          'm',
        ),
      );

      const [row] = await h.sql<{ key_hash: string }>(
        `SELECT key_hash FROM ${h.ormai.runtime.tables.apiKey} WHERE id = $1`,
        [id],
      );
      expect(row!.key_hash).toBe(sha256(key!));
      expect(await tableText(h)).not.toContain(secretOf(key!));

      // the whole key names its id too
      expect((await cli('revoke', key!)).status).toBe(0);
      await expectRefused(h, key!, new RegExp(`^the API key ${id} was revoked$`));
    }, 300_000);
  },
);
