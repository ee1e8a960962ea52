// Random MCP tool calls (db.query, db.get, db.aggregate, db.describe_schema) a principal may make,
// faults mixed into them with the error codes the contract gives, and the result SQL says each
// call must get.
import fc from 'fast-check';
import { NUMERIC_TYPES, type Principal, quote } from './app-model.js';
import { otherTenants } from './faults.js';
import { baseValue, FilterArbitraries, filterOps, someOf, type Where } from './filters.js';
import { CURSOR } from './graphql-gen.js';
import {
  childKeys,
  listKeys,
  measureSql,
  measureValue,
  type OrderBy,
  type Row,
  readExpr,
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
        include_total?: boolean;
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

/** The MCP operators a field takes: those whose GraphQL operator its where input offers. */
export function mcpOps(ops: string[]): string[] {
  const graphql: Record<string, string[]> = {
    eq: ['equals'],
    ne: ['not'],
    lt: ['lt'],
    lte: ['lte'],
    gt: ['gt'],
    gte: ['gte'],
    in: ['in'],
    not_in: ['notIn'],
    is_null: ['isNull'],
    contains: ['contains'],
    startswith: ['startsWith'],
    endswith: ['endsWith'],
    between: ['gte', 'lte'],
  };
  return OPS.filter((op) => graphql[op]!.every((needed) => ops.includes(needed)));
}

export class McpArbitraries {
  readonly filters: FilterArbitraries;

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {
    this.filters = new FilterArbitraries(truth, principal);
  }

  get app() {
    return this.truth.model;
  }

  /** One condition a role may use, with a value of the field's type. */
  condition(model: string): fc.Arbitrary<Condition> {
    const fields = this.app.filterableFields(this.principal.role, model);
    return fc.constantFrom(...fields).chain((field) => {
      const info = this.app.field(model, field);
      const ops = mcpOps(filterOps(info));
      // the tenant column may be compared, as long as no other tenant is named
      const tenant = field === this.app.model(model).tenantField;
      const sample = (op: string): fc.Arbitrary<unknown> =>
        tenant
          ? op === 'eq' || op === 'in'
            ? fc.constant(this.principal.tenantId)
            : fc.constantFrom(...this.truth.tenants)
          : baseValue(this.truth, model, field, STRING_OPS.has(op) ? 'contains' : 'equals');
      return fc.constantFrom(...ops).chain((op): fc.Arbitrary<Condition> => {
        if (op === 'is_null')
          return fc
            .option(fc.boolean(), { nil: undefined })
            .map((value) => (value === undefined ? { field, op } : { field, op, value }));
        if (op === 'in' || op === 'not_in')
          return fc.array(sample(op), { maxLength: 4 }).map((value) => ({ field, op, value }));
        if (op === 'between')
          return fc.tuple(sample(op), sample(op)).map((value) => ({ field, op, value }));
        if (info.type === 'Boolean') return fc.boolean().map((value) => ({ field, op, value }));
        return sample(op).map((value) => ({ field, op, value }));
      });
    });
  }

  conditions(model: string) {
    if (this.app.filterableFields(this.principal.role, model).length === 0)
      return fc.constant(undefined);
    return fc.option(fc.array(this.condition(model), { maxLength: 3 }), { nil: undefined });
  }

  select(model: string) {
    return fc.option(someOf(this.app.selectableFields(this.principal.role, model), 1, 5), {
      nil: undefined,
    });
  }

  include(model: string): fc.Arbitrary<Include[] | undefined> {
    const relations = this.app.relationsOf(this.principal.role, model);
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

  /** db.get's id: the key's value, or an object of the key fields for a compound key. */
  id(model: string): fc.Arbitrary<unknown> {
    const info = this.app.model(model);
    const root = this.app.tenantRoot();
    // the tenant itself by another id is a scope violation (a fault below)
    if (root?.name === model) return fc.constant(this.principal.tenantId);
    const keys = this.truth.keysNamingTenant(model, this.principal.tenantId);
    const toId = (values: Row) => (info.key.length === 1 ? values[info.key[0]!] : values);
    const made = info.key.map((name) => {
      const field = info.fields.get(name)!;
      if (name === info.tenantField) return fc.constant(this.principal.tenantId as unknown);
      if (field.type === 'Int')
        return fc.integer({ min: -3, max: 50_000 }) as fc.Arbitrary<unknown>;
      if (field.type === 'BigInt') return fc.bigInt({ min: 0n, max: 2n ** 62n }).map(String);
      return fc.uuid() as fc.Arbitrary<unknown>;
    });
    return fc.oneof(
      {
        weight: 5,
        arbitrary: fc.constantFrom(...keys).map((key) => toId(this.truth.keyValues(model, key))),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(...made)
          .map((values) => toId(Object.fromEntries(info.key.map((name, i) => [name, values[i]])))),
      },
    );
  }

  call(): fc.Arbitrary<ToolCall> {
    const role = this.principal.role;
    const models = this.app.readableModels(role);
    const query = fc.constantFrom(...models).chain((model) => {
      const sortable = this.app.filterableFields(role, model);
      return fc
        .record({
          select: this.select(model),
          where: this.conditions(model),
          order_by: sortable.length
            ? fc.option(
                fc.array(
                  fc.record({
                    field: fc.constantFrom(...sortable),
                    direction: fc.constantFrom('asc', 'desc', 'ASC', 'Desc'),
                  }),
                  { maxLength: 2 },
                ),
                { nil: undefined },
              )
            : fc.constant(undefined),
          take: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
          include: this.include(model),
          // the total is a COUNT of its own: scoped like the rows, checked when asked
          include_total: fc.option(fc.boolean(), { nil: undefined }),
        })
        .map(
          (args): ToolCall => ({ tool: 'db.query', args: { model, ...withoutUndefined(args) } }),
        );
    });
    const get = fc.constantFrom(...models).chain((model) =>
      fc
        .record({
          id: this.id(model),
          select: this.select(model),
          include: this.include(model),
        })
        .map(
          ({ id, ...rest }): ToolCall => ({
            tool: 'db.get',
            args: { model, id, ...withoutUndefined(rest) },
          }),
        ),
    );
    const aggregate = fc.constantFrom(...models).chain((model) => {
      const numeric = this.app.numericFields(role, model);
      const groupable = this.app.filterableFields(role, model);
      return fc
        .record({
          operation: numeric.length
            ? fc.constantFrom('count', 'sum', 'avg', 'min', 'max')
            : fc.constant('count'),
          field: numeric.length ? fc.constantFrom(...numeric) : fc.constant(undefined),
          where: this.conditions(model),
          group_by: groupable.length
            ? fc.option(someOf(groupable, 1, 2), { nil: undefined })
            : fc.constant(undefined),
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
  truth: Truth,
  fault: McpFault,
  principal: Principal,
  random: () => number,
): { call: ToolCall; codes: string[] } | null {
  const app = truth.model;
  const role = principal.role;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  // faults on a field need a model with something to filter on
  const models = app.readableModels(role).filter((m) => app.filterableFields(role, m).length > 0);
  const model = pick(models);
  const field = app.filterableFields(role, model)[0]!;
  const other = pick(otherTenants(truth, principal));
  const query = (args: Record<string, unknown>): ToolCall =>
    ({ tool: 'db.query', args: { model, ...args } }) as ToolCall;
  const protectedChoice = () => {
    const choices = models.flatMap((m) => app.protectedFields(role, m).map((f) => [m, f] as const));
    return choices.length ? pick(choices) : null;
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
      const hidden = [...app.models.keys()].filter((m) => !app.canRead(role, m));
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
      const choice = protectedChoice();
      if (!choice) return null;
      const [m, field] = choice;
      return {
        call: { tool: 'db.query', args: { model: m, where: [{ field, op: 'eq', value: 'x' }] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'deniedSelect': {
      const choices = models.flatMap((m) =>
        app
          .protectedFields(role, m)
          .filter((f) => app.access(role, m, f).kind === 'deny')
          .map((f) => [m, f] as const),
      );
      if (choices.length === 0) return null;
      const [m, denied] = pick(choices);
      return {
        call: {
          tool: 'db.query',
          args: { model: m, select: [app.selectableFields(role, m)[0]!, denied] },
        },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'protectedOrder': {
      const choice = protectedChoice();
      if (!choice) return null;
      const [m, field] = choice;
      return {
        call: { tool: 'db.query', args: { model: m, order_by: [{ field, direction: 'asc' }] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'protectedGroup': {
      const choice = protectedChoice();
      if (!choice) return null;
      const [m, field] = choice;
      return {
        call: { tool: 'db.aggregate', args: { model: m, operation: 'count', group_by: [field] } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'unknownOp':
      return {
        call: query({
          where: [{ field, op: pick(['like', 'EQ', '=', '', 'regex', 'ilike']), value: 1 }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'prototypeOp':
      return {
        call: query({
          where: [
            {
              field,
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
          where: [{ field, op: 'between', value: pick([[1], [1, 2, 3], 5, [null, 3], []]) }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'inScalar':
      return {
        call: query({
          where: [{ field, op: pick(['in', 'not_in']), value: pick([1, 'a', { a: 1 }, null]) }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'isNullString':
      return {
        call: query({
          where: [{ field, op: 'is_null', value: pick(['yes', 1, 'true', []]) }],
        }),
        codes: ['VALIDATION_ERROR'],
      };
    case 'takeZero':
      return { call: query({ take: pick([0, -1, -1000]) }), codes: ['VALIDATION_ERROR'] };
    case 'takeHuge': {
      const max = app.budgets(role).maxTake;
      return {
        call: query({ take: pick([max + 1, max * 5, 1_000_000]) }),
        codes: ['QUERY_BUDGET_EXCEEDED'],
      };
    }
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
      const withOne = models.filter((m) => app.relationsOf(role, m).some((r) => !r.list));
      if (withOne.length === 0) return null;
      const m = pick(withOne);
      const rel = pick(app.relationsOf(role, m).filter((r) => !r.list));
      const target = app.selectableFields(role, rel.target)[0]!;
      return {
        call: {
          tool: 'db.query',
          args: {
            model: m,
            include: [{ relation: rel.name, where: [{ field: target, op: 'eq', value: 1 }] }],
          },
        },
        codes: ['VALIDATION_ERROR'],
      };
    }
    case 'otherTenant': {
      const scoped = models.filter((m) => {
        const tenant = app.model(m).tenantField;
        return tenant && app.filterableFields(role, m).includes(tenant);
      });
      if (scoped.length === 0) return null;
      const m = pick(scoped);
      const tenant = app.model(m).tenantField!;
      return {
        call: {
          tool: 'db.query',
          args: {
            model: m,
            where: [
              pick([
                { field: tenant, op: 'eq', value: other },
                { field: tenant, op: 'in', value: [principal.tenantId, other] },
              ]),
            ],
          },
        },
        codes: ['TENANT_SCOPE_VIOLATION'],
      };
    }
    case 'otherTenantGet': {
      // the tenant by another tenant's id, or a row whose key holds another tenant
      const keyed = app.readableModels(role).filter((m) => {
        const info = app.model(m);
        return info.tenantField !== null && info.key.includes(info.tenantField);
      });
      if (keyed.length === 0) return null;
      const m = pick(keyed);
      const info = app.model(m);
      const root = app.tenantRoot();
      const made = typeof principal.tenantId === 'number' ? [0, 99, -1] : [other];
      if (root?.name === m) {
        return {
          call: { tool: 'db.get', args: { model: m, id: pick([other, ...made]) } },
          codes: ['TENANT_SCOPE_VIOLATION'],
        };
      }
      const [key] = truth.keysNamingTenant(m, other);
      if (!key) return null;
      const values = truth.keyValues(m, key);
      return {
        call: {
          tool: 'db.get',
          args: { model: m, id: info.key.length === 1 ? values[info.key[0]!] : values },
        },
        codes: ['TENANT_SCOPE_VIOLATION'],
      };
    }
    case 'wrongValueType': {
      const ints = models.flatMap((m) =>
        app
          .filterableFields(role, m)
          .filter((f) => app.field(m, f).type === 'Int')
          .map((f) => [m, f] as const),
      );
      if (ints.length === 0) return null;
      const [m, int] = pick(ints);
      return {
        call: {
          tool: 'db.query',
          args: {
            model: m,
            where: [
              pick([
                { field: int, op: 'eq', value: 'abc' },
                { field: int, op: 'gt', value: { $gt: 1 } },
                { field: int, op: 'eq', value: 2 ** 40 },
                { field: int, op: 'eq', value: 1.5 },
                { field: int, op: 'in', value: ['1', 2] },
              ]),
            ],
          },
        },
        codes: ['VALIDATION_ERROR'],
      };
    }
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
        app
          .filterableFields(role, m)
          .filter((f) => !NUMERIC_TYPES.has(app.field(m, f).type))
          .map((f) => [m, f] as const),
      );
      if (texts.length === 0) return null;
      const [m, text] = pick(texts);
      return {
        call: { tool: 'db.aggregate', args: { model: m, operation: 'sum', field: text } },
        codes: ['FIELD_NOT_ALLOWED'],
      };
    }
    case 'badDirection':
      return {
        call: query({
          order_by: [{ field, direction: pick(['up', 'DESCENDING', '', '1']) }],
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
  const app = truth.model;
  const role = principal.role;
  const take = app.budgets(role).defaultTake;
  await truth.prepare(principal);
  const object = async (model: string, keys: string[], select?: string[], include?: Include[]) => {
    const fields = select?.length ? [...new Set(select)] : app.selectableFields(role, model);
    const nested = new Map<string, Map<string, unknown>>();
    for (const spec of include ?? []) {
      const rel = app.relation(model, spec.relation)!;
      const targetFields = spec.select?.length
        ? [...new Set(spec.select)]
        : app.selectableFields(role, rel.target);
      const shape = (key: string) => {
        const row = truth.row(rel.target, key)!;
        return Object.fromEntries(
          targetFields.map((f) => [f, app.expectedValue(role, rel.target, f, row[f])]),
        );
      };
      if (rel.list) {
        const children = await childKeys(
          truth,
          model,
          rel.name,
          keys,
          principal,
          conditionsWhere(spec.where),
          null,
          spec.take ?? take,
        );
        nested.set(spec.relation, new Map(keys.map((key) => [key, children.get(key)!.map(shape)])));
      } else {
        nested.set(
          spec.relation,
          new Map(
            keys.map((key) => {
              const target = truth.toOne(model, rel, key);
              return [key, truth.visible(rel.target, target, principal) ? shape(target!) : null];
            }),
          ),
        );
      }
    }
    return keys.map((key) => {
      const row = truth.row(model, key)!;
      const result: Record<string, unknown> = Object.fromEntries(
        fields.map((f) => [f, app.expectedValue(role, model, f, row[f])]),
      );
      for (const spec of include ?? []) result[spec.relation] = nested.get(spec.relation)!.get(key);
      return result;
    });
  };

  switch (call.tool) {
    case 'db.query': {
      const { args } = call;
      const all = await listKeys(
        truth,
        args.model,
        principal,
        conditionsWhere(args.where),
        orderByOf(args.order_by),
      );
      const size = args.take ?? take;
      const keys = all.slice(page * size, (page + 1) * size);
      const more = all.length > (page + 1) * size;
      return {
        data: await object(args.model, keys, args.select, args.include),
        next_cursor: more ? CURSOR : null,
        has_more: more,
        ...(args.include_total ? { total_count: all.length } : {}),
      };
    }
    case 'db.get': {
      const { args } = call;
      const info = app.model(args.model);
      const values =
        info.key.length === 1 ? { [info.key[0]!]: args.id } : (args.id as Record<string, unknown>);
      const key = truth.keyOf(args.model, values);
      if (!truth.visible(args.model, key, principal)) return { data: null, found: false };
      const [data] = await object(args.model, [key], args.select, args.include);
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
  const app = truth.model;
  const info = app.model(args.model);
  const b = new SqlBuilder();
  const alias = b.alias();
  const field = args.field ? info.fields.get(args.field)! : null;
  const measure = field ? measureSql(field, args.operation, alias) : 'count(*)::int';
  const groups = (args.group_by ?? []).map((name) => info.fields.get(name)!);
  const keys = groups.map((group) => `${alias}.${quote(group.column)}`);
  const select = [
    ...groups.map((group, i) => `${readExpr(alias, group)} AS "k${i}"`),
    `${measure} AS value`,
    'count(*)::int AS n',
  ];
  const text = `SELECT ${select.join(', ')} FROM ${info.table} ${alias}
    WHERE ${scopeSql(app, args.model, alias, principal, b)} AND ${whereSql(app, args.model, conditionsWhere(args.where), alias, principal, b)}
    ${keys.length ? `GROUP BY ${keys.join(', ')} ORDER BY ${keys.map((k) => `${k} ASC`).join(', ')} LIMIT 100` : ''}`;
  const rows = await truth.sql<Row>(text, b.params);
  const value = (row: Row) =>
    field ? measureValue(field, args.operation, row.value) : (row.value as number);
  if (keys.length) {
    return {
      groups: rows.map((row) => ({
        key: Object.fromEntries(
          groups.map((group, i) => [
            group.name,
            app.expectedValue(principal.role, args.model, group.name, row[`k${i}`] ?? null),
          ]),
        ),
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
