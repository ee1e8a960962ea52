// The no-policy baseline: the example's schema as a plain Pothos + plugin-prisma (+ relay) server
// would serve it — every model an object with all its scalar fields and relations (lists with a
// where), `x(id)`, `xs(where, first)` as a connection with `nodes`, and `xsGroupBy(by, where)` —
// on graphql-yoga over node:http, with the same HS256 JWT check, the example's Prisma client and
// the same pool as ormai. What it lacks is exactly ormai's policy: no row scope (the bench's
// queries name the tenant and the soft-delete filter in where arguments, so the SQL has ormai's
// predicates), no redaction, no budgets or complexity limit, no per-role schema. ormai /
// no-policy is the cost of the policy itself.
// Env: DATABASE_URL, BENCH_JWT_SECRET.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import { saasApp } from '../../examples/saas/app.js';
import type { DatamodelField } from '../../src/policy/datamodel.js';
import { aggregateAsk } from '../../src/schema/aggregate-selection.js';
import { openBaseline, serveBench } from './common.js';

const { counts, key, db } = await openBaseline();
const prisma = saasApp.createPrismaClient!(db.adapter, {}) as unknown as Record<
  string,
  Record<string, (args: object) => Promise<unknown>>
>;

const models = Object.entries(saasApp.datamodel.datamodel.models);

const GRAPHQL_TYPE: Record<string, string> = {
  Int: 'Int',
  Float: 'Float',
  String: 'String',
  Boolean: 'Boolean',
  DateTime: 'DateTime',
};
const NUMERIC = new Set(['Int', 'Float']);
const lowerFirst = (name: string) => name[0]!.toLowerCase() + name.slice(1);
const delegate = (model: string) => prisma[lowerFirst(model)]!;

// the generic loops below name types by string, as ormai's schema builder does
const builder: any = new SchemaBuilder<{ PrismaTypes: any; DefaultFieldNullability: false }>({
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: { client: prisma as never, dmmf: saasApp.datamodel as never },
  relay: { nodeQueryOptions: false, nodesQueryOptions: false, nodesOnConnection: true },
} as never);

builder.scalarType('DateTime', {
  serialize: (value: unknown) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: (value: unknown) => new Date(value as string),
});

// where inputs in ormai's syntax (a subset of its operators: those the bench and a plain app use)
const filters: Record<string, unknown> = {};
for (const type of Object.values(GRAPHQL_TYPE)) {
  filters[type] = builder.inputType(`${type}Filter`, {
    fields: (t: any) => ({
      equals: t.field({ type, required: false }),
      in: t.field({ type: [type], required: false }),
      ...(type === 'Boolean'
        ? {}
        : { lt: t.field({ type, required: false }), gt: t.field({ type, required: false }) }),
      ...(type === 'String' ? { contains: t.string({ required: false }) } : {}),
      isNull: t.boolean({ required: false }),
    }),
  });
}
const scalarsOf = (fields: readonly DatamodelField[]) =>
  fields.filter((field) => field.kind === 'scalar' && !field.isList && GRAPHQL_TYPE[field.type]);

/** `{tenantId: {equals: 1}, deletedAt: {isNull: true}}` in Prisma's words. */
function prismaWhere(where: Record<string, Record<string, unknown> | null> | null | undefined) {
  const result: Record<string, unknown> = {};
  for (const [field, filter] of Object.entries(where ?? {})) {
    if (!filter) continue;
    const condition: Record<string, unknown> = {};
    for (const [op, value] of Object.entries(filter)) {
      if (value === null || value === undefined) continue;
      if (op === 'isNull') Object.assign(condition, value ? { equals: null } : { not: null });
      else condition[op] = value;
    }
    result[field] = condition;
  }
  return result;
}

const whereInputs = new Map<string, unknown>();
for (const [name, { fields }] of models) {
  whereInputs.set(
    name,
    builder.inputType(`${name}WhereInput`, {
      fields: (t: any) =>
        Object.fromEntries(
          scalarsOf(fields).map((field) => [
            field.name,
            t.field({ type: filters[GRAPHQL_TYPE[field.type]!], required: false }),
          ]),
        ),
    }),
  );
}

for (const [name, { fields }] of models) {
  builder.prismaObject(name, {
    fields: (t: any) =>
      Object.fromEntries(
        fields.flatMap((field) => {
          if (field.kind === 'object') {
            return [
              [
                field.name,
                field.isList
                  ? t.relation(field.name, {
                      args: {
                        where: t.arg({ type: whereInputs.get(field.type), required: false }),
                      },
                      query: (args: { where?: never }) => ({
                        where: prismaWhere(args.where),
                        orderBy: { id: 'asc' },
                      }),
                    })
                  : t.relation(field.name, { nullable: !field.isRequired }),
              ],
            ];
          }
          const type = GRAPHQL_TYPE[field.type];
          return type && !field.isList
            ? [[field.name, t.expose(field.name, { type, nullable: !field.isRequired })]]
            : [];
        }),
      ),
  });
}

builder.queryType({});
for (const [name, { fields }] of models) {
  const scalars = scalarsOf(fields);
  const numeric = scalars.filter((field) => NUMERIC.has(field.type));
  const where = whereInputs.get(name);
  const single = lowerFirst(name);
  const plural = `${single}s`;

  builder.queryField(single, (t: any) =>
    t.prismaField({
      type: name,
      nullable: true,
      args: { id: t.arg.int({ required: true }) },
      resolve: (query: object, _root: unknown, args: { id: number }) =>
        delegate(name).findUnique!({ ...query, where: { id: args.id } }),
    }),
  );

  builder.queryField(plural, (t: any) =>
    t.prismaConnection({
      type: name,
      cursor: 'id',
      args: { where: t.arg({ type: where, required: false }) },
      resolve: (query: object, _root: unknown, args: { where?: never }) =>
        delegate(name).findMany!({
          ...query,
          where: prismaWhere(args.where),
          orderBy: { id: 'asc' },
        }),
    }),
  );

  const byField = builder.enumType(`${name}GroupByField`, {
    values: Object.fromEntries(scalars.map((field) => [field.name, { value: field.name }])),
  });
  const key = builder.objectRef(`${name}GroupKey`).implement({
    fields: (t: any) =>
      Object.fromEntries(
        scalars.map((field) => [
          field.name,
          t.field({
            type: GRAPHQL_TYPE[field.type],
            nullable: true,
            resolve: (parent: Record<string, unknown>) => parent[field.name] ?? null,
          }),
        ]),
      ),
  });
  const numbers = builder.objectRef(`${name}NumericAggregate`).implement({
    fields: (t: any) =>
      Object.fromEntries(
        numeric.map((field) => [
          field.name,
          t.float({
            nullable: true,
            resolve: (parent: Record<string, unknown>) =>
              parent[field.name] == null ? null : Number(parent[field.name]),
          }),
        ]),
      ),
  });
  const group = builder.objectRef(`${name}Group`).implement({
    fields: (t: any) => ({
      key: t.field({ type: key, resolve: (row: Record<string, unknown>) => row }),
      count: t.int({
        resolve: (row: { _count: { _all: number } }) => row._count._all,
      }),
      ...Object.fromEntries(
        ['sum', 'avg', 'min', 'max'].map((op) => [
          op,
          t.field({
            type: numbers,
            resolve: (row: Record<string, unknown>) => row[`_${op}`] ?? {},
          }),
        ]),
      ),
    }),
  });
  // the aggregates the selection reads, as ormai asks for them: the statement is the same, so
  // ormai / no-policy stays the cost of the policy, not of a difference in SQL
  const asked = (fields: Set<string>) =>
    fields.size > 0 ? Object.fromEntries([...fields].map((field) => [field, true])) : undefined;
  builder.queryField(`${plural}GroupBy`, (t: any) =>
    t.field({
      type: [group],
      args: {
        by: t.arg({ type: [byField], required: true }),
        where: t.arg({ type: where, required: false }),
      },
      resolve: (
        _root: unknown,
        args: { by: string[]; where?: never },
        _context: unknown,
        info: GraphQLResolveInfo,
      ) => {
        const ask = aggregateAsk(info.fieldNodes, info.fragments);
        const aggregates = Object.entries({
          _sum: asked(ask.sum),
          _avg: asked(ask.avg),
          _min: asked(ask.min),
          _max: asked(ask.max),
        }).filter(([, fields]) => fields);
        return delegate(name).groupBy!({
          by: args.by,
          where: prismaWhere(args.where),
          _count: { _all: true },
          ...Object.fromEntries(aggregates),
          orderBy: args.by.map((field) => ({ [field]: 'asc' })),
        });
      },
    }),
  );
}

const unauthenticated = () =>
  new GraphQLError('a valid bearer token is required', {
    extensions: { code: 'AUTHENTICATION_REQUIRED', http: { status: 401 } },
  });

const yoga = createYoga({
  schema: builder.toSchema(),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  logging: false,
  // authenticated, not authorized: the token's tenant and roles are not used
  context: async ({ request }) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
    if (!match) throw unauthenticated();
    try {
      const { payload } = await jwtVerify(match[1]!, key, { algorithms: ['HS256'] });
      return { sub: payload.sub };
    } catch {
      throw unauthenticated();
    }
  },
});

const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

serveBench(`http://127.0.0.1:${port}`, counts, async () => {
  server.close();
  server.closeAllConnections();
  await (prisma as unknown as { $disconnect(): Promise<void> }).$disconnect();
  await db.close();
});
