import type { CompiledField } from '../policy/compile-policy.js';
import { type FilterOpName, filterKind, filterOpsFor } from '../policy/field-types.js';
import { filterableFields, type SchemaParts, scalarOf } from './parts.js';

/** GraphQL's name for each of OrmAI's operators; `between` is MCP shorthand for gte and lte. */
const GRAPHQL_OP: Partial<Record<FilterOpName, string>> = {
  eq: 'equals',
  ne: 'not',
  in: 'in',
  not_in: 'notIn',
  lt: 'lt',
  lte: 'lte',
  gt: 'gt',
  gte: 'gte',
  contains: 'contains',
  startswith: 'startsWith',
  endswith: 'endsWith',
  is_null: 'isNull',
};

/**
 * Where and orderBy inputs per model. Only unredacted fields appear, so a masked, hashed or denied
 * value can never be probed with a filter or a sort order.
 */
export function addInputTypes(parts: SchemaParts): void {
  const { builder, policy, whereInputs, orderByInputs } = parts;
  const SortOrder = builder.enumType(parts.typeName('SortOrder'), {
    values: ['ASC', 'DESC'] as const,
  });

  const filterTypes = new Map<string, unknown>();
  const filterTypeFor = (field: CompiledField) => {
    const kind = filterKind(field);
    const scalar = scalarOf(field);
    // a non-nullable enum's filter has no isNull, so it is a type of its own; a uuid column is a
    // String without the text and range operators
    const name =
      kind === 'enum'
        ? `${scalar}${field.nullable ? 'Nullable' : ''}Filter`
        : kind === 'uuid'
          ? 'UuidFilter'
          : `${scalar}Filter`;
    if (!filterTypes.has(name)) {
      const ops = filterOpsFor(field).flatMap((op) => GRAPHQL_OP[op] ?? []);
      filterTypes.set(
        name,
        builder.inputType(name, {
          description:
            kind === 'uuid'
              ? 'Conditions on a uuid field (values are uuids); all given conditions must hold.'
              : `Conditions on a ${scalar} field; all given conditions must hold.`,
          fields: (t: any) =>
            Object.fromEntries(
              ops.map((op) => [
                op,
                op === 'isNull'
                  ? t.boolean({
                      required: false,
                      description: 'true: the field is null; false: it is not',
                    })
                  : t.field({
                      type: op === 'in' || op === 'notIn' ? [scalar] : scalar,
                      required: false,
                    }),
              ]),
            ),
        }),
      );
    }
    return filterTypes.get(name);
  };

  for (const model of policy.models.values()) {
    whereInputs.set(model.name, builder.inputRef(`${model.name}WhereInput`));
    // an input type needs a field: a model with nothing sortable gets no orderBy argument
    if (filterableFields(model).length > 0) {
      orderByInputs.set(model.name, builder.inputRef(`${model.name}OrderByInput`));
    }
  }

  const relationFilters = new Map<string, unknown>();
  const relationFilterType = (target: string, list: boolean) => {
    const name = `${target}${list ? 'ListRelationFilter' : 'RelationFilter'}`;
    if (!relationFilters.has(name)) {
      const where = whereInputs.get(target);
      relationFilters.set(
        name,
        builder.inputType(name, {
          fields: (t: any) =>
            list
              ? {
                  some: t.field({
                    type: where,
                    required: false,
                    description: 'at least one related row matches',
                  }),
                  every: t.field({
                    type: where,
                    required: false,
                    description: 'every related row matches',
                  }),
                  none: t.field({
                    type: where,
                    required: false,
                    description: 'no related row matches',
                  }),
                }
              : {
                  is: t.field({
                    type: where,
                    required: false,
                    description: 'the related row matches',
                  }),
                },
        }),
      );
    }
    return relationFilters.get(name);
  };

  for (const model of policy.models.values()) {
    const self = whereInputs.get(model.name);
    builder.inputType(self, {
      description: `Filters on ${model.name}; the fields given are ANDed.`,
      fields: (t: any) => {
        const fields: Record<string, unknown> = {
          AND: t.field({ type: [self], required: false }),
          OR: t.field({ type: [self], required: false }),
          NOT: t.field({ type: [self], required: false }),
        };
        for (const field of filterableFields(model)) {
          fields[field.name] = t.field({ type: filterTypeFor(field), required: false });
        }
        for (const relation of model.relations.values()) {
          fields[relation.name] = t.field({
            type: relationFilterType(relation.target, relation.list),
            required: false,
          });
        }
        return fields;
      },
    });
    if (!orderByInputs.has(model.name)) continue;
    builder.inputType(orderByInputs.get(model.name), {
      description: `Sort ${model.name} by one field per list item.`,
      fields: (t: any) =>
        Object.fromEntries(
          filterableFields(model).map((field) => [
            field.name,
            t.field({ type: SortOrder, required: false }),
          ]),
        ),
    });
  }
}
