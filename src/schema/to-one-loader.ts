import { queryFromInfo } from '@pothos/plugin-prisma';
import DataLoader from 'dataloader';
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import { unwrap } from '../errors.js';
import type { CompiledModel } from '../policy/compile-policy.js';
import { rowScope } from '../policy/row-scope.js';
import { delegateOf, type OrmaiContext } from './context.js';
import { and } from './where.js';

type Row = Record<string, unknown>;

const loadersByContext = new WeakMap<object, Map<FieldNode, DataLoader<unknown, Row | null>>>();

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
): Promise<Row | null> {
  if (key === null || key === undefined) return Promise.resolve(null);
  let loaders = loadersByContext.get(context);
  if (!loaders) {
    loaders = new Map();
    loadersByContext.set(context, loaders);
  }
  // Planning per call records, for this parent's path, where the rows beneath it were loaded, so
  // relations under this field read them instead of loading again. One field node shares one
  // selection in a request, hence one batch and one statement for all its parents.
  const query = queryFromInfo({ context, info, typeName: target.name }) as {
    select?: Record<string, unknown>;
  };
  const fieldNode = info.fieldNodes[0]!;
  let loader = loaders.get(fieldNode);
  if (!loader) {
    loader = new DataLoader<unknown, Row | null>(
      async (keys) => {
        const select = query.select ? { ...query.select, [targetField]: true } : undefined;
        const rows = await delegateOf(context.prisma, target.name).findMany({
          ...query,
          ...(select ? { select } : {}),
          where: and(unwrap(rowScope(target, context.principal)), {
            [targetField]: { in: [...keys] },
          }),
        });
        const byKey = new Map(rows.map((row) => [String(row[targetField]), row]));
        return keys.map((k) => byKey.get(String(k)) ?? null);
      },
      { cacheKeyFn: (k) => String(k) },
    );
    loaders.set(fieldNode, loader);
  }
  return loader.load(key);
}
