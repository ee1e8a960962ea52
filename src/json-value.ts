/**
 * Database values as JSON can carry them, the way GraphQL returns them: a BigInt or a Decimal as a
 * decimal string (exact; `JSON.stringify` throws on a bigint and would round a big number), Bytes as
 * base64, a date as ISO-8601. Used wherever rows or inputs are stored as JSON (audit records,
 * approval requests), so nothing a write can hold makes the record fail.
 */
export function toJsonValue(value: unknown, depth = 0): unknown {
  if (value === undefined || value === null) return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return value;
  if (depth > 50) return '[TRUNCATED]';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (isDecimal(value)) return decimalText(value);
  if (Array.isArray(value)) return value.map((item) => toJsonValue(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => [key, toJsonValue(inner, depth + 1)]),
  );
}

export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A Decimal (Prisma's, decimal.js underneath): recognised by shape, so no runtime is imported. */
export function isDecimal(value: unknown): value is { toFixed(): string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toFixed?: unknown }).toFixed === 'function' &&
    typeof (value as { isFinite?: unknown }).isFinite === 'function'
  );
}

/** Plain decimal notation: decimal.js's toString switches to exponents (`1e+21`), toFixed does not. */
export function decimalText(value: { toFixed(): string }): string {
  return value.toFixed();
}

/**
 * JSON with object keys sorted at every level, so equal content always serialises alike (audit
 * hashes, result digests, policy versions). BigInt, Decimal, Bytes and dates as `toJsonValue` has
 * them; undefined properties are left out, an undefined array item or value is `null`.
 */
export function canonicalJson(value: unknown): string {
  // a copy with every object's keys in order, serialised by the native serialiser: several times
  // faster than a replacer (a JS call per value) or a serialiser written out in JS, and every audit
  // record is serialised for its chain hash. An object with integer-like keys, which an object
  // lists first whatever order they are set in, sends the whole value the slow way.
  try {
    return JSON.stringify(sortedCopy(value)) ?? 'null';
  } catch (error) {
    if (error !== INTEGER_KEYS) throw error;
    return writtenOut(value);
  }
}

/** Thrown by sortedCopy: an object lists integer-like keys first whatever order they are set in. */
const INTEGER_KEYS = Symbol('integer-like keys');

/**
 * The value as `canonicalJson` writes it, for the native serialiser: objects copied with their
 * keys sorted (the code-unit order `<` gives, which is what sort() does with strings), BigInt,
 * Decimal, Bytes and dates as `toJsonValue` has them; everything else as it is.
 */
function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (Array.isArray(value)) {
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = sortedCopy(value[i]);
    return items;
  }
  // the holder's own value, never its toJSON (decimal.js's would switch to exponents)
  if (value instanceof Date || value instanceof Uint8Array || isDecimal(value)) {
    return toJsonValue(value);
  }
  let keys = Object.keys(value);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const first = keys[i]!.charCodeAt(0);
    if (first >= 48 && first <= 57) throw INTEGER_KEYS;
    if (i > 0 && sorted) sorted = keys[i - 1]! < keys[i]!;
  }
  if (!sorted) keys = keys.sort();
  const copy: Record<string, unknown> = {};
  for (const name of keys) {
    const inner = sortedCopy((value as Record<string, unknown>)[name]);
    // an own `__proto__` key stays a key, not the copy's prototype
    if (name === '__proto__') {
      Object.defineProperty(copy, name, { value: inner, enumerable: true, writable: true });
    } else copy[name] = inner;
  }
  return copy;
}

/** `canonicalJson` written out in JS: any key order. */
function writtenOut(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null) ?? 'null';
  if (value instanceof Date || value instanceof Uint8Array || isDecimal(value))
    return JSON.stringify(toJsonValue(value));
  if (Array.isArray(value)) return `[${Array.from(value, writtenOut).join(',')}]`;
  let out = '';
  for (const name of Object.keys(value).sort()) {
    const inner = (value as Record<string, unknown>)[name];
    if (inner === undefined || typeof inner === 'function' || typeof inner === 'symbol') continue;
    out += `${out ? ',' : ''}${JSON.stringify(name)}:${writtenOut(inner)}`;
  }
  return `{${out}}`;
}
