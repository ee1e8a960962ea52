import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import {
  enumValuesFor,
  filterOpsFor,
  isFilterable,
  isNumeric,
  uuidValue,
} from '../policy/field-types.js';
import type { WriteKind } from '../policy/types.js';
import { modelNames, type NamingOptions } from '../schema/naming.js';
import { keyArgType } from '../schema/row-keys.js';
import { ToolError } from './errors.js';

/** OrmAI's filter operators and the GraphQL where operator each becomes. */
export const OPS = {
  eq: 'equals',
  ne: 'not',
  lt: 'lt',
  lte: 'lte',
  gt: 'gt',
  gte: 'gte',
  in: 'in',
  not_in: 'notIn',
  is_null: 'isNull',
  contains: 'contains',
  startswith: 'startsWith',
  endswith: 'endsWith',
  between: 'between',
} as const;
export type FilterOp = keyof typeof OPS;

export interface Condition {
  field: string;
  op: string;
  value?: unknown;
}

export interface IncludeSpec {
  relation: string;
  select?: string[];
  where?: Condition[];
  take?: number;
}

/** One tool call as a GraphQL document and its variables, and how to shape the answer. */
export interface Operation {
  document: string;
  variables: Record<string, unknown>;
  shape(data: Record<string, any>): Record<string, unknown>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Translates OrmAI's tool inputs into GraphQL operations on the caller's schema. It checks names
 * against the caller's compiled policy so an agent gets a precise, correctable error (the schema
 * would refuse them anyway); values are checked by GraphQL itself.
 */
export class Translator {
  constructor(
    private readonly policy: CompiledPolicy,
    private readonly naming: NamingOptions = {},
  ) {}

  describe(input: { model?: string | null }): Operation {
    if (input.model != null) this.model(input.model);
    return {
      document:
        'query OrmaiDescribeSchema($model: String) { result: describeSchema(model: $model) }',
      variables: { model: input.model ?? null },
      shape: (data) => data.result as Record<string, unknown>,
    };
  }

  get(input: {
    model: string;
    id: unknown;
    select?: string[];
    include?: IncludeSpec[];
  }): Operation {
    const model = this.model(input.model);
    const variables = new Variables();
    const keyArgs = this.keyArguments(model, input.id, variables);
    const selection = this.selection(model, input.select, input.include, variables);
    return {
      document: `query OrmaiGet${variables.declarations} { result: ${modelNames(model.name, this.naming).single}(${keyArgs}) { ${selection} } }`,
      variables: variables.values,
      shape: (data) => ({ data: data.result ?? null, found: data.result != null }),
    };
  }

  query(input: {
    model: string;
    select?: string[];
    where?: Condition[];
    order_by?: { field: string; direction?: string }[];
    take?: number;
    cursor?: string | null;
    include?: IncludeSpec[];
    include_total?: boolean | null;
  }): Operation {
    const model = this.model(input.model);
    // the total is one more statement (a COUNT over every matching row): only when asked
    const total = input.include_total === true;
    const variables = new Variables()
      .add('where', `${model.name}WhereInput`, this.where(model, input.where, 'where'))
      .add('orderBy', `[${model.name}OrderByInput!]`, this.orderBy(model, input.order_by))
      .add('first', 'Int', input.take ?? null)
      .add('after', 'String', input.cursor ?? null);
    const selection = this.selection(model, input.select, input.include, variables);
    return {
      document: `query OrmaiQuery${variables.declarations} { result: ${
        modelNames(model.name, this.naming).list
      }(where: $where, orderBy: $orderBy, first: $first, after: $after) { nodes { ${selection} } pageInfo { hasNextPage endCursor }${total ? ' totalCount' : ''} } }`,
      variables: variables.values,
      shape: (data) => ({
        data: data.result.nodes,
        next_cursor: data.result.pageInfo.hasNextPage ? data.result.pageInfo.endCursor : null,
        has_more: data.result.pageInfo.hasNextPage,
        ...(total ? { total_count: data.result.totalCount } : {}),
      }),
    };
  }

  aggregate(input: {
    model: string;
    operation: string;
    field?: string | null;
    where?: Condition[];
    group_by?: string[];
  }): Operation {
    const model = this.model(input.model);
    const operation = input.operation;
    if (!['count', 'sum', 'avg', 'min', 'max'].includes(operation)) {
      throw new ToolError('VALIDATION_ERROR', `unknown operation ${operation}`, {
        hints: ['operation is one of count, sum, avg, min, max'],
        details: { field: 'operation' },
      });
    }
    let measure = 'count';
    if (operation !== 'count') {
      if (!input.field) {
        throw new ToolError('VALIDATION_ERROR', `${operation} needs a field`, {
          details: { field: 'field' },
        });
      }
      const numeric = [...model.fields.values()].filter((f) => isFilterable(f) && isNumeric(f));
      const field = this.field(model, input.field, 'field', numeric);
      measure = `${operation} { ${field.name} }`;
    }
    const names = modelNames(model.name, this.naming);
    const where = this.where(model, input.where, 'where');
    const value = (row: Record<string, any>) =>
      operation === 'count' ? row.count : (row[operation]?.[input.field!] ?? null);

    if (input.group_by && input.group_by.length > 0) {
      const groupable = filterable(model);
      const by = input.group_by.map(
        (name, i) => this.field(model, name, `group_by[${i}]`, groupable).name,
      );
      return {
        document: `query OrmaiGroupBy($by: [${model.name}GroupByField!]!, $where: ${model.name}WhereInput, $first: Int) { result: ${
          names.list
        }GroupBy(by: $by, where: $where, first: $first) { key { ${by.join(' ')} } count ${operation === 'count' ? '' : measure} } }`,
        variables: { by, where, first: this.policy.budgets.maxTake },
        shape: (data) => ({
          groups: (data.result as Record<string, any>[]).map((group) => ({
            key: Object.fromEntries(by.map((name) => [name, group.key[name]])),
            value: value(group),
          })),
          operation,
          field: input.field ?? null,
        }),
      };
    }
    return {
      document: `query OrmaiAggregate($where: ${model.name}WhereInput) { result: ${names.list}Aggregate(where: $where) { count ${
        operation === 'count' ? '' : measure
      } } }`,
      variables: { where },
      shape: (data) => ({
        value: value(data.result),
        operation,
        field: input.field ?? null,
        row_count: data.result.count,
      }),
    };
  }

  /** A write tool call as the matching mutation; WRITE_DISABLED when the caller may not make it. */
  write(
    kind: WriteKind,
    input: {
      model: string;
      id?: unknown;
      ids?: unknown[];
      data?: Record<string, unknown>;
      reason?: string | null;
      hard?: boolean;
    },
  ): Operation {
    const model = this.model(input.model);
    const allowed = [...this.policy.writes]
      .filter(([, kinds]) => kinds[kind])
      .map(([name]) => name);
    if (!allowed.includes(model.name)) {
      throw new ToolError(
        'WRITE_DISABLED',
        `you may not ${kind === 'bulk' ? 'bulk-update' : kind} ${model.name}`,
        {
          hints: [
            allowed.length > 0
              ? `models you may ${kind}: ${allowed.join(', ')}`
              : 'writes are off for your roles',
          ],
          details: { model: model.name, operation: kind },
        },
      );
    }
    const { list } = modelNames(model.name, this.naming);
    const Plural = list.charAt(0).toUpperCase() + list.slice(1);
    const fields = [...model.fields.keys()].join(' ');
    const key = model.primaryKey;
    switch (kind) {
      case 'create':
        return {
          document: `mutation OrmaiCreate($data: ${model.name}CreateInput!, $reason: String) { result: create${model.name}(data: $data, reason: $reason) { ${fields} } }`,
          variables: { data: input.data ?? {}, reason: input.reason ?? null },
          shape: (data) => ({
            data: data.result,
            id: keyOf(model, data.result),
            success: true,
          }),
        };
      case 'update': {
        const variables = new Variables();
        const keyArgs = this.keyArguments(model, input.id, variables);
        variables
          .add('data', `${model.name}UpdateInput!`, input.data ?? {})
          .add('reason', 'String', input.reason ?? null);
        return {
          document: `mutation OrmaiUpdate${variables.declarations} { result: update${model.name}(${keyArgs}, data: $data, reason: $reason) { ${fields} } }`,
          variables: variables.values,
          shape: (data) => ({ data: data.result, success: true, found: true }),
        };
      }
      case 'delete': {
        const variables = new Variables();
        const keyArgs = this.keyArguments(model, input.id, variables);
        variables
          .add('reason', 'String', input.reason ?? null)
          .add('hard', 'Boolean', input.hard ?? false);
        return {
          document: `mutation OrmaiDelete${variables.declarations} { result: delete${model.name}(${keyArgs}, reason: $reason, hard: $hard) { success found softDeleted } }`,
          variables: variables.values,
          shape: (data) => ({
            success: data.result.success,
            found: data.result.found,
            soft_deleted: data.result.softDeleted,
          }),
        };
      }
      default: {
        this.requireKey(model);
        // a compound key's ids are objects of its fields, and come back as such
        const compound = key.length > 1;
        const idsType = compound ? `${model.name}KeyInput` : keyArgType(key[0]!);
        const ids = (input.ids ?? []).map((id, i) => this.keyValues(model, id, `ids[${i}]`));
        const failed = compound ? `failedIds { ${key.map((f) => f.name).join(' ')} }` : 'failedIds';
        return {
          document: `mutation OrmaiBulkUpdate($ids: [${idsType}!]!, $data: ${model.name}UpdateInput!, $reason: String) { result: bulkUpdate${Plural}(ids: $ids, data: $data, reason: $reason) { updatedCount success ${failed} } }`,
          variables: {
            ids: compound ? ids : ids.map((values) => values[key[0]!.name]),
            data: input.data ?? {},
            reason: input.reason ?? null,
          },
          shape: (data) => ({
            updated_count: data.result.updatedCount,
            success: data.result.success,
            // GraphQL lists one-field keys as strings: an Int key is a number again
            failed_ids: (data.result.failedIds as unknown[]).map((id) =>
              !compound && key[0]!.type === 'Int' ? Number(id) : id,
            ),
          }),
        };
      }
    }
  }

  approvalStatus(input: { approval_id: string }): Operation {
    return {
      document:
        'query OrmaiApprovalStatus($id: ID!) { result: approvalRequest(id: $id) { status result } }',
      variables: { id: input.approval_id },
      shape: (data) => {
        if (!data.result) {
          throw new ToolError('NOT_FOUND', `no approval request ${input.approval_id} of yours`, {
            details: { approval_id: input.approval_id },
          });
        }
        return {
          status: data.result.status,
          ...(data.result.result ? { result: data.result.result } : {}),
        };
      },
    };
  }

  /**
   * The key arguments of a single-row field (`id: $id`, or `orgId: $id_orgId, id: $id_id` for a
   * compound key) with their variables added; `id` is the key's value, or an object of its fields.
   */
  private keyArguments(model: CompiledModel, id: unknown, variables: Variables): string {
    this.requireKey(model);
    const values = this.keyValues(model, id, 'id');
    const compound = model.primaryKey.length > 1;
    return model.primaryKey
      .map((field) => {
        const name = compound ? `id_${field.name}` : 'id';
        variables.add(name, `${keyArgType(field)}!`, values[field.name]);
        return `${field.name}: $${name}`;
      })
      .join(', ');
  }

  private requireKey(model: CompiledModel) {
    if (model.primaryKey.length > 0) return;
    throw new ToolError(
      'VALIDATION_ERROR',
      `${model.name} has no primary key or unique, so no single row can be named`,
      {
        hints: [`use db.query with a where on ${model.name}'s fields`],
        details: { field: 'id', model: model.name },
      },
    );
  }

  /** A key as given (a value, or an object of the key fields), field by field; types are GraphQL's to check. */
  private keyValues(model: CompiledModel, id: unknown, path: string): Record<string, unknown> {
    const key = model.primaryKey;
    const example = `{${key.map((field) => `"${field.name}": …`).join(', ')}}`;
    const isObject = id !== null && typeof id === 'object' && !Array.isArray(id);
    if (key.length > 1 && !isObject) {
      throw new ToolError(
        'VALIDATION_ERROR',
        `${path}: ${model.name} has a compound key; pass an object of its fields`,
        { hints: [`e.g. ${example}`], details: { field: path } },
      );
    }
    const values = isObject ? (id as Record<string, unknown>) : { [key[0]!.name]: id };
    const extra = Object.keys(values).find((name) => !key.some((field) => field.name === name));
    if (extra !== undefined) {
      throw new ToolError(
        'VALIDATION_ERROR',
        `${path}.${extra} is not a key field of ${model.name}`,
        {
          hints: [`the key of ${model.name}: ${example}`],
          details: { field: `${path}.${extra}` },
        },
      );
    }
    for (const field of key) {
      const value = values[field.name];
      if (value === undefined || value === null || value === '') {
        const at = isObject ? `${path}.${field.name}` : path;
        throw new ToolError('VALIDATION_ERROR', `${at} is required`, {
          hints: [`the key of ${model.name}: ${key.length > 1 ? example : `a ${field.type}`}`],
          details: { field: at },
        });
      }
    }
    return values;
  }

  /** The model, or MODEL_NOT_ALLOWED with the models the caller can read. */
  model(name: unknown): CompiledModel {
    const model = typeof name === 'string' ? this.policy.models.get(name) : undefined;
    if (!model) {
      const allowed = [...this.policy.models.keys()];
      throw new ToolError('MODEL_NOT_ALLOWED', `${String(name)} is not a model you can read`, {
        retryable: true,
        hints: [`use one of: ${allowed.join(', ') || '(none)'}`],
        details: { model: name, allowed },
      });
    }
    return model;
  }

  private field(
    model: CompiledModel,
    name: unknown,
    path: string,
    allowed: CompiledField[],
  ): CompiledField {
    if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
      throw new ToolError(
        'VALIDATION_ERROR',
        `${path}: ${JSON.stringify(name)} is not a field name`,
        {
          hints: ['field names are identifiers such as totalCents'],
          details: { field: path },
        },
      );
    }
    const field = allowed.find((candidate) => candidate.name === name);
    if (!field) {
      const names = allowed.map((candidate) => candidate.name);
      const listed =
        names.length > 10
          ? `${names.slice(0, 10).join(', ')} (and ${names.length - 10} more)`
          : names.join(', ');
      throw new ToolError(
        'FIELD_NOT_ALLOWED',
        `${path}: ${model.name}.${name} is not a field you can use here`,
        {
          retryable: true,
          hints: [`allowed fields: ${listed}`],
          details: { field: name, model: model.name },
        },
      );
    }
    return field;
  }

  /** `[{field, op, value}]`, ANDed, as a GraphQL where input. */
  private where(
    model: CompiledModel,
    conditions: Condition[] | undefined,
    path: string,
  ): Record<string, unknown> | null {
    if (!conditions || conditions.length === 0) return null;
    if (!Array.isArray(conditions)) {
      throw new ToolError('VALIDATION_ERROR', `${path} must be a list of {field, op, value}`, {
        details: { field: path },
      });
    }
    const usable = filterable(model);
    const parts = conditions.map((condition, i) => {
      const at = `${path}[${i}]`;
      const field = this.field(model, condition?.field, `${at}.field`, usable);
      const op = condition.op as FilterOp;
      if (!Object.hasOwn(OPS, op)) {
        throw new ToolError(
          'VALIDATION_ERROR',
          `${at}.op: unknown operator ${JSON.stringify(condition.op)}`,
          {
            hints: [`operators: ${Object.keys(OPS).join(' ')}`],
            details: { field: `${at}.op` },
          },
        );
      }
      const ops = filterOpsFor(field);
      if (!ops.includes(op)) {
        throw new ToolError(
          'VALIDATION_ERROR',
          `${at}.op: ${op} does not apply to ${model.name}.${field.name}`,
          {
            retryable: true,
            hints: [`operators for ${field.name}: ${ops.join(' ')}`],
            details: { field: `${at}.op`, allowed: ops },
          },
        );
      }
      const value = condition.value;
      this.checkEnumValue(field, op, value, `${at}.value`);
      checkUuidValue(field, op, value, `${at}.value`);
      if (op === 'between') {
        if (
          !Array.isArray(value) ||
          value.length !== 2 ||
          value.some((v) => v === null || v === undefined)
        ) {
          throw new ToolError(
            'VALIDATION_ERROR',
            `${at}.value: between takes two values, [low, high]`,
            {
              details: { field: `${at}.value` },
            },
          );
        }
        return { [field.name]: { gte: value[0], lte: value[1] } };
      }
      if ((op === 'in' || op === 'not_in') && !Array.isArray(value)) {
        throw new ToolError('VALIDATION_ERROR', `${at}.value: ${op} takes a list`, {
          details: { field: `${at}.value` },
        });
      }
      if (op === 'is_null') {
        if (value !== undefined && typeof value !== 'boolean') {
          throw new ToolError('VALIDATION_ERROR', `${at}.value: is_null takes true or false`, {
            details: { field: `${at}.value` },
          });
        }
        return { [field.name]: { isNull: value ?? true } };
      }
      if (value === undefined) {
        throw new ToolError('VALIDATION_ERROR', `${at}.value is required for ${op}`, {
          details: { field: `${at}.value` },
        });
      }
      return { [field.name]: { [OPS[op]]: value } };
    });
    return parts.length === 1 ? parts[0]! : { AND: parts };
  }

  /** An enum's value is one of its values (as a string); caught here to name where it was given. */
  private checkEnumValue(field: CompiledField, op: FilterOp, value: unknown, path: string) {
    const allowed = enumValuesFor(this.policy, field);
    if (!allowed || op === 'is_null') return;
    const given = Array.isArray(value) ? value : [value];
    const wrong = given.find((item) => typeof item !== 'string' || !allowed.includes(item));
    if (wrong === undefined) return;
    throw new ToolError(
      'VALIDATION_ERROR',
      `${path}: ${JSON.stringify(wrong)} is not a ${field.type}; use one of: ${allowed.join(', ')}`,
      {
        retryable: true,
        hints: [`${field.name} takes one of ${allowed.join(', ')} (as a string)`],
        details: { field: path, allowed: [...allowed] },
      },
    );
  }

  private orderBy(
    model: CompiledModel,
    orderBy: { field: string; direction?: string }[] | undefined,
  ) {
    if (!orderBy || orderBy.length === 0) return null;
    const usable = filterable(model);
    return orderBy.map((item, i) => {
      const field = this.field(model, item?.field, `order_by[${i}].field`, usable);
      const direction = String(item.direction ?? 'asc').toLowerCase();
      if (direction !== 'asc' && direction !== 'desc') {
        throw new ToolError('VALIDATION_ERROR', `order_by[${i}].direction is asc or desc`, {
          details: { field: `order_by[${i}].direction` },
        });
      }
      return { [field.name]: direction.toUpperCase() };
    });
  }

  /** Selected fields (default: all readable) and included relations, as a selection set. */
  private selection(
    model: CompiledModel,
    select: string[] | undefined,
    include: IncludeSpec[] | undefined,
    variables: Variables,
    path = 'select',
  ): string {
    const readable = [...model.fields.values()];
    const fields =
      select && select.length > 0
        ? select.map((name, i) => this.field(model, name, `${path}[${i}]`, readable).name)
        : readable.map((field) => field.name);
    const parts = [...new Set(fields)];
    for (const [i, spec] of (include ?? []).entries()) {
      const at = `include[${i}]`;
      const relation =
        typeof spec?.relation === 'string' ? model.relations.get(spec.relation) : undefined;
      if (!relation) {
        const allowed = [...model.relations.keys()];
        throw new ToolError(
          'RELATION_NOT_ALLOWED',
          `${at}.relation: ${model.name}.${String(spec?.relation)} is not a relation you can include`,
          {
            retryable: true,
            hints: [`relations of ${model.name}: ${allowed.join(', ') || '(none)'}`],
            details: { relation: spec?.relation, model: model.name },
          },
        );
      }
      const target = this.policy.models.get(relation.target)!;
      const inner = this.selection(target, spec.select, undefined, variables, `${at}.select`);
      if (!relation.list) {
        if (spec.where?.length || spec.take !== undefined) {
          throw new ToolError(
            'VALIDATION_ERROR',
            `${at}: ${relation.name} is a single row; where and take apply to lists`,
            {
              details: { field: at },
            },
          );
        }
        parts.push(`${relation.name} { ${inner} }`);
        continue;
      }
      const prefix = `include${i}`;
      variables
        .add(
          `${prefix}Where`,
          `${target.name}WhereInput`,
          this.where(target, spec.where, `${at}.where`),
        )
        .add(`${prefix}First`, 'Int', spec.take ?? null);
      parts.push(`${relation.name}(where: $${prefix}Where, first: $${prefix}First) { ${inner} }`);
    }
    return parts.join(' ');
  }
}

/** A uuid column takes uuids only; caught here to name where the value was given. */
function checkUuidValue(field: CompiledField, op: FilterOp, value: unknown, path: string) {
  if (!field.uuid || op === 'is_null') return;
  const given = Array.isArray(value) ? value : [value];
  const wrong = given.find((item) => uuidValue(item) === undefined);
  if (wrong === undefined) return;
  throw new ToolError('VALIDATION_ERROR', `${path}: ${JSON.stringify(wrong)} is not a uuid`, {
    retryable: true,
    hints: [`${field.name} holds uuids, like 123e4567-e89b-12d3-a456-426614174000`],
    details: { field: path },
  });
}

function filterable(model: CompiledModel): CompiledField[] {
  return [...model.fields.values()].filter(isFilterable);
}

/** A created row's key, as db.get takes it: the value, or an object of a compound key's fields. */
function keyOf(model: CompiledModel, row: Record<string, unknown> | null | undefined): unknown {
  if (!row || model.primaryKey.length === 0) return null;
  if (model.primaryKey.length === 1) return row[model.primaryKey[0]!.name] ?? null;
  return Object.fromEntries(model.primaryKey.map((field) => [field.name, row[field.name] ?? null]));
}

/** GraphQL variables with their declared types, in the order they were added. */
class Variables {
  readonly values: Record<string, unknown> = {};
  readonly #types: string[] = [];

  add(name: string, type: string, value: unknown): this {
    this.values[name] = value;
    this.#types.push(`$${name}: ${type}`);
    return this;
  }

  /** `($a: Int, $b: String)`, or nothing without variables. */
  get declarations(): string {
    return this.#types.length > 0 ? `(${this.#types.join(', ')})` : '';
  }
}
