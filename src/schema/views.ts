import { delegateOf, type OrmaiContext } from './context.js';
import { keysetAfter, prismaOrderBy } from './cursor.js';
import { type ConnectionResult, connectionResult, requireFilterWhenAsked } from './lists.js';
import { modelNames, type NamingOptions } from './naming.js';
import { GRAPHQL_SCALAR, outputScalar, type SchemaParts } from './parts.js';
import { and, toSortKeys } from './where.js';

type Row = Record<string, unknown>;

/**
 * Views declared in the policy: a read-only type over one model with chosen fields and relation
 * aggregates (`CustomerSummary { id name tier orderCount lifetimeCents }`), with `x(id)` and a
 * connection `xs(where, orderBy, first, after)` scoped like the model. A computed value counts or
 * sums only the related rows the caller could read.
 */
export function addViews(parts: SchemaParts, naming?: NamingOptions): void {
  const { builder, policy, where, cursors } = parts;

  for (const view of policy.views.values()) {
    const model = policy.models.get(view.model)!;
    const names = modelNames(view.name, naming);
    const ref = builder.objectRef(view.name).implement({
      description: `A summary of ${view.model}`,
      // the tenant-scope plugin checks every row of this type like a ${view.model} row
      extensions: { ormaiModel: view.model },
      fields: (t: any) => ({
        ...Object.fromEntries(
          view.fields.map((field) => [
            field.name,
            t.field({
              type: field.list ? [outputScalar(field)] : outputScalar(field),
              nullable: field.nullable,
              redaction: field.redaction,
              resolve: (row: Row) => row[field.name],
            }),
          ]),
        ),
        ...Object.fromEntries(
          view.computed.map((computed) => [
            computed.name,
            computed.kind === 'count'
              ? t.int({ resolve: (row: Row) => Number(row[computed.name] ?? 0) })
              : t.float({ resolve: (row: Row) => Number(row[computed.name] ?? 0) }),
          ]),
        ),
      }),
    });

    const select = () => {
      const fields = new Set(view.fields.map((field) => field.name));
      for (const name of [model.idField?.name, model.tenantField?.name, model.softDeleteField]) {
        if (name) fields.add(name);
      }
      for (const computed of view.computed)
        if (computed.relation.join) fields.add(computed.relation.join.localField);
      return fields;
    };

    const withComputed = async (rows: Row[], context: OrmaiContext) => {
      for (const computed of view.computed) {
        const join = computed.relation.join;
        const target = policy.models.get(computed.relation.target)!;
        if (!join || rows.length === 0) continue;
        const groups = (await (delegateOf(context.prisma, target.name) as any).groupBy({
          by: [join.targetField],
          where: and(where.scope(target, context.principal), {
            [join.targetField]: { in: rows.map((row) => row[join.localField]) },
          }),
          ...(computed.kind === 'count'
            ? { _count: { _all: true } }
            : { _sum: { [computed.field!.name]: true } }),
        })) as Row[];
        const byKey = new Map(
          groups.map((group) => [
            String(group[join.targetField]),
            computed.kind === 'count'
              ? (group._count as { _all: number })._all
              : (group._sum as Row)[computed.field!.name],
          ]),
        );
        for (const row of rows)
          row[computed.name] = Number(byKey.get(String(row[join.localField])) ?? 0);
      }
      return rows;
    };

    if (model.idField) {
      const idField = model.idField;
      builder.queryField(names.single, (t: any) =>
        t.field({
          type: ref,
          nullable: true,
          args: {
            [idField.name]: t.arg({
              type: GRAPHQL_SCALAR[idField.type] ?? 'String',
              required: true,
            }),
          },
          resolve: async (_root: unknown, args: Row, context: OrmaiContext) => {
            const row = await delegateOf(context.prisma, model.name).findFirst({
              select: Object.fromEntries([...select()].map((field) => [field, true])),
              where: and(where.scope(model, context.principal), {
                [idField.name]: args[idField.name],
              }),
            });
            return row ? (await withComputed([row], context))[0] : null;
          },
        }),
      );
    }

    const connection = builder.connectionObject(
      {
        type: ref,
        name: `${view.name}Connection`,
        fields: (t: any) => ({
          totalCount: t.int({
            resolve: (parent: ConnectionResult, _args: unknown, context: OrmaiContext) =>
              delegateOf(context.prisma, model.name).count({ where: parent.countWhere }),
          }),
        }),
      },
      { name: `${view.name}Edge` },
    );
    builder.queryField(names.list, (t: any) =>
      t.field({
        type: connection,
        args: {
          where: t.arg({ type: parts.whereInputs.get(model.name), required: false }),
          ...(parts.orderByInputs.has(model.name)
            ? { orderBy: t.arg({ type: [parts.orderByInputs.get(model.name)], required: false }) }
            : {}),
          first: t.arg.int({ required: false }),
          after: t.arg.string({ required: false }),
        },
        complexity: (args: { first?: number | null }) => ({
          field: 1 + view.computed.length,
          multiplier: Math.max(1, args.first ?? policy.budgets.defaultTake),
        }),
        resolve: async (_root: unknown, args: any, context: OrmaiContext) => {
          requireFilterWhenAsked(model, args.where);
          const take = parts.takeOf(args.first);
          const keys = toSortKeys(model, args.orderBy);
          const base = where.scoped(model, args.where, context.principal);
          // a view's cursor is its own: it cannot be replayed against the model's list
          const after = args.after
            ? keysetAfter(keys, cursors.decode(view.name, keys, args.after))
            : {};
          const fields = select();
          for (const key of keys) fields.add(key.field);
          const rows = await delegateOf(context.prisma, model.name).findMany({
            select: Object.fromEntries([...fields].map((field) => [field, true])),
            where: and(base, after),
            orderBy: prismaOrderBy(keys),
            take: take + 1,
          });
          const page = await withComputed(rows.slice(0, take), context);
          return connectionResult(
            parts,
            view.name,
            keys,
            [...page, ...rows.slice(take)],
            take,
            Boolean(args.after),
            base,
          );
        },
      }),
    );
  }
}
