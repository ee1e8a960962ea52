import SchemaBuilder from '@pothos/core';
import PrismaPlugin, { queryFromInfo } from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { OrmaiError, unwrap, validationError } from '../errors.js';
import TenantScopePlugin from '../plugins/tenant-scope/index.js';
import type { CompiledField, CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import { rowScope } from '../policy/row-scope.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { CursorCodec, keysetAfter, prismaOrderBy, type SortKey } from './cursor.js';
import { modelNames, type NamingOptions } from './naming.js';
import { dateTimeScalar, jsonScalar, stringNumberScalar } from './scalars.js';
import { loadToOne } from './to-one-loader.js';
import { and, toPrismaWhere, toSortKeys, type WhereInput } from './where.js';

export interface BuildSchemaOptions {
  datamodel: Datamodel;
  policy: CompiledPolicy;
  /** Signs pagination cursors; keep it stable across restarts so cursors stay valid. */
  cursorSecret: string;
  naming?: NamingOptions;
}

const FILTER_OPS = {
  comparable: ['equals', 'not', 'in', 'notIn', 'lt', 'lte', 'gt', 'gte', 'isNull'],
  string: [
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
  boolean: ['equals', 'not', 'isNull'],
} as const;

const GRAPHQL_SCALAR: Record<string, string> = {
  Int: 'Int',
  Float: 'Float',
  String: 'String',
  Boolean: 'Boolean',
  DateTime: 'DateTime',
  Json: 'JSON',
  BigInt: 'BigInt',
  Decimal: 'Decimal',
  Bytes: 'String',
};

interface ConnectionResult {
  edges: { cursor: string; node: Record<string, unknown> }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  /** The scoped, filtered where, for totalCount (which ignores paging). */
  countWhere: object;
}

/**
 * Builds the GraphQL schema from the datamodel and the compiled policy: per model an object type,
 * `x(id)`, `xs(where, orderBy, first, after)` as a connection, where and orderBy inputs, and scoped
 * relation fields. Nothing is written per model by hand: a new model appears after a restart.
 */
export function buildSchema(options: BuildSchemaOptions): GraphQLSchema {
  const { datamodel, policy } = options;
  const cursors = new CursorCodec(options.cursorSecret);
  const { defaultTake, maxTake } = policy.budgets;

  // The schema is generated from runtime metadata, so model names are not known to TypeScript.
  const builder: any = new SchemaBuilder<{
    Context: OrmaiContext;
    PrismaTypes: any;
    DefaultFieldNullability: false;
  }>({
    plugins: [PrismaPlugin, RelayPlugin, TenantScopePlugin],
    defaultFieldNullability: false,
    prisma: {
      client: (context: OrmaiContext) => context.prisma as never,
      dmmf: datamodel as never,
      filterConnectionTotalCount: true,
      onUnusedQuery: null,
    },
    relay: {
      // global node lookups would bypass the per-model root fields; ormai has none
      nodeQueryOptions: false,
      nodesQueryOptions: false,
      nodesOnConnection: true,
      cursorType: 'String',
      edgesFieldOptions: { nullable: false },
      nodeFieldOptions: { nullable: false },
    },
    tenantScope: { policy, principal: (context: OrmaiContext) => context.principal },
  } as never);

  builder.scalarType('DateTime', dateTimeScalar);
  builder.scalarType('JSON', jsonScalar);
  builder.scalarType('BigInt', stringNumberScalar('BigInt'));
  builder.scalarType('Decimal', stringNumberScalar('Decimal'));
  const SortOrder = builder.enumType('SortOrder', { values: ['ASC', 'DESC'] as const });

  const filterTypes = new Map<string, unknown>();
  const filterTypeFor = (field: CompiledField) => {
    const scalar = field.kind === 'enum' ? 'String' : (GRAPHQL_SCALAR[field.type] ?? 'String');
    if (scalar === 'JSON' || field.list) return null;
    const name = `${scalar}Filter`;
    if (!filterTypes.has(name)) {
      const ops =
        scalar === 'String'
          ? FILTER_OPS.string
          : scalar === 'Boolean'
            ? FILTER_OPS.boolean
            : FILTER_OPS.comparable;
      filterTypes.set(
        name,
        builder.inputType(name, {
          description: `Conditions on a ${scalar} field; all given conditions must hold.`,
          fields: (t: any) =>
            Object.fromEntries(
              ops.map((op) => [
                op,
                op === 'isNull'
                  ? t.boolean({ description: 'true: the field is null; false: it is not' })
                  : op === 'in' || op === 'notIn'
                    ? t.field({ type: [scalar] })
                    : t.field({ type: scalar }),
              ]),
            ),
        }),
      );
    }
    return filterTypes.get(name);
  };

  const models = [...policy.models.values()];
  const whereInputs = new Map<string, unknown>();
  const orderByInputs = new Map<string, unknown>();
  for (const model of models) {
    whereInputs.set(model.name, builder.inputRef(`${model.name}WhereInput`));
    orderByInputs.set(model.name, builder.inputRef(`${model.name}OrderByInput`));
  }

  for (const model of models) {
    builder.inputType(whereInputs.get(model.name), {
      description: `Filters on ${model.name}; the fields given are ANDed.`,
      fields: (t: any) => {
        const fields: Record<string, unknown> = {
          AND: t.field({ type: [whereInputs.get(model.name)] }),
          OR: t.field({ type: [whereInputs.get(model.name)] }),
          NOT: t.field({ type: [whereInputs.get(model.name)] }),
        };
        for (const field of model.fields.values()) {
          const filter = filterTypeFor(field);
          if (filter) fields[field.name] = t.field({ type: filter });
        }
        for (const relation of model.relations.values()) {
          fields[relation.name] = t.field({
            type: relationFilterType(relation.target, relation.list),
          });
        }
        return fields;
      },
    });
    builder.inputType(orderByInputs.get(model.name), {
      description: `Sort ${model.name} by one field per list item.`,
      fields: (t: any) =>
        Object.fromEntries(
          [...model.fields.values()]
            .filter((field) => !field.list && field.type !== 'Json')
            .map((field) => [field.name, t.field({ type: SortOrder })]),
        ),
    });
  }

  const relationFilters = new Map<string, unknown>();
  function relationFilterType(target: string, list: boolean) {
    const name = `${target}${list ? 'ListRelationFilter' : 'RelationFilter'}`;
    if (!relationFilters.has(name)) {
      const where = whereInputs.get(target);
      relationFilters.set(
        name,
        builder.inputType(name, {
          fields: (t: any) =>
            list
              ? {
                  some: t.field({ type: where, description: 'at least one related row matches' }),
                  every: t.field({ type: where, description: 'every related row matches' }),
                  none: t.field({ type: where, description: 'no related row matches' }),
                }
              : { is: t.field({ type: where, description: 'the related row matches' }) },
        }),
      );
    }
    return relationFilters.get(name);
  }

  const takeOf = (first: number | null | undefined, argName = 'first') => {
    const take = first ?? defaultTake;
    if (take < 1) {
      throw validationError(`${argName} must be at least 1`, argName, [
        `pass ${argName} between 1 and ${maxTake}`,
      ]);
    }
    if (take > maxTake) {
      throw new OrmaiError(
        'QUERY_BUDGET_EXCEEDED',
        `${argName}: ${take} is over the limit of ${maxTake} rows per list`,
        {
          retryable: true,
          hints: [`pass ${argName} of at most ${maxTake} and page with after: pageInfo.endCursor`],
          details: { budget: 'max_rows', limit: maxTake, requested: take },
        },
      );
    }
    return take;
  };

  /** The where a read of `model` runs with: the principal's scope AND the caller's filter. */
  const scopedWhere = (
    model: CompiledModel,
    where: WhereInput | null | undefined,
    context: OrmaiContext,
  ) =>
    and(
      unwrap(rowScope(model, context.principal)),
      toPrismaWhere(policy, model, where, context.principal),
    );

  const listArgs = (t: any, model: CompiledModel) => ({
    where: t.arg({ type: whereInputs.get(model.name) }),
    orderBy: t.arg({ type: [orderByInputs.get(model.name)] }),
    first: t.arg.int({
      description: `rows to return (default ${defaultTake}, at most ${maxTake})`,
    }),
  });

  // to-one: nullable, because a row outside the caller's scope resolves to null
  const toOneField = (
    t: any,
    target: CompiledModel,
    join: { localField: string; targetField: string },
  ) =>
    t.field({
      type: objectRefs.get(target.name),
      nullable: true,
      select: { [join.localField]: true },
      resolve: (
        parent: Record<string, unknown>,
        _args: unknown,
        context: OrmaiContext,
        info: GraphQLResolveInfo,
      ) => loadToOne(target, join.targetField, parent[join.localField], context, info),
    });

  const objectRefs = new Map<string, unknown>();
  for (const model of models) {
    objectRefs.set(
      model.name,
      builder.prismaObject(model.name, {
        fields: (t: any) => {
          const fields: Record<string, unknown> = {};
          for (const field of model.fields.values()) {
            const scalar =
              field.kind === 'enum' ? 'String' : (GRAPHQL_SCALAR[field.type] ?? 'String');
            fields[field.name] = t.expose(field.name, {
              type: field.list ? [scalar] : scalar,
              nullable: field.nullable,
            });
          }
          for (const relation of model.relations.values()) {
            const target = policy.models.get(relation.target)!;
            fields[relation.name] = relation.list
              ? t.relation(relation.name, {
                  args: listArgs(t, target),
                  query: (args: any, context: OrmaiContext) => ({
                    where: scopedWhere(target, args.where, context),
                    orderBy: prismaOrderBy(toSortKeys(target, args.orderBy)),
                    take: takeOf(args.first),
                  }),
                })
              : relation.join
                ? toOneField(t, target, relation.join)
                : // a compound join: planned by Prisma, and checked after the fetch by the plugin
                  t.relation(relation.name, { nullable: true });
          }
          return fields;
        },
      }),
    );
  }

  builder.queryType({});
  for (const model of models) {
    const names = modelNames(model.name, options.naming);
    const delegate = (context: OrmaiContext) => delegateOf(context.prisma, model.name);

    if (model.idField) {
      const idField = model.idField;
      const idType = GRAPHQL_SCALAR[idField.type] ?? 'String';
      builder.queryField(names.single, (t: any) =>
        t.prismaField({
          type: model.name,
          nullable: true,
          description: `One ${model.name} by ${idField.name}; null when it does not exist or is not visible to you.`,
          args: { [idField.name]: t.arg({ type: idType, required: true }) },
          resolve: (
            query: object,
            _root: unknown,
            args: Record<string, unknown>,
            context: OrmaiContext,
          ) =>
            delegate(context).findFirst({
              ...query,
              where: and(unwrap(rowScope(model, context.principal)), {
                [idField.name]: args[idField.name],
              }),
            }),
        }),
      );
    }

    const connection = builder.connectionObject(
      {
        type: objectRefs.get(model.name),
        name: `${model.name}Connection`,
        fields: (t: any) => ({
          totalCount: t.int({
            description: 'All rows matching the filter, across pages',
            resolve: (parent: ConnectionResult, _args: unknown, context: OrmaiContext) =>
              delegate(context).count({ where: parent.countWhere }),
          }),
        }),
      },
      { name: `${model.name}Edge` },
    );

    builder.queryField(names.list, (t: any) =>
      t.field({
        type: connection,
        description: `${model.name} rows visible to you, ${defaultTake} per page by default; page with after: pageInfo.endCursor.`,
        args: {
          ...listArgs(t, model),
          after: t.arg.string({ description: 'the endCursor of the previous page' }),
        },
        resolve: async (
          _root: unknown,
          args: any,
          context: OrmaiContext,
          info: GraphQLResolveInfo,
        ) => {
          const take = takeOf(args.first);
          const keys = toSortKeys(model, args.orderBy);
          const base = scopedWhere(model, args.where, context);
          const where = args.after
            ? and(base, keysetAfter(keys, cursors.decode(model.name, keys, args.after)))
            : base;
          const query = withKeys(
            queryFromInfo({
              context,
              info,
              typeName: model.name,
              paths: [['nodes'], ['edges', 'node']],
            }),
            keys,
            model,
          );
          const rows = await delegate(context).findMany({
            ...query,
            where,
            orderBy: prismaOrderBy(keys),
            take: take + 1,
          });
          const page = rows.slice(0, take);
          // cursors are signed only when a client asks for them
          const cursorOf = (node: Record<string, unknown> | undefined) =>
            node ? cursors.encode(model.name, keys, node) : null;
          return {
            edges: page.map((node) => ({
              node,
              get cursor() {
                return cursorOf(node)!;
              },
            })),
            pageInfo: {
              hasNextPage: rows.length > take,
              hasPreviousPage: Boolean(args.after),
              get startCursor() {
                return cursorOf(page[0]);
              },
              get endCursor() {
                return cursorOf(page.at(-1));
              },
            },
            countWhere: base,
          } satisfies ConnectionResult;
        },
      }),
    );
  }

  return builder.toSchema({ sortSchema: false });
}

/** A planned `select` must still load the sort keys (for cursors) and the scope fields (for the check). */
function withKeys(query: object, keys: SortKey[], model: CompiledModel): object {
  const select = (query as { select?: Record<string, unknown> }).select;
  if (!select) return query;
  const needed = [...keys.map((key) => key.field), model.tenantField?.name, model.softDeleteField];
  return {
    ...query,
    select: {
      ...select,
      ...Object.fromEntries(needed.filter(Boolean).map((field) => [field, true])),
    },
  };
}
