import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { CompiledModel } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';

type Omitted = Readonly<Record<string, true>>;

/**
 * The scalar columns a read of `model` can leave out (Prisma's `omit`): those the request selects
 * nowhere on the rows it loads, and which nothing reads off a row besides their own field — the key
 * (cursors, per-row role checks, reloads), the columns a relation joins on (the to-one loader, list
 * relations) and `keep` (the query's sort keys). A field the role set cannot read is never
 * selected, so it never leaves the database. Rows are in the Prisma plugin's include mode (every
 * scalar unless left out), and reading fewer columns is most of what a read costs in Prisma.
 *
 * `paths` lead from the resolved field to the selections whose fields are the rows' (`[]` for the
 * field's own, `['nodes']` and `['edges', 'node']` for a connection). A fragment that cannot be
 * found leaves nothing out.
 */
export function unselectedColumns(
  datamodel: Datamodel,
  model: CompiledModel,
  info: GraphQLResolveInfo,
  paths: readonly (readonly string[])[],
  keep: readonly string[] = [],
): Omitted | undefined {
  // a parsed document is cached and shared by every request that sends it, and its field nodes
  // with it; the answer depends on the role set's model and on the sort keys too
  const fieldNode = info.fieldNodes[0]!;
  let byModel = cache.get(fieldNode);
  if (!byModel) {
    byModel = new WeakMap();
    cache.set(fieldNode, byModel);
  }
  const keepText = keep.join(',');
  const cached = byModel.get(model);
  if (cached?.keep === keepText) return cached.omit;
  const selected = new Set<string>([...keep, ...model.primaryKey.map((field) => field.name)]);
  let complete = true;
  for (const node of info.fieldNodes) {
    for (const path of paths) {
      complete &&= collectAt(node.selectionSet, path, info.fragments, selected);
    }
  }
  const omit = complete ? unselectedUnder(datamodel, model, selected) : undefined;
  byModel.set(model, { keep: keepText, omit });
  return omit;
}

/**
 * The columns of `model` none of `selected` names and nothing else reads off a row. Also what a
 * relation planned into its parent's query omits, at plan time: there `selected` is the plan's own
 * reading of the names under it, for this request's variables (so it is not cached by field node,
 * as the document's nodes are shared by requests).
 */
export function unselectedUnder(
  datamodel: Datamodel,
  model: CompiledModel,
  selected: ReadonlySet<string>,
): Omitted | undefined {
  const left = candidatesOf(datamodel, model.name).filter((field) => !selected.has(field));
  return left.length > 0
    ? Object.freeze(Object.fromEntries(left.map((f) => [f, true as const])))
    : undefined;
}

const cache = new WeakMap<
  FieldNode,
  WeakMap<CompiledModel, { keep: string; omit: Omitted | undefined }>
>();

/** The field names selected at `path` below `selectionSet`, into `out`; false on a missing fragment. */
function collectAt(
  selectionSet: SelectionSetNode | undefined,
  path: readonly string[],
  fragments: Record<string, FragmentDefinitionNode>,
  out: Set<string>,
): boolean {
  if (!selectionSet) return true;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (path.length === 0) out.add(selection.name.value);
      else if (selection.name.value === path[0]) {
        if (!collectAt(selection.selectionSet, path.slice(1), fragments, out)) return false;
      }
    } else {
      const inner =
        selection.kind === Kind.INLINE_FRAGMENT
          ? selection.selectionSet
          : fragments[selection.name.value]?.selectionSet;
      if (!inner || !collectAt(inner, path, fragments, out)) return false;
    }
  }
  return true;
}

/** Per model: its scalar columns that are neither key nor joined on by any relation. */
function candidatesOf(datamodel: Datamodel, model: string): readonly string[] {
  let byModel = candidates.get(datamodel);
  if (!byModel) {
    byModel = new Map();
    const joined = new Map<string, Set<string>>();
    const join = (name: string, fields: readonly string[] | undefined) => {
      const set = joined.get(name) ?? new Set<string>();
      joined.set(name, set);
      for (const field of fields ?? []) set.add(field);
    };
    for (const [name, each] of Object.entries(datamodel.datamodel.models)) {
      for (const field of each.fields) {
        if (field.kind !== 'object') continue;
        join(name, field.relationFromFields);
        join(field.type, field.relationToFields);
      }
    }
    for (const [name, each] of Object.entries(datamodel.datamodel.models)) {
      const key = new Set([
        ...(each.primaryKey?.fields ?? []),
        ...each.fields.filter((field) => field.isId).map((field) => field.name),
      ]);
      byModel.set(
        name,
        each.fields
          .filter((field) => field.kind === 'scalar' || field.kind === 'enum')
          .map((field) => field.name)
          .filter((field) => !key.has(field) && !joined.get(name)?.has(field)),
      );
    }
    candidates.set(datamodel, byModel);
  }
  return byModel.get(model) ?? [];
}

const candidates = new WeakMap<Datamodel, Map<string, readonly string[]>>();

/**
 * A planned query with the unselected columns left out. A query in select mode names its columns
 * already, and Prisma takes no `omit` beside a `select`.
 */
export function withoutUnselected<Query extends object>(
  query: Query,
  datamodel: Datamodel,
  model: CompiledModel,
  info: GraphQLResolveInfo,
  paths: readonly (readonly string[])[],
  keep?: readonly string[],
): Query {
  if ((query as { select?: unknown }).select) return query;
  const omit = unselectedColumns(datamodel, model, info, paths, keep);
  return omit ? { ...query, omit } : query;
}
