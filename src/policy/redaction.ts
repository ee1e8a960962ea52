import { createHash } from 'node:crypto';

export type Redaction = { kind: 'mask'; pattern?: string } | { kind: 'hash' };

/**
 * Masks a value as OrmAI does (CONTRACT §7). Without a pattern: an email keeps its first letter and
 * domain (`j***@example.com`); a phone-like value of more than 10 digits keeps its first 2 and last 3
 * (`+1*******901`); anything else keeps its first and last character (`s****t`, `ab` → `**`).
 * Patterns: `{firstN}` and `{lastN}` keep that many characters; other characters stand as written
 * (`****{last4}`, `{first2}***`). null stays null.
 */
export function maskValue(value: unknown, pattern?: string): string | null {
  if (value === null || value === undefined) return null;
  const text = value instanceof Date ? value.toISOString() : String(value);
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

/** A 64-character lowercase sha256 hex digest of the salted value; null stays null. */
export function hashValue(value: unknown, salt: string): string | null {
  if (value === null || value === undefined) return null;
  const text = value instanceof Date ? value.toISOString() : String(value);
  return createHash('sha256').update(`${salt}${text}`).digest('hex');
}

export function redact(value: unknown, redaction: Redaction, salt: string): string | null {
  return redaction.kind === 'hash' ? hashValue(value, salt) : maskValue(value, redaction.pattern);
}

/**
 * What a redacted field says about itself (its GraphQL description and `describeSchema`): that it
 * is masked or hashed for the caller's roles, what the values look like, and that it is no filter.
 */
export function describeRedaction(redaction: Redaction): string {
  const shown =
    redaction.kind === 'hash'
      ? 'Hashed for your role: a 64-character hex digest, equal for equal values'
      : redaction.pattern
        ? `Masked for your role with the pattern ${redaction.pattern}`
        : 'Masked for your role, e.g. j***@example.com, +1*******901 or s****t';
  return `${shown}. You can select it, not filter, sort or aggregate on it.`;
}
