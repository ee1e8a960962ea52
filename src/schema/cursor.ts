import { createHmac, timingSafeEqual } from 'node:crypto';
import { validationError } from '../errors.js';
import type { WhereData } from '../policy/row-scope.js';

/** One column of a list's order; the last ones are the primary key's fields, so the order is total. */
export interface SortKey {
  field: string;
  direction: 'asc' | 'desc';
  nullable: boolean;
  /** For an enum: its values in declaration order, which is the order PostgreSQL sorts them in. */
  values?: readonly string[];
}

/**
 * Keyset cursors: a cursor holds the sort-key values of the row it points at, so the next page is
 * "rows after these values", which stays right when rows are inserted or deleted meanwhile (an
 * offset would skip or repeat rows). The payload is signed: a tampered cursor is rejected.
 */
export class CursorCodec {
  readonly #key: Buffer;

  constructor(secret: string | Uint8Array) {
    this.#key = Buffer.from(typeof secret === 'string' ? `ormai-cursor:${secret}` : secret);
  }

  encode(model: string, keys: SortKey[], row: Record<string, unknown>): string {
    const body = Buffer.from(
      JSON.stringify({
        m: model,
        k: signature(keys),
        v: keys.map((key) => toJson(row[key.field])),
      }),
    ).toString('base64url');
    return `${body}.${this.#sign(body)}`;
  }

  /** The sort-key values in a cursor made by `encode` for the same model and order. */
  decode(model: string, keys: SortKey[], cursor: string, argName = 'after'): unknown[] {
    const invalid = () =>
      validationError(
        `the ${argName} cursor is malformed or was not issued for this query`,
        argName,
        [
          `pass the endCursor of the previous page of the same query unchanged, or omit ${argName} to start over`,
        ],
      );
    const [body, mac, ...rest] = cursor.split('.');
    if (!body || !mac || rest.length > 0) throw invalid();
    const expected = Buffer.from(this.#sign(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    let payload: { m?: unknown; k?: unknown; v?: unknown };
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (payload.m !== model || payload.k !== signature(keys) || !Array.isArray(payload.v)) {
      throw invalid();
    }
    if (payload.v.length !== keys.length) throw invalid();
    return payload.v.map(fromJson);
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#key)
      .update(body)
      .digest()
      .subarray(0, 18)
      .toString('base64url');
  }
}

/** Rows strictly after `values` in the order of `keys` (ascending: nulls last; descending: nulls first). */
export function keysetAfter(keys: SortKey[], values: unknown[]): WhereData {
  const branches: WhereData[] = [];
  keys.forEach((key, i) => {
    const after = afterCondition(key, values[i]);
    if (!after) return;
    const equal = keys.slice(0, i).map((previous, j) => ({ [previous.field]: values[j] ?? null }));
    branches.push({ AND: [...equal, after] });
  });
  // Prisma reads an empty OR as false: nothing comes after
  return { OR: branches };
}

function afterCondition(key: SortKey, value: unknown): WhereData | null {
  if (key.direction === 'asc') {
    if (value === null || value === undefined) return null;
    const greater = beyond(key, value);
    if (!key.nullable) return greater;
    return greater ? { OR: [greater, { [key.field]: null }] } : { [key.field]: null };
  }
  if (value === null || value === undefined) return { [key.field]: { not: null } };
  return beyond(key, value);
}

/**
 * Values past `value` in the key's direction; null when there are none. Prisma has no gt/lt on
 * booleans or enums, so those name the values past it.
 */
function beyond(key: SortKey, value: unknown): WhereData | null {
  if (key.values) {
    // the values declared after this one (before it, descending)
    const at = key.values.indexOf(String(value));
    const past =
      at < 0 ? [] : key.direction === 'asc' ? key.values.slice(at + 1) : key.values.slice(0, at);
    return past.length > 0 ? { [key.field]: { in: [...past] } } : null;
  }
  if (typeof value !== 'boolean')
    return { [key.field]: { [key.direction === 'asc' ? 'gt' : 'lt']: value } };
  // false sorts before true
  const next = key.direction === 'asc' ? (value ? null : true) : value ? false : null;
  return next === null ? null : { [key.field]: next };
}

/** Prisma's orderBy for the keys, with null placement made explicit to match keysetAfter. */
export function prismaOrderBy(keys: SortKey[]): Record<string, unknown>[] {
  return keys.map((key) => ({
    [key.field]: key.nullable
      ? { sort: key.direction, nulls: key.direction === 'asc' ? 'last' : 'first' }
      : key.direction,
  }));
}

const signature = (keys: SortKey[]) => keys.map((key) => `${key.field}:${key.direction}`).join(',');

function toJson(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value !== null && typeof value === 'object') return String(value); // Prisma Decimal
  return value ?? null;
}

function fromJson(value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    const tagged = value as { $date?: unknown; $bigint?: unknown };
    if (typeof tagged.$date === 'string') return new Date(tagged.$date);
    if (typeof tagged.$bigint === 'string') return BigInt(tagged.$bigint);
  }
  return value;
}
