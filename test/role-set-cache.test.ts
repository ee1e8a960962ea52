// Pins the role-set cache: at most server.roleSetCacheSize role sets stay compiled with their schema,
// the least recently used is dropped, a dropped role set is rebuilt on its next request and answers
// as SQL does (also while requests of it are in flight), and ormai_schema_cache_size says what is held.
import { describe, expect, it } from 'vitest';
import { roleSetCacheSizeOf } from '../src/config.js';
import type { Principal } from '../src/policy/principal.js';
import { RoleSetCache } from '../src/policy/role-set-cache.js';
import { useOrmai } from './helpers/ormai.js';
import { DATABASE_KINDS } from './helpers/runtime.js';

describe('RoleSetCache', () => {
  it('keeps at most its capacity, dropping the least recently used', () => {
    const cache = new RoleSetCache<string>(3);
    let made = 0;
    const get = (key: string) => cache.get(key, () => `${key}#${++made}`);
    for (const key of ['a', 'b', 'c']) get(key);
    expect(get('a')).toBe('a#1');
    get('d');
    // b was used longest ago: a was used again after it
    expect([...cache.keys()]).toEqual(['c', 'a', 'd']);
    expect(cache.size).toBe(3);
    expect(get('b')).toBe('b#5');
    expect([...cache.keys()]).toEqual(['a', 'd', 'b']);
    expect([...cache.values()]).toEqual(['a#1', 'd#4', 'b#5']);
  });

  it('keeps nothing a failed build would have made', () => {
    const cache = new RoleSetCache<string>(2);
    expect(() =>
      cache.get('a', () => {
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(cache.size).toBe(0);
  });

  it('refuses a size that is not a positive integer', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      expect(() => new RoleSetCache(size)).toThrow(RangeError);
      expect(() => roleSetCacheSizeOf({ server: { roleSetCacheSize: size } })).toThrow(
        /server\.roleSetCacheSize must be a positive integer/,
      );
    }
    expect(roleSetCacheSizeOf({})).toBeUndefined();
    expect(roleSetCacheSizeOf({ server: { roleSetCacheSize: 7 } })).toBe(7);
  });
});

const ROLE_SETS = [
  ['admin'],
  ['support'],
  ['sales'],
  ['agent'],
  ['admin', 'support'],
  ['agent', 'sales'],
  ['sales', 'support'],
  ['admin', 'agent'],
];
const keyOf = (roles: readonly string[]) => [...roles].sort().join(',');
const SALES_REP = '6';

const ORDERS = `{
  orders(first: 5, orderBy: [{ id: ASC }]) { totalCount nodes { id tenantId } }
  customers(first: 3, orderBy: [{ id: ASC }]) { nodes { id email } }
}`;

describe.each(DATABASE_KINDS)('the role-set cache on %s', (kind) => {
  const app = useOrmai(kind, { server: { roleSetCacheSize: 3 } });

  const principal = (roles: string[]): Principal => ({
    sub: SALES_REP,
    tenantId: 1,
    roles,
    claims: {},
  });
  const ask = async (roles: string[], query = ORDERS) => {
    const response = await app.ormai.fetch(
      new Request('http://127.0.0.1/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await app.token({ sub: SALES_REP, tenantId: 1, roles })}`,
        },
        body: JSON.stringify({ query }),
      }),
    );
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  /** What the database says the role set sees: sales alone sees only the orders it sells. */
  const expected = async (roles: string[]) => {
    const ownOnly = roles.length === 1 && roles[0] === 'sales';
    const where = `"tenantId" = 1 AND "deletedAt" IS NULL${ownOnly ? ` AND "salesRepId" = ${SALES_REP}` : ''}`;
    const [count] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" WHERE ${where}`,
    );
    const ids = await app.sql<{ id: number }>(
      `SELECT id FROM "Order" WHERE ${where} ORDER BY id LIMIT 5`,
    );
    const customers = await app.sql<{ id: number; email: string }>(
      `SELECT id, email FROM "Customer" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 3`,
    );
    return { totalCount: count!.n, ids: ids.map((row) => row.id), customers };
  };
  const expectAnswer = async (roles: string[], data: any) => {
    const truth = await expected(roles);
    expect(truth.totalCount).toBeGreaterThan(0);
    expect(data.orders.totalCount).toBe(truth.totalCount);
    expect(data.orders.nodes.map((node: { id: number }) => node.id)).toEqual(truth.ids);
    expect(data.orders.nodes.every((node: { tenantId: number }) => node.tenantId === 1)).toBe(true);
    expect(data.customers.nodes.map((node: { id: number }) => node.id)).toEqual(
      truth.customers.map((row) => row.id),
    );
    // the agent alone sees emails masked; a role set with admin or support sees them as stored
    const emails = data.customers.nodes.map((node: { email: string }) => node.email);
    if (keyOf(roles) === 'agent') {
      expect(emails.every((email: string) => email.includes('***'))).toBe(true);
    } else if (roles.includes('admin') || roles.includes('support')) {
      expect(emails).toEqual(truth.customers.map((row) => row.email));
    }
  };
  const gauge = async () => {
    const metric = app.ormai.metrics!.registry.getSingleMetric('ormai_schema_cache_size');
    const { values } = await metric!.get();
    return values[0]?.value;
  };

  it('holds at most its bound of role sets, and the gauge says how many', async () => {
    const { policy } = app.ormai.runtime;
    expect(policy.roleSets.capacity).toBe(3);
    for (const roles of ROLE_SETS) {
      await expectAnswer(roles, await ask(roles));
      expect(policy.roleSets.size).toBeLessThanOrEqual(3);
      expect(app.ormai.gateway.schemaCacheSize).toBeLessThanOrEqual(3);
      expect(await gauge()).toBe(app.ormai.gateway.schemaCacheSize);
    }
    expect([...policy.roleSets.keys()]).toEqual(ROLE_SETS.slice(-3).map(keyOf));
    expect(app.ormai.gateway.schemaCacheSize).toBe(3);
    expect(await gauge()).toBe(3);
  });

  it('drops the role set used longest ago', async () => {
    const [a, b, c, d] = ROLE_SETS as [string[], string[], string[], string[]];
    for (const roles of [a, b, c, a, d]) await ask(roles);
    expect([...app.ormai.runtime.policy.roleSets.keys()]).toEqual([c, a, d].map(keyOf));
  });

  it('rebuilds a dropped role set on its next request, which answers as SQL does', async () => {
    const { gateway, runtime } = app.ormai;
    for (const roles of [['sales'], ['agent']]) {
      await ask(roles);
      const before = gateway.schemaFor(principal(roles));
      const policyBefore = gateway.policyFor(principal(roles));
      for (const other of ROLE_SETS.filter((set) => keyOf(set) !== keyOf(roles)).slice(0, 3))
        await ask(other);
      expect([...runtime.policy.roleSets.keys()]).not.toContain(keyOf(roles));

      await expectAnswer(roles, await ask(roles));
      expect([...runtime.policy.roleSets.keys()].at(-1)).toBe(keyOf(roles));
      // built again, not found somewhere the bound does not reach
      expect(gateway.policyFor(principal(roles))).not.toBe(policyBefore);
      expect(gateway.schemaFor(principal(roles))).not.toBe(before);
      expect(gateway.schemaCacheSize).toBeLessThanOrEqual(3);
    }
  });

  it('answers requests whose role set is dropped while they run', async () => {
    // eight role sets at once through a cache of three: each is dropped by the others mid-flight
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all(ROLE_SETS.map((roles) => ask(roles)));
      for (const [index, roles] of ROLE_SETS.entries()) await expectAnswer(roles, answers[index]);
      expect(app.ormai.runtime.policy.roleSets.size).toBe(3);
      expect(await gauge()).toBe(app.ormai.gateway.schemaCacheSize);
    }
  });
});
