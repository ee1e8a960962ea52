import { type FragmentDefinitionNode, Kind, type SelectionSetNode } from 'graphql';

/** What an aggregate or a group asks for: `count`, and the fields under `sum`, `avg`, `min`, `max`. */
export interface AggregateAsk {
  count: boolean;
  sum: Set<string>;
  avg: Set<string>;
  min: Set<string>;
  max: Set<string>;
}

const KINDS = ['sum', 'avg', 'min', 'max'] as const;

/**
 * The aggregates a field's selection names, through fragments and aliases. A field under a
 * directive counts as asked (`@include(if: false)` computes a value nobody reads, never the
 * reverse). Why: the database computes, and Prisma parses, only what the caller reads — a groupBy
 * asked for its count and one sum is two expressions, not four per numeric field.
 */
export function aggregateAsk(
  selections: readonly { selectionSet?: SelectionSetNode }[],
  fragments: Record<string, FragmentDefinitionNode>,
): AggregateAsk {
  const ask: AggregateAsk = {
    count: false,
    sum: new Set(),
    avg: new Set(),
    min: new Set(),
    max: new Set(),
  };
  for (const { selectionSet } of selections) {
    for (const [name, below] of fieldsOf(selectionSet, fragments)) {
      if (name === 'count') ask.count = true;
      else if ((KINDS as readonly string[]).includes(name)) {
        const fields = ask[name as (typeof KINDS)[number]];
        for (const [field] of fieldsOf(below, fragments)) fields.add(field);
      }
    }
  }
  return ask;
}

/** Each field named in a selection set, with its own selection set, fragments spread. */
function* fieldsOf(
  selectionSet: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  seen: Set<string> = new Set(),
): Generator<[string, SelectionSetNode | undefined]> {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) yield [selection.name.value, selection.selectionSet];
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      yield* fieldsOf(selection.selectionSet, fragments, seen);
    } else if (!seen.has(selection.name.value)) {
      // validation refuses fragment cycles; `seen` only spares a fragment spread twice
      seen.add(selection.name.value);
      yield* fieldsOf(fragments[selection.name.value]?.selectionSet, fragments, seen);
    }
  }
}
