import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import { joinsToOne } from '../data-access/index.js';
import type { CompiledModel, RelationKey } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import type { OrmaiContext } from './context.js';
import { loadToOne } from './to-one-loader.js';
import { unselectedUnder } from './unselected-columns.js';

type Row = Record<string, unknown>;
type Query = { select?: Row; include?: Row; omit?: Row };
type NestedSelection = (query: true) => Query;

/**
 * A to-one field's Prisma plugin hooks. Where the data-access point can decide the target's row
 * scope on the loaded row, `select` (the plugin's `pothosPrismaSelect`, called at plan time with the
 * nested selection, the names selected under the field and its position) plans the relation into
 * the parent's query, so a lateral join loads it in the same statement and the data-access point
 * nulls a row out of scope. Elsewhere, or with a list beneath it, it plans nothing and `resolve`
 * loads the relation with `loadToOne`. An empty selection still records the field as planned, so
 * the plugin hands the row to the resolver instead of reloading the parent.
 */
export function toOneHooks(
  datamodel: Datamodel,
  target: CompiledModel,
  relation: string,
  keys: RelationKey[],
) {
  const lists = listFieldsOf(datamodel, target.name);
  // Per request (its context) and field node: whether the relation was planned joined. A parsed
  // document, and its field nodes, are shared by every request that sends it, but what a node
  // selects depends on each request's variables (`@skip`, `@include`), so nothing is decided per
  // node alone. A list selected beneath the relation keeps the loader: joined, the list is
  // evaluated again for every parent row, however many share the target (every order item's
  // tenant with its customers took PostgreSQL over 2 s); the loader reads each target row once.
  const plannedJoined: PlannedJoined = new WeakMap();
  const load = (parent: Row, context: OrmaiContext, info: GraphQLResolveInfo) =>
    loadToOne(datamodel, target, keys, parent, context, info);

  return {
    select: (
      _args: unknown,
      context: OrmaiContext,
      nestedSelection: NestedSelection,
      selected: () => ReadonlySet<string>,
      position: { node: FieldNode },
    ): Query => {
      const names = selected();
      const join = ![...names].some((name) => lists.has(name)) && joinsToOne(target.name);
      let byNode = plannedJoined.get(context);
      if (!byNode) {
        byNode = new Map();
        plannedJoined.set(context, byNode);
      }
      byNode.set(position.node, join);
      if (!join) return NOTHING;
      const nested = nestedSelection(true);
      // a type in include mode loads every column unless told: leave out those nothing reads
      const omit = nested.select ? undefined : unselectedUnder(datamodel, target, names);
      return { select: { [relation]: omit ? { ...nested, omit } : nested } };
    },

    /** The row the parent's query loaded for this very selection, else one batched load. */
    resolve: (parent: Row, _args: unknown, context: OrmaiContext, info: GraphQLResolveInfo) => {
      const loaded = parent[relation];
      return loaded !== undefined && joinedEverywhere(plannedJoined, context, info.fieldNodes)
        ? loaded
        : load(parent, context, info);
    },

    /**
     * The plugin's fallback for a row whose parent's query did not take this field's selection
     * (two aliases of the relation selecting different columns): the loader, not a reload of the
     * parent row by row.
     */
    fallback: (
      _query: unknown,
      parent: Row,
      _args: unknown,
      context: OrmaiContext,
      info: GraphQLResolveInfo,
    ) => load(parent, context, info),
  };
}

// the hooks are made per to-one field of every schema cached: what they share is made once
const NOTHING: Query = Object.freeze({ select: Object.freeze({}) });

type PlannedJoined = WeakMap<object, Map<FieldNode, boolean>>;

/**
 * The parent row may carry the relation joined for another selection of it (a connection's
 * `nodes` and `edges`): only a field whose every node was planned joined reads it.
 */
function joinedEverywhere(
  plannedJoined: PlannedJoined,
  context: object,
  nodes: readonly FieldNode[],
): boolean {
  const byNode = plannedJoined.get(context);
  return byNode !== undefined && nodes.every((node) => byNode.get(node) === true);
}

/** The list relations of a model, per datamodel: shared by every schema's to-one fields to it. */
const listFields = new WeakMap<Datamodel, Map<string, ReadonlySet<string>>>();

function listFieldsOf(datamodel: Datamodel, model: string): ReadonlySet<string> {
  let byModel = listFields.get(datamodel);
  if (!byModel) {
    byModel = new Map();
    listFields.set(datamodel, byModel);
  }
  let lists = byModel.get(model);
  if (!lists) {
    lists = new Set(
      datamodel.datamodel.models[model]?.fields
        .filter((field) => field.kind === 'object' && field.isList)
        .map((field) => field.name),
    );
    byModel.set(model, lists);
  }
  return lists;
}
