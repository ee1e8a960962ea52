import { queryFromInfo } from '@pothos/plugin-prisma';
import DataLoader from 'dataloader';
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import type { CompiledModel, RelationKey } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { tuplesWhere, tupleText } from './row-keys.js';
import { withoutUnselected } from './unselected-columns.js';

type Row = Record<string, unknown>;

interface LoaderEntry {
  loader: DataLoader<unknown[], Row | null, string>;
  nested: boolean;
}

const loadersByContext = new WeakMap<object, Map<FieldNode, LoaderEntry>>();

/**
 * Loads a to-one relation for every parent in a result at once, in one statement through the
 * request's scoped client (which ANDs the target's row scope): `WHERE <scope> AND key IN (…)` for a
 * single join column, or an OR of the key tuples for a compound foreign key. Prisma cannot put a
 * where on a to-one include, so a relation whose target's scope the data-access point cannot check
 * on the loaded row is loaded here rather than planned into the parent's query (to-one-field.ts).
 * The selection under the field is still planned into this statement, so nesting
 * stays batched. The target's key columns are those the foreign key references (its id, or any
 * unique columns such as a `sku`).
 */
export function loadToOne(
  datamodel: Datamodel,
  target: CompiledModel,
  keys: RelationKey[],
  parent: Row,
  context: OrmaiContext,
  info: GraphQLResolveInfo,
): Promise<Row | null> {
  const values = keys.map((key) => parent[key.localField]);
  if (values.some((value) => value === null || value === undefined)) return Promise.resolve(null);
  let loaders = loadersByContext.get(context);
  if (!loaders) {
    loaders = new Map();
    loadersByContext.set(context, loaders);
  }
  // One field node shares one selection in a request, hence one batch and one statement for all
  // its parents. When that selection has relations beneath it, planning again for each parent
  // records, under that parent's path, where those rows were loaded, so the relations read them
  // instead of loading again; without nested relations one plan serves every parent.
  const fieldNode = info.fieldNodes[0]!;
  let entry = loaders.get(fieldNode);
  if (!entry) {
    const query = plan(target, context, info);
    // the columns the selection reads, and those the rows are matched to their parents by
    const columns = withoutUnselected(
      query.query,
      datamodel,
      target,
      info,
      [[]],
      keys.map((key) => key.targetField),
    );
    entry = { loader: batchLoader(target, keys, columns, context), nested: query.nested };
    loaders.set(fieldNode, entry);
  } else if (entry.nested) {
    plan(target, context, info);
  }
  return entry.loader.load(values);
}

interface PlannedQuery {
  query: { select?: Record<string, unknown>; include?: Record<string, unknown> };
  /** Whether relations beneath the field are planned into the query. */
  nested: boolean;
}

function plan(
  target: CompiledModel,
  context: OrmaiContext,
  info: GraphQLResolveInfo,
): PlannedQuery {
  const query = queryFromInfo({ context, info, typeName: target.name }) as PlannedQuery['query'];
  const nested =
    Object.keys(query.include ?? {}).length > 0 ||
    Object.values(query.select ?? {}).some((value) => typeof value === 'object' && value !== null);
  return { query, nested };
}

function batchLoader(
  target: CompiledModel,
  keys: RelationKey[],
  query: PlannedQuery['query'],
  context: OrmaiContext,
) {
  const targetFields = keys.map((key) => key.targetField);
  return new DataLoader<unknown[], Row | null, string>(
    async (wanted) => {
      const select = query.select
        ? { ...query.select, ...Object.fromEntries(targetFields.map((field) => [field, true])) }
        : undefined;
      const rows = await delegateOf(context.prisma, target.name).findMany({
        ...query,
        ...(select ? { select } : {}),
        where: tuplesWhere(targetFields, wanted),
      });
      const byKey = new Map(rows.map((row) => [tupleText(targetFields.map((f) => row[f])), row]));
      return wanted.map((values) => byKey.get(tupleText(values)) ?? null);
    },
    { cacheKeyFn: tupleText },
  );
}
