import type { CompiledField, CompiledPolicy } from './compile-policy.js';

/** OrmAI's filter operators (the MCP tools' names); GraphQL where inputs offer the same set. */
export const FILTER_OPS = [
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
] as const;

export type FilterOpName = (typeof FILTER_OPS)[number];

/** How a field can be compared; it decides its filter operators everywhere (GraphQL, MCP, describe). */
export type FilterKind = 'string' | 'comparable' | 'boolean' | 'enum' | 'uuid';

export const OPS_BY_KIND: Record<FilterKind, readonly FilterOpName[]> = {
  string: [
    'eq',
    'ne',
    'in',
    'not_in',
    'lt',
    'lte',
    'gt',
    'gte',
    'contains',
    'startswith',
    'endswith',
    'is_null',
    'between',
  ],
  comparable: ['eq', 'ne', 'in', 'not_in', 'lt', 'lte', 'gt', 'gte', 'is_null', 'between'],
  boolean: ['eq', 'ne', 'is_null'],
  // an enum's order is its declaration order, which callers cannot see: equality only
  enum: ['eq', 'ne', 'in', 'not_in', 'is_null'],
  // a uuid is no text (PostgreSQL has no LIKE on it) and its order means nothing: equality only
  uuid: ['eq', 'ne', 'in', 'not_in', 'is_null'],
};

const NUMERIC = new Set(['Int', 'Float', 'Decimal', 'BigInt']);
/** Numbers JSON cannot carry exactly: they travel as decimal strings, aggregates included. */
const EXACT = new Set(['Decimal', 'BigInt']);

/**
 * Unredacted single values can be filtered, sorted, grouped and aggregated: no oracle on the rest.
 * Lists, Json and Bytes are not comparable values, so they are returned only.
 */
export function isFilterable(field: CompiledField): boolean {
  // a field decided row by row (several roles) is plain on some rows only: no oracle either
  return (
    !field.redaction &&
    !field.byRole &&
    !field.list &&
    field.type !== 'Json' &&
    field.type !== 'Bytes'
  );
}

export function isNumeric(field: CompiledField): boolean {
  return field.kind === 'scalar' && NUMERIC.has(field.type);
}

export function isExactNumeric(field: CompiledField): boolean {
  return field.kind === 'scalar' && EXACT.has(field.type);
}

/** The values of an enum field, or null when it is no enum or the datamodel does not name them. */
export function enumValuesFor(
  policy: CompiledPolicy,
  field: CompiledField,
): readonly string[] | null {
  return field.kind === 'enum' ? (policy.enums.get(field.type) ?? null) : null;
}

/** How a filterable field compares, and so which operators it takes. */
export function filterKind(field: CompiledField): FilterKind {
  if (field.kind === 'enum') return 'enum';
  if (field.type === 'Boolean') return 'boolean';
  if (field.uuid) return 'uuid';
  if (field.type === 'String') return 'string';
  return 'comparable';
}

/** The operators a filterable field takes; an enum offers is_null only where it can be null. */
export function filterOpsFor(field: CompiledField): readonly FilterOpName[] {
  const kind = filterKind(field);
  return kind === 'enum' && !field.nullable
    ? OPS_BY_KIND.enum.filter((op) => op !== 'is_null')
    : OPS_BY_KIND[kind];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A uuid in its canonical form (lower case), or undefined for anything else: the database refuses
 * to compare a uuid column with other text, so a value that is no uuid is the caller's mistake.
 */
export function uuidValue(raw: unknown): string | undefined {
  return typeof raw === 'string' && UUID.test(raw.trim()) ? raw.trim().toLowerCase() : undefined;
}

/** How messages name a field's type: `uuid` for a uuid column, else its datamodel type. */
export function typeName(field: CompiledField): string {
  return field.uuid ? 'uuid' : field.type;
}
