import { decimalText, isDecimal } from '../json-value.js';

/** Fractional digits an exact average keeps at least (when the division does not end sooner). */
export const AVERAGE_FRACTION_DIGITS = 20;

/** A BigInt or Decimal aggregate as an exact decimal string; null stays null. */
export function exactText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (isDecimal(value)) return decimalText(value);
  return String(value);
}

/**
 * sum / count in decimal arithmetic on bigints: exact when the quotient ends within
 * max(the sum's scale, AVERAGE_FRACTION_DIGITS) fractional digits, else rounded half away from zero
 * there; trailing zeros dropped. Prisma's own average of a BigInt column is a float, which loses
 * digits past 2^53.
 */
export function exactAverage(sum: unknown, count: number): string | null {
  const text = exactText(sum);
  if (text === null || count <= 0) return null;
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return null;
  const [, sign, whole, fraction = ''] = match;
  const scale = Math.max(fraction.length, AVERAGE_FRACTION_DIGITS);
  const numerator = BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
  const divisor = BigInt(count);
  let quotient = numerator / divisor;
  if ((numerator % divisor) * 2n >= divisor) quotient += 1n;
  const digits = quotient.toString().padStart(scale + 1, '0');
  const integer = digits.slice(0, -scale);
  const decimals = digits.slice(-scale).replace(/0+$/, '');
  const negative = sign === '-' && quotient !== 0n;
  return `${negative ? '-' : ''}${integer}${decimals ? `.${decimals}` : ''}`;
}
