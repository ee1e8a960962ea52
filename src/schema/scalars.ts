import { GraphQLError, Kind, type ValueNode } from 'graphql';

/** DateTime travels as an ISO-8601 string; accepted as any string `Date` parses. */
export const dateTimeScalar = {
  description: 'An ISO-8601 date-time string, e.g. 2025-01-31T12:00:00.000Z',
  serialize: (value: unknown) => {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime()))
      throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: (value: unknown) => parseDate(value),
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return parseDate(ast.value);
  },
};

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new GraphQLError('DateTime must be an ISO-8601 string, e.g. 2025-01-31T12:00:00Z');
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`DateTime cannot parse "${value}"`);
  // PostgreSQL has no year 0 (JavaScript's 1 BC), and Prisma writes years past 9999 in a form it rejects
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999)
    throw new GraphQLError(`DateTime "${value}" is out of range (years 0001 to 9999, UTC)`);
  return date;
}

/** BigInt and Decimal travel as strings, so no precision is lost in JSON. */
export const stringNumberScalar = (name: 'BigInt' | 'Decimal') => ({
  description: `A ${name} as a decimal string`,
  serialize: (value: unknown) => String(value),
  parseValue: (value: unknown) => parseNumeric(name, value),
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.STRING && ast.kind !== Kind.INT && ast.kind !== Kind.FLOAT) {
      throw new GraphQLError(`${name} must be a string of digits`);
    }
    return parseNumeric(name, ast.value);
  },
});

function parseNumeric(name: 'BigInt' | 'Decimal', value: unknown): string | bigint {
  const text = String(value);
  const pattern = name === 'BigInt' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
  if ((typeof value !== 'string' && typeof value !== 'number') || !pattern.test(text)) {
    throw new GraphQLError(`${name} must be a string like "${name === 'BigInt' ? '42' : '42.50'}"`);
  }
  return name === 'BigInt' ? BigInt(text) : text;
}

/** Arbitrary JSON, passed through. */
export const jsonScalar = {
  description: 'Any JSON value',
  serialize: (value: unknown) => value,
  parseValue: (value: unknown) => value,
  parseLiteral: (ast: ValueNode): unknown => literalValue(ast),
};

function literalValue(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
    case Kind.ENUM:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(
        ast.fields.map((field) => [field.name.value, literalValue(field.value)]),
      );
    default:
      throw new GraphQLError('JSON literals cannot contain variables');
  }
}
