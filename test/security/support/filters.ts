// fast-check arbitraries for where and orderBy inputs a principal may legally send: fields it may
// filter on, relations it may walk, AND/OR/NOT, values drawn from the data and from odd strings.
import fc from 'fast-check';
import {
  filterableFields,
  MODELS,
  type ModelName,
  type Principal,
  relationsOf,
  type ScalarType,
} from './spec.js';
import type { OrderBy, Truth } from './truth.js';

export type Where = Record<string, unknown>;

/** Between `min` and `max` distinct items of a list (clamped to its length). */
export const someOf = <T>(items: readonly T[], min: number, max: number): fc.Arbitrary<T[]> =>
  fc.subarray([...items], {
    minLength: Math.min(min, items.length),
    maxLength: Math.min(max, items.length),
  });

/** Strings an attacker or a confused agent sends: SQL, LIKE wildcards, escapes, odd unicode. */
export const ODD_STRINGS = [
  "' OR 1=1 --",
  '"; DROP TABLE "Order"; --',
  "'; SELECT pg_sleep(5); --",
  '1\' UNION SELECT "passwordHash" FROM "User" --',
  '%',
  '_',
  '%_%',
  '\\',
  '\\%',
  'a\\',
  "'",
  "''",
  '$1',
  '$principal.sub',
  '$principal.tenantId',
  '*',
  '.*',
  '[a-z]',
  'Ådå',
  'straße',
  'İstanbul',
  '\u200b',
  'e\u0301',
  '👩‍💻',
  '\u202eesrever',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  '',
  ' ',
  '\t\n',
  'x'.repeat(3000),
];

const OPS: Record<ScalarType, string[]> = {
  Int: ['equals', 'not', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
  DateTime: ['equals', 'not', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
  String: [
    'equals',
    'not',
    'in',
    'notIn',
    'lt',
    'lte',
    'gt',
    'gte',
    'contains',
    'startsWith',
    'endsWith',
    'isNull',
  ],
  Boolean: ['equals', 'not', 'isNull'],
};

const INT32 = { min: -2147483648, max: 2147483647 };

/** Values of one column: from the data (so filters match rows), and edge cases. */
export function baseValue(truth: Truth, model: ModelName, field: string): fc.Arbitrary<unknown> {
  const type = MODELS[model].fields[field]!.type;
  const sample = truth.values(model, field);
  switch (type) {
    case 'Int':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(sample as number[]), 0, 1) },
        { weight: 1, arbitrary: fc.integer(INT32) },
      );
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...(sample as string[])) },
        {
          weight: 1,
          arbitrary: fc
            .date({ min: new Date('1990-01-01'), max: new Date('2035-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString()),
        },
      );
    default: {
      const strings = sample as string[];
      const pieces = strings.flatMap((value) => [
        value.slice(0, 3),
        value.slice(-3),
        value.slice(1, 5),
      ]);
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...strings) },
        { weight: 3, arbitrary: fc.constantFrom(...pieces) },
        { weight: 2, arbitrary: fc.constantFrom(...ODD_STRINGS) },
        // no NUL: PostgreSQL text cannot hold it (the malformed corpus sends it on purpose)
        {
          weight: 1,
          arbitrary: fc
            .string({ unit: 'grapheme', maxLength: 8 })
            .filter((text) => !text.includes('\u0000')),
        },
      );
    }
  }
}

export class FilterArbitraries {
  readonly #cache = new Map<string, fc.Arbitrary<Where>>();

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {}

  /** A filter object on one field: one or two operators. */
  scalar(model: ModelName, field: string): fc.Arbitrary<Where> {
    const spec = MODELS[model];
    const type = spec.fields[field]!.type;
    if (field === spec.tenantField) return this.tenantFilter();
    const base = baseValue(this.truth, model, field);
    const valueFor = (op: string): fc.Arbitrary<unknown> => {
      const value =
        op === 'isNull'
          ? fc.boolean()
          : op === 'in' || op === 'notIn'
            ? fc.array(base, { maxLength: 4 })
            : base;
      // an explicit null is no condition (or `is null` / `is not null` for equals / not)
      return fc.oneof(
        { weight: 19, arbitrary: value },
        { weight: 1, arbitrary: fc.constant(null) },
      );
    };
    return someOf(OPS[type], 1, 2).chain((ops) =>
      fc
        .tuple(...ops.map(valueFor))
        .map((values) => Object.fromEntries(ops.map((op, i) => [op, values[i]]))),
    );
  }

  /** The tenant column may be filtered, as long as it names no other tenant. */
  tenantFilter(): fc.Arbitrary<Where> {
    const own = this.principal.tenantId;
    return fc.oneof(
      fc.constant({ equals: own }),
      fc.constant({ in: [own] }),
      fc.record({ not: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ notIn: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }) }),
      fc.record({ gte: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ lt: fc.integer({ min: 0, max: 4 }) }),
    );
  }

  /** A where input on `model`, nesting AND/OR/NOT and relation filters `depth` more levels. */
  where(model: ModelName, depth: number): fc.Arbitrary<Where> {
    const key = `${model}:${depth}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const role = this.principal.role;
    const entries = new Map<string, fc.Arbitrary<unknown>>();
    for (const field of filterableFields(role, model))
      entries.set(field, this.scalar(model, field));
    if (depth > 0) {
      const inner = () => this.where(model, depth - 1);
      for (const rel of relationsOf(role, model)) {
        const target = this.where(rel.target, depth - 1);
        const ops = rel.list ? ['some', 'every', 'none'] : ['is'];
        entries.set(
          rel.name,
          someOf(ops, 1, 2).chain((chosen) =>
            fc
              .tuple(...chosen.map(() => target))
              .map((values) => Object.fromEntries(chosen.map((op, i) => [op, values[i]]))),
          ),
        );
      }
      for (const logical of ['AND', 'OR', 'NOT'])
        entries.set(logical, fc.array(inner(), { maxLength: 2 }));
    }
    const keys = [...entries.keys()];
    const arbitrary = someOf(keys, 0, 3).chain((chosen) =>
      fc
        .tuple(
          ...chosen.map((name) =>
            fc.oneof(
              { weight: 24, arbitrary: entries.get(name)! },
              { weight: 1, arbitrary: fc.constant(null) },
            ),
          ),
        )
        .map((values) => Object.fromEntries(chosen.map((name, i) => [name, values[i]]))),
    );
    this.#cache.set(key, arbitrary);
    return arbitrary;
  }

  orderBy(model: ModelName): fc.Arbitrary<OrderBy> {
    const fields = filterableFields(this.principal.role, model);
    return fc.array(
      fc
        .tuple(fc.constantFrom(...fields), fc.constantFrom('ASC' as const, 'DESC' as const))
        .map(([field, direction]) => ({ [field]: direction })),
      { maxLength: 3 },
    );
  }
}
