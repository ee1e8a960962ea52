// Pins seedTenants (ormai/testing) on every example app: N tenants written from the datamodel alone, each row in its tenant (raw SQL), cross-tenant foreign keys planted, answers for the fixture's principals free of leaks, and remove() leaving the database as it was.
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/db/database.js';
import { seedTenants, type TenantFixture } from '../src/testing/fixture.js';
import { findLeaks } from '../src/testing/leaks.js';
import { DATABASE_KINDS, EXAMPLE_APPS, useTestApp } from './helpers/runtime.js';

describe.each(
  DATABASE_KINDS.flatMap((kind) => EXAMPLE_APPS.map((app) => [app.name, kind, app] as const)),
)('seedTenants: %s on %s', (_name, kind, example) => {
  const app = useTestApp(kind, { app: example });
  let fixture: TenantFixture;

  const tableOf = (model: string) => {
    const dm = example.datamodel.datamodel.models[model]!;
    return `${quoteIdent(dm.schema ?? app.runtime.db.schema)}.${quoteIdent(dm.dbName ?? model)}`;
  };
  const columnOf = (model: string, field: string) =>
    quoteIdent(
      example.datamodel.datamodel.models[model]!.fields.find((f) => f.name === field)!.dbName ??
        field,
    );
  const totals = async () => {
    const counts: Record<string, number> = {};
    for (const model of Object.keys(example.datamodel.datamodel.models)) {
      const [row] = await app.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${tableOf(model)}`,
      );
      counts[model] = row!.n;
    }
    return counts;
  };
  let before: Record<string, number>;

  it('writes every model for each tenant, each row in its tenant', async () => {
    before = await totals();
    fixture = await seedTenants(app, { tenants: 3, rows: 4, seed: 7 });
    expect(fixture.tenants).toHaveLength(3);
    expect(new Set(fixture.tenants.map(String)).size).toBe(3);
    const after = await totals();
    const scopes = app.runtime.policy.forRoles(app.runtime.policy.declaredRoles).models;
    for (const [model, rows] of fixture.rows) {
      expect(after[model]! - before[model]!, model).toBe(rows.length);
      expect(rows.length, model).toBeGreaterThan(0);
    }
    // the database agrees: each row of a tenant-field model holds its tenant
    for (const [model, rows] of fixture.rows) {
      const tenantField = scopes.get(model)?.tenantField?.name;
      if (!tenantField) continue;
      for (const tenant of fixture.tenants) {
        const [row] = await app.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${tableOf(model)} WHERE ${columnOf(model, tenantField)}::text = $1`,
          [String(tenant)],
        );
        const expected = rows.filter((seeded) => String(seeded.tenant) === String(tenant)).length;
        expect(row!.n, `${model} in ${tenant}`).toBe(expected);
      }
    }
    expect(
      [...fixture.rows.values()].flat().filter((row) => row.crossTenant).length,
    ).toBeGreaterThan(0);
  });

  it('gives principals whose answers hold no leak', async () => {
    for (const principal of fixture.principals()) {
      const policy = app.gateway.policyFor({ ...principal, claims: {} });
      for (const model of policy.models.values()) {
        if (!model.idField) continue;
        const list = `${model.name.charAt(0).toLowerCase()}${model.name.slice(1)}`;
        const schema = app.gateway.schemaFor({ ...principal, claims: {} });
        const root = Object.keys(schema.getQueryType()!.getFields()).find(
          (name) =>
            name.startsWith(list) &&
            schema.getQueryType()!.getFields()[name]!.type.toString().endsWith('Connection!'),
        );
        if (!root) continue;
        const fields = [...model.fields.keys()].join(' ');
        const document = `{ ${root}(first: 10) { nodes { ${fields} } } }`;
        const result = await app.gateway.execute({
          principal: { ...principal, claims: {} },
          document,
        });
        if (result.errors?.length) continue; // a root list that requires a filter
        const leaks = await findLeaks(app, principal, {
          surface: 'graphql',
          document,
          data: result.data,
        });
        expect(leaks, `${principal.roles} ${principal.tenantId} ${root}`).toEqual([]);
      }
    }
  });

  it('remove() deletes exactly what it wrote', async () => {
    await fixture.remove();
    expect(await totals()).toEqual(before);
  });
});
