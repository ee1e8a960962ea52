import { activeDatamodel, activeDataScope, activeRowCheck, activeRowScope } from './data-scope.js';
import { aroundModelOperations, type Operation } from './model-operations.js';
import { policyHasPlannerBudget, withPlannerBudget } from './planner-budget.js';
import {
  applyChecks,
  type ResultChecks,
  relationsOf,
  type ScopeSource,
  scopeRead,
} from './scope-args.js';

/** The result with its to-one rows checked against their scope; untouched when nothing is. */
function checked(result: PromiseLike<unknown>, checks: ResultChecks | null): PromiseLike<unknown> {
  return checks ? result.then((rows) => applyChecks(rows, checks)) : result;
}

/** Lists, aggregates, groupBys and counts: the reads the planner budget applies to. */
const PLANNED = new Set(['findMany', 'aggregate', 'groupBy', 'count']);

/**
 * The Prisma client every request reads and writes through: every model operation has the active
 * data scope (see `runInScope`) applied to its arguments before Prisma sees them, each to-one row
 * loaded in its parent's statement is checked against its scope before the result leaves (see
 * `scopeRead`), and a list, aggregate, groupBy or count runs under the planner budget of the models
 * it reads (planner-budget.ts). Resolvers get only this client, so a resolver that forgets the
 * scope still gets scoped rows, and a call made outside a request's scope fails. Raw SQL
 * (`$queryRaw`, used for ormai's own tables) is not a model operation and passes through.
 */
export function scopedPrismaClient<Client extends object>(client: Client): Client {
  // Prisma says which preview features the client was generated with only internally; without
  // the property, a client that joins is read as one that does not
  const features = (client as { _previewFeatures?: readonly string[] })._previewFeatures;
  const source: ScopeSource = {
    joins: Array.isArray(features) && features.includes('relationJoins'),
    rowScope: activeRowScope,
    rowCheck: activeRowCheck,
    relation: (model, field) => {
      const datamodel = activeDatamodel();
      return datamodel ? relationsOf(datamodel)(model, field) : null;
    },
  };
  return aroundModelOperations(client, (model, operation, args, call) =>
    scopedCall(source, model, operation, args ?? {}, call),
  );
}

function scopedCall(
  source: ScopeSource,
  model: string,
  operation: string,
  args: Record<string, unknown>,
  call: Operation,
): PromiseLike<unknown> {
  const scope = PLANNED.has(operation) ? activeDataScope() : undefined;
  if (!scope || !policyHasPlannerBudget(scope.policy)) {
    const read = scopeRead(source, model, operation, args);
    return checked(call(read.args), read.checks);
  }
  // every model whose row scope the operation takes is a model its SQL reads
  const read = new Set<string>();
  const reading: ScopeSource = {
    ...source,
    rowScope: (name) => {
      read.add(name);
      return source.rowScope(name);
    },
  };
  const scoped = scopeRead(reading, model, operation, args);
  return withPlannerBudget(scope.policy, scope.datamodel, model, read, async () =>
    checked(call(scoped.args), scoped.checks),
  );
}
