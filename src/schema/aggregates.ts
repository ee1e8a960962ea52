import type { GraphQLResolveInfo } from 'graphql';
import { validationError } from '../errors.js';
import type { CompiledField, CompiledModel } from '../policy/compile-policy.js';
import { isExactNumeric } from '../policy/field-types.js';
import { aggregateAsk } from './aggregate-selection.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { exactAverage, exactText } from './exact-decimal.js';
import { requireFilterWhenAsked } from './lists.js';
import { modelNames, type NamingOptions } from './naming.js';
import {
  filterableFields,
  GRAPHQL_SCALAR,
  numericFields,
  type SchemaParts,
  scalarOf,
} from './parts.js';

type AggregateRow = {
  _count?: Record<string, number> | number;
  _sum?: Record<string, unknown>;
  _avg?: Record<string, unknown>;
  _min?: Record<string, unknown>;
  _max?: Record<string, unknown>;
} & Record<string, unknown>;

/**
 * `xsAggregate(where)` and `xsGroupBy(by, where, first)` per model: count, and sum/avg/min/max over
 * the numeric fields the roles read unredacted; groups by unredacted fields only. Both are scoped
 * like every other read.
 */
export function addAggregateFields(parts: SchemaParts, naming?: NamingOptions): void {
  const { builder, policy, whereInputs } = parts;

  for (const model of policy.models.values()) {
    const names = modelNames(model.name, naming);
    const numeric = numericFields(model);
    // BigInt and Decimal sums and averages are decimal strings, computed exactly
    const exact = numeric.filter(isExactNumeric);
    const groupable = filterableFields(model);
    const resolvers = aggregateResolvers(parts, model, numeric, exact, groupable);

    let sums: unknown;
    let extremes: unknown;
    if (numeric.length > 0) {
      sums = builder.objectRef(`${model.name}NumericAggregate`).implement({
        description: `Sums and averages of ${model.name}'s numeric fields (null over no rows${
          exact.length > 0 ? '; BigInt and Decimal ones as exact decimal strings' : ''
        })`,
        fields: (t: any) =>
          Object.fromEntries(
            numeric.map((field) => [
              field.name,
              isExactNumeric(field)
                ? t.field({ type: 'Decimal', nullable: true, resolve: exactValue(field.name) })
                : t.float({ nullable: true, resolve: numberValue(field.name) }),
            ]),
          ),
      });
      extremes = builder.objectRef(`${model.name}ExtremeAggregate`).implement({
        description: `Minimum or maximum of ${model.name}'s numeric fields (null over no rows)`,
        fields: (t: any) =>
          Object.fromEntries(
            numeric.map((field) => [
              field.name,
              t.field({
                type: GRAPHQL_SCALAR[field.type] ?? 'Float',
                nullable: true,
                resolve: plainValue(field.name),
              }),
            ]),
          ),
      });
    }
    const aggregateFields = (t: any) => ({
      count: t.int({ resolve: countOf }),
      ...(numeric.length > 0
        ? {
            sum: t.field({ type: sums, resolve: sumsOf }),
            avg: t.field({ type: sums, resolve: resolvers.averages }),
            min: t.field({ type: extremes, resolve: minimaOf }),
            max: t.field({ type: extremes, resolve: maximaOf }),
          }
        : {}),
    });

    const aggregate = builder.objectRef(`${model.name}Aggregate`).implement({
      description: `Count and numeric aggregates over the ${model.name} rows you can see`,
      fields: aggregateFields,
    });
    builder.queryField(`${names.list}Aggregate`, (t: any) =>
      t.field({
        type: aggregate,
        args: { where: t.arg({ type: whereInputs.get(model.name), required: false }) },
        resolve: resolvers.aggregate,
      }),
    );

    if (groupable.length === 0) continue;
    const byField = builder.enumType(`${model.name}GroupByField`, {
      values: Object.fromEntries(groupable.map((field) => [field.name, { value: field.name }])),
    });
    const key = builder.objectRef(`${model.name}GroupKey`).implement({
      description: `The values one ${model.name} group shares (fields not grouped by are null)`,
      fields: (t: any) =>
        Object.fromEntries(
          groupable.map((field) => [
            field.name,
            t.field({ type: scalarOf(field), nullable: true, resolve: plainValue(field.name) }),
          ]),
        ),
    });
    const group = builder.objectRef(`${model.name}Group`).implement({
      fields: (t: any) => ({
        key: t.field({ type: key, resolve: groupKeyOf }),
        ...aggregateFields(t),
      }),
    });
    // groups sort by their keys, their count or a numeric sum: `[{ sum: { totalCents: DESC } }]`
    const numericOrder =
      numeric.length > 0
        ? builder.inputType(`${model.name}NumericOrderByInput`, {
            fields: (t: any) =>
              Object.fromEntries(
                numeric.map((field) => [
                  field.name,
                  t.field({ type: parts.typeName('SortOrder'), required: false }),
                ]),
              ),
          })
        : null;
    const groupOrder = builder.inputType(`${model.name}GroupOrderByInput`, {
      description: `Sort ${model.name} groups by one key, the count, or a sum per list item.`,
      fields: (t: any) => ({
        count: t.field({ type: parts.typeName('SortOrder'), required: false }),
        ...(numericOrder ? { sum: t.field({ type: numericOrder, required: false }) } : {}),
        ...Object.fromEntries(
          groupable.map((field) => [
            field.name,
            t.field({ type: parts.typeName('SortOrder'), required: false }),
          ]),
        ),
      }),
    });
    builder.queryField(`${names.list}GroupBy`, (t: any) =>
      t.field({
        type: [group],
        args: {
          by: t.arg({ type: [byField], required: true }),
          where: t.arg({ type: whereInputs.get(model.name), required: false }),
          orderBy: t.arg({
            type: [groupOrder],
            required: false,
            description: 'default: by the keys',
          }),
          first: t.arg.int({
            required: false,
            description: 'groups to return',
          }),
        },
        complexity: resolvers.groupComplexity,
        resolve: resolvers.groupBy,
      }),
    );
  }
}

/**
 * The resolvers a model's aggregate and groupBy run, made apart from the types they serve: a
 * closure keeps its whole scope alive with the cached schema, and the scope that builds the types
 * holds the type refs and field builders, which requests never read.
 */
function aggregateResolvers(
  parts: Pick<SchemaParts, 'policy' | 'where' | 'takeOf'>,
  model: CompiledModel,
  numeric: CompiledField[],
  exact: CompiledField[],
  groupable: CompiledField[],
) {
  const { policy, where, takeOf } = parts;
  const delegate = (context: OrmaiContext) =>
    delegateOf(context.prisma, model.name) as unknown as {
      aggregate(args: object): Promise<AggregateRow>;
      groupBy(args: object): Promise<AggregateRow[]>;
    };
  const numericNames = new Set(numeric.map((field) => field.name));
  const exactNames = exact.map((field) => field.name);
  const named = (fields: Iterable<string>) => {
    const known = [...fields].filter((name) => numericNames.has(name));
    return known.length > 0 ? Object.fromEntries(known.map((name) => [name, true])) : undefined;
  };
  // what the query reads, in Prisma's words; an exact average divides the exact sum by the count
  // of non-null values, so it asks for both
  const selectionOf = (info: GraphQLResolveInfo) => {
    const ask = aggregateAsk(info.fieldNodes, info.fragments);
    const exactAverages = exactNames.filter((name) => ask.avg.has(name));
    const count = named(exactAverages);
    const selection: Record<string, object | undefined> = {
      _count: ask.count ? { _all: true, ...count } : count,
      _sum: named([...ask.sum, ...exactAverages]),
      _avg: named(ask.avg),
      _min: named(ask.min),
      _max: named(ask.max),
    };
    const asked = Object.entries(selection).filter(([, value]) => value);
    // a query that reads no aggregate (only `key`, `__typename`) still sends a valid one
    return asked.length > 0 ? Object.fromEntries(asked) : { _count: { _all: true } };
  };
  return {
    averages: (row: AggregateRow) => averages(row, exactNames),
    aggregate: (
      _root: unknown,
      args: { where?: Record<string, unknown> },
      context: OrmaiContext,
      info: GraphQLResolveInfo,
    ) => {
      requireFilterWhenAsked(model, args.where);
      return delegate(context).aggregate({
        where: where.filter(model, args.where, context.principal),
        ...selectionOf(info),
      });
    },
    groupComplexity: (args: { first?: number | null }) => ({
      field: 1,
      multiplier: Math.max(1, args.first ?? policy.budgets.defaultTake),
    }),
    groupBy: (
      _root: unknown,
      args: {
        by: string[];
        where?: Record<string, unknown>;
        orderBy?: Record<string, unknown>[] | null;
        first?: number | null;
      },
      context: OrmaiContext,
      info: GraphQLResolveInfo,
    ) => {
      requireFilterWhenAsked(model, args.where);
      const by = [...new Set(args.by)];
      if (by.length === 0) {
        throw validationError('by must name at least one field', 'by', [
          `group by one or more of: ${groupable.map((field) => field.name).join(', ')}`,
        ]);
      }
      return delegate(context).groupBy({
        by,
        where: where.filter(model, args.where, context.principal),
        ...selectionOf(info),
        orderBy: groupOrderBy(args.orderBy, by),
        take: takeOf(args.first),
      });
    },
  };
}

/**
 * Resolvers that read one field of an aggregate row, one per field name for every schema: a
 * resolver per field and schema was most of what a cached schema's aggregate types held.
 */
function perName(make: (name: string) => (parent: Row) => unknown) {
  const made = new Map<string, (parent: Row) => unknown>();
  return (name: string) => {
    let resolver = made.get(name);
    if (!resolver) {
      resolver = make(name);
      made.set(name, resolver);
    }
    return resolver;
  };
}

type Row = Record<string, unknown>;
const plainValue = perName((name) => (parent) => parent[name] ?? null);
const numberValue = perName((name) => (parent) => toNumber(parent[name]));
const exactValue = perName((name) => (parent) => exactText(parent[name]));
const sumsOf = (row: AggregateRow) => row._sum ?? {};
const minimaOf = (row: AggregateRow) => row._min ?? {};
const maximaOf = (row: AggregateRow) => row._max ?? {};
// a group's key fields are the row's own
const groupKeyOf = (row: AggregateRow) => row;

/** GraphQL group orders in Prisma's words; the keys break ties so the order is stable. */
function groupOrderBy(orderBy: Record<string, unknown>[] | null | undefined, by: string[]) {
  const direction = (value: unknown) => (value === 'DESC' ? 'desc' : 'asc');
  const items = (orderBy ?? []).map((item, index) => {
    const entries = Object.entries(item).filter(([, value]) => value != null);
    if (entries.length !== 1) {
      throw validationError(
        `orderBy[${index}] must name exactly one of a key, count or sum`,
        `orderBy[${index}]`,
      );
    }
    const [name, value] = entries[0]!;
    if (name === 'count') return { _count: { [by[0]!]: direction(value) } };
    if (name === 'sum') {
      const [field, order] =
        Object.entries(value as Record<string, unknown>).find(([, v]) => v != null) ?? [];
      if (!field)
        throw validationError(`orderBy[${index}].sum must name a field`, `orderBy[${index}].sum`);
      return { _sum: { [field]: direction(order) } };
    }
    if (!by.includes(name)) {
      throw validationError(
        `orderBy[${index}]: ${name} is not one of the group keys`,
        `orderBy[${index}]`,
        [`sort by a field in by: ${by.join(', ')}`],
      );
    }
    return { [name]: direction(value) };
  });
  return [...items, ...by.map((field) => ({ [field]: 'asc' }))];
}

function countOf(row: AggregateRow): number {
  const count = row._count;
  return typeof count === 'number' ? count : Number(count?._all ?? 0);
}

/** Prisma's averages, with BigInt and Decimal ones recomputed exactly from sum and count. */
function averages(row: AggregateRow, exact: string[]): Record<string, unknown> {
  const result: Record<string, unknown> = { ...row._avg };
  const counts = typeof row._count === 'object' ? row._count : {};
  for (const name of exact) {
    result[name] = exactAverage(row._sum?.[name], Number(counts[name] ?? 0));
  }
  return result;
}

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return Number(value);
}
