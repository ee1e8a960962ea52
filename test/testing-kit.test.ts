// Pins the ormai/testing kit: expectNoLeaks and expectWithinBudget pass on served answers and fail on tampered or refused ones, and the property-based leak search finds nothing on the example but finds (and shrinks) a planted cross-tenant row.
import { beforeAll, describe, expect, it } from 'vitest';
import type { GatewayOperation } from '../src/server/gateway.js';
import { LeakAssertionError, ormaiTest, type TenantFixture } from '../src/testing/index.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

const agent = { sub: '1', tenantId: 1, roles: ['agent'] };

describe.each(DATABASE_KINDS)('ormai/testing kit on %s', (kind) => {
  const app = useTestApp(kind);
  let kit: ReturnType<typeof ormaiTest>;
  let fixture: TenantFixture;

  beforeAll(async () => {
    kit = ormaiTest(app);
    fixture = await kit.seedTenants({ tenants: 2, rows: 6, seed: 3 });
  }, 120_000);

  it('expectNoLeaks passes on a served answer and fails on a tampered one', async () => {
    const response = await kit.graphql(
      agent,
      `{ customers(first: 5, orderBy: [{ id: ASC }]) { nodes { id name email } } }`,
    );
    expect(response.errors).toEqual([]);
    await kit.expectNoLeaks(response);
    kit.expectWithinBudget(response);
    const [raw] = await app.sql<{ email: string }>(`SELECT email FROM "Customer" WHERE id = $1`, [
      (response.data as any).customers.nodes[1].id,
    ]);
    (response.call as { data: any }).data.customers.nodes[1].email = raw!.email;
    const error = await kit.expectNoLeaks(response).catch((caught) => caught);
    expect(error).toBeInstanceOf(LeakAssertionError);
    expect(error.leaks.map((leak: { kind: string }) => leak.kind)).toEqual(['raw-redacted']);
    expect(error.message).toMatch(/customers\.nodes\[1\]\.email/);
  });

  it('expectWithinBudget fails on a refusal for size and on a row limit of your own', async () => {
    const { maxTake } = app.gateway.policyFor({ ...agent, claims: {} }).budgets;
    const refused = await kit.callTool(agent, 'db_query', { model: 'Order', take: maxTake + 1 });
    expect(refused.errors[0]?.code).toBe('QUERY_BUDGET_EXCEEDED');
    expect(() => kit.expectWithinBudget(refused)).toThrow(/QUERY_BUDGET_EXCEEDED/);
    const served = await kit.callTool(agent, 'db_query', { model: 'Order', take: 10 });
    kit.expectWithinBudget(served);
    expect(() => kit.expectWithinBudget(served, agent, { maxRows: 9 })).toThrow(/10 rows/);
  });

  it('the leak search finds no leak on the example', async () => {
    const result = await kit.searchForLeaks({
      principals: fixture.principals(),
      runs: 60,
      seed: 42,
    });
    expect(result.failure).toBeNull();
    expect(result.runs).toBe(60);
    expect(result.answered).toBeGreaterThan(30);
  }, 120_000);

  it('the leak search finds a row another tenant answered, planted by a broken gateway', async () => {
    // a gateway that caches without the tenant: each list answer gets the first row another
    // tenant's principal (same roles) receives for the same document
    const other = fixture.tenants[1]!;
    const execute = async (operation: GatewayOperation) => {
      const result = await app.gateway.execute(operation);
      if (operation.principal.tenantId === other || !result.data) return result;
      const foreign = await app.gateway.execute({
        ...operation,
        principal: { ...operation.principal, tenantId: other },
      });
      plant(result.data, foreign.data);
      return result;
    };
    const broken = ormaiTest({
      runtime: app.runtime,
      gateway: { ...app.gateway, execute },
    });
    const principals = fixture.principals().filter((p) => p.tenantId !== other);
    const result = await broken.searchForLeaks({ principals, runs: 100, seed: 7 });
    expect(result.failure).not.toBeNull();
    expect(result.failure!.leaks.map((leak) => leak.kind)).toContain('tenant');
    await expect(broken.expectNoLeaksFound({ principals, runs: 100, seed: 7 })).rejects.toThrow(
      /the leak search found a leak/,
    );
  }, 180_000);
});

/** Appends the first row of each list in `from` to the same list in `into`. */
function plant(into: any, from: any): void {
  if (!into || !from || typeof into !== 'object') return;
  for (const key of Object.keys(into)) {
    if (Array.isArray(into[key]) && Array.isArray(from[key]) && from[key].length > 0) {
      into[key].push(from[key][0]);
    } else if (into[key] && typeof into[key] === 'object') plant(into[key], from[key]);
  }
}
