import {
  GraphQLEnumType,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  print,
  type ValueNode,
} from 'graphql';
import type { SchemaParts } from './parts.js';

/**
 * Registers the datamodel's enums the schema uses: a GraphQL enum per enum whose values the
 * datamodel names, else a string scalar of the enum's name (so every field can name its type the
 * same way). Only enums of fields these roles can filter, read plainly or write appear: a denied
 * field leaves no trace of its enum. Returns the names of the GraphQL enums.
 */
export function addEnumTypes(parts: SchemaParts): Set<string> {
  const { builder, policy, datamodel } = parts;
  const used = new Set<string>();
  for (const model of policy.models.values()) {
    for (const field of model.fields.values()) {
      if (field.kind === 'enum' && !field.redaction) used.add(field.type);
    }
  }
  for (const [modelName, kinds] of policy.writes) {
    const fields = datamodel.datamodel.models[modelName]?.fields ?? [];
    for (const write of Object.values(kinds)) {
      for (const name of write?.fields ?? []) {
        const field = fields.find((candidate) => candidate.name === name);
        if (field?.kind === 'enum') used.add(field.type);
      }
    }
  }
  const enums = new Set<string>();
  for (const name of [...used].sort()) {
    const values = policy.enums.get(name);
    if (values && values.length > 0) {
      builder.enumType(name, {
        description: `One of: ${values.join(', ')}`,
        values: Object.fromEntries(values.map((value) => [value, { value }])),
      });
      enums.add(name);
    } else {
      builder.scalarType(name, {
        description: `A value of the enum ${name}, as a string (its values are not in the datamodel ormai was given)`,
        serialize: (value: unknown) => String(value),
        parseValue: (value: unknown) => {
          if (typeof value !== 'string') throw new GraphQLError(`${name} must be a string`);
          return value;
        },
        parseLiteral: (ast: ValueNode) => {
          if (ast.kind !== Kind.STRING && ast.kind !== Kind.ENUM)
            throw new GraphQLError(`${name} must be a string`, { nodes: ast });
          return ast.value;
        },
      });
    }
  }
  return enums;
}

/**
 * A wrong enum value is the caller's to fix: VALIDATION_ERROR listing every allowed value (GraphQL's
 * own message suggests one at most), for a literal and a variable alike. The field it was given for
 * is added to details where the error leaves the server (src/server/errors.ts).
 */
export function explainEnumErrors(schema: GraphQLSchema, names: Set<string>): void {
  for (const name of names) {
    const type = schema.getType(name);
    if (!(type instanceof GraphQLEnumType)) continue;
    const allowed = type.getValues().map((value) => value.name);
    const error = (given: string, nodes?: ValueNode) =>
      new GraphQLError(`${given} is not a ${name}; use one of: ${allowed.join(', ')}`, {
        ...(nodes ? { nodes } : {}),
        extensions: {
          code: 'VALIDATION_ERROR',
          retryable: true,
          retryHints: [
            `pass one of ${allowed.join(', ')}${nodes ? ' (as a bare enum value, without quotes)' : ' (as a string)'}`,
          ],
          details: { enum: name, allowed },
        },
      });
    const coerceValue = type.coerceInputValue.bind(type);
    const coerceLiteral = type.coerceInputLiteral.bind(type);
    type.coerceInputValue = (value, hideSuggestions) => {
      try {
        return coerceValue(value, hideSuggestions);
      } catch {
        throw error(JSON.stringify(value) ?? String(value));
      }
    };
    type.coerceInputLiteral = (node, hideSuggestions) => {
      try {
        return coerceLiteral(node, hideSuggestions);
      } catch {
        throw error(print(node), node);
      }
    };
  }
}
