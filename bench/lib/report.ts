// The printed tables.
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)]
    .map((row) => `  ${row}`)
    .join('\n');
}

export const fixed = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);

export const times = (n: number | null | undefined) =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : `${n.toFixed(2)}×`;

/** A target of issue 15: met, missed, or not measured by this run (with the reason). */
export type Verdict = 'met' | 'missed' | 'not measured';

export interface Target {
  target: string;
  measured: string;
  /** The figure compared with the limit (a ratio, a count, tokens); null when not measured. */
  value: number | null;
  limit: number | null;
  /** true: the value must be at most the limit; false: at least. */
  atMost: boolean;
  verdict: Verdict;
}

/** The targets in the order they are checked, each with its verdict. */
export class Targets {
  readonly list: Target[] = [];

  /** A figure against its limit; a missing figure (undefined, NaN) is `not measured: why`. */
  check(
    target: string,
    measured: string,
    value: number | null | undefined,
    limit: number,
    options: { atMost?: boolean; why?: string } = {},
  ) {
    const atMost = options.atMost ?? true;
    if (value === null || value === undefined || Number.isNaN(value)) {
      this.notMeasured(target, options.why ?? 'no figure in this run', limit, atMost);
      return;
    }
    const met = atMost ? value <= limit : value >= limit;
    this.list.push({ target, measured, value, limit, atMost, verdict: met ? 'met' : 'missed' });
  }

  /** A yes/no target (an index scan, a flat memory curve). */
  holds(target: string, measured: string, ok: boolean) {
    this.list.push({
      target,
      measured,
      value: null,
      limit: null,
      atMost: true,
      verdict: ok ? 'met' : 'missed',
    });
  }

  notMeasured(target: string, why: string, limit: number | null = null, atMost = true) {
    this.list.push({ target, measured: why, value: null, limit, atMost, verdict: 'not measured' });
  }

  print(): string {
    const counts = (['met', 'missed', 'not measured'] as const).map(
      (verdict) => `${this.list.filter((t) => t.verdict === verdict).length} ${verdict}`,
    );
    return `${table(
      ['target', 'measured', 'value', 'limit', 'verdict'],
      this.list.map((t) => [
        t.target,
        t.measured,
        t.value === null ? '–' : Number.isInteger(t.value) ? t.value : fixed(t.value),
        t.limit === null ? '–' : `${t.atMost ? '≤' : '≥'} ${t.limit}`,
        t.verdict === 'missed' ? 'MISSED' : t.verdict,
      ]),
    )}\n  ${counts.join(', ')}`;
  }
}
