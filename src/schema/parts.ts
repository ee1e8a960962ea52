import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import { isFilterable, isNumeric } from '../policy/field-types.js';
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
  /** One of ormai's own type names (`SortOrder`, `AuditRecord`, …) with `naming.typePrefix`. */
  typeName(name: string): string;
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
  Bytes: 'Bytes',
};

/** The GraphQL type of a field's plain value: an enum is its own type (see enums.ts). */
export function scalarOf(field: { kind: string; type: string }): string {
  return field.kind === 'enum' ? field.type : (GRAPHQL_SCALAR[field.type] ?? 'String');
}

/** The GraphQL type a field is returned as: a redacted value is always a string. */
export function outputScalar(field: CompiledField): string {
  return field.redaction ? 'String' : scalarOf(field);
}

export function numericFields(model: CompiledModel): CompiledField[] {
  return [...model.fields.values()].filter((field) => isFilterable(field) && isNumeric(field));
}

export function filterableFields(model: CompiledModel): CompiledField[] {
  return [...model.fields.values()].filter(isFilterable);
}
