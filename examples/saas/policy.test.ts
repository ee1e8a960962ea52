// Pins the saas example's policy with ormai/testing, the way you would test your own: three tenants
// seeded from the datamodel, answers checked for leaks and budgets, and a property-based search.
// In your project import from 'ormai' and 'ormai/testing'; this file imports the sources so it runs
// in this repository without a build. Point `database` at a test database or schema of your own
// (here: an embedded database in memory, created and dropped with the test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrmai, type Ormai } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import { type OrmaiTestKit, ormaiTest, type TenantFixture } from '../../src/testing/index.js';
import { saasApp } from './app.js';

describe('the saas policy keeps tenants apart', () => {
  let ormai: Ormai;
  let t: OrmaiTestKit;
  let fixture: TenantFixture;

  beforeAll(async () => {
    // your app, without its demo data: the fixture writes the rows the tests read
    ormai = await createOrmai(
      {
        app: { ...saasApp, seed: undefined },
        database: { dataDir: 'memory://', applyMigrations: true },
      },
      { logger: createLogger('silent'), env: {} },
    );
    t = ormaiTest(ormai);
    fixture = await t.seedTenants({ tenants: 3, rows: 8 });
  }, 120_000);

  afterAll(async () => {
    await fixture?.remove();
    await ormai?.close();
  });

  it('an agent reads its own tenant, with emails masked', async () => {
    const agent = fixture.principal(fixture.tenants[0]!, ['agent']);
    const response = await t.graphql(
      agent,
      `{ customers(first: 20) { nodes { id name email orders(first: 5) { id totalCents } } } }`,
    );
    const customers = (response.data as any).customers.nodes;
    expect(customers.length).toBeGreaterThan(0);
    expect(customers[0].email).toContain('*');
    await t.expectNoLeaks(response);
    t.expectWithinBudget(response);
  });

  it('an MCP query with another tenant in its filter gives nothing away', async () => {
    const agent = fixture.principal(fixture.tenants[0]!, ['agent']);
    const response = await t.callTool(agent, 'db_query', {
      model: 'Order',
      where: [{ field: 'tenantId', op: 'eq', value: fixture.tenants[1] }],
      take: 10,
    });
    // refused, rather than answered with the other tenant's rows
    expect(response.errors[0]?.code).toBe('TENANT_SCOPE_VIOLATION');
    await t.expectNoLeaks(response);
  });

  it('no random call of any role in any tenant leaks', async () => {
    await t.expectNoLeaksFound({ principals: fixture.principals(), runs: 100 });
  }, 120_000);
});
