import { queryFromInfo } from '@pothos/plugin-prisma';
import DataLoader from 'dataloader';
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import type { CompiledModel } from '../policy/compile-policy.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { and, type WhereTranslator } from './where.js';

type Row = Record<string, unknown>;

interface LoaderEntry {
  loader: DataLoader<unknown, Row | null>;
  nested: boolean;
}

const loadersByContext = new WeakMap<object, Map<FieldNode, LoaderEntry>>();

/**
 * Loads a to-one relation for every parent in a result at once, in one statement that carries the
 * target's row scope (`WHERE tenantId = $1 AND id IN (…)`). Prisma cannot put a where on a to-one
 * include, so these relations are loaded here rather than planned into the parent's query. The
 * selection under the field is still planned into this statement, so nesting stays batched.
 */
export function loadToOne(
  target: CompiledModel,
  targetField: string,
  key: unknown,
  context: OrmaiContext,
  info: GraphQLResolveInfo,
  where: WhereTranslator,
): Promise<Row | null> {
  if (key === null || key === undefined) return Promise.resolve(null);
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
    entry = {
      loader: batchLoader(target, targetField, query.query, context, where),
      nested: query.nested,
    };
    loaders.set(fieldNode, entry);
  } else if (entry.nested) {
    plan(target, context, info);
  }
  return entry.loader.load(key);
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
  targetField: string,
  query: PlannedQuery['query'],
  context: OrmaiContext,
  where: WhereTranslator,
) {
  return new DataLoader<unknown, Row | null>(
    async (keys) => {
      const select = query.select ? { ...query.select, [targetField]: true } : undefined;
      const rows = await delegateOf(context.prisma, target.name).findMany({
        ...query,
        ...(select ? { select } : {}),
        where: and(where.scope(target, context.principal), {
          [targetField]: { in: [...keys] },
        }),
      });
      const byKey = new Map(rows.map((row) => [String(row[targetField]), row]));
      return keys.map((k) => byKey.get(String(k)) ?? null);
    },
    { cacheKeyFn: (k) => String(k) },
  );
}
