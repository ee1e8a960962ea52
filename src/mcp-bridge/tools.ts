import type { CompiledPolicy } from '../policy/compile-policy.js';
import { FILTER_OPS } from '../policy/describe.js';

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
  annotations?: { readOnlyHint?: boolean; openWorldHint?: boolean };
}

export const READ_TOOLS = ['db.describe_schema', 'db.get', 'db.query', 'db.aggregate'] as const;

/**
 * The db.* tools for one caller, with input schemas generated from what the caller's roles can read:
 * the model enum lists only readable models, and descriptions say the operators, the budgets and
 * how to page, so an agent can form a valid call first time.
 */
export function readTools(policy: CompiledPolicy): ToolDefinition[] {
  const models = [...policy.models.keys()];
  const { defaultTake, maxTake, maxIncludeDepth } = policy.budgets;
  const fieldsByModel = [...policy.models.values()]
    .map((model) => `${model.name}: ${[...model.fields.keys()].join(', ')}`)
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
        description: 'a field you can filter on (not a masked or hashed one)',
      },
      op: { type: 'string', enum: [...FILTER_OPS] },
      value: {
        description:
          'a value; a list for in/not_in; [low, high] for between; true/false for is_null',
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
        properties: { model, id: { type: ['integer', 'string'] }, select: names, include },
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
