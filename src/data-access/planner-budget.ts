import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  SqlQueryable,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';
import { OrmaiError } from '../errors.js';
import type { CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import { isFilterable } from '../policy/field-types.js';
import type { PlannerBudgetKey } from '../policy/types.js';

/** Plans kept per adapter, and how long one is trusted (statistics change with ANALYZE). */
export const PLAN_CACHE_SIZE = 1000;
export const PLAN_CACHE_TTL_MS = 60_000;

/** What the planner expects of one statement. */
export interface PlanEstimate {
  /** The most rows any step of the plan is expected to produce (a scan's matches, before LIMIT). */
  rows: number;
  /** The plan's total cost (the root node's), in the planner's units. */
  cost: number;
}

interface Limit {
  limit: number;
  /** The model whose budget it is. */
  model: string;
}

/** The limits one model operation's statements must fit, set while the operation runs. */
interface PlannerCheck {
  /** The operation's model: the hint names its indexed fields. */
  model: CompiledModel;
  datamodel: Datamodel;
  rows: Limit | null;
  cost: Limit | null;
  /** Statements planned for it (from the cache or not). */
  planned: number;
  /** The refusal, thrown again by the client extension (Prisma wraps what an adapter throws). */
  refusal?: OrmaiError;
}

/** Where an operation's check lives while it runs: the context its statements are sent in. */
interface Slot {
  check: PlannerCheck | null;
}

const active = new AsyncLocalStorage<Slot>();

const hasBudget = new WeakMap<CompiledPolicy, boolean>();

/** Whether any model of the role set has a planner limit (most have none: nothing to set up). */
export function policyHasPlannerBudget(policy: CompiledPolicy): boolean {
  let found = hasBudget.get(policy);
  if (found === undefined) {
    found = [...policy.models.values()].some((model) => model.plannerBudget !== null);
    hasBudget.set(policy, found);
  }
  return found;
}

/**
 * For a client layer that sends an operation in a batch transaction (statement-timeout.ts): Prisma
 * runs the batch in this layer's context. Beneath the scoped client (prisma-client.ts) that context
 * already carries the operation's budget; a layer above it gets a slot here that the budget is set
 * in, for the statements to find it.
 */
export async function plannerSlot<T>(run: () => Promise<T>): Promise<T> {
  if (active.getStore()) return run();
  const slot: Slot = { check: null };
  return active.run(slot, async () => {
    try {
      return await run();
    } catch (error) {
      throw slot.check?.refusal ?? error;
    }
  });
}

/**
 * Runs one model operation with the limits of every model it reads (its own, and each related
 * model its where, selection and counts reach): each SELECT it sends is planned first and refused
 * when over the lowest of them. Without any limit, `run` runs as is.
 */
export async function withPlannerBudget<T>(
  policy: CompiledPolicy,
  datamodel: Datamodel,
  model: string,
  read: Iterable<string>,
  run: () => Promise<T>,
): Promise<T> {
  const own = policy.models.get(model);
  if (!own) return run();
  const check: PlannerCheck = { model: own, datamodel, rows: null, cost: null, planned: 0 };
  for (const name of read) {
    const budget = policy.models.get(name)?.plannerBudget;
    if (!budget) continue;
    check.rows = lower(check.rows, budget, 'maxEstimatedRows', name);
    check.cost = lower(check.cost, budget, 'maxEstimatedCost', name);
  }
  if (!check.rows && !check.cost) return run();
  const outer = active.getStore();
  const checked = async () => {
    try {
      const result = await run();
      // rows came back, so a statement ran: one that was not planned means the check missed it
      if (check.planned === 0 && Array.isArray(result) && result.length > 0) {
        throw new OrmaiError(
          'INTERNAL_ERROR',
          `a ${model} read ran without its planner budget being checked`,
        );
      }
      return result;
    } catch (error) {
      throw check.refusal ?? error;
    }
  };
  if (outer && !outer.check) {
    outer.check = check;
    return checked();
  }
  return active.run({ check }, checked);
}

function lower(
  current: Limit | null,
  budget: Record<PlannerBudgetKey, number | null>,
  key: PlannerBudgetKey,
  model: string,
): Limit | null {
  const limit = budget[key];
  if (limit === null || (current && current.limit <= limit)) return current;
  return { limit, model };
}

interface CachedPlan extends PlanEstimate {
  at: number;
}

/** Counts kept per adapter: what the tests and the bench read. */
export interface PlannerStats {
  /** Statements planned with EXPLAIN. */
  explained: number;
  /** Statements whose estimate came from the cache. */
  cached: number;
  refused: number;
}

const PLANNED = Symbol('ormai.planner-budget');
const statsByFactory = new WeakMap<object, PlannerStats>();

/** The planner counters of an adapter wrapped by `plannerBudgetAdapter` (null otherwise). */
export function plannerStats(factory: object): PlannerStats | null {
  return statsByFactory.get(factory) ?? null;
}

/**
 * The Prisma driver adapter with the planner budget: inside a budgeted model operation
 * (`withPlannerBudget`), each SELECT is first sent as `EXPLAIN (FORMAT JSON)` (no ANALYZE: nothing
 * runs) through the same queryable with the same parameters, so the planner sees the very
 * statement, row scope included; an estimate over the limit refuses the statement before it runs.
 * Estimates are cached per statement and parameter values (`PLAN_CACHE_SIZE`, `PLAN_CACHE_TTL_MS`).
 * Outside a budgeted operation a statement costs one context lookup.
 */
export function plannerBudgetAdapter(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  const marked = factory as SqlDriverAdapterFactory & { [PLANNED]?: true };
  if (marked[PLANNED]) return factory;
  marked[PLANNED] = true;
  const stats: PlannerStats = { explained: 0, cached: 0, refused: 0 };
  statsByFactory.set(factory, stats);
  const plans = new Map<string, CachedPlan>();
  const indexes = new Map<string, string[][]>();
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter: SqlDriverAdapter = await connect();
    checkQueries(adapter, plans, indexes, stats);
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args) =>
      checkQueries(await startTransaction(...args), plans, indexes, stats);
    return adapter;
  };
  return factory;
}

function checkQueries<T extends SqlQueryable | Transaction>(
  queryable: T,
  plans: Map<string, CachedPlan>,
  indexes: Map<string, string[][]>,
  stats: PlannerStats,
): T {
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query) => {
    const check = active.getStore()?.check;
    if (check && READ.test(query.sql)) {
      check.planned++;
      const estimate = await estimateOf(query, queryRaw, plans, stats);
      const over = overBudget(check, estimate);
      if (over) {
        stats.refused++;
        const hint = await indexedFilterHint(check, queryRaw, indexes);
        check.refusal = refusal(check, over, hint);
        throw check.refusal;
      }
    }
    return queryRaw(query);
  };
  return queryable;
}

const READ = /^\s*(?:\(\s*)*(?:SELECT|WITH)\b/i;

async function estimateOf(
  query: SqlQuery,
  queryRaw: (query: SqlQuery) => Promise<SqlResultSet>,
  plans: Map<string, CachedPlan>,
  stats: PlannerStats,
): Promise<PlanEstimate> {
  const key = `${query.sql}\u0000${JSON.stringify(query.args, argValue)}`;
  const now = Date.now();
  const cached = plans.get(key);
  if (cached && now - cached.at < PLAN_CACHE_TTL_MS) {
    stats.cached++;
    // least recently used first out
    plans.delete(key);
    plans.set(key, cached);
    return cached;
  }
  const result = await queryRaw({ ...query, sql: `EXPLAIN (FORMAT JSON) ${query.sql}` });
  stats.explained++;
  const estimate = readPlan(result.rows[0]?.[0]);
  plans.delete(key);
  plans.set(key, { ...estimate, at: now });
  if (plans.size > PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value!);
  return estimate;
}

const argValue = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? `${value}n` : value;

interface PlanNode {
  'Plan Rows'?: number;
  'Total Cost'?: number;
  Plans?: PlanNode[];
}

/** The estimate in `EXPLAIN (FORMAT JSON)`'s answer (a JSON text, or parsed by the driver). */
export function readPlan(cell: unknown): PlanEstimate {
  const parsed = typeof cell === 'string' ? JSON.parse(cell) : cell;
  const root = (parsed as { Plan?: PlanNode }[] | undefined)?.[0]?.Plan;
  if (!root) throw new OrmaiError('INTERNAL_ERROR', 'EXPLAIN returned no plan');
  let rows = 0;
  const pending = [root];
  for (let node = pending.pop(); node; node = pending.pop()) {
    rows = Math.max(rows, node['Plan Rows'] ?? 0);
    if (node.Plans) pending.push(...node.Plans);
  }
  return { rows, cost: root['Total Cost'] ?? 0 };
}

interface Over {
  budget: 'max_estimated_rows' | 'max_estimated_cost';
  limit: Limit;
  requested: number;
}

function overBudget(check: PlannerCheck, estimate: PlanEstimate): Over | null {
  if (check.rows && estimate.rows > check.rows.limit) {
    return { budget: 'max_estimated_rows', limit: check.rows, requested: estimate.rows };
  }
  if (check.cost && estimate.cost > check.cost.limit) {
    return {
      budget: 'max_estimated_cost',
      limit: check.cost,
      requested: Math.ceil(estimate.cost),
    };
  }
  return null;
}

function refusal(check: PlannerCheck, over: Over, hint: string): OrmaiError {
  const model = check.model.name;
  const whose = over.limit.model === model ? '' : ` (${over.limit.model}'s budget)`;
  const message =
    over.budget === 'max_estimated_rows'
      ? `the planner expects this ${model} query to read ${over.requested} rows; the limit is ${over.limit.limit}${whose}`
      : `the planner estimates this ${model} query to cost ${over.requested}; the limit is ${over.limit.limit}${whose}`;
  return new OrmaiError('QUERY_BUDGET_EXCEEDED', message, {
    retryable: true,
    hints: [hint],
    details: { budget: over.budget, limit: over.limit.limit, requested: over.requested },
  });
}

/**
 * How to fit: the fields of the operation's model that lead an index once the columns the row
 * scope already fixes (tenant, soft delete, parent keys) are passed, and that the caller's roles
 * may filter on. Indexes are read from the catalog (those made by raw SQL count too), once per table.
 */
async function indexedFilterHint(
  check: PlannerCheck,
  queryRaw: (query: SqlQuery) => Promise<SqlResultSet>,
  cache: Map<string, string[][]>,
): Promise<string> {
  const model = check.model;
  const fallback = `narrow the filter on ${model.name} or ask for fewer rows`;
  const entity = check.datamodel.datamodel.models[model.name];
  if (!entity) return fallback;
  const table = [entity.schema, entity.dbName ?? model.name]
    .filter((part): part is string => !!part)
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
  let columns = cache.get(table);
  if (!columns) {
    try {
      const result = await queryRaw({
        sql: INDEX_COLUMNS,
        args: [table],
        argTypes: [{ scalarType: 'string', arity: 'scalar' }],
      });
      columns = result.rows.map((row) => JSON.parse(String(row[0])) as string[]);
    } catch {
      return fallback;
    }
    cache.set(table, columns);
  }
  const columnOf = new Map(entity.fields.map((field) => [field.dbName ?? field.name, field.name]));
  const fixed = new Set(
    [
      model.tenantField?.name,
      model.softDeleteField ?? undefined,
      ...(model.scopeThrough?.keys.map((key) => key.localField) ?? []),
    ].filter((name): name is string => !!name),
  );
  const names: string[] = [];
  for (const index of columns) {
    const lead = index.map((column) => columnOf.get(column)).find((name) => !fixed.has(name!));
    const field = lead ? model.fields.get(lead) : undefined;
    if (field && isFilterable(field) && !names.includes(field.name)) names.push(field.name);
  }
  if (names.length === 0) return fallback;
  // a key names one row: a list is narrowed better by the other fields
  const isKey = (name: string) => (model.primaryKey.some((key) => key.name === name) ? 1 : 0);
  names.sort((a, b) => isKey(a) - isKey(b));
  return `filter ${model.name} on an indexed field: ${names.slice(0, 3).join(', ')} (or ask for fewer rows)`;
}

// plain indexes first, then unique ones, the primary key last: the first make the best filters
const INDEX_COLUMNS = `SELECT (SELECT json_agg(a.attname ORDER BY k.n)::text
    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns
  FROM pg_index i
  WHERE i.indrelid = to_regclass($1) AND i.indpred IS NULL AND i.indexprs IS NULL
  ORDER BY i.indisprimary, i.indisunique, i.indexrelid`;
