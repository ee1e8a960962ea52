import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin, { queryFromInfo } from '@pothos/plugin-prisma';
// for its connection helpers only (see the plugin list below)
import '@pothos/plugin-relay';
import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { OrmaiError, unwrap } from '../errors.js';
import BuildStatePlugin from '../plugins/build-state/index.js';
import RedactionPlugin from '../plugins/redaction/index.js';
import type { CompiledModel, CompiledPolicy, RelationKey } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import { describeSchema } from '../policy/describe.js';
import { addAggregateFields } from './aggregates.js';
import { addAuditRecords } from './audit-records.js';
import { listTake } from './budget-rules.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { CursorCodec, keysetAfter, prismaOrderBy } from './cursor.js';
import { addEnumTypes, explainEnumErrors } from './enums.js';
import { addInputTypes } from './inputs.js';
import {
  type ConnectionResult,
  connectionResult,
  requireFilterWhenAsked,
  withKeys,
} from './lists.js';
import {
  assertNoNameCollisions,
  modelNames,
  type NamingOptions,
  namesServedBy,
  ormaiTypeName,
} from './naming.js';
import { outputScalar, type SchemaParts } from './parts.js';
import { checkKeyTenant, keyArgType, keyNames, readKey } from './row-keys.js';
import { bytesScalar, dateTimeScalar, jsonScalar, stringNumberScalar } from './scalars.js';
import { toOneHooks } from './to-one-field.js';
import { withoutUnselected } from './unselected-columns.js';
import { addViews } from './views.js';
import { and, createWhereTranslator, toSortKeys } from './where.js';
import { addWriteFields } from './writes.js';

/** Where a connection's rows are selected: its `nodes` and its `edges { node }`. */
const CONNECTION_PATHS = [['nodes'], ['edges', 'node']];

export interface BuildSchemaOptions {
  datamodel: Datamodel;
  /** The policy compiled for the roles this schema serves. */
  policy: CompiledPolicy;
  /** Signs pagination cursors; keep it stable across restarts so cursors stay valid. */
  cursorSecret: string;
  naming?: NamingOptions;
}

/**
 * Builds the GraphQL schema one set of roles sees, from the datamodel and the policy compiled for
 * those roles: per readable model an object type, `x(id)`, `xs(where, orderBy, first, after)` as a
 * connection, aggregates, where and orderBy inputs and scoped relation fields; per view its type;
 * and `describeSchema`. Nothing is written per model by hand: a new model appears after a restart.
 */
export function buildSchema(options: BuildSchemaOptions): GraphQLSchema {
  const { datamodel, policy } = options;
  const { budgets } = policy;
  assertNoNameCollisions(namesServedBy(policy), options.naming);

  const builder: any = new SchemaBuilder<{
    Context: OrmaiContext;
    PrismaTypes: any;
    DefaultFieldNullability: false;
  }>({
    // the relay plugin's one hook maps global-ID arguments, which ormai never declares, and walks
    // every input type reachable from each field's arguments to find none: with 200 models' where
    // inputs linked by relation filters that walk was most of a schema's build time. Its
    // connection helpers (connectionObject, relay options) need only the import above.
    // build-state last: it frees what the others needed only while building (see its index.ts)
    plugins: [PrismaPlugin, ComplexityPlugin, RedactionPlugin, BuildStatePlugin],
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
      pageInfoTypeOptions: { name: ormaiTypeName('PageInfo', options.naming) },
      cursorType: 'String',
      edgesFieldOptions: { nullable: false },
      nodeFieldOptions: { nullable: false },
    },
    complexity: {
      defaultComplexity: 1,
      // lists say their own multiplier (the rows they ask for); wrappers like nodes add none
      defaultListMultiplier: 1,
      limit: { complexity: budgets.maxComplexity },
      complexityError: (_kind: string, result: { complexity: number; maxComplexity?: number }) =>
        new OrmaiError(
          'QUERY_BUDGET_EXCEEDED',
          `the query's complexity ${result.complexity} is over the limit of ${result.maxComplexity}`,
          {
            retryable: true,
            hints: ['ask for fewer rows per list (first), fewer nested lists, or fewer fields'],
            details: {
              budget: 'complexity',
              limit: result.maxComplexity,
              requested: result.complexity,
            },
          },
        ),
    },
    redaction: { hashKey: policy.hashKey, datamodel },
  } as never);

  const where = createWhereTranslator(policy);
  const parts: SchemaParts = {
    builder,
    policy,
    datamodel,
    where,
    cursors: new CursorCodec(options.cursorSecret),
    objects: new Map(),
    whereInputs: new Map(),
    orderByInputs: new Map(),
    typeName: (name) => ormaiTypeName(name, options.naming),
    takeOf: (first, argName = 'first') => listTake(budgets, first, argName),
  };

  builder.scalarType('DateTime', dateTimeScalar);
  builder.scalarType('JSON', jsonScalar);
  builder.scalarType('BigInt', stringNumberScalar('BigInt'));
  builder.scalarType('Decimal', stringNumberScalar('Decimal'));
  // a schema without binary fields has no Bytes type to show
  const models = Object.values(datamodel.datamodel.models);
  if (models.some((model) => model.fields.some((field) => field.type === 'Bytes')))
    builder.scalarType('Bytes', bytesScalar);
  const enums = addEnumTypes(parts);
  addInputTypes(parts);

  const listArgs = (t: any, model: CompiledModel) => ({
    where: t.arg({ type: parts.whereInputs.get(model.name), required: false }),
    ...(parts.orderByInputs.has(model.name)
      ? { orderBy: t.arg({ type: [parts.orderByInputs.get(model.name)], required: false }) }
      : {}),
    first: t.arg.int({
      required: false,
      description: `rows to return (default ${budgets.defaultTake}, at most ${budgets.maxTake})`,
    }),
  });
  const listComplexity = (args: { first?: number | null }) => ({
    field: 1,
    multiplier: Math.max(1, args.first ?? budgets.defaultTake),
  });

  // to-one: nullable, because a row outside the caller's scope resolves to null. No `select` of
  // the key columns: every model type is in include mode, so each row of it carries all its
  // scalars. The relation is planned into the parent's query where the data-access point can
  // check the target's scope on the loaded row (to-one-field.ts), else loaded by loadToOne
  const toOneField = (t: any, target: CompiledModel, name: string, keys: RelationKey[]) => {
    const hooks = toOneHooks(datamodel, target, name, keys);
    return t.field({
      type: parts.objects.get(target.name),
      nullable: true,
      extensions: {
        ormaiRelation: true,
        pothosPrismaSelect: hooks.select,
        pothosPrismaFallback: hooks.fallback,
      },
      resolve: hooks.resolve,
    });
  };

  for (const model of policy.models.values()) {
    parts.objects.set(
      model.name,
      builder.prismaObject(model.name, {
        fields: (t: any) => {
          const fields: Record<string, unknown> = {};
          for (const field of model.fields.values()) {
            const scalar = outputScalar(field);
            fields[field.name] = t.expose(field.name, {
              type: field.list ? [scalar] : scalar,
              nullable: field.nullable,
              redaction: field.redaction,
              redactionByRole: field.byRole,
            });
          }
          for (const relation of model.relations.values()) {
            const target = policy.models.get(relation.target)!;
            fields[relation.name] = relation.list
              ? t.relation(relation.name, {
                  args: listArgs(t, target),
                  extensions: { ormaiRelation: true },
                  complexity: listComplexity,
                  query: (args: any, context: OrmaiContext) => ({
                    where: where.filter(target, args.where, context.principal),
                    orderBy: prismaOrderBy(toSortKeys(target, args.orderBy, policy)),
                    take: parts.takeOf(args.first),
                  }),
                })
              : relation.keys
                ? toOneField(t, target, relation.name, relation.keys)
                : undefined;
            if (!fields[relation.name]) delete fields[relation.name];
          }
          return fields;
        },
      }),
    );
  }

  builder.queryType({});
  for (const model of policy.models.values()) {
    const names = modelNames(model.name, options.naming);
    const resolvers = rootResolvers(parts, model);

    if (model.primaryKey.length > 0) {
      const key = model.primaryKey;
      builder.queryField(names.single, (t: any) =>
        t.prismaField({
          type: model.name,
          nullable: true,
          description: `One ${model.name} by ${keyNames(model)}; null when it does not exist or is not visible to you.`,
          args: Object.fromEntries(
            key.map((field) => [field.name, t.arg({ type: keyArgType(field), required: true })]),
          ),
          resolve: resolvers.single,
        }),
      );
    }

    const connection = builder.connectionObject(
      {
        type: parts.objects.get(model.name),
        name: `${model.name}Connection`,
        fields: (t: any) => ({
          totalCount: t.int({
            description: 'All rows matching the filter, across pages',
            resolve: resolvers.totalCount,
          }),
        }),
      },
      { name: `${model.name}Edge` },
    );

    builder.queryField(names.list, (t: any) =>
      t.field({
        type: connection,
        description: `${model.name} rows visible to you, ${budgets.defaultTake} per page by default; page with after: pageInfo.endCursor.`,
        args: {
          ...listArgs(t, model),
          after: t.arg.string({
            required: false,
            description: 'the endCursor of the previous page',
          }),
        },
        complexity: listComplexity,
        resolve: resolvers.list,
      }),
    );
  }

  addAggregateFields(parts, options.naming);
  addViews(parts, options.naming);
  addAuditRecords(parts);
  addWriteFields(parts, options.naming);

  builder.queryField('describeSchema', (t: any) =>
    t.field({
      type: 'JSON',
      description:
        'What your roles can read: models, fields (with redaction), relations, filter operators, budgets.',
      args: { model: t.arg.string({ required: false }) },
      resolve: (_root: unknown, args: { model?: string | null }) =>
        unwrap(describeSchema(policy, args.model)),
    }),
  );

  const schema = builder.toSchema({ sortSchema: false, extensions: { ormaiBudgets: budgets } });
  explainEnumErrors(schema, enums);
  // the type refs were for declaring fields; resolvers keep `parts` (its cursors, takeOf), and
  // with it these maps, for as long as the schema is cached
  parts.objects.clear();
  parts.whereInputs.clear();
  parts.orderByInputs.clear();
  return schema;
}

/**
 * A model's root resolvers (`x(id)`, `xs`, the connection's `totalCount`), made apart from the
 * type declarations: a closure keeps its whole scope alive with the cached schema, and the scopes
 * that declare fields hold their field builders (`t`, with its argument helpers), which requests
 * never read.
 */
function rootResolvers(parts: SchemaParts, model: CompiledModel) {
  const { datamodel, policy, where } = parts;
  const delegate = (context: OrmaiContext) => delegateOf(context.prisma, model.name);
  return {
    single: (
      query: object,
      _root: unknown,
      args: Record<string, unknown>,
      context: OrmaiContext,
      info: GraphQLResolveInfo,
    ) => {
      const values = readKey(model, args);
      // a key naming another tenant is a scope mistake, not a miss
      checkKeyTenant(model, values, context.principal);
      return delegate(context).findFirst({
        ...withoutUnselected(query, datamodel, model, info, [[]]),
        where: values,
      });
    },
    totalCount: (parent: ConnectionResult, _args: unknown, context: OrmaiContext) =>
      delegate(context).count({ where: parent.countWhere }),
    list: async (_root: unknown, args: any, context: OrmaiContext, info: GraphQLResolveInfo) => {
      requireFilterWhenAsked(model, args.where);
      const take = parts.takeOf(args.first);
      const keys = toSortKeys(model, args.orderBy, policy);
      const base = where.filter(model, args.where, context.principal);
      const after = args.after
        ? keysetAfter(keys, parts.cursors.decode(model.name, keys, args.after))
        : {};
      const paths = CONNECTION_PATHS;
      const query = withoutUnselected(
        withKeys(queryFromInfo({ context, info, typeName: model.name, paths }), keys, model),
        datamodel,
        model,
        info,
        paths,
        keys.map((key) => key.field),
      );
      const rows = await delegate(context).findMany({
        ...query,
        where: and(base, after),
        orderBy: prismaOrderBy(keys),
        take: take + 1,
      });
      return connectionResult(parts, model.name, keys, rows, take, Boolean(args.after), base);
    },
  };
}
