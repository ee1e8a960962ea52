// The property-based leak search: fast-check draws calls a principal may make — root lists with
// filters on values of every tenant (the attack), single rows by keys of every tenant, nested
// relations up to the role's depth, group-bys — over GraphQL and MCP, runs each through the same
// gateway and bridge as the server, and asks findLeaks about the answer. Drawn from the compiled
// policy and the role's schema, so it knows no model by name; a failure is shrunk to a small call.
import {
  type GraphQLField,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
} from 'graphql';
import { quoteIdent } from '../db/database.js';
import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import { runGraphql, runTool, type TestResponse, type TestSource } from './assertions.js';
import { asPrincipal, findLeaks, type Leak, type LeakPrincipal, truthOf } from './leaks.js';

export interface LeakSearchOptions {
  /** Who calls: e.g. `fixture.principals()` (every tenant × role). */
  principals: LeakPrincipal[];
  /** Calls to draw (default 100). */
  runs?: number;
  /** fast-check's seed, to replay a run (default: random, printed in the result). */
  seed?: number;
  /** Surfaces to draw calls on (default both). */
  surfaces?: ('graphql' | 'mcp')[];
  /** Also fail on an INTERNAL_ERROR answer (default true): a crash is no answer to check. */
  failOnInternalError?: boolean;
}

export interface LeakSearchFailure {
  principal: LeakPrincipal;
  response: TestResponse;
  leaks: Leak[];
}

export interface LeakSearchResult {
  runs: number;
  seed: number;
  /** Calls served with an answer (the others drew nothing to run, or were refused). */
  answered: number;
  /** Calls refused, by error code (a refusal is the policy working: no leak). */
  refused: Record<string, number>;
  /** The smallest failing call fast-check found; null when every call was clean. */
  failure: LeakSearchFailure | null;
}

/** One drawn call, as indices resolved against the principal's policy when it runs (so it shrinks). */
interface Plan {
  who: number;
  surface: number;
  shape: 'list' | 'get' | 'group';
  model: number;
  where: { field: number; op: number; value: number }[];
  take: number;
  nest: { relation: number; take: number }[];
  key: number;
}

type FastCheck = typeof import('fast-check');

async function loadFastCheck(): Promise<FastCheck> {
  try {
    const module = (await import('fast-check')) as FastCheck & { default?: FastCheck };
    return module.default ?? module;
  } catch {
    throw new Error('searchForLeaks needs fast-check: npm install --save-dev fast-check');
  }
}

/** Values of a column across every tenant: what an attacker would try in a filter or a key. */
class ValuePool {
  readonly #values = new Map<string, Promise<unknown[]>>();
  constructor(private readonly source: TestSource) {}

  values(model: string, field: CompiledField): Promise<unknown[]> {
    const id = `${model}.${field.name}`;
    let values = this.#values.get(id);
    if (!values) {
      values = this.#load(model, field);
      this.#values.set(id, values);
    }
    return values;
  }

  async #load(model: string, field: CompiledField): Promise<unknown[]> {
    const table = await truthOf(this.source.runtime).table(model);
    const column = table.types.get(field.name);
    if (!column) return [];
    const rows = await this.source.runtime.db.sql.query<{ v: unknown }>(
      `SELECT v FROM (SELECT DISTINCT to_jsonb(t.${quoteIdent(column.column)}) AS v FROM ${table.name} t
         WHERE t.${quoteIdent(column.column)} IS NOT NULL) x ORDER BY md5(v::text) LIMIT 40`,
    );
    return rows.map((row) =>
      asInput(
        field,
        typeof row.v === 'string' && row.v.startsWith('"') ? JSON.parse(row.v) : row.v,
        column.type,
      ),
    );
  }
}

/** A database value as GraphQL and MCP take it. */
function asInput(field: CompiledField, value: unknown, type: string): unknown {
  if (field.type === 'DateTime' && typeof value === 'string') {
    // a timestamp without time zone is UTC to Prisma
    return type.startsWith('timestamp') &&
      !type.endsWith('with time zone') &&
      !/[Z+-]\d*:?\d*$/.test(value.slice(10))
      ? `${value}Z`
      : value;
  }
  if ((field.type === 'Decimal' || field.type === 'BigInt') && typeof value === 'number')
    return String(value);
  return value;
}

const OPS_BY_KIND: Record<string, [mcp: string, graphql: string][]> = {
  text: [
    ['eq', 'equals'],
    ['ne', 'not'],
    ['in', 'in'],
    ['contains', 'contains'],
    ['startswith', 'startsWith'],
  ],
  ordered: [
    ['eq', 'equals'],
    ['ne', 'not'],
    ['lt', 'lt'],
    ['gte', 'gte'],
    ['in', 'in'],
  ],
  plain: [
    ['eq', 'equals'],
    ['ne', 'not'],
    ['in', 'in'],
  ],
};

function opsFor(field: CompiledField) {
  if (field.kind === 'enum' || field.type === 'Boolean' || field.uuid) return OPS_BY_KIND.plain!;
  if (field.type === 'String') return OPS_BY_KIND.text!;
  return OPS_BY_KIND.ordered!;
}

/** Fields a role may filter on: plain single values, no Json or Bytes. */
const filterable = (model: CompiledModel) =>
  [...model.fields.values()].filter(
    (field) =>
      !field.redaction &&
      !field.byRole &&
      !field.list &&
      field.type !== 'Json' &&
      field.type !== 'Bytes',
  );

const pick = <T>(items: readonly T[], index: number): T | undefined =>
  items.length ? items[index % items.length] : undefined;

/** The root fields of a model in a role's schema, found by their types (whatever the naming). */
function rootFields(schema: GraphQLSchema, model: string) {
  const fields = Object.values(schema.getQueryType()?.getFields() ?? {});
  const named = (field: GraphQLField<unknown, unknown>) => getNamedType(field.type).name;
  return {
    list: fields.find((field) => named(field) === `${model}Connection`),
    single: fields.find(
      (field) => named(field) === model && !isListType(field.type) && field.args.length > 0,
    ),
    group: fields.find((field) => named(field) === `${model}Group`),
  };
}

/** A selection of a model's readable scalars, and nested relations down the plan's chain. */
function selection(
  policy: CompiledPolicy,
  model: CompiledModel,
  nest: Plan['nest'],
  maxDepth: number,
  maxTake: number,
): string {
  const scalars = [...model.fields.keys()];
  const [next, ...rest] = nest;
  if (!next || maxDepth <= 0) return scalars.join(' ');
  const relations = [...model.relations.values()].filter((relation) =>
    policy.models.has(relation.target),
  );
  const relation = pick(relations, next.relation);
  if (!relation) return scalars.join(' ');
  const target = policy.models.get(relation.target)!;
  const args = relation.list ? `(first: ${1 + (next.take % maxTake)})` : '';
  return `${scalars.join(' ')} ${relation.name}${args} { ${selection(policy, target, rest, maxDepth - 1, maxTake)} }`;
}

async function runPlan(
  source: TestSource,
  principals: LeakPrincipal[],
  surfaces: ('graphql' | 'mcp')[],
  pool: ValuePool,
  plan: Plan,
): Promise<TestResponse | null> {
  const principal = pick(principals, plan.who)!;
  const who = asPrincipal(principal);
  const policy = source.gateway.policyFor(who);
  const surface = pick(surfaces, plan.surface)!;
  const models = [...policy.models.values()].sort((a, b) => a.name.localeCompare(b.name));
  const model = pick(models, plan.model);
  if (!model) return null;
  const { maxTake, maxIncludeDepth } = policy.budgets;
  const take = 1 + (plan.take % maxTake);
  const fields = filterable(model);
  const conditions: { field: CompiledField; ops: [string, string]; value: unknown }[] = [];
  for (const drawn of plan.where) {
    const field = pick(fields, drawn.field);
    if (!field) break;
    const values = await pool.values(model.name, field);
    const value = pick(values, drawn.value);
    if (value === undefined) continue;
    const ops = pick(opsFor(field), drawn.op)!;
    conditions.push({ field, ops, value: ops[0] === 'in' ? [value] : value });
  }

  if (surface === 'mcp') {
    if (plan.shape === 'get' && model.idField) {
      const ids = await pool.values(model.name, model.idField);
      const id = pick(ids, plan.key);
      if (id === undefined) return null;
      return runTool(source, principal, 'db.get', { model: model.name, id });
    }
    if (plan.shape === 'group' && fields.length > 0) {
      const by = pick(fields, plan.key)!;
      return runTool(source, principal, 'db.aggregate', {
        model: model.name,
        operation: 'count',
        group_by: [by.name],
        where: conditions.map((c) => ({ field: c.field.name, op: c.ops[0], value: c.value })),
      });
    }
    const relations = [...model.relations.values()].filter((relation) =>
      policy.models.has(relation.target),
    );
    const include = plan.nest.slice(0, maxIncludeDepth > 0 ? 1 : 0).flatMap((nest) => {
      const relation = pick(relations, nest.relation);
      return relation
        ? [
            {
              relation: relation.name,
              ...(relation.list ? { take: 1 + (nest.take % maxTake) } : {}),
            },
          ]
        : [];
    });
    return runTool(source, principal, 'db.query', {
      model: model.name,
      where: conditions.map((c) => ({ field: c.field.name, op: c.ops[0], value: c.value })),
      take,
      ...(include.length ? { include } : {}),
    });
  }

  const schema = source.gateway.schemaFor(who);
  const roots = rootFields(schema, model.name);
  const select = selection(policy, model, plan.nest, maxIncludeDepth, maxTake);
  if (plan.shape === 'get' && roots.single) {
    const variables: Record<string, unknown> = {};
    const declarations: string[] = [];
    for (const arg of roots.single.args) {
      const field = model.fields.get(arg.name);
      const values = field ? await pool.values(model.name, field) : [];
      const value = pick(values, plan.key);
      if (value === undefined) return null;
      variables[arg.name] = value;
      declarations.push(`$${arg.name}: ${String(arg.type)}`);
    }
    const args = roots.single.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
    return runGraphql(
      source,
      principal,
      `query Get(${declarations.join(', ')}) { ${roots.single.name}(${args}) { ${select} } }`,
      variables,
    );
  }
  const where = conditions.length
    ? { AND: conditions.map((c) => ({ [c.field.name]: { [c.ops[1]]: c.value } })) }
    : null;
  if (plan.shape === 'group' && roots.group) {
    const byArg = roots.group.args.find((arg) => arg.name === 'by');
    const byType = byArg && getNamedType(byArg.type);
    const options = isEnumType(byType) ? byType.getValues().map((value) => value.name) : [];
    const by = pick(options, plan.key);
    if (by) {
      return runGraphql(
        source,
        principal,
        `query Group($where: ${model.name}WhereInput, $first: Int) { ${roots.group.name}(by: [${by}], where: $where, first: $first) { key { ${by} } count } }`,
        { where, first: take },
      );
    }
  }
  if (!roots.list) return null;
  const needsWhere = roots.list.args.some((arg) => arg.name === 'where' && isNonNullType(arg.type));
  return runGraphql(
    source,
    principal,
    `query List($where: ${model.name}WhereInput${needsWhere ? '!' : ''}, $first: Int) { ${roots.list.name}(where: $where, first: $first) { nodes { ${select} } } }`,
    { where: where ?? (needsWhere ? {} : null), first: take },
  );
}

/**
 * Draws `runs` calls (GraphQL and MCP) for the given principals and checks every answer with
 * findLeaks. Resolves with the smallest failing call, or `failure: null`. Needs fast-check.
 */
export async function searchForLeaks(
  source: TestSource,
  options: LeakSearchOptions,
): Promise<LeakSearchResult> {
  if (options.principals.length === 0) throw new TypeError('searchForLeaks needs principals');
  const fc = await loadFastCheck();
  const surfaces = options.surfaces ?? ['graphql', 'mcp'];
  const failOnInternalError = options.failOnInternalError ?? true;
  const pool = new ValuePool(source);
  const planArb = fc.record({
    who: fc.nat(),
    surface: fc.nat(),
    shape: fc.constantFrom('list' as const, 'get' as const, 'group' as const),
    model: fc.nat(),
    where: fc.array(fc.record({ field: fc.nat(), op: fc.nat(), value: fc.nat() }), {
      maxLength: 3,
    }),
    take: fc.nat(),
    nest: fc.array(fc.record({ relation: fc.nat(), take: fc.nat() }), { maxLength: 3 }),
    key: fc.nat(),
  });
  let last: LeakSearchFailure | null = null;
  let answered = 0;
  const refused: Record<string, number> = {};
  const check = async (plan: Plan) => {
    const response = await runPlan(source, options.principals, surfaces, pool, plan);
    if (!response) return true;
    const code = response.errors[0]?.code;
    if (code) refused[code] = (refused[code] ?? 0) + 1;
    else answered += 1;
    const leaks = await findLeaks(source, response.principal, response.call);
    const crashed = failOnInternalError
      ? response.errors.filter((error) => error.code === 'INTERNAL_ERROR')
      : [];
    for (const error of crashed) {
      leaks.push({
        kind: 'budget',
        model: null,
        path: '',
        message: `INTERNAL_ERROR: ${error.message}`,
      });
    }
    if (leaks.length === 0) return true;
    last = { principal: response.principal, response, leaks };
    return false;
  };
  const runs = options.runs ?? 100;
  const details = await fc.check(fc.asyncProperty(planArb, check), {
    numRuns: runs,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  let failure: LeakSearchFailure | null = null;
  if (details.failed && details.counterexample) {
    // the shrunk call, run once more so the failure reported is the smallest one
    await check(details.counterexample[0] as Plan);
    failure = last;
    if (!failure && details.errorInstance) throw details.errorInstance;
  }
  return { runs: details.numRuns, seed: details.seed, answered, refused, failure };
}
