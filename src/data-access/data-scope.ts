import { AsyncLocalStorage } from 'node:async_hooks';
import { OrmaiError, unwrap } from '../errors.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import type { Principal } from '../policy/principal.js';
import { rowScope, type WhereData } from '../policy/row-scope.js';
import { exactRowCheck, type RowCheck } from './row-check.js';

/** Whose rows a database call may touch: the principal and the policy of their role set. */
export interface DataScope {
  policy: CompiledPolicy;
  principal: Principal | null;
  datamodel: Datamodel;
}

interface ActiveScope extends DataScope {
  /** The bound row scope per model, computed once per scope (the principal does not change). */
  rowScopes: Map<string, WhereData>;
  /** The in-memory check of each model's row scope, or null where it cannot be decided so. */
  rowChecks: Map<string, RowCheck | null>;
}

const storage = new AsyncLocalStorage<ActiveScope>();

/**
 * Runs `work` with `scope` as the data scope of every database call it makes, however deep: the
 * GraphQL execution of a request, or an approved write that runs as its requester.
 */
export function runInScope<T>(scope: DataScope, work: () => T): T {
  return storage.run({ ...scope, rowScopes: new Map(), rowChecks: new Map() }, work);
}

/**
 * The row scope of `model` for the active data scope. A call made outside any scope, or on a model
 * the role set cannot read, is refused rather than answered unscoped.
 */
export function activeRowScope(model: string): WhereData {
  const scope = storage.getStore();
  if (!scope) {
    throw new OrmaiError(
      'INTERNAL_ERROR',
      `a query on ${model} ran outside a request's data scope`,
    );
  }
  let where = scope.rowScopes.get(model);
  if (!where) {
    const compiled = scope.policy.models.get(model);
    if (!compiled) {
      throw new OrmaiError('MODEL_NOT_ALLOWED', `${model} is not readable by your roles`, {
        details: { model },
      });
    }
    where = unwrap(rowScope(compiled, scope.principal, scope.datamodel));
    scope.rowScopes.set(model, where);
  }
  return where;
}

/**
 * The exact in-memory check of `model`'s active row scope (see row-check.ts), or null when the
 * scope is of a shape only the database decides, or the model is not scoped at all.
 */
export function activeRowCheck(model: string): RowCheck | null {
  const where = activeRowScope(model);
  const scope = storage.getStore()!;
  let check = scope.rowChecks.get(model);
  if (check === undefined) {
    const shape = scope.datamodel.datamodel.models[model];
    check = shape && Object.keys(where).length > 0 ? exactRowCheck(shape, where) : null;
    scope.rowChecks.set(model, check);
  }
  return check;
}

/**
 * Whether a to-one relation to `model` can be loaded in its parent's statement for the active
 * scope: the model is not scoped, or its scope is checked exactly on the loaded row. False outside
 * a scope, so the caller takes the path that fails loudly there.
 */
export function joinsToOne(model: string): boolean {
  if (!storage.getStore()) return false;
  return Object.keys(activeRowScope(model)).length === 0 || activeRowCheck(model) !== null;
}

/** The data scope of the database call running now, if any. */
export function activeDataScope(): DataScope | undefined {
  return storage.getStore();
}

/** The datamodel of the active scope (relations are looked up in it). */
export function activeDatamodel(): Datamodel | null {
  return storage.getStore()?.datamodel ?? null;
}
