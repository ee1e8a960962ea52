import { isExactNumeric } from '../policy/field-types.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { keysetAfter, prismaOrderBy } from './cursor.js';
import { exactText } from './exact-decimal.js';
import { type ConnectionResult, connectionResult, requireFilterWhenAsked } from './lists.js';
import { modelNames, type NamingOptions } from './naming.js';
import { GRAPHQL_SCALAR, outputScalar, type SchemaParts } from './parts.js';
import { tuplesWhere, tupleText } from './row-keys.js';
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
      extensions: { ormaiModel: view.model },
      fields: (t: any) => ({
        ...Object.fromEntries(
          view.fields.map((field) => [
            field.name,
            t.field({
              type: field.list ? [outputScalar(field)] : outputScalar(field),
              nullable: field.nullable,
              redaction: field.redaction,
              redactionByRole: field.byRole,
              resolve: (row: Row) => row[field.name],
            }),
          ]),
        ),
        ...Object.fromEntries(
          view.computed.map((computed) => [
            computed.name,
            computed.kind === 'count'
              ? t.int({ resolve: (row: Row) => Number(row[computed.name] ?? 0) })
              : isExactNumeric(computed.field!)
                ? // a BigInt or Decimal sum stays exact, as a decimal string
                  t.field({
                    type: 'Decimal',
                    resolve: (row: Row) => exactText(row[computed.name] ?? 0),
                  })
                : t.float({ resolve: (row: Row) => Number(row[computed.name] ?? 0) }),
          ]),
        ),
      }),
    });

    // counts come with the rows, through the relation's `_count`, which the data-access layer
    // narrows to the related rows in scope (a many-to-many relation included)
    const counted = view.computed.filter((computed) => computed.kind === 'count');
    const select = () => {
      const fields: Record<string, unknown> = {};
      for (const field of view.fields) fields[field.name] = true;
      for (const key of model.idField ? [model.idField.name] : []) fields[key] = true;
      for (const computed of view.computed)
        for (const key of computed.relation.keys ?? []) fields[key.localField] = true;
      if (counted.length > 0) {
        fields._count = {
          select: Object.fromEntries(counted.map((computed) => [computed.relation.name, true])),
        };
      }
      for (const computed of view.computed) {
        // a many-to-many sum reads the related values with the rows and adds them up here
        if (computed.kind === 'sum' && !computed.relation.keys) {
          fields[computed.relation.name] = { select: { [computed.field!.name]: true } };
        }
      }
      return fields;
    };

    const withComputed = async (rows: Row[], context: OrmaiContext) => {
      for (const row of rows) {
        const counts = (row._count ?? {}) as Record<string, number>;
        for (const computed of counted) row[computed.name] = counts[computed.relation.name] ?? 0;
      }
      for (const computed of view.computed) {
        if (computed.kind !== 'sum' || rows.length === 0) continue;
        const field = computed.field!.name;
        const keys = computed.relation.keys;
        if (!keys) {
          for (const row of rows)
            row[computed.name] = addAll(
              ((row[computed.relation.name] ?? []) as Row[]).map((related) => related[field]),
            );
          continue;
        }
        const groups = (await (delegateOf(context.prisma, computed.relation.target) as any).groupBy(
          {
            by: keys.map((key) => key.targetField),
            where: tuplesWhere(
              keys.map((key) => key.targetField),
              rows.map((row) => keys.map((key) => row[key.localField])),
            ),
            _sum: { [field]: true },
          },
        )) as Row[];
        const byKey = new Map(
          groups.map((group) => [
            tupleText(keys.map((key) => group[key.targetField])),
            (group._sum as Row)[field],
          ]),
        );
        for (const row of rows)
          row[computed.name] = byKey.get(tupleText(keys.map((key) => row[key.localField]))) ?? 0;
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
              select: select(),
              where: { [idField.name]: args[idField.name] },
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
          const keys = toSortKeys(model, args.orderBy, policy);
          const base = where.filter(model, args.where, context.principal);
          // a view's cursor is its own: it cannot be replayed against the model's list
          const after = args.after
            ? keysetAfter(keys, cursors.decode(view.name, keys, args.after))
            : {};
          const fields = select();
          for (const key of keys) fields[key.field] = true;
          const rows = await delegateOf(context.prisma, model.name).findMany({
            select: fields,
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

/** Adds related values exactly: BigInts as BigInts, Decimals with their own arithmetic. */
function addAll(values: unknown[]): unknown {
  let total: unknown = 0;
  for (const value of values) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'bigint') total = BigInt(total as bigint | number) + value;
    else if (typeof (value as { plus?: unknown }).plus === 'function')
      total = (value as { plus(other: unknown): unknown }).plus(total);
    else total = (total as number) + Number(value);
  }
  return total;
}
