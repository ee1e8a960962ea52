import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  getNamedType,
  isCompositeType,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { OrmaiError } from '../errors.js';
import type { Budgets } from '../policy/types.js';

declare module 'graphql' {
  interface GraphQLSchemaExtensions {
    ormaiBudgets?: Budgets;
  }
}

/**
 * A validation rule for the budgets GraphQL's own depth limits do not express: relation nesting
 * (`orders { nodes { customer { orders … } } }` nests 2 relations; connection wrappers do not count)
 * and the number of scalar fields selected. Fragments are followed; each operation is measured alone.
 */
export function budgetRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(operation) {
      const schema = context.getSchema();
      // each role's schema carries that role's budgets
      const budgets = schema.extensions.ormaiBudgets as Budgets | undefined;
      if (!budgets) return;
      const root =
        operation.operation === 'query'
          ? schema.getQueryType()
          : operation.operation === 'mutation'
            ? schema.getMutationType()
            : schema.getSubscriptionType();
      if (!root) return;
      const fragments = new Map<string, FragmentDefinitionNode>(
        context
          .getDocument()
          .definitions.filter(
            (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION,
          )
          .map((d) => [d.name.value, d]),
      );
      let deepest = 0;
      let selected = 0;
      const walk = (
        set: SelectionSetNode,
        type: GraphQLCompositeType,
        depth: number,
        seen: Set<string>,
      ) => {
        for (const selection of set.selections) {
          if (selection.kind === Kind.FIELD) {
            const name = selection.name.value;
            if (name.startsWith('__')) continue;
            const field = 'getFields' in type ? type.getFields()[name] : undefined;
            if (!field) continue;
            const named = getNamedType(field.type);
            const nested = depth + (field.extensions?.ormaiRelation ? 1 : 0);
            deepest = Math.max(deepest, nested);
            if (selection.selectionSet && isCompositeType(named))
              walk(selection.selectionSet, named, nested, seen);
            else selected++;
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            const condition = selection.typeCondition
              ? schema.getType(selection.typeCondition.name.value)
              : type;
            if (condition && isCompositeType(condition))
              walk(selection.selectionSet, condition, depth, seen);
          } else {
            const fragment = fragments.get(selection.name.value);
            // a cycle is GraphQL's own validation error; here it must only not loop
            if (!fragment || seen.has(fragment.name.value)) continue;
            const condition = schema.getType(fragment.typeCondition.name.value);
            if (condition && isCompositeType(condition)) {
              walk(
                fragment.selectionSet,
                condition,
                depth,
                new Set([...seen, fragment.name.value]),
              );
            }
          }
        }
      };
      walk(operation.selectionSet, root, 0, new Set());

      if (deepest > budgets.maxIncludeDepth) {
        context.reportError(
          new OrmaiError(
            'QUERY_BUDGET_EXCEEDED',
            `relations are nested ${deepest} deep; the limit is ${budgets.maxIncludeDepth}`,
            {
              retryable: true,
              hints: [
                `nest at most ${budgets.maxIncludeDepth} relation(s); fetch deeper data with a second query by id`,
              ],
              details: {
                budget: 'max_include_depth',
                limit: budgets.maxIncludeDepth,
                requested: deepest,
              },
            },
          ),
        );
      }
      if (selected > budgets.maxSelectedFields) {
        context.reportError(
          new OrmaiError(
            'QUERY_BUDGET_EXCEEDED',
            `${selected} fields are selected; the limit is ${budgets.maxSelectedFields}`,
            {
              retryable: true,
              hints: [
                `select at most ${budgets.maxSelectedFields} fields; leave out the ones you do not need`,
              ],
              details: {
                budget: 'max_selected_fields',
                limit: budgets.maxSelectedFields,
                requested: selected,
              },
            },
          ),
        );
      }
    },
  };
}
