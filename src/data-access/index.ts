/**
 * The one enforcement point between the schema and the database. Every database call a request
 * makes runs inside a data scope (`runInScope`: the principal and their role set's compiled
 * policy), and the ORM adapter applies that scope to the call itself:
 *
 * - `scope-args.ts` is ORM-shaped but policy-free: it ANDs each model's row scope (tenant, soft
 *   delete, ownership and row filters, scope through a parent, all compiled by src/policy) into
 *   a Prisma operation's where, relation filters, list relations and `_count`; a to-one relation,
 *   which Prisma gives no where, only where `row-check.ts` decides its target's scope exactly on
 *   the loaded row, and the result is checked before it leaves.
 * - `prisma-client.ts` installs it as a Prisma client extension.
 *
 * A second ORM plugs in here: an adapter that applies `activeRowScope(model)` (a Prisma-shaped
 * where, translated to its own query builder) to every query, as `prisma-client.ts` does.
 */
export { activeRowScope, type DataScope, joinsToOne, runInScope } from './data-scope.js';
export {
  type PlanEstimate,
  type PlannerStats,
  plannerBudgetAdapter,
  plannerStats,
} from './planner-budget.js';
export { scopedPrismaClient } from './prisma-client.js';
export { policyWhere, scopeArgs, scopeWhere } from './scope-args.js';
