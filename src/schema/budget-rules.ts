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

interface Measure {
  /** Relations nested under the selection. */
  deepest: number;
  /** Scalar fields selected, counting a fragment once per spread. */
  selected: number;
}

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
      // each fragment is measured once: a fragment spreading another twice, nested a few dozen
      // times, names more fields than there are atoms, and walking it spread by spread never ends
      const measured = new Map<string, Measure | 'measuring'>();
      const measureFragment = (name: string): Measure => {
        const known = measured.get(name);
        // a cycle is GraphQL's own validation error; here it must only not loop
        if (known === 'measuring') return { deepest: 0, selected: 0 };
        if (known) return known;
        const fragment = fragments.get(name);
        const condition = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !condition || !isCompositeType(condition))
          return { deepest: 0, selected: 0 };
        measured.set(name, 'measuring');
        const result = measure(fragment.selectionSet, condition);
        measured.set(name, result);
        return result;
      };
      /** The relations nested under a selection set, and the scalar fields it selects. */
      const measure = (set: SelectionSetNode, type: GraphQLCompositeType): Measure => {
        let deepest = 0;
        let selected = 0;
        for (const selection of set.selections) {
          let inner: Measure;
          if (selection.kind === Kind.FIELD) {
            const name = selection.name.value;
            if (name.startsWith('__')) continue;
            const field = 'getFields' in type ? type.getFields()[name] : undefined;
            if (!field) continue;
            const named = getNamedType(field.type);
            const relation = field.extensions?.ormaiRelation ? 1 : 0;
            if (selection.selectionSet && isCompositeType(named)) {
              const child = measure(selection.selectionSet, named);
              inner = { deepest: child.deepest + relation, selected: child.selected };
            } else inner = { deepest: relation, selected: 1 };
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            const condition = selection.typeCondition
              ? schema.getType(selection.typeCondition.name.value)
              : type;
            if (!condition || !isCompositeType(condition)) continue;
            inner = measure(selection.selectionSet, condition);
          } else {
            inner = measureFragment(selection.name.value);
          }
          deepest = Math.max(deepest, inner.deepest);
          selected += inner.selected;
        }
        return { deepest, selected };
      };
      const { deepest, selected } = measure(operation.selectionSet, root);

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
