import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import type { CursorCodec } from './cursor.js';
import type { WhereTranslator } from './where.js';

/**
 * What the pieces of the schema builder share. The builder is typed loosely on purpose: the schema
 * is generated from runtime metadata, so model names are not known to TypeScript.
 */
export interface SchemaParts {
  builder: any;
  policy: CompiledPolicy;
  datamodel: Datamodel;
  where: WhereTranslator;
  cursors: CursorCodec;
  objects: Map<string, unknown>;
  whereInputs: Map<string, unknown>;
  orderByInputs: Map<string, unknown>;
  /** Validates a requested row count against the budget; returns the rows to fetch. */
  takeOf(first: number | null | undefined, argName?: string): number;
}

export const GRAPHQL_SCALAR: Record<string, string> = {
  Int: 'Int',
  Float: 'Float',
  String: 'String',
  Boolean: 'Boolean',
  DateTime: 'DateTime',
  Json: 'JSON',
  BigInt: 'BigInt',
  Decimal: 'Decimal',
  Bytes: 'String',
};

const NUMERIC = new Set(['Int', 'Float', 'Decimal', 'BigInt']);

/** The GraphQL type a field is returned as: a redacted value is always a string. */
export function outputScalar(field: CompiledField): string {
  if (field.redaction) return 'String';
  return field.kind === 'enum' ? 'String' : (GRAPHQL_SCALAR[field.type] ?? 'String');
}

/** Unredacted single values can be filtered, sorted, grouped and aggregated: no oracle on the rest. */
export function isFilterable(field: CompiledField): boolean {
  return !field.redaction && !field.list && field.type !== 'Json' && field.type !== 'Bytes';
}

export function numericFields(model: CompiledModel): CompiledField[] {
  return [...model.fields.values()].filter(
    (field) => isFilterable(field) && NUMERIC.has(field.type),
  );
}

export function filterableFields(model: CompiledModel): CompiledField[] {
  return [...model.fields.values()].filter(isFilterable);
}
