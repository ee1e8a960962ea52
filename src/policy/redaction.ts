import { createHmac } from 'node:crypto';
import { bytesToBase64, decimalText, isDecimal } from '../json-value.js';

export type Redaction = { kind: 'mask'; pattern?: string } | { kind: 'hash' };

/**
 * Masks a value as OrmAI does (CONTRACT §7). Without a pattern: an email keeps its first letter and
 * domain (`j***@example.com`); a phone-like value of more than 10 digits keeps its first 2 and last 3
 * (`+1*******901`); anything else keeps its first and last character (`s****t`, `ab` → `**`).
 * Patterns: `{firstN}` and `{lastN}` keep that many characters; other characters stand as written
 * (`****{last4}`, `{first2}***`). A Json object or array is masked whole as `****` (its keys and
 * shape can be as telling as its values). null stays null.
 */
export function maskValue(value: unknown, pattern?: string): string | null {
  if (value === null || value === undefined) return null;
  // a Json object or array says nothing of its keys, its shape or its size
  if (isJsonStructure(value)) return JSON_MASK;
  const text = textOf(value);
  if (pattern) {
    return pattern.replace(/\{(first|last)(\d+)\}/g, (_, side: string, count: string) => {
      const n = Math.min(Number(count), text.length);
      return side === 'first' ? text.slice(0, n) : text.slice(text.length - n);
    });
  }
  const at = text.indexOf('@');
  if (at > 0 && at === text.lastIndexOf('@')) {
    return `${text[0]}${'*'.repeat(3)}${text.slice(at)}`;
  }
  const compact = text.replace(/[+\- ]/g, '');
  if (/^\d+$/.test(compact) && compact.length > 10) {
    // counts characters of the original, so `+12345678901` keeps `+1` and `901`
    return `${text.slice(0, 2)}${'*'.repeat(text.length - 5)}${text.slice(-3)}`;
  }
  if (text.length <= 2) return '*'.repeat(text.length);
  return `${text[0]}${'*'.repeat(text.length - 2)}${text.at(-1)}`;
}

/**
 * A 64-character lowercase hex HMAC-SHA256 of the value, keyed by the deployment's hash key
 * (`ORMAI_HASH_KEY`): equal values give equal digests, and without the key nobody can recompute one
 * from a guessed value. A Json object or array is hashed as its canonical JSON (keys sorted, no
 * whitespace), so the same document always gives the same digest. Changing the key changes every
 * digest. null stays null.
 */
export function hashValue(value: unknown, key: string): string | null {
  if (value === null || value === undefined) return null;
  const text = isJsonStructure(value) ? canonicalJson(value) : textOf(value);
  return createHmac('sha256', key).update(text).digest('hex');
}

export function redact(value: unknown, redaction: Redaction, hashKey: string): string | null {
  return redaction.kind === 'hash'
    ? hashValue(value, hashKey)
    : maskValue(value, redaction.pattern);
}

/** What a masked Json object or array becomes. */
export const JSON_MASK = '****';

/** A scalar as the text GraphQL would return for it. */
function textOf(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (isDecimal(value)) return decimalText(value);
  return String(value);
}

/** A Json object or array (not a Date, Bytes or Decimal, which are scalars). */
function isJsonStructure(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array) &&
    !isDecimal(value)
  );
}

/** JSON with object keys sorted at every level and no whitespace (a Json value as Prisma reads it). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What a redacted field says about itself (its GraphQL description and `describeSchema`): that it
 * is masked or hashed for the caller's roles, what the values look like, and that it is no filter.
 */
export function describeRedaction(redaction: Redaction): string {
  const shown =
    redaction.kind === 'hash'
      ? 'Hashed for your role: a 64-character hex digest (HMAC-SHA256), equal for equal values'
      : redaction.pattern
        ? `Masked for your role with the pattern ${redaction.pattern}`
        : 'Masked for your role, e.g. j***@example.com, +1*******901 or s****t';
  return `${shown}. You can select it, not filter, sort or aggregate on it.`;
}
