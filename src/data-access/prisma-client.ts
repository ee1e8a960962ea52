import { OrmaiError } from '../errors.js';
import { activeDatamodel, activeDataScope, activeRowCheck, activeRowScope } from './data-scope.js';
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

type Operation = (args?: unknown) => PromiseLike<unknown>;
type Delegate = Record<string, unknown>;

interface PrismaInternals {
  /** Which preview features the client was generated with: Prisma says so only internally. */
  _previewFeatures?: readonly string[];
  /** The models of the generated client, by name. */
  _runtimeDataModel?: { models?: Record<string, unknown> };
  $transaction(work: unknown, options?: unknown): Promise<unknown>;
  $extends(extension: object): object;
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
 *
 * A proxy rather than a Prisma client extension: once a client has any extension, Prisma walks
 * every result row by row looking for result extensions to apply (lower-casing the model name of
 * each object with a regular expression), which was a tenth of a 50-row read's CPU.
 */
export function scopedPrismaClient<Client extends object>(client: Client): Client {
  const internals = client as unknown as PrismaInternals;
  const features = internals._previewFeatures;
  const source: ScopeSource = {
    // without the property, a client that joins is read as one that does not
    joins: Array.isArray(features) && features.includes('relationJoins'),
    rowScope: activeRowScope,
    rowCheck: activeRowCheck,
    relation: (model, field) => {
      const datamodel = activeDatamodel();
      return datamodel ? relationsOf(datamodel)(model, field) : null;
    },
  };
  const models = new Map(
    Object.keys(internals._runtimeDataModel?.models ?? {}).map((name) => [
      name.charAt(0).toLowerCase() + name.slice(1),
      name,
    ]),
  );
  if (models.size === 0) {
    throw new OrmaiError('INTERNAL_ERROR', 'the Prisma client lists no models to scope');
  }
  return scopedClient(client, models, (model, operation, args, call) =>
    scopedCall(source, model, operation, args ?? {}, call),
  ) as Client;
}

type RunScoped = (
  model: string,
  operation: string,
  args: Record<string, unknown> | undefined,
  call: Operation,
) => PromiseLike<unknown>;

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

/**
 * `client` with each model delegate's operations scoped by `run`. An interactive transaction's
 * client and a client extended from this one are scoped the same way; the batch form of
 * `$transaction` is refused, since the operations it takes must be Prisma's own lazy promises.
 */
function scopedClient(client: object, models: Map<string, string>, run: RunScoped): object {
  const base = client as PrismaInternals;
  const delegates = new Map<string, Delegate>();
  const methods = new Map<PropertyKey, unknown>();
  const transaction = (work: unknown, options?: unknown) => {
    if (typeof work !== 'function') {
      throw new OrmaiError(
        'INTERNAL_ERROR',
        '$transaction([...]) cannot run through the scoped client: pass a function (tx) => …',
      );
    }
    return base.$transaction(
      (tx: object) => (work as (tx: object) => unknown)(scopedClient(tx, models, run)),
      options,
    );
  };
  const extend = (extension: object) => scopedClient(base.$extends(extension), models, run);
  return new Proxy(client, {
    get(target, key) {
      if (key === '$transaction') return transaction;
      if (key === '$extends') return extend;
      const model = typeof key === 'string' ? models.get(key) : undefined;
      if (model) {
        let delegate = delegates.get(model);
        if (!delegate) {
          delegate = scopedDelegate(
            (target as Record<string, Delegate>)[key as string]!,
            model,
            run,
          );
          delegates.set(model, delegate);
        }
        return delegate;
      }
      // methods run on the client itself: Prisma's keep state in private fields a proxy lacks
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let bound = methods.get(key);
      if (!bound) {
        bound = value.bind(target);
        methods.set(key, bound);
      }
      return bound;
    },
  });
}

/** Every function of the delegate is an operation and goes through `run` (which refuses unknown ones). */
function scopedDelegate(delegate: Delegate, model: string, run: RunScoped): Delegate {
  const operations = new Map<PropertyKey, Operation>();
  return new Proxy(delegate, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let operation = operations.get(key);
      if (!operation) {
        const call: Operation = (args) => (value as Operation).call(target, args);
        // refused as a rejected promise, as Prisma's own operations fail
        operation = (args) => {
          try {
            return run(model, key, args as Record<string, unknown> | undefined, call);
          } catch (error) {
            return Promise.reject(error);
          }
        };
        operations.set(key, operation);
      }
      return operation;
    },
  });
}
