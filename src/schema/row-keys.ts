import { OrmaiError } from '../errors.js';
import type { CompiledField, CompiledModel } from '../policy/compile-policy.js';
import { typeName, uuidValue } from '../policy/field-types.js';
import type { Principal } from '../policy/principal.js';
import { coerceToFieldType, type WhereData } from '../policy/row-scope.js';
import { GRAPHQL_SCALAR } from './parts.js';
import { checkTenantFilter } from './where.js';

/**
 * A row's key, field by field, with values of the fields' types. Callers name a row by its key as
 * a value for a one-field key (`5`, `"9f1c…"`, `"9007199254740993"` for a BigInt) or as an object
 * of every key field for a compound one (`{ orgId: "…", id: 5 }`).
 */
export type RowKey = Record<string, unknown>;

/** The GraphQL type a key field is passed as (BigInt as a string of digits). */
export function keyArgType(field: CompiledField): string {
  return GRAPHQL_SCALAR[field.type] ?? 'String';
}

/** `orgId and id`: how messages name a model's key. */
export function keyNames(model: CompiledModel): string {
  return model.primaryKey.map((field) => field.name).join(' and ');
}

/**
 * The key a caller gave (a value, or an object of the key fields), checked and typed; values that
 * crossed JSON (a BigInt as a string, an approved write's stored request) get their field's type.
 * VALIDATION_ERROR names what is missing or wrong.
 */
export function readKey(model: CompiledModel, given: unknown, path = 'id'): RowKey {
  const fields = model.primaryKey;
  if (fields.length === 0) throw noKey(model);
  const isObject = given !== null && typeof given === 'object' && !(given instanceof Date);
  if (fields.length > 1 && !isObject) {
    throw new OrmaiError(
      'VALIDATION_ERROR',
      `${path}: ${model.name} has a compound key; name the row by ${keyNames(model)}`,
      {
        retryable: true,
        hints: [`pass ${path} as an object of its key fields, e.g. ${keyExample(model)}`],
        details: { field: path },
      },
    );
  }
  const values = isObject ? (given as Record<string, unknown>) : { [fields[0]!.name]: given };
  const unknown = Object.keys(values).find((name) => !fields.some((field) => field.name === name));
  if (unknown !== undefined) {
    throw new OrmaiError(
      'VALIDATION_ERROR',
      `${path}.${unknown} is not a key field of ${model.name}`,
      {
        retryable: true,
        hints: [`the key of ${model.name} is ${keyNames(model)}, e.g. ${keyExample(model)}`],
        details: { field: `${path}.${unknown}` },
      },
    );
  }
  const key: RowKey = {};
  for (const field of fields) {
    const raw = values[field.name];
    const at = fields.length > 1 || isObject ? `${path}.${field.name}` : path;
    const value = raw === undefined || raw === null || raw === '' ? undefined : typed(field, raw);
    if (value === undefined) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        raw === undefined || raw === null
          ? `${at} is required: ${model.name} rows are named by ${keyNames(model)}`
          : `${at}: ${JSON.stringify(String(raw))} is not a ${typeName(field)}`,
        { retryable: true, hints: [`e.g. ${keyExample(model)}`], details: { field: at } },
      );
    }
    key[field.name] = value;
  }
  return key;
}

function typed(field: CompiledField, raw: unknown): unknown {
  if (typeof raw === 'object' && !(raw instanceof Date)) return undefined;
  if (field.uuid) return uuidValue(raw);
  if (field.type === 'BigInt' && typeof raw === 'bigint') return raw;
  if (field.type === 'BigInt' && !/^-?\d+$/.test(String(raw).trim())) return undefined;
  if (field.type === 'DateTime') {
    const date = raw instanceof Date ? raw : new Date(String(raw));
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return coerceToFieldType(field.type, raw);
}

/**
 * A key that holds the tenant field and names another tenant is a scope mistake worth telling
 * (TENANT_SCOPE_VIOLATION), as a filter naming one is: the row could never be the caller's.
 */
export function checkKeyTenant(model: CompiledModel, key: RowKey, principal: Principal | null) {
  const tenant = model.tenantField;
  if (tenant && tenant.name in key) {
    checkTenantFilter(model, { equals: key[tenant.name] }, principal);
  }
}

/** Prisma's unique where for the key: `{ id: 5 }`, or `{ orgId_id: { orgId, id } }`. */
export function uniqueWhere(model: CompiledModel, key: RowKey): WhereData {
  return model.primaryKeyName ? { [model.primaryKeyName]: { ...key } } : { ...key };
}

/** A Prisma where for any of these keys: `{ id: { in: […] } }`, or an OR of compound keys. */
export function keysWhere(model: CompiledModel, keys: RowKey[]): WhereData {
  const fields = model.primaryKey.map((field) => field.name);
  return tuplesWhere(
    fields,
    keys.map((key) => fields.map((field) => key[field])),
  );
}

/**
 * A Prisma where for rows whose `fields` equal one of these value tuples: `{ id: { in: […] } }`
 * for one field, else an OR of the tuples (Prisma reads an empty OR as false: no tuple, no row).
 */
export function tuplesWhere(
  fields: readonly string[],
  tuples: readonly (readonly unknown[])[],
): WhereData {
  if (fields.length === 1) return { [fields[0]!]: { in: tuples.map((tuple) => tuple[0]) } };
  return {
    OR: tuples.map((tuple) => Object.fromEntries(fields.map((field, i) => [field, tuple[i]]))),
  };
}

/**
 * One string per value tuple, for maps and sets: a BigInt, a Decimal and a number name the same
 * row as their strings, a date as its ISO text. A map holds tuples of one length, so a single
 * value is its own text (the to-one loader asks this for every parent row).
 */
export function tupleText(values: readonly unknown[]): string {
  if (values.length === 1) return valueText(values[0]);
  return JSON.stringify(values.map(valueText));
}

const valueText = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

/** The key of a loaded row. */
export function keyOfRow(model: CompiledModel, row: Record<string, unknown>): RowKey {
  return Object.fromEntries(model.primaryKey.map((field) => [field.name, row[field.name]]));
}

/** One string per key, equal for equal keys (whatever type the values came as): for sets and maps. */
export function keyText(model: CompiledModel, key: RowKey): string {
  return JSON.stringify(model.primaryKey.map((field) => jsonValue(key[field.name])));
}

/**
 * The key as the caller names it, JSON-safe: the value for a one-field key, else an object (a
 * BigInt as a string, a date as ISO text), for messages, error details and `failedIds`.
 */
export function keyAsGiven(model: CompiledModel, key: RowKey): unknown {
  if (model.primaryKey.length === 1) return jsonValue(key[model.primaryKey[0]!.name]);
  return Object.fromEntries(
    model.primaryKey.map((field) => [field.name, jsonValue(key[field.name])]),
  );
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** `{"orgId": …, "id": …}` with placeholders, for hints. */
function keyExample(model: CompiledModel): string {
  if (model.primaryKey.length === 1) return `a ${typeName(model.primaryKey[0]!)}`;
  return `{ ${model.primaryKey.map((field) => `"${field.name}": <${typeName(field)}>`).join(', ')} }`;
}

/** A model with neither a primary key nor a unique has no row to name. */
export function noKey(model: CompiledModel): OrmaiError {
  return new OrmaiError(
    'VALIDATION_ERROR',
    `${model.name} has no primary key or unique, so no single row can be named`,
    {
      retryable: true,
      hints: [`list ${model.name} rows with a where instead`],
      details: { model: model.name },
    },
  );
}
