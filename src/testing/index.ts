// ormai/testing: fixtures and leak assertions for a user's own tests, against their own policy.
import {
  type BudgetLimits,
  expectNoLeaks,
  expectWithinBudget,
  LeakAssertionError,
  runGraphql,
  runTool,
  type TestResponse,
  type TestSource,
} from './assertions.js';
import { seedTenants, type TenantFixture, type TenantFixtureOptions } from './fixture.js';
import { type LeakSearchOptions, type LeakSearchResult, searchForLeaks } from './leak-search.js';
import { findLeaks, type Leak, type LeakPrincipal } from './leaks.js';

export {
  type BudgetLimits,
  describePrincipal,
  expectNoLeaks,
  expectWithinBudget,
  LeakAssertionError,
  type TestResponse,
  type TestSource,
} from './assertions.js';
export {
  type FixtureSource,
  type SeededRow,
  seedTenants,
  type TenantFixture,
  type TenantFixtureOptions,
  type TenantId,
} from './fixture.js';
export {
  type LeakSearchFailure,
  type LeakSearchOptions,
  type LeakSearchResult,
  searchForLeaks,
} from './leak-search.js';
export {
  findLeaks,
  type Leak,
  type LeakCheckCall,
  type LeakPrincipal,
  type LeakSource,
} from './leaks.js';

/** The test helpers bound to one ormai (`createOrmai(config)`, pointed at a test database). */
export interface OrmaiTestKit {
  /** Runs a GraphQL operation as the principal (the same pipeline as `/graphql`). */
  graphql(
    principal: LeakPrincipal,
    document: string,
    variables?: Record<string, unknown>,
  ): Promise<TestResponse>;
  /** Calls an MCP tool as the principal (`db_query`, `db.get`, a domain tool). */
  callTool(
    principal: LeakPrincipal,
    tool: string,
    args?: Record<string, unknown>,
  ): Promise<TestResponse>;
  /** What the answer gave the principal that its policy forbids (empty when nothing). */
  findLeaks(response: TestResponse, principal?: LeakPrincipal): Promise<Leak[]>;
  /** Fails with the list of leaks when findLeaks finds any. */
  expectNoLeaks(response: TestResponse, principal?: LeakPrincipal): Promise<void>;
  /** Fails when the call was refused for its size, or its answer is over the role's budgets. */
  expectWithinBudget(
    response: TestResponse,
    principal?: LeakPrincipal,
    limits?: BudgetLimits,
  ): void;
  /** Seeds N tenants from the datamodel into the database this ormai runs on. */
  seedTenants(options?: TenantFixtureOptions): Promise<TenantFixture>;
  /** The property-based leak search (needs fast-check). */
  searchForLeaks(options: LeakSearchOptions): Promise<LeakSearchResult>;
  /** Fails with the smallest leaking call the search finds. */
  expectNoLeaksFound(options: LeakSearchOptions): Promise<void>;
}

/** Binds the test helpers to an ormai: `const t = ormaiTest(await createOrmai(config))`. */
export function ormaiTest(ormai: TestSource): OrmaiTestKit {
  return {
    graphql: (principal, document, variables) => runGraphql(ormai, principal, document, variables),
    callTool: (principal, tool, args) => runTool(ormai, principal, tool, args),
    findLeaks: (response, principal = response.principal) =>
      findLeaks(ormai, principal, response.call),
    expectNoLeaks: (response, principal) => expectNoLeaks(response, principal, ormai),
    expectWithinBudget: (response, principal, limits) =>
      expectWithinBudget(response, principal, limits, ormai),
    seedTenants: (options) => seedTenants(ormai, options),
    searchForLeaks: (options) => searchForLeaks(ormai, options),
    async expectNoLeaksFound(options) {
      const result = await searchForLeaks(ormai, options);
      if (!result.failure) return;
      const { response, leaks, principal } = result.failure;
      const call =
        response.call.surface === 'graphql'
          ? `GraphQL ${response.call.document} with ${JSON.stringify(response.call.variables ?? {})}`
          : `MCP ${response.call.tool} ${JSON.stringify(response.call.arguments)}`;
      throw new LeakAssertionError(
        `the leak search found a leak (seed ${result.seed}) for sub ${principal.sub}, tenant ${principal.tenantId}, roles ${principal.roles.join(', ')}:\n  ${call}\n${leaks
          .map((leak) => `  - ${leak.kind} at ${leak.path || '(root)'}: ${leak.message}`)
          .join('\n')}`,
        leaks,
      );
    },
  };
}
