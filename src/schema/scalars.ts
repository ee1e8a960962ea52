import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { bytesToBase64, decimalText, isDecimal } from '../json-value.js';

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
  serialize: (value: unknown) => (isDecimal(value) ? decimalText(value) : String(value)),
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

/** Bytes travel as base64 strings; they are returned and written, never filtered or sorted. */
export const bytesScalar = {
  description: 'Binary data as a base64 string',
  serialize: (value: unknown) => {
    if (value instanceof Uint8Array) return bytesToBase64(value);
    // a Buffer that went through JSON (an approved write's stored result)
    const json = value as { type?: unknown; data?: unknown } | null;
    if (json?.type === 'Buffer' && Array.isArray(json.data))
      return bytesToBase64(Uint8Array.from(json.data as number[]));
    if (typeof value === 'string') return value;
    throw new GraphQLError('Bytes cannot represent a value that is not binary data');
  },
  parseValue: (value: unknown) => parseBase64(value),
  parseLiteral: (ast: ValueNode) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Bytes must be a base64 string');
    return parseBase64(ast.value);
  },
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new GraphQLError('Bytes must be a base64 string, e.g. "AAEC/w=="');
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
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
