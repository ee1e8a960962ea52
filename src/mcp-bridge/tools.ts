import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import { enumValuesFor, FILTER_OPS, isExactNumeric } from '../policy/field-types.js';
import type { WriteKind } from '../policy/types.js';
import { DB_OUTPUTS, type JsonSchema, orError } from './output-schemas.js';

/** What a tool does to the database, for clients that ask before a destructive call. */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  /** ormai's tools reach only the database they are served from. */
  openWorldHint: false;
}

export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  inputSchema: {
    type: 'object';
    properties: Record<string, unknown>;
    required?: string[];
    additionalProperties?: boolean;
  };
  /** What structuredContent holds: the result, or `{error, trace_id}` with isError. */
  outputSchema: { type: 'object' } & JsonSchema;
  annotations: ToolAnnotations;
}

export const READ_TOOLS = ['db.describe_schema', 'db.get', 'db.query', 'db.aggregate'] as const;
export const WRITE_TOOLS = [
  'db.create',
  'db.update',
  'db.delete',
  'db.bulk_update_by_ids',
  'db.approval_status',
] as const;

export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** The output schema of a db.* tool. */
function outputOf(name: string): ToolDefinition['outputSchema'] {
  return orError(DB_OUTPUTS[name]!);
}

/**
 * A row's key: its value (a BigInt as a string of digits), or for the models among these with a
 * compound key an object of the key's fields. Alternatives rather than a list of types, so that
 * every object in the schema names its properties (OpenAI's strict mode needs that).
 */
function keySchema(models: readonly (CompiledModel | undefined)[]) {
  const compound = [
    ...new Set(
      models.flatMap((model) =>
        model && model.primaryKey.length > 1 ? model.primaryKey.map((field) => field.name) : [],
      ),
    ),
  ];
  const scalar = [{ type: 'number' }, { type: 'string' }];
  if (compound.length === 0) {
    return { type: ['number', 'string'], description: "the primary key's value" };
  }
  return {
    anyOf: [
      ...scalar,
      {
        type: 'object',
        description: 'a compound key: each of its fields',
        properties: Object.fromEntries(compound.map((name) => [name, { anyOf: scalar }])),
        additionalProperties: false,
      },
    ],
    description:
      'the primary key: its value, or for a compound key an object of its fields, e.g. {"orgId": 1, "id": 5} (describe_schema lists each model\'s key)',
  };
}

/** The write tools a caller may use: listed only when the policy enables that write for its roles. */
export function writeTools(policy: CompiledPolicy): ToolDefinition[] {
  const modelsFor = (kind: WriteKind) =>
    [...policy.writes].filter(([, kinds]) => kinds[kind]).map(([name]) => name);
  const fieldsFor = (kind: WriteKind) =>
    [...policy.writes]
      .filter(([, kinds]) => kinds[kind])
      .map(([name, kinds]) => {
        const fields = kinds[kind]!.fields.map((field) => {
          const compiled = policy.models.get(name)?.fields.get(field);
          return compiled ? describeField(policy, compiled) : field;
        });
        return `${name}: ${fields.join(', ') || '(none)'}`;
      })
      .join('; ');
  const reason = {
    type: 'string',
    description: 'why: recorded with the change (required by the policy)',
  };
  // a create adds a row (again on a retry); an update or a delete overwrites what was there (the
  // audit record keeps it), and repeating one leaves the row as the first call did
  const create = { ...READ_ONLY, readOnlyHint: false, idempotentHint: false };
  const overwrite = { ...READ_ONLY, readOnlyHint: false, destructiveHint: true };
  const tools: ToolDefinition[] = [];
  const add = (
    kind: WriteKind,
    tool: Omit<ToolDefinition, 'inputSchema' | 'outputSchema'> & {
      properties: (id: unknown) => Record<string, unknown>;
      required: string[];
    },
  ) => {
    const models = modelsFor(kind);
    if (models.length === 0) return;
    const { properties: propertiesFor, required, ...rest } = tool;
    const properties = propertiesFor(keySchema(models.map((name) => policy.models.get(name))));
    tools.push({
      ...rest,
      outputSchema: outputOf(rest.name),
      inputSchema: {
        type: 'object',
        properties: { model: { type: 'string', enum: models }, ...properties },
        required: ['model', ...required],
        additionalProperties: false,
      },
    });
  };
  add('create', {
    name: 'db.create',
    title: 'Create a row',
    description: `Creates one row in your tenant: {data, id, success}. Fields you may set: ${fieldsFor('create')}.`,
    properties: () => ({ data: { type: 'object' }, reason }),
    required: ['data'],
    annotations: create,
  });
  add('update', {
    name: 'db.update',
    title: 'Update a row by id',
    description: `Changes one row by its id: {data, success, found}. Fields you may change: ${fieldsFor('update')}.`,
    properties: (id) => ({ id, data: { type: 'object' }, reason }),
    required: ['id', 'data'],
    annotations: overwrite,
  });
  add('delete', {
    name: 'db.delete',
    title: 'Delete a row by id',
    description:
      'Deletes one row by its id, softly (it disappears from reads) unless hard is allowed: {success, found, soft_deleted}. It may wait for approval: then poll db.approval_status.',
    properties: (id) => ({ id, reason, hard: { type: 'boolean', default: false } }),
    required: ['id'],
    annotations: overwrite,
  });
  add('bulk', {
    name: 'db.bulk_update_by_ids',
    title: 'Update rows by ids',
    description: `Applies one change to the rows with these ids: {updated_count, success, failed_ids}. Fields you may change: ${fieldsFor('bulk')}. Large batches may wait for approval.`,
    properties: (id) => ({
      ids: { type: 'array', items: id, minItems: 1 },
      data: { type: 'object' },
      reason,
    }),
    required: ['ids', 'data'],
    annotations: overwrite,
  });
  if (tools.length > 0) {
    tools.push({
      name: 'db.approval_status',
      title: 'Approval status',
      description:
        'The status of a write waiting for approval (WRITE_APPROVAL_REQUIRED gave its approval_id): {status: pending|approved|rejected|expired, result?}.',
      inputSchema: {
        type: 'object',
        properties: { approval_id: { type: 'string' } },
        required: ['approval_id'],
        additionalProperties: false,
      },
      outputSchema: outputOf('db.approval_status'),
      annotations: READ_ONLY,
    });
  }
  return tools;
}

/** A field as the model description lists it: enums with their values, unfilterable types said. */
function describeField(policy: CompiledPolicy, field: CompiledField): string {
  const values = enumValuesFor(policy, field);
  if (field.redaction) return field.name;
  if (values) return `${field.name} (${field.list ? 'list of ' : ''}one of ${values.join('|')})`;
  if (field.type === 'Bytes') return `${field.name} (base64; not filterable)`;
  if (field.list) return `${field.name} (list; not filterable)`;
  if (isExactNumeric(field)) return `${field.name} (${field.type} as a decimal string)`;
  if (field.uuid) return `${field.name} (uuid; eq ne in not_in is_null)`;
  return field.name;
}

/**
 * The db.* tools for one caller, with input schemas generated from what the caller's roles can read:
 * the model enum lists only readable models, and descriptions say the operators, the budgets and
 * how to page, so an agent can form a valid call first time.
 */
export function readTools(policy: CompiledPolicy): ToolDefinition[] {
  const models = [...policy.models.keys()];
  const { defaultTake, maxTake, maxIncludeDepth } = policy.budgets;
  const fieldsByModel = [...policy.models.values()]
    .map(
      (model) =>
        `${model.name}: ${[...model.fields.values()].map((field) => describeField(policy, field)).join(', ')}`,
    )
    .join('; ');
  const model = {
    type: 'string',
    enum: models,
    description: `One of the models you can read. Fields: ${fieldsByModel}`,
  };
  // the fields are listed once, on the query tool: a copy on every tool cost ~100 tokens each
  const modelOnly = { ...model, description: "fields: see the query tool's model" };
  const names = { type: 'array', items: { type: 'string' } };
  // no filter takes a null, an object or a list of lists
  const scalar = { type: ['string', 'number', 'boolean'] };
  /** Conditions, ANDed; explained once, on the query tool's own where (~50 tokens a copy). */
  const whereOf = (explained: boolean) => ({
    type: 'array',
    items: {
      type: 'object',
      properties: {
        field: explained
          ? {
              type: 'string',
              description: 'a filterable field: not a masked, hashed, list, Json or Bytes one',
            }
          : { type: 'string' },
        op: { type: 'string', enum: [...FILTER_OPS] },
        value: {
          anyOf: [...scalar.type.map((type) => ({ type })), { type: 'array', items: scalar }],
          ...(explained
            ? {
                description:
                  'a list for in/not_in, [low, high] for between, true/false for is_null; an enum value as a string (eq ne in not_in is_null only)',
              }
            : {}),
        },
      },
      required: ['field', 'op'],
      additionalProperties: false,
    },
    // the query tool's description says they are ANDed
    ...(explained ? {} : { description: "as the query tool's where" }),
  });
  const where = whereOf(false);
  const include = {
    type: 'array',
    description: `related rows, nested under the relation's name (${maxIncludeDepth} level(s) at most)`,
    items: {
      type: 'object',
      properties: {
        relation: { type: 'string' },
        select: names,
        where,
        take: {
          type: 'integer',
          minimum: 1,
          maximum: maxTake,
          description: 'for to-many relations',
        },
      },
      required: ['relation'],
      additionalProperties: false,
    },
  };
  return [
    {
      name: 'db.describe_schema',
      title: 'Describe the schema',
      description:
        'The models you can read: fields with their types and redaction (masked or hashed fields can be selected but not filtered on), relations, filter operators and budgets. Call this first.',
      inputSchema: {
        type: 'object',
        properties: { model: { ...model, description: 'only this model' } },
        additionalProperties: false,
      },
      outputSchema: outputOf('db.describe_schema'),
      annotations: READ_ONLY,
    },
    {
      name: 'db.get',
      title: 'Get one row by id',
      description:
        'One row by its primary key: {data, found}. found is false when the row does not exist or is not visible to you.',
      inputSchema: {
        type: 'object',
        properties: {
          model: modelOnly,
          id: keySchema([...policy.models.values()]),
          select: names,
          include,
        },
        required: ['model', 'id'],
        additionalProperties: false,
      },
      outputSchema: outputOf('db.get'),
      annotations: READ_ONLY,
    },
    {
      name: 'db.query',
      title: 'Query rows',
      description: `Rows matching where (conditions ANDed), ordered by order_by, ${defaultTake} per page by default and ${maxTake} at most (take). Returns {data, next_cursor, has_more, total_count?}; pass next_cursor back as cursor, unchanged and with the same order_by, for the next page.`,
      inputSchema: {
        type: 'object',
        properties: {
          model,
          select: { ...names, description: 'fields to return (default: all you can read)' },
          where: whereOf(true),
          order_by: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                field: { type: 'string' },
                direction: { type: 'string', enum: ['asc', 'desc'] },
              },
              required: ['field'],
              additionalProperties: false,
            },
          },
          take: { type: 'integer', minimum: 1, maximum: maxTake, default: defaultTake },
          cursor: { type: 'string', description: 'next_cursor of the previous page' },
          include,
          include_total: {
            type: 'boolean',
            default: false,
            description: 'also return total_count, all matching rows (one more query)',
          },
        },
        required: ['model'],
        additionalProperties: false,
      },
      outputSchema: outputOf('db.query'),
      annotations: READ_ONLY,
    },
    {
      name: 'db.aggregate',
      title: 'Aggregate rows',
      description:
        'count, or sum/avg/min/max of a numeric field, over the rows matching where: {value, operation, field, row_count}; with group_by (fields), {groups: [{key, value}]}.',
      inputSchema: {
        type: 'object',
        properties: {
          model: modelOnly,
          operation: { type: 'string', enum: ['count', 'sum', 'avg', 'min', 'max'] },
          field: { type: 'string', description: 'the numeric field for sum, avg, min and max' },
          where,
          group_by: names,
        },
        required: ['model', 'operation'],
        additionalProperties: false,
      },
      outputSchema: outputOf('db.aggregate'),
      annotations: READ_ONLY,
    },
  ];
}
