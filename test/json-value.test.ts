import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/json-value.js';

/**
 * canonicalJson as its comment defines it, written the plain way: keys sorted by code unit at every
 * level, BigInt as a decimal string, Bytes as base64, dates as ISO strings, undefined properties
 * left out and an undefined array item written as null.
 */
function reference(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((key) => `${JSON.stringify(key)}:${reference((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// keys that look like integers, that sort differently by code unit than by number, `__proto__`,
// and text outside ASCII
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('0', '1', '9', '10', '2a', '__proto__', 'é', 'Z', 'a', 'aa', '😀'),
);
const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 8 }),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((entries) => {
    const object: Record<string, unknown> = {};
    // set as JSON.parse would: an own `__proto__` key, not the prototype
    for (const [name, inner] of entries) {
      Object.defineProperty(object, name, {
        value: inner,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return object;
  }),
}));

describe('canonicalJson', () => {
  it('writes any value as the plain definition does', () => {
    fc.assert(
      fc.property(value, (input) => {
        expect(canonicalJson(input)).toBe(reference(input) ?? 'null');
      }),
      { numRuns: 2000 },
    );
  });

  it('gives equal content one text whatever order its keys were set in', () => {
    const a = { b: [{ y: 1n, x: new Date(0) }], a: { d: '2', c: null } };
    const b = { a: { c: null, d: '2' }, b: [{ x: new Date(0), y: 1n }] };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe(
      '{"a":{"c":null,"d":"2"},"b":[{"x":"1970-01-01T00:00:00.000Z","y":"1"}]}',
    );
    // integer-like keys in code-unit order, not the numeric order an object lists them in
    expect(canonicalJson({ 10: 'ten', 9: 'nine', a: 1 })).toBe('{"10":"ten","9":"nine","a":1}');
  });

  it('a Decimal is its plain digits, never its toJSON', () => {
    const decimal = {
      toFixed: () => '1000000000000000000000',
      isFinite: () => true,
      toJSON: () => '1e+21',
    };
    expect(canonicalJson({ total: decimal })).toBe('{"total":"1000000000000000000000"}');
  });
});
