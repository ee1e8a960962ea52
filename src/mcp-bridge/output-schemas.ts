import {
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * The output schema of each tool: what its `structuredContent` holds (the shapes of translate.ts),
 * or the error of a tool result with isError. Both branches are one schema because
 * the MCP SDK client checks structuredContent against it whether or not the result is an error.
 */
export type JsonSchema = Record<string, unknown>;

const string = { type: 'string' };
const boolean = { type: 'boolean' };
const integer = { type: 'integer' };
/** A row: the fields selected (all the caller can read by default). */
const row = { type: 'object' };
/** A key as db.get takes it: its value, or an object of a compound key's fields. */
const key = { type: ['number', 'string', 'object'] };
/** count is an integer; sum, avg, min and max a number, an exact decimal string, or null. */
const aggregateValue = { type: ['number', 'string', 'null'] };

/**
 * `structuredContent` of a tool result with isError (errors.ts toolErrorResult). It is repeated in
 * every tool's output schema, so it names the error's keys and no more (their types are the
 * contract's: CONTRACT §5); a model is not sent output schemas, a client only checks answers.
 */
export const ERROR_OUTPUT: JsonSchema = {
  type: 'object',
  properties: {
    error: { type: 'object', required: ['code', 'message', 'retryable', 'retry_hints', 'details'] },
  },
  required: ['error'],
};

function object(properties: Record<string, unknown>, required = Object.keys(properties)) {
  return { type: 'object', properties, required };
}

/** A tool's output: its result (or one of its result shapes), or its error. */
export function orError(success: JsonSchema): { type: 'object' } & JsonSchema {
  const shapes = Array.isArray(success.anyOf) ? (success.anyOf as JsonSchema[]) : [success];
  return { type: 'object', anyOf: [...shapes, ERROR_OUTPUT] };
}

/** db.* outputs by OrmAI's tool name (CONTRACT §5). */
export const DB_OUTPUTS: Record<string, JsonSchema> = {
  // the model shape is the tool's description's; spelled out here it cost ~180 tokens per listing
  'db.describe_schema': object({
    models: { type: 'object' },
    views: { type: 'object' },
    filterOps: { type: 'array', items: string },
    budgets: { type: 'object' },
  }),
  'db.get': object({ data: { type: ['object', 'null'] }, found: boolean }),
  'db.query': object(
    {
      data: { type: 'array', items: row },
      next_cursor: { type: ['string', 'null'] },
      has_more: boolean,
      total_count: integer,
    },
    ['data', 'next_cursor', 'has_more'],
  ),
  // one shape for both answers (value and row_count, or groups: the description says which):
  // two alternatives cost ~70 tokens more per listing
  'db.aggregate': object(
    {
      value: aggregateValue,
      row_count: integer,
      groups: { type: 'array', items: object({ key: { type: 'object' }, value: aggregateValue }) },
      operation: string,
      field: { type: ['string', 'null'] },
    },
    ['operation', 'field'],
  ),
  'db.create': object({
    data: row,
    id: { type: ['number', 'string', 'object', 'null'] },
    success: boolean,
  }),
  'db.update': object({ data: row, success: boolean, found: boolean }),
  'db.delete': object({ success: boolean, found: boolean, soft_deleted: boolean }),
  'db.bulk_update_by_ids': object({
    updated_count: integer,
    success: boolean,
    failed_ids: { type: 'array', items: key },
  }),
  'db.approval_status': object(
    {
      status: { type: 'string', enum: ['pending', 'approved', 'rejected', 'expired'] },
      result: { description: 'what the approved write returned' },
    },
    ['status'],
  ),
};

/** Any JSON object: a domain tool whose selection is not plain fields (fragments) says no more. */
const ANY_OBJECT: JsonSchema = { type: 'object' };

/**
 * A domain tool's result (the operation's `data`) derived from its selection on the role's schema:
 * fields, aliases and nested selections; a fragment makes that selection any object. A field under
 * `@include` or `@skip` may be missing.
 */
export function operationOutputSchema(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
): JsonSchema {
  const root = schema.getQueryType();
  return root ? selectionSchema(root, operation.selectionSet) : ANY_OBJECT;
}

function selectionSchema(parent: GraphQLObjectType, selectionSet: SelectionSetNode): JsonSchema {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return ANY_OBJECT;
    const name = selection.alias?.value ?? selection.name.value;
    if (selection.name.value === '__typename') {
      properties[name] = string;
    } else {
      const field: GraphQLField<unknown, unknown> | undefined =
        parent.getFields()[selection.name.value];
      if (!field) return ANY_OBJECT;
      properties[name] = valueSchema(field.type, selection.selectionSet);
    }
    if (!selection.directives?.some((d) => d.name.value === 'include' || d.name.value === 'skip'))
      required.push(name);
  }
  return { type: 'object', properties, required };
}

function valueSchema(type: GraphQLOutputType, selectionSet?: SelectionSetNode): JsonSchema {
  if (!isNonNullType(type)) return nullable(nonNullSchema(type, selectionSet));
  return nonNullSchema(type.ofType, selectionSet);
}

function nonNullSchema(type: GraphQLOutputType, selectionSet?: SelectionSetNode): JsonSchema {
  if (isListType(type)) return { type: 'array', items: valueSchema(type.ofType, selectionSet) };
  const named = getNamedType(type);
  if (isObjectType(named) && selectionSet) return selectionSchema(named, selectionSet);
  if (isEnumType(named)) return { type: 'string', enum: named.getValues().map((v) => v.name) };
  if (isScalarType(named)) {
    switch (named.name) {
      case 'Int':
        return integer;
      case 'Float':
        return { type: 'number' };
      case 'Boolean':
        return boolean;
      case 'JSON':
        return {};
      default:
        // String, ID, DateTime; BigInt and Decimal travel as decimal strings
        return string;
    }
  }
  return ANY_OBJECT;
}

function nullable(schema: JsonSchema): JsonSchema {
  if (Object.keys(schema).length === 0) return schema;
  if (typeof schema.type === 'string' && !schema.enum)
    return { ...schema, type: [schema.type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}
