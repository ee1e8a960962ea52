// fast-check arbitraries for where and orderBy inputs a principal may legally send: fields it may
// filter on, relations it may walk, AND/OR/NOT, values drawn from the data and from odd strings.
import fc from 'fast-check';
import type { AppModel, FieldInfo, Principal } from './app-model.js';
import type { OrderBy, Truth, Where } from './truth.js';

export type { Where };

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

/** The operators a where input offers on a field of this kind (CONTRACT §4, §11). */
export function filterOps(field: FieldInfo): string[] {
  if (field.isEnum) return ['equals', 'in', 'notIn'];
  if (field.type === 'Boolean') return ['equals', 'not', 'isNull'];
  // a uuid column takes uuids by equality only (UuidFilter)
  if (isUuid(field)) return ['equals', 'not', 'in', 'notIn', 'isNull'];
  const comparable = ['equals', 'not', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'];
  if (field.type === 'String') return [...comparable, 'contains', 'startsWith', 'endsWith'];
  return comparable;
}

const INT32 = { min: -2147483648, max: 2147483647 };

/** Whether a string column holds uuids: only uuids compare with it, any text matches inside it. */
export const isUuid = (field: FieldInfo) => field.sqlType === 'uuid';

/** Values of one column for `op`: from the data (so filters match rows), and edge cases. */
export function baseValue(
  truth: Truth,
  model: string,
  name: string,
  op = 'equals',
): fc.Arbitrary<unknown> {
  const field = truth.model.field(model, name);
  const sample = truth.values(model, name);
  const fromData = <T>(fallback: fc.Arbitrary<T>) =>
    sample.length ? fc.constantFrom(...(sample as T[])) : fallback;
  switch (field.type) {
    case 'Int':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...(sample as number[]), 0, 1) },
        { weight: 1, arbitrary: fc.integer(INT32) },
      );
    case 'Float':
      return fc.oneof(
        { weight: 4, arbitrary: fromData(fc.double({ noNaN: true, noDefaultInfinity: true })) },
        { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
      );
    case 'BigInt':
      return fc.oneof(
        { weight: 4, arbitrary: fromData(fc.constant('0')) },
        { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) },
      );
    case 'Decimal':
      return fc.oneof(
        { weight: 4, arbitrary: fromData(fc.constant('0')) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.integer({ min: -99999, max: 99999 }), fc.integer({ min: 0, max: 99 }))
            .map(([whole, cents]) => `${whole}.${String(cents).padStart(2, '0')}`),
        },
      );
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return fc.oneof(
        { weight: 3, arbitrary: fromData(fc.constant('2025-01-01T00:00:00.000Z')) },
        {
          weight: 1,
          arbitrary: fc
            .date({ min: new Date('1990-01-01'), max: new Date('2035-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString()),
        },
      );
  }
  if (field.isEnum) return fc.constantFrom(...field.enumValues);
  const strings = sample as string[];
  if (isUuid(field) && !['contains', 'startsWith', 'endsWith'].includes(op)) {
    return fc.oneof(
      { weight: 4, arbitrary: fromData(fc.uuid()) },
      { weight: 1, arbitrary: fc.uuid() },
    );
  }
  const pieces = strings.flatMap((value) => [
    value.slice(0, 3),
    value.slice(-3),
    value.slice(1, 5),
  ]);
  return fc.oneof(
    { weight: 4, arbitrary: fromData(fc.constant('a')) },
    { weight: 3, arbitrary: pieces.length ? fc.constantFrom(...pieces) : fc.constant('a') },
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

export class FilterArbitraries {
  readonly #cache = new Map<string, fc.Arbitrary<Where>>();

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {}

  get app(): AppModel {
    return this.truth.model;
  }

  /** A filter object on one field: one or two operators. */
  scalar(model: string, name: string): fc.Arbitrary<Where> {
    const field = this.app.field(model, name);
    if (name === this.app.model(model).tenantField) return this.tenantFilter(isUuid(field));
    const valueFor = (op: string): fc.Arbitrary<unknown> => {
      const base = baseValue(this.truth, model, name, op);
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
    return someOf(filterOps(field), 1, 2).chain((ops) =>
      fc
        .tuple(...ops.map(valueFor))
        .map((values) => Object.fromEntries(ops.map((op, i) => [op, values[i]]))),
    );
  }

  /** The tenant column may be filtered, as long as it names no other tenant. */
  tenantFilter(uuid: boolean): fc.Arbitrary<Where> {
    const own = this.principal.tenantId;
    const any = fc.constantFrom(...this.truth.tenants);
    return fc.oneof(
      fc.constant({ equals: own }),
      fc.constant({ in: [own] }),
      fc.record({ not: any }),
      fc.record({ notIn: fc.array(any, { maxLength: 3 }) }),
      // a uuid has no order to compare by (UuidFilter)
      ...(uuid ? [] : [fc.record({ gte: any }), fc.record({ lt: any })]),
    );
  }

  /** A where input on `model`, nesting AND/OR/NOT and relation filters `depth` more levels. */
  where(model: string, depth: number): fc.Arbitrary<Where> {
    const key = `${model}:${depth}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const role = this.principal.role;
    const entries = new Map<string, fc.Arbitrary<unknown>>();
    for (const field of this.app.filterableFields(role, model))
      entries.set(field, this.scalar(model, field));
    if (depth > 0) {
      const inner = () => this.where(model, depth - 1);
      for (const rel of this.app.relationsOf(role, model)) {
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

  /** An orderBy list; null when the role can sort the model on nothing (it has no orderBy). */
  orderBy(model: string): fc.Arbitrary<OrderBy | null> {
    const fields = this.app.filterableFields(this.principal.role, model);
    if (fields.length === 0) return fc.constant(null);
    return fc.array(
      fc
        .tuple(fc.constantFrom(...fields), fc.constantFrom('ASC' as const, 'DESC' as const))
        .map(([field, direction]) => ({ [field]: direction })),
      { maxLength: 3 },
    );
  }
}
