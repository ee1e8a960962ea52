import type { CompiledField, CompiledPolicy } from '../policy/compile-policy.js';
import { enumValuesFor, FILTER_OPS, isExactNumeric } from '../policy/field-types.js';
import type { WriteKind } from '../policy/types.js';

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
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; openWorldHint?: boolean };
}

export const READ_TOOLS = ['db.describe_schema', 'db.get', 'db.query', 'db.aggregate'] as const;

/** A row's key: its value (a BigInt as a string of digits), or an object of a compound key's fields. */
const KEY_SCHEMA = {
  type: ['integer', 'string', 'object'],
  description:
    'the primary key: its value, or for a compound key an object of its fields, e.g. {"orgId": 1, "id": 5} (describe_schema lists each model\'s key)',
};

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
  const write = { readOnlyHint: false, destructiveHint: false, openWorldHint: false };
  const tools: ToolDefinition[] = [];
  const add = (
    kind: WriteKind,
    tool: Omit<ToolDefinition, 'inputSchema'> & {
      properties: Record<string, unknown>;
      required: string[];
    },
  ) => {
    const models = modelsFor(kind);
    if (models.length === 0) return;
    const { properties, required, ...rest } = tool;
    tools.push({
      ...rest,
      inputSchema: {
        type: 'object',
        properties: { model: { type: 'string', enum: models }, ...properties },
        required: ['model', ...required],
        additionalProperties: false,
      },
    });
  };
  const id = KEY_SCHEMA;
  add('create', {
    name: 'db.create',
    title: 'Create a row',
    description: `Creates one row in your tenant: {data, id, success}. Fields you may set: ${fieldsFor('create')}.`,
    properties: { data: { type: 'object' }, reason },
    required: ['data'],
    annotations: write,
  });
  add('update', {
    name: 'db.update',
    title: 'Update a row by id',
    description: `Changes one row by its id: {data, success, found}. Fields you may change: ${fieldsFor('update')}.`,
    properties: { id, data: { type: 'object' }, reason },
    required: ['id', 'data'],
    annotations: write,
  });
  add('delete', {
    name: 'db.delete',
    title: 'Delete a row by id',
    description:
      'Deletes one row by its id, softly (it disappears from reads) unless hard is allowed: {success, found, soft_deleted}. It may wait for approval: then poll db.approval_status.',
    properties: { id, reason, hard: { type: 'boolean', default: false } },
    required: ['id'],
    annotations: { ...write, destructiveHint: true },
  });
  add('bulk', {
    name: 'db.bulk_update_by_ids',
    title: 'Update rows by ids',
    description: `Applies one change to the rows with these ids: {updated_count, success, failed_ids}. Fields you may change: ${fieldsFor('bulk')}. Large batches may wait for approval.`,
    properties: {
      ids: { type: 'array', items: id, minItems: 1 },
      data: { type: 'object' },
      reason,
    },
    required: ['ids', 'data'],
    annotations: write,
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
      annotations: { readOnlyHint: true, openWorldHint: false },
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
  const names = { type: 'array', items: { type: 'string' } };
  const condition = {
    type: 'object',
    properties: {
      field: {
        type: 'string',
        description:
          'a field you can filter on (not a masked or hashed one, nor a list, Json or Bytes field)',
      },
      op: { type: 'string', enum: [...FILTER_OPS] },
      value: {
        description:
          'a value; a list for in/not_in; [low, high] for between; true/false for is_null; for an enum field one of its values (listed with the fields) as a string, with eq ne in not_in is_null only',
      },
    },
    required: ['field', 'op'],
    additionalProperties: false,
  };
  const where = {
    type: 'array',
    items: condition,
    description: 'conditions, all of which must hold',
  };
  const include = {
    type: 'array',
    description: `related rows to return nested under the relation's name (${maxIncludeDepth} level(s) at most)`,
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
  const readOnly = { readOnlyHint: true, openWorldHint: false };

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
      annotations: readOnly,
    },
    {
      name: 'db.get',
      title: 'Get one row by id',
      description:
        'One row by its primary key: {data, found}. found is false when the row does not exist or is not visible to you.',
      inputSchema: {
        type: 'object',
        properties: { model, id: KEY_SCHEMA, select: names, include },
        required: ['model', 'id'],
        additionalProperties: false,
      },
      annotations: readOnly,
    },
    {
      name: 'db.query',
      title: 'Query rows',
      description: `Rows matching where (conditions ANDed), ordered by order_by, ${defaultTake} per page by default and ${maxTake} at most (take). Returns {data, next_cursor, has_more, total_count}; pass next_cursor back as cursor, unchanged and with the same order_by, for the next page. Operators: ${FILTER_OPS.join(' ')}.`,
      inputSchema: {
        type: 'object',
        properties: {
          model,
          select: { ...names, description: 'fields to return (default: all you can read)' },
          where,
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
        },
        required: ['model'],
        additionalProperties: false,
      },
      annotations: readOnly,
    },
    {
      name: 'db.aggregate',
      title: 'Aggregate rows',
      description:
        'count, or sum/avg/min/max of a numeric field, over the rows matching where: {value, operation, field, row_count}; with group_by (fields), {groups: [{key, value}]}.',
      inputSchema: {
        type: 'object',
        properties: {
          model,
          operation: { type: 'string', enum: ['count', 'sum', 'avg', 'min', 'max'] },
          field: { type: 'string', description: 'the numeric field for sum, avg, min and max' },
          where,
          group_by: names,
        },
        required: ['model', 'operation'],
        additionalProperties: false,
      },
      annotations: readOnly,
    },
  ];
}
