import {
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  parse,
  typeFromAST,
  validate,
} from 'graphql';
import type { DomainTool } from '../app.js';
import { operationOutputSchema, orError } from './output-schemas.js';
import { READ_ONLY, type ToolDefinition } from './tools.js';

export interface PreparedDomainTool {
  tool: DomainTool;
  document: DocumentNode;
  operation: OperationDefinitionNode;
}

/** Parses each domain tool once; a tool whose document is not one query is a configuration error. */
export function prepareDomainTools(tools: DomainTool[] = []): PreparedDomainTool[] {
  return tools.map((tool) => {
    const document = parse(tool.document);
    const operations = document.definitions.filter(
      (definition): definition is OperationDefinitionNode =>
        definition.kind === Kind.OPERATION_DEFINITION,
    );
    if (operations.length !== 1 || operations[0]!.operation !== 'query') {
      throw new Error(`domain tool ${tool.name}: the document must hold exactly one query`);
    }
    return { tool, document, operation: operations[0]! };
  });
}

/**
 * The domain tools a schema can run, as MCP tool definitions whose input schema is derived from the
 * operation's variables. A tool that does not validate against a role's schema (it reads something
 * the role may not) is not offered to that role.
 */
export function domainToolsFor(
  tools: PreparedDomainTool[],
  schema: GraphQLSchema,
): ToolDefinition[] {
  return tools
    .filter((prepared) => validate(schema, prepared.document).length === 0)
    .map(({ tool, operation }) => {
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const variable of operation.variableDefinitions ?? []) {
        const type = typeFromAST(schema, variable.type as never) as GraphQLInputType | undefined;
        if (!type) continue;
        const name = variable.variable.name.value;
        properties[name] = jsonSchemaOf(type);
        if (isNonNullType(type) && !variable.defaultValue) required.push(name);
      }
      return {
        name: tool.name,
        title: tool.name,
        description: tool.description,
        inputSchema: {
          type: 'object',
          properties,
          ...(required.length > 0 ? { required } : {}),
          additionalProperties: false,
        },
        outputSchema: orError(operationOutputSchema(schema, operation)),
        annotations: READ_ONLY,
      };
    });
}

function jsonSchemaOf(type: GraphQLInputType, depth = 0): Record<string, unknown> {
  if (isNonNullType(type)) return jsonSchemaOf(type.ofType, depth);
  if (isListType(type)) return { type: 'array', items: jsonSchemaOf(type.ofType, depth) };
  const named = getNamedType(type);
  if (isEnumType(named))
    return { type: 'string', enum: named.getValues().map((value) => value.name) };
  if (isInputObjectType(named)) {
    // deep recursive inputs (where) are described by name, not unrolled
    if (depth > 1) return { type: 'object', description: named.name };
    const fields = Object.values(named.getFields());
    const required = fields
      .filter((field) => isNonNullType(field.type) && field.defaultValue === undefined)
      .map((field) => field.name);
    // GraphQL refuses fields an input object does not declare
    return {
      type: 'object',
      properties: Object.fromEntries(
        fields.map((field) => [field.name, jsonSchemaOf(field.type, depth + 1)]),
      ),
      ...(required.length > 0 ? { required } : {}),
      additionalProperties: false,
    };
  }
  if (isScalarType(named)) {
    switch (named.name) {
      case 'Int':
        return { type: 'integer' };
      case 'Float':
        return { type: 'number' };
      case 'Boolean':
        return { type: 'boolean' };
      case 'JSON':
        return {};
      default:
        return { type: 'string', ...(named.name === 'DateTime' ? { format: 'date-time' } : {}) };
    }
  }
  return {};
}
