import { OrmaiError } from '../errors.js';
import type { Datamodel } from '../policy/datamodel.js';
import { andWheres, type WhereData } from '../policy/row-scope.js';
import type { RowCheck } from './row-check.js';

/** What scoping needs to know: each model's row scope, and where a relation field leads. */
export interface ScopeSource {
  rowScope(model: string): WhereData;
  relation(model: string, field: string): { target: string; list: boolean } | null;
  /** The client loads list relations with lateral joins by default (Prisma's `relationJoins`). */
  joins?: boolean;
  /** The exact in-memory check of a model's row scope, where there is one (row-check.ts). */
  rowCheck?(model: string): RowCheck | null;
}

/**
 * What must be done to a read's result before anyone sees it, by relation name: a to-one row out
 * of its scope becomes null, and the columns loaded only to decide that are dropped.
 */
export interface ResultChecks {
  [relation: string]: {
    check?: RowCheck;
    /** Columns the check needed that the selection did not ask for. */
    strip?: readonly string[];
    nested?: ResultChecks;
  };
}

type Args = Record<string, unknown>;

/** Operations whose `where` selects rows: the scope is ANDed in. */
const FILTERED = new Set([
  'findMany',
  'findFirst',
  'findFirstOrThrow',
  'count',
  'aggregate',
  'groupBy',
  'updateMany',
  'updateManyAndReturn',
  'deleteMany',
]);
/** Operations addressing one row by a unique where, which Prisma lets carry extra conditions. */
const UNIQUE = new Set(['findUnique', 'findUniqueOrThrow', 'update', 'delete']);
/** Inserts: no rows to scope (the write path checks the values), but a returned selection is. */
const INSERTS = new Set(['create', 'createMany', 'createManyAndReturn']);
/** Reads that take a `relationLoadStrategy` when the client joins. */
const READS = new Set([
  'findMany',
  'findFirst',
  'findFirstOrThrow',
  'findUnique',
  'findUniqueOrThrow',
]);

/**
 * The arguments of one Prisma model operation with the row scope applied everywhere rows are read:
 * the operation's own `where`, every relation filter inside it (`some`/`none`/`is`/`isNot` see only
 * rows in scope, `every` ignores rows out of scope), every list relation and `_count` in its
 * `select`/`include`. A to-one relation cannot carry a where in Prisma, so including one whose
 * target is scoped is refused here (`scopeRead` loads it with a check of the result instead).
 * Operations that cannot be scoped (`upsert`, raw model operations) are refused.
 */
export function scopeArgs(source: ScopeSource, model: string, operation: string, args: Args): Args {
  return scopeOperation(source, model, operation, args, null);
}

/**
 * `scopeArgs`, except that a to-one relation whose target's scope has an exact in-memory check
 * (`source.rowCheck`) is loaded in the parent's statement with the columns that check reads, and
 * `checks` says what `applyChecks` must do to the result: the arguments alone are not scoped.
 */
export function scopeRead(
  source: ScopeSource,
  model: string,
  operation: string,
  args: Args,
): { args: Args; checks: ResultChecks | null } {
  const checks: ResultChecks = {};
  const scoped = scopeOperation(source, model, operation, args, checks);
  return { args: scoped, checks: Object.keys(checks).length > 0 ? checks : null };
}

function scopeOperation(
  source: ScopeSource,
  model: string,
  operation: string,
  args: Args,
  checks: ResultChecks | null,
): Args {
  const scoped: Args = { ...args };
  if (FILTERED.has(operation)) {
    scoped.where = andWheres(source.rowScope(model), scopeWhere(source, model, args.where as Args));
  } else if (UNIQUE.has(operation)) {
    const where = scopeWhere(source, model, args.where as Args) ?? {};
    const own = source.rowScope(model);
    scoped.where = isEmpty(own) ? where : { ...where, AND: [...asList(where.AND), own] };
  } else if (!INSERTS.has(operation)) {
    throw new OrmaiError('INTERNAL_ERROR', `${model}.${operation} cannot be scoped`);
  }
  if (args.select) scoped.select = scopeSelection(source, model, args.select as Args, checks);
  if (args.include) scoped.include = scopeSelection(source, model, args.include as Args, checks);
  // Joined, a list relation or a relation count whose where filters through another relation (a
  // scope through a parent, a caller's `some`/`is`) is evaluated for every parent row: products
  // with their items scoped through the items' orders took seconds, not milliseconds, on
  // PostgreSQL, and so did orders with their item counts. Such a read loads its lists and counts
  // with statements of their own, as a client without relationJoins does.
  if (
    source.joins &&
    READS.has(operation) &&
    args.relationLoadStrategy === undefined &&
    (filtersThrough(source, model, scoped.select as Args | undefined) ||
      filtersThrough(source, model, scoped.include as Args | undefined))
  ) {
    scoped.relationLoadStrategy = 'query';
  }
  return scoped;
}

/**
 * Whether a list relation or a relation count in the selection, at any depth, has a relation filter
 * in its where.
 */
function filtersThrough(source: ScopeSource, model: string, selection: Args | undefined): boolean {
  for (const [key, value] of Object.entries(selection ?? {})) {
    if (key === '_count') {
      if (countsThrough(source, model, value)) return true;
      continue;
    }
    const relation = value ? source.relation(model, key) : null;
    if (!relation || value === true) continue;
    const nested = value as Args;
    if (
      (relation.list && hasRelationFilter(source, relation.target, nested.where as Args)) ||
      filtersThrough(source, relation.target, nested.select as Args | undefined) ||
      filtersThrough(source, relation.target, nested.include as Args | undefined)
    ) {
      return true;
    }
  }
  return false;
}

/** Whether a relation count (`_count: { select: { items: { where } } }`) filters through one. */
function countsThrough(source: ScopeSource, model: string, count: unknown): boolean {
  const select = (count as { select?: Args } | null)?.select;
  return Object.entries(select ?? {}).some(([name, value]) => {
    const relation = value && value !== true ? source.relation(model, name) : null;
    return !!relation && hasRelationFilter(source, relation.target, (value as Args).where as Args);
  });
}

function hasRelationFilter(source: ScopeSource, model: string, where: Args | undefined): boolean {
  for (const [key, value] of Object.entries(where ?? {})) {
    if (value === null || typeof value !== 'object') continue;
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      const items = Array.isArray(value) ? value : [value];
      if (items.some((item) => hasRelationFilter(source, model, item as Args))) return true;
    } else if (source.relation(model, key)) {
      return true;
    }
  }
  return false;
}

const policyWheres = new WeakSet<object>();

/**
 * Marks a where that the policy wrote (a role's row filter, bound for the principal): it is read as
 * the row scope reads it, its relation filters not narrowed again, so a per-role check asks the very
 * question the scope asked.
 */
export function policyWhere<Where extends object>(where: Where): Where {
  policyWheres.add(where);
  return where;
}

/** A caller's where with each relation filter narrowed to the related rows in scope. */
export function scopeWhere(
  source: ScopeSource,
  model: string,
  where: Args | undefined,
): Args | undefined {
  if (!where || policyWheres.has(where)) return where;
  const out: Args = {};
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined || value === null || typeof value !== 'object') {
      out[key] = value;
    } else if (key === 'AND' || key === 'OR' || key === 'NOT') {
      out[key] = Array.isArray(value)
        ? value.map((item) => scopeWhere(source, model, item as Args))
        : scopeWhere(source, model, value as Args);
    } else {
      const relation = source.relation(model, key);
      out[key] = relation
        ? scopeRelationFilter(source, relation.target, relation.list, value as Args)
        : value;
    }
  }
  return out;
}

const TO_ONE_OPS = ['is', 'isNot'];
const TO_MANY_OPS = ['some', 'every', 'none'];

function scopeRelationFilter(
  source: ScopeSource,
  target: string,
  list: boolean,
  filter: Args,
): Args {
  const ops = list ? TO_MANY_OPS : TO_ONE_OPS;
  // `{ customer: { name: … } }` is Prisma's shorthand for `is`
  const explicit = Object.keys(filter).some((key) => ops.includes(key));
  const entries = explicit ? Object.entries(filter) : [['is', filter] as const];
  const scope = source.rowScope(target);
  const out: Args = {};
  for (const [op, inner] of entries) {
    if (inner === undefined) continue;
    if (inner === null) {
      out[op] = null;
      continue;
    }
    const sub = scopeWhere(source, target, inner as Args) ?? {};
    if (op === 'every') {
      // every visible related row matches: rows outside the scope do not count
      out[op] = isEmpty(scope) ? sub : { OR: [{ NOT: scope }, sub] };
    } else {
      out[op] = andWheres(scope, sub);
    }
  }
  return out;
}

function scopeSelection(
  source: ScopeSource,
  model: string,
  selection: Args,
  checks: ResultChecks | null,
): Args {
  const out: Args = {};
  for (const [key, value] of Object.entries(selection)) {
    if (key === '_count') {
      out[key] = scopeCount(source, model, value);
      continue;
    }
    const relation = value ? source.relation(model, key) : null;
    if (!relation) {
      out[key] = value;
      continue;
    }
    let nested: Args = value === true ? {} : { ...(value as Args) };
    let check: ResultChecks[string] = {};
    if (relation.list) {
      nested.where = andWheres(
        source.rowScope(relation.target),
        scopeWhere(source, relation.target, nested.where as Args),
      );
    } else if (!isEmpty(source.rowScope(relation.target))) {
      // to-one includes cannot take a where in Prisma: the row is checked after the fetch
      const rowCheck = checks && source.rowCheck?.(relation.target);
      if (!rowCheck) {
        throw new OrmaiError(
          'INTERNAL_ERROR',
          `${model}.${key} would load a ${relation.target} row without its scope`,
        );
      }
      const loaded = withColumns(nested, rowCheck.columns);
      nested = loaded.query;
      check = { check: rowCheck, ...(loaded.strip.length > 0 ? { strip: loaded.strip } : {}) };
    }
    const inner: ResultChecks | null = checks && {};
    if (nested.select)
      nested.select = scopeSelection(source, relation.target, nested.select as Args, inner);
    if (nested.include)
      nested.include = scopeSelection(source, relation.target, nested.include as Args, inner);
    out[key] = nested;
    if (inner && Object.keys(inner).length > 0) check.nested = inner;
    if (checks && (check.check || check.nested)) checks[key] = check;
  }
  return out;
}

/** A relation's query that also loads `columns`, and those of them it did not ask for. */
function withColumns(query: Args, columns: readonly string[]): { query: Args; strip: string[] } {
  const select = query.select as Args | undefined;
  if (select) {
    const strip = columns.filter((column) => !select[column]);
    if (strip.length === 0) return { query, strip };
    return {
      query: {
        ...query,
        select: { ...select, ...Object.fromEntries(strip.map((c) => [c, true])) },
      },
      strip,
    };
  }
  const omit = query.omit as Args | undefined;
  const strip = columns.filter((column) => omit?.[column]);
  if (strip.length === 0) return { query, strip };
  const kept = { ...omit };
  for (const column of strip) delete kept[column];
  return { query: { ...query, omit: kept }, strip };
}

/** Applies a read's `ResultChecks` to its result (a row, a list of rows or null), in place. */
export function applyChecks<Result>(result: Result, checks: ResultChecks): Result {
  if (Array.isArray(result)) {
    for (const row of result) checkRow(row as Args, checks);
  } else if (result && typeof result === 'object') {
    checkRow(result as Args, checks);
  }
  return result;
}

function checkRow(row: Args, checks: ResultChecks) {
  for (const key in checks) {
    const value = row[key];
    if (!value || typeof value !== 'object') continue;
    const { check, strip, nested } = checks[key]!;
    if (Array.isArray(value)) {
      if (nested) for (const item of value) checkRow(item as Args, nested);
      continue;
    }
    if (check && !check.test(value as Args)) {
      row[key] = null;
      continue;
    }
    if (strip) for (const column of strip) delete (value as Args)[column];
    if (nested) checkRow(value as Args, nested);
  }
}

/** `_count: true` counts every relation; `_count: { select: { items: … } }` the ones named. */
function scopeCount(source: ScopeSource, model: string, count: unknown): unknown {
  if (count === true) {
    throw new OrmaiError('INTERNAL_ERROR', `${model}._count must name the relations it counts`);
  }
  const select = (count as { select?: Args } | null)?.select;
  if (!select) return count;
  const out: Args = {};
  for (const [name, value] of Object.entries(select)) {
    const relation = source.relation(model, name);
    if (!value || !relation) {
      out[name] = value;
      continue;
    }
    const where = value === true ? undefined : ((value as Args).where as Args | undefined);
    out[name] = {
      where: andWheres(
        source.rowScope(relation.target),
        scopeWhere(source, relation.target, where),
      ),
    };
  }
  return { ...(count as Args), select: out };
}

const isEmpty = (where: Args | undefined) => !where || Object.keys(where).length === 0;
const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Relation lookups over a datamodel, indexed once per datamodel. */
export function relationsOf(datamodel: Datamodel): ScopeSource['relation'] {
  let index = relationIndexes.get(datamodel);
  if (!index) {
    index = new Map();
    for (const [name, model] of Object.entries(datamodel.datamodel.models)) {
      for (const field of model.fields) {
        if (field.kind === 'object')
          index.set(`${name}.${field.name}`, { target: field.type, list: field.isList });
      }
    }
    relationIndexes.set(datamodel, index);
  }
  const found = index;
  return (model, field) => found.get(`${model}.${field}`) ?? null;
}

const relationIndexes = new WeakMap<Datamodel, Map<string, { target: string; list: boolean }>>();
