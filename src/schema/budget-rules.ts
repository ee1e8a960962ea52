import {
  type ASTNode,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  getNamedType,
  isCompositeType,
  Kind,
  Lexer,
  print,
  type SelectionSetNode,
  Source,
  type Token,
  TokenKind,
  type ValidationContext,
} from 'graphql';
import { OrmaiError, validationError } from '../errors.js';
import type { Budgets } from '../policy/types.js';

/** A budget rejection: names the budget, its limit, what was asked, and how to fit. */
export function budgetError(budget: string, limit: number, requested: number): OrmaiError {
  const fit: Record<string, string> = {
    max_depth: 'nest the selection less deeply',
    max_aliases: 'use fewer aliases',
    max_directives: 'use fewer directives',
    max_tokens: 'send a shorter document',
    statement_timeout: 'narrow the filter or ask for fewer rows, then retry',
  };
  return new OrmaiError(
    'QUERY_BUDGET_EXCEEDED',
    `${budget} is ${limit}; the request needed ${requested}`,
    {
      retryable: true,
      hints: [fit[budget] ?? 'ask for less'],
      details: { budget, limit, requested },
    },
  );
}

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

/** The budgets of the schema being validated: each role set's schema carries its own. */
const budgetsOf = (context: ValidationContext) =>
  context.getSchema().extensions.ormaiBudgets as Budgets | undefined;

/**
 * A validation rule for the document's shape, against the budgets of the role set whose schema
 * validates it: GraphQL depth, aliases and directives (counted as graphql-armor counts them, per
 * operation, fragments followed) and tokens. The gateway's parse-time token guard only stops a
 * document over every role's limit; a role set with a lower one is refused here.
 */
export function documentBudgetRule(context: ValidationContext): ASTVisitor {
  const budgets = budgetsOf(context);
  if (!budgets) return {};
  const shape = new DocumentShape(context);
  let tokensChecked = false;
  return {
    OperationDefinition(operation) {
      if (!tokensChecked) {
        tokensChecked = true;
        const tokens = countTokens(context.getDocument());
        if (tokens > budgets.maxTokens)
          context.reportError(budgetError('max_tokens', budgets.maxTokens, tokens));
      }
      for (const [budget, limit, found] of [
        ['max_depth', budgets.maxDepth, shape.depth(operation)],
        ['max_aliases', budgets.maxAliases, shape.aliases(operation)],
        ['max_directives', budgets.maxDirectives, shape.directives(operation)],
      ] as const) {
        if (found > limit) context.reportError(budgetError(budget, limit, found));
      }
    },
  };
}

/** Tokens as GraphQL's parser counts them for `maxTokens` (no comments, no start or end). */
function countTokens(document: DocumentNode): number {
  let count = 0;
  const counted = (token: Token) =>
    token.kind !== TokenKind.SOF &&
    token.kind !== TokenKind.EOF &&
    token.kind !== TokenKind.COMMENT;
  // a document parsed with locations links its tokens; one without is lexed again from its print
  let token: Token | null | undefined = document.loc?.startToken;
  if (token) {
    for (; token; token = token.next) if (counted(token)) count++;
    return count;
  }
  const lexer = new Lexer(new Source(print(document)));
  for (let next = lexer.advance(); next.kind !== TokenKind.EOF; next = lexer.advance()) count++;
  return count;
}

/**
 * Depth, aliases and directives of an operation, as graphql-armor's max-depth, max-aliases and
 * max-directives count them (so a limit means what it meant when graphql-armor enforced it): a
 * fragment spread is a level of its own, `__schema` has no depth, each fragment is measured once.
 */
class DocumentShape {
  readonly #context: ValidationContext;
  readonly #memo = new Map<string, Map<string, number>>();

  constructor(context: ValidationContext) {
    this.#context = context;
  }

  depth(node: ASTNode, parentDepth = 0): number {
    if (node.kind === Kind.FIELD && node.name.value === '__schema') return 0;
    let depth = parentDepth;
    if ('selectionSet' in node && node.selectionSet) {
      for (const child of node.selectionSet.selections)
        depth = Math.max(depth, this.depth(child, parentDepth + 1));
    } else if (node.kind === Kind.FRAGMENT_SPREAD) {
      const inner = this.#fragment('depth', node.name.value, (fragment) => this.depth(fragment, 0));
      depth = Math.max(depth, parentDepth + 1 + inner);
    }
    return depth;
  }

  aliases(node: ASTNode): number {
    let aliases = node.kind === Kind.FIELD && node.alias ? 1 : 0;
    if ('selectionSet' in node && node.selectionSet) {
      for (const child of node.selectionSet.selections) aliases += this.aliases(child);
    } else if (node.kind === Kind.FRAGMENT_SPREAD) {
      aliases += this.#fragment('aliases', node.name.value, (fragment) => this.aliases(fragment));
    }
    return aliases;
  }

  directives(node: ASTNode): number {
    let directives = 'directives' in node && node.directives ? node.directives.length : 0;
    if ('selectionSet' in node && node.selectionSet) {
      for (const child of node.selectionSet.selections) directives += this.directives(child);
    } else if (node.kind === Kind.FRAGMENT_SPREAD) {
      directives += this.#fragment('directives', node.name.value, (fragment) =>
        this.directives(fragment),
      );
    }
    return directives;
  }

  /** A fragment's measure, once per fragment; 0 for an unknown one or inside a cycle. */
  #fragment(
    measure: string,
    name: string,
    count: (fragment: FragmentDefinitionNode) => number,
  ): number {
    let memo = this.#memo.get(measure);
    if (!memo) {
      memo = new Map();
      this.#memo.set(measure, memo);
    }
    const known = memo.get(name);
    if (known !== undefined) return known;
    const fragment = this.#context.getFragment(name);
    if (!fragment) return 0;
    // a cycle is GraphQL's own validation error; here it must only not loop
    memo.set(name, 0);
    const result = count(fragment);
    memo.set(name, result);
    return result;
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
      const budgets = budgetsOf(context);
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

/**
 * The rows a list returns for its `first`: the default when absent, else 1 to `maxTake`; below is
 * a VALIDATION_ERROR, above QUERY_BUDGET_EXCEEDED (never truncation).
 */
export function listTake(
  budgets: Pick<Budgets, 'defaultTake' | 'maxTake'>,
  first: number | null | undefined,
  argName = 'first',
): number {
  const take = first ?? budgets.defaultTake;
  if (take < 1) {
    throw validationError(`${argName} must be at least 1`, argName, [
      `pass ${argName} between 1 and ${budgets.maxTake}`,
    ]);
  }
  if (take > budgets.maxTake) {
    throw new OrmaiError(
      'QUERY_BUDGET_EXCEEDED',
      `${argName}: ${take} is over the limit of ${budgets.maxTake} rows per list`,
      {
        retryable: true,
        hints: [
          `pass ${argName} of at most ${budgets.maxTake} and page with after: pageInfo.endCursor`,
        ],
        details: { budget: 'max_rows', limit: budgets.maxTake, requested: take },
      },
    );
  }
  return take;
}
