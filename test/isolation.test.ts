// Pins tenant isolation against the database itself, on every example app: every root list, nested
// list, count and relation returns exactly the rows SQL says the tenant may see, even with
// cross-tenant foreign keys. Each app's rows and SQL are in test/apps/.
import { describe, expect, it } from 'vitest';
import { APP_SPECS } from './apps/index.js';
import { type AppSpec, keyArgs, rowKey, type TenantId } from './apps/spec.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

describe.each(
  DATABASE_KINDS.flatMap((kind) => APP_SPECS.map((spec) => [spec.app.name, kind, spec] as const)),
)('tenant isolation: %s on %s', (_name, kind, spec: AppSpec) => {
  const app = useTestApp(kind, { app: spec.app });
  const admin = (tenantId: TenantId) => ({ tenantId, roles: ['admin'] });

  async function pageAll(tenantId: TenantId, field: string, key: string[], first = 100) {
    const seen: string[] = [];
    let after: string | null = null;
    let totalCount = -1;
    const selection = key.join(' ');
    for (let page = 0; page < 1000; page++) {
      const data = await query(
        app,
        admin(tenantId),
        `query($first: Int, $after: String) { ${field}(first: $first, after: $after) {
            totalCount nodes { ${selection} } edges { cursor node { ${selection} } } pageInfo { hasNextPage endCursor } } }`,
        { first, after },
      );
      const connection = data[field];
      totalCount = connection.totalCount;
      const keys = (rows: Record<string, unknown>[]) => rows.map((row) => rowKey(row, key));
      expect(keys(connection.edges.map((edge: any) => edge.node))).toEqual(keys(connection.nodes));
      seen.push(...keys(connection.nodes));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    return { seen, totalCount };
  }

  it.each(spec.roots)(
    '$field: paging through every page returns exactly the SQL rows of each tenant',
    async (root) => {
      for (const tenantId of spec.tenants) {
        const rows = await app.sql(root.sql, [tenantId]);
        expect(rows.length).toBeGreaterThan(0);
        const { seen, totalCount } = await pageAll(tenantId, root.field, root.key);
        expect(seen).toEqual(rows.map((row) => rowKey(row, root.key)));
        expect(totalCount).toBe(rows.length);
      }
    },
  );

  it.each(spec.roots.filter((root) => root.softDeletedSql))(
    '$field: soft-deleted rows exist in the database but are never returned',
    async (root) => {
      const [deleted] = await app.sql(root.softDeletedSql!);
      expect(deleted).toBeDefined();
      const data = await query(
        app,
        admin(deleted!.tenant as TenantId),
        `{ row: ${root.single}(${keyArgs(deleted!, root.key)}) { ${root.key.join(' ')} } }`,
      );
      expect(data.row).toBeNull();
    },
  );

  it.each(spec.nested)(
    '$relation of $root: each list holds exactly the SQL rows of the tenant',
    async (nested) => {
      for (const tenantId of spec.tenants) {
        const data = await query(
          app,
          admin(tenantId),
          `{ ${nested.root}(first: 100) { nodes { ${nested.parentKey.join(' ')}
               ${nested.relation}(first: 100) { ${nested.childKey.join(' ')} } } } }`,
        );
        const children = new Map<string, string[]>();
        for (const row of await app.sql(nested.sql, [tenantId])) {
          const parent = String(row.parent);
          children.set(parent, [...(children.get(parent) ?? []), rowKey(row, nested.childKey)]);
        }
        const parents = data[nested.root].nodes;
        expect(parents.length).toBeGreaterThan(0);
        for (const parent of parents) {
          const expected = children.get(rowKey(parent, nested.parentKey)) ?? [];
          expect(expected.length, 'a parent holds more children than one page').toBeLessThan(100);
          expect(
            parent[nested.relation].map((child: Record<string, unknown>) =>
              rowKey(child, nested.childKey),
            ),
          ).toEqual(expected);
        }
      }
    },
  );

  it.each(spec.roots)(
    '$single: a row of another tenant is not found, of its own tenant is the row',
    async (root) => {
      const [own, other] = [spec.tenants[1]!, spec.tenants[0]!];
      const [row] = await app.sql(root.sql, [own]);
      const text = `{ row: ${root.single}(${keyArgs(row!, root.key)}) { ${root.key.join(' ')} } }`;
      const foreign = await app.graphql(admin(other), text);
      expect(foreign.body.data?.row ?? null).toBeNull();
      // a key that names the other tenant may also be refused outright, never answered
      for (const error of foreign.body.errors ?? []) {
        expect(error.extensions.code).toBe('TENANT_SCOPE_VIOLATION');
      }
      const mine = await query(app, admin(own), text);
      expect(rowKey(mine.row, root.key)).toBe(rowKey(row!, root.key));
    },
  );

  it('a cross-tenant foreign key leaks through no relation and no relation filter', async () => {
    const { probes, cleanup } = await spec.crossTenant.setup(app.sql);
    try {
      for (const probe of probes) {
        const { body } = await app.graphql(probe.principal, probe.query);
        expect(body.errors, probe.name).toBeUndefined();
        probe.check(body.data);
      }
    } finally {
      await cleanup();
    }
  });

  it.each(spec.counts)('$name: the count is the SQL count of each tenant', async (count) => {
    for (const tenantId of spec.tenants) {
      const data = await query(app, admin(tenantId), count.query);
      const [row] = await app.sql<{ n: number }>(count.sql, [tenantId]);
      expect(data.result.totalCount).toBe(row!.n);
    }
  });
});
