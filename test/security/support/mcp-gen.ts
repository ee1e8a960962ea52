// Random MCP tool calls (db.query, db.get, db.aggregate, db.describe_schema) a principal may make,
// faults mixed into them with the error codes the contract gives, and the result SQL says each
// call must get.
import fc from 'fast-check';
import { baseValue, FilterArbitraries, someOf, type Where } from './filters.js';
import { Approx, CURSOR, DEFAULT_TAKE, numericFields } from './graphql-gen.js';
import {
  access,
  canRead,
  expectedValue,
  filterableFields,
  MODEL_NAMES,
  MODELS,
  type ModelName,
  type Principal,
  protectedFields,
  readableModels,
  relation as relationOf,
  relationsOf,
  selectableFields,
} from './spec.js';
import {
  childIds,
  listIds,
  type OrderBy,
  SqlBuilder,
  scopeSql,
  type Truth,
  whereSql,
} from './truth.js';

export interface Condition {
  field: string;
  op: string;
  value?: unknown;
}
export interface Include {
  relation: string;
  select?: string[];
  where?: Condition[];
  take?: number;
}
export type ToolCall =
  | {
      tool: 'db.query';
      args: {
        model: string;
        select?: string[];
        where?: Condition[];
        order_by?: { field: string; direction?: string }[];
        take?: number;
        cursor?: string;
        include?: Include[];
      };
    }
  | { tool: 'db.get'; args: { model: string; id: unknown; select?: string[]; include?: Include[] } }
  | {
      tool: 'db.aggregate';
      args: {
        model: string;
        operation: string;
        field?: string;
        where?: Condition[];
        group_by?: string[];
      };
    }
  | { tool: 'db.describe_schema'; args: { model?: string } };

const OPS = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'not_in',
  'is_null',
  'contains',
  'startswith',
  'endswith',
  'between',
];
const STRING_OPS = new Set(['contains', 'startswith', 'endswith']);

/** OrmAI's conditions as the GraphQL where the bridge sends (all conditions ANDed). */
export function conditionsWhere(conditions: Condition[] | undefined): Where | null {
  if (!conditions?.length) return null;
  const parts = conditions.map(({ field, op, value }): Where => {
    switch (op) {
      case 'between':
        return { [field]: { gte: (value as unknown[])[0], lte: (value as unknown[])[1] } };
      case 'is_null':
        return { [field]: { isNull: value ?? true } };
      default:
        return {
          [field]: {
            [{
              eq: 'equals',
              ne: 'not',
              in: 'in',
              not_in: 'notIn',
              contains: 'contains',
              startswith: 'startsWith',
              endswith: 'endsWith',
            }[op] ?? op]: value,
          },
        };
    }
  });
  return parts.length === 1 ? parts[0]! : { AND: parts };
}

export const orderByOf = (order?: { field: string; direction?: string }[]): OrderBy | null =>
  order?.length
    ? order.map(({ field, direction }) => ({
        [field]: (direction ?? 'asc').toUpperCase() as 'ASC' | 'DESC',
      }))
    : null;

export class McpArbitraries {
  readonly filters: FilterArbitraries;

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {
    this.filters = new FilterArbitraries(truth, principal);
  }

  /** One condition a role may use, with a value of the field's type. */
  condition(model: ModelName): fc.Arbitrary<Condition> {
    const fields = filterableFields(this.principal.role, model);
    return fc.constantFrom(...fields).chain((field) => {
      const type = MODELS[model].fields[field]!.type;
      const ops = OPS.filter(
        (op) =>
          (type === 'String' || !STRING_OPS.has(op)) &&
          (type !== 'Boolean' || ['eq', 'ne', 'is_null'].includes(op)),
      );
      // the tenant column may be compared, as long as no other tenant is named
      const tenant = field === MODELS[model].tenantField;
      const sample = (op: string): fc.Arbitrary<unknown> =>
        tenant
          ? op === 'ne' || op === 'not_in'
            ? fc.integer({ min: 0, max: 4 })
            : op === 'eq' || op === 'in'
              ? fc.constant(this.principal.tenantId)
              : fc.integer({ min: 0, max: 4 })
          : baseValue(this.truth, model, field);
      return fc.constantFrom(...ops).chain((op): fc.Arbitrary<Condition> => {
        if (op === 'is_null')
          return fc
            .option(fc.boolean(), { nil: undefined })
            .map((value) => (value === undefined ? { field, op } : { field, op, value }));
        if (op === 'in' || op === 'not_in')
          return fc.array(sample(op), { maxLength: 4 }).map((value) => ({ field, op, value }));
        if (op === 'between')
          return fc.tuple(sample(op), sample(op)).map((value) => ({ field, op, value }));
        if (type === 'Boolean') return fc.boolean().map((value) => ({ field, op, value }));
        return sample(op).map((value) => ({ field, op, value }));
      });
    });
  }

  conditions(model: ModelName) {
    return fc.option(fc.array(this.condition(model), { maxLength: 3 }), { nil: undefined });
  }

  select(model: ModelName) {
    return fc.option(someOf(selectableFields(this.principal.role, model), 1, 5), {
      nil: undefined,
    });
  }

  include(model: ModelName): fc.Arbitrary<Include[] | undefined> {
    const relations = relationsOf(this.principal.role, model);
    return fc.option(
      someOf(relations, 1, 2).chain((chosen) =>
        fc.tuple(
          ...chosen.map((rel) =>
            (rel.list
              ? fc.record({
                  select: this.select(rel.target),
                  where: this.conditions(rel.target),
                  take: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
                })
              : fc.record({ select: this.select(rel.target) })
            ).map((spec) => ({ relation: rel.name, ...withoutUndefined(spec) }) as Include),
          ),
        ),
      ),
      { nil: undefined },
    );
  }

  call(): fc.Arbitrary<ToolCall> {
    const models = readableModels(this.principal.role);
    const query = fc.constantFrom(...models).chain((model) =>
      fc
        .record({
          select: this.select(model),
          where: this.conditions(model),
          order_by: fc.option(
            fc.array(
              fc.record({
                field: fc.constantFrom(...filterableFields(this.principal.role, model)),
                direction: fc.constantFrom('asc', 'desc', 'ASC', 'Desc'),
              }),
              { maxLength: 2 },
            ),
            { nil: undefined },
          ),
          take: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
          include: this.include(model),
        })
        .map(
          (args): ToolCall => ({ tool: 'db.query', args: { model, ...withoutUndefined(args) } }),
        ),
    );
    const get = fc.constantFrom(...models).chain((model) => {
      const ids = [...this.truth.rows.get(model)!.keys()];
      return fc
        .record({
          id: fc.oneof(
            { weight: 5, arbitrary: fc.constantFrom(...ids) },
            { weight: 1, arbitrary: fc.integer({ min: -3, max: 50_000 }) },
          ),
          select: this.select(model),
          include: this.include(model),
        })
        .map(
          ({ id, ...rest }): ToolCall => ({
            tool: 'db.get',
            // the tenant itself by another id is a scope violation (a fault below)
            args: {
              model,
              id: model === 'Tenant' ? this.principal.tenantId : id,
              ...withoutUndefined(rest),
            },
          }),
        );
    });
    const aggregate = fc.constantFrom(...models).chain((model) => {
      const numeric = numericFields(this.principal, model);
      return fc
        .record({
          operation: fc.constantFrom('count', 'sum', 'avg', 'min', 'max'),
          field: fc.constantFrom(...numeric),
          where: this.conditions(model),
          group_by: fc.option(someOf(filterableFields(this.principal.role, model), 1, 2), {
            nil: undefined,
          }),
        })
        .map(
          ({ operation, field, ...rest }): ToolCall => ({
            tool: 'db.aggregate',
            args: {
              model,
              operation,
              ...(operation === 'count' ? {} : { field }),
              ...withoutUndefined(rest),
            },
          }),
        );
    });
    const describe = fc.option(fc.constantFrom(...models), { nil: undefined }).map(
      (model): ToolCall => ({
        tool: 'db.describe_schema',
        args: model ? { model } : {},
      }),
    );
    return fc.oneof(
      { weight: 6, arbitrary: query },
      { weight: 2, arbitrary: get },
      { weight: 3, arbitrary: aggregate },
      { weight: 1, arbitrary: describe },
    );
  }
}

function withoutUndefined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(record).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}

export const MCP_FAULTS = [
  'unknownModel',
  'hiddenModel',
  'protectedWhere',
  'deniedSelect',
  'protectedOrder',
  'protectedGroup',
  'unknownOp',
  'prototypeOp',
  'betweenOne',
  'inScalar',
  'isNullString',
  'takeZero',
  'takeHuge',
  'badCursor',
  'badRelation',
  'toOneWhere',
  'otherTenant',
  'otherTenantGet',
  'wrongValueType',
  'sumWithoutField',
  'sumOfText',
  'badDirection',
  'badArgumentType',
] as const;
export type McpFault = (typeof MCP_FAULTS)[number];

/** Turns a valid call into one with `fault`, and the codes its error may carry. */
export function mcpFault(
  fault: McpFault,
  principal: Principal,
  random: () => number,
): { call: ToolCall; codes: string[] } | null {
  const role = principal.role;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const models = readableModels(role);
  const model = pick(models);
  const other = pick([1, 2, 3].filter((t) => t !== principal.tenantId));
  const query = (args: Record<string, unknown>): ToolCall =>
    ({ tool: 'db.query', args: { model, ...args } }) as ToolCall;
  const protectedChoice = () => {
    const choices = models.flatMap((m) => protectedFields(role, m).map((f) => [m, f] as const));
    return pick(choices);
  };
  switch (fault) {
    case 'unknownModel':
      return {
        call: query({
          model: pick(['Nope', 'user', 'ormai_audit_log', '_prisma_migrations', '', 'Order; DROP']),
        }),
        codes: ['MODEL_NOT_ALLOWED'],
      };
    case 'hiddenModel': {
      const hidden = MODEL_NAMES.filter((m) => !canRead(role, m));
      if (hidden.length === 0) return null;
      const name = pick(hidden);
      return {
        call: pick<ToolCall>([
          { tool: 'db.query', args: { model: name } },
          { tool: 'db.get', args: { model: name, id: 1 } },
          { tool: 'db.aggregate', args: { model: name, operation: 'count' } },
        ]),
        codes: ['MODEL_NOT_ALLOWED'],
      };
    }
    case 'protectedWhere': {
      const [m, field] = protectedChoice();
      return {
        call: { tool: 'db.query', args: { model: m, where: [{ field, op: 'eq', value: 'x' }] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'deniedSelect': {
      const choices = models.flatMap((m) =>
        protectedFields(role, m)
          .filter((f) => access(role, m, f).kind === 'deny')
          .map((f) => [m, f] as const),
      );
      const [m, field] = pick(choices);
      return {
        call: { tool: 'db.query', args: { model: m, select: ['id', field] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'protectedOrder': {
      const [m, field] = protectedChoice();
      return {
        call: { tool: 'db.query', args: { model: m, order_by: [{ field, direction: 'asc' }] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'protectedGroup': {
      const [m, field] = protectedChoice();
      return {
        call: { tool: 'db.aggregate', args: { model: m, operation: 'count', group_by: [field] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'unknownOp':
      return {
        call: query({
          where: [{ field: 'id', op: pick(['like', 'EQ', '=', '', 'regex', 'ilike']), value: 1 }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'prototypeOp':
      return {
        call: query({
          where: [
            {
              field: 'id',
              op: pick(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']),
              value: 1,
            },
          ],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'betweenOne':
      return {
        call: query({
          where: [{ field: 'id', op: 'between', value: pick([[1], [1, 2, 3], 5, [null, 3], []]) }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'inScalar':
      return {
        call: query({
          where: [
            { field: 'id', op: pick(['in', 'not_in']), value: pick([1, 'a', { a: 1 }, null]) },
          ],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'isNullString':
      return {
        call: query({
          where: [{ field: 'id', op: 'is_null', value: pick(['yes', 1, 'true', []]) }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'takeZero':
      return { call: query({ take: pick([0, -1, -1000]) }), codes: ['VALIDATION_ERROR'] };
    case 'takeHuge':
      return {
        call: query({ take: pick([101, 500, 1_000_000]) }),
        codes: ['QUERY_BUDGET_EXCEEDED'],
      };
    case 'badCursor':
      return {
        call: query({ cursor: pick(['x', 'a.b', 'eyJ9.AAAA', '🙂', 'A'.repeat(3000)]) }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'badRelation':
      return {
        call: query({
          include: [
            { relation: pick(['nope', 'salesRep_', 'passwordHash', '__proto__', 'constructor']) },
          ],
        }),
        codes: ['RELATION_NOT_ALLOWED'],
      };
    case 'toOneWhere': {
      const withOne = models.filter((m) => relationsOf(role, m).some((r) => !r.list));
      const m = pick(withOne);
      const rel = pick(relationsOf(role, m).filter((r) => !r.list));
      return {
        call: {
          tool: 'db.query',
          args: {
            model: m,
            include: [{ relation: rel.name, where: [{ field: 'id', op: 'eq', value: 1 }] }],
          },
        },
        codes: ['VALIDATION_ERROR'],
      };
    }
    case 'otherTenant': {
      const field = MODELS[model].tenantField;
      return {
        call: query({
          where: [
            pick([
              { field, op: 'eq', value: other },
              { field, op: 'in', value: [principal.tenantId, other] },
            ]),
          ],
        }),
        codes: ['TENANT_SCOPE_VIOLATION'],
      };
    }
    case 'otherTenantGet':
      return {
        call: { tool: 'db.get', args: { model: 'Tenant', id: pick([other, 0, 99, -1]) } },
        codes: ['TENANT_SCOPE_VIOLATION'],
      };
    case 'wrongValueType':
      return {
        call: query({
          where: [
            pick([
              { field: 'id', op: 'eq', value: 'abc' },
              { field: 'id', op: 'gt', value: { $gt: 1 } },
              { field: 'id', op: 'eq', value: 2 ** 40 },
              { field: 'id', op: 'eq', value: 1.5 },
              { field: 'id', op: 'in', value: ['1', 2] },
            ]),
          ],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'sumWithoutField':
      return {
        call: {
          tool: 'db.aggregate',
          args: { model, operation: pick(['sum', 'avg', 'min', 'max']) },
        },
        codes: ['VALIDATION_ERROR'],
      };
    case 'sumOfText': {
      const texts = models.flatMap((m) =>
        filterableFields(role, m)
          .filter((f) => MODELS[m].fields[f]!.type !== 'Int')
          .map((f) => [m, f] as const),
      );
      const [m, field] = pick(texts);
      return {
        call: { tool: 'db.aggregate', args: { model: m, operation: 'sum', field } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'badDirection':
      return {
        call: query({
          order_by: [{ field: 'id', direction: pick(['up', 'DESCENDING', '', '1']) }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'badArgumentType':
      return {
        call: pick<ToolCall>([
          { tool: 'db.query', args: { model, take: '10' } } as never,
          { tool: 'db.query', args: { model, where: { field: 'id' } } } as never,
          { tool: 'db.query', args: { model, select: 'id' } } as never,
          { tool: 'db.query', args: { model: 42 } } as never,
          { tool: 'db.get', args: { model } } as never,
          { tool: 'db.get', args: { model, id: { $ne: null } } } as never,
          { tool: 'db.aggregate', args: { model } } as never,
          { tool: 'db.aggregate', args: { model, operation: 'median' } },
          { tool: 'db.query', args: { model, include: [{}] } } as never,
          { tool: 'db.query', args: { model, where: [null] } } as never,
          { tool: 'db.query', args: { model, order_by: [null] } } as never,
        ]),
        codes: [
          'VALIDATION_ERROR',
          'RELATION_NOT_ALLOWED',
          'MODEL_NOT_ALLOWED',
          'FIELD_NOT_ALLOWED',
        ],
      };
  }
}

export const mcpFaultArb: fc.Arbitrary<McpFault | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(...MCP_FAULTS) },
);

/** The structured result SQL says a call must get. */
export async function expectedResult(
  truth: Truth,
  principal: Principal,
  call: ToolCall,
  page: number,
): Promise<unknown> {
  const role = principal.role;
  const object = async (
    model: ModelName,
    ids: number[],
    select?: string[],
    include?: Include[],
  ) => {
    const fields = select?.length ? [...new Set(select)] : selectableFields(role, model);
    const nested = new Map<string, Map<number, unknown>>();
    for (const spec of include ?? []) {
      const rel = relationOf(model, spec.relation)!;
      const targetFields = spec.select?.length
        ? [...new Set(spec.select)]
        : selectableFields(role, rel.target);
      const shape = (id: number) => {
        const row = truth.row(rel.target, id)!;
        return Object.fromEntries(
          targetFields.map((f) => [f, expectedValue(role, rel.target, f, row[f])]),
        );
      };
      if (rel.list) {
        const children = await childIds(
          truth,
          model,
          rel.name,
          ids,
          principal,
          conditionsWhere(spec.where),
          null,
          spec.take ?? DEFAULT_TAKE,
        );
        nested.set(spec.relation, new Map(ids.map((id) => [id, children.get(id)!.map(shape)])));
      } else {
        nested.set(
          spec.relation,
          new Map(
            ids.map((id) => {
              const key = truth.row(model, id)![rel.localField];
              const target = key === null ? undefined : truth.row(rel.target, Number(key));
              return [id, truth.visible(rel.target, target, principal) ? shape(Number(key)) : null];
            }),
          ),
        );
      }
    }
    return ids.map((id) => {
      const row = truth.row(model, id)!;
      const result: Record<string, unknown> = Object.fromEntries(
        fields.map((f) => [f, expectedValue(role, model, f, row[f])]),
      );
      for (const spec of include ?? []) result[spec.relation] = nested.get(spec.relation)!.get(id);
      return result;
    });
  };

  switch (call.tool) {
    case 'db.query': {
      const { args } = call;
      const model = args.model as ModelName;
      const all = await listIds(
        truth,
        model,
        principal,
        conditionsWhere(args.where),
        orderByOf(args.order_by),
      );
      const take = args.take ?? DEFAULT_TAKE;
      const ids = all.slice(page * take, (page + 1) * take);
      const more = all.length > (page + 1) * take;
      return {
        data: await object(model, ids, args.select, args.include),
        next_cursor: more ? CURSOR : null,
        has_more: more,
        total_count: all.length,
      };
    }
    case 'db.get': {
      const { args } = call;
      const model = args.model as ModelName;
      const row = truth.row(model, Number(args.id));
      if (!truth.visible(model, row, principal)) return { data: null, found: false };
      const [data] = await object(model, [Number(args.id)], args.select, args.include);
      return { data, found: true };
    }
    case 'db.aggregate':
      return aggregateResult(truth, principal, call.args);
    case 'db.describe_schema':
      return undefined;
  }
}

async function aggregateResult(
  truth: Truth,
  principal: Principal,
  args: Extract<ToolCall, { tool: 'db.aggregate' }>['args'],
) {
  const model = args.model as ModelName;
  const b = new SqlBuilder();
  const alias = b.alias();
  const column = args.field ? `${alias}."${args.field}"` : null;
  const measure =
    args.operation === 'count'
      ? 'count(*)::int'
      : args.operation === 'avg'
        ? `avg(${column})::float8`
        : args.operation === 'sum'
          ? `sum(${column})::float8`
          : `${args.operation}(${column})`;
  const keys = (args.group_by ?? []).map((field) => `${alias}."${field}"`);
  const select = [
    ...keys.map((key, i) => {
      const field = args.group_by![i]!;
      return MODELS[model].fields[field]!.type === 'DateTime'
        ? `to_char(${key}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "k${i}"`
        : `${key} AS "k${i}"`;
    }),
    `${measure} AS value`,
    'count(*)::int AS n',
  ];
  const text = `SELECT ${select.join(', ')} FROM "${model}" ${alias}
    WHERE ${scopeSql(model, alias, principal, b)} AND ${whereSql(model, conditionsWhere(args.where), alias, principal, b)}
    ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.map((k) => `${k} ASC`).join(', ')} LIMIT 100` : ''}`;
  const rows = await truth.sql<Record<string, unknown>>(text, b.params);
  const value = (row: Record<string, unknown>) => {
    const v = row.value;
    if (v === null || v === undefined) return null;
    return args.operation === 'avg' ? new Approx(Number(v)) : Number(v);
  };
  if (keys.length) {
    return {
      groups: rows.map((row) => ({
        key: Object.fromEntries(args.group_by!.map((field, i) => [field, row[`k${i}`] ?? null])),
        value: value(row),
      })),
      operation: args.operation,
      field: args.field ?? null,
    };
  }
  const row = rows[0]!;
  return {
    value: value(row),
    operation: args.operation,
    field: args.field ?? null,
    row_count: row.n,
  };
}
