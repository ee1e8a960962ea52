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
