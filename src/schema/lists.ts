import { OrmaiError } from '../errors.js';
import type { CompiledModel } from '../policy/compile-policy.js';
import type { SortKey } from './cursor.js';
import type { SchemaParts } from './parts.js';
import type { WhereInput } from './where.js';

/** What a connection field resolves to; nodes and edges read from it. */
export interface ConnectionResult {
  edges: { cursor: string; node: Record<string, unknown> }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  /** The scoped, filtered where, for totalCount (which ignores paging). */
  countWhere: object;
}

/** A row of a page; its cursor is signed only when a client asks for it. */
class Edge {
  // the getter lives on the prototype: a page allocates no accessor or closure per row
  constructor(
    readonly node: Record<string, unknown>,
    private readonly cursorOf: (node: Record<string, unknown>) => string | null,
  ) {}

  get cursor(): string {
    return this.cursorOf(this.node)!;
  }
}

/** A page of rows as a connection: cursors are signed only when a client asks for them. */
export function connectionResult(
  parts: SchemaParts,
  /** What the cursors are bound to: the model, or the view. */
  cursorName: string,
  keys: SortKey[],
  rows: Record<string, unknown>[],
  take: number,
  hasPreviousPage: boolean,
  countWhere: object,
): ConnectionResult {
  const page = rows.slice(0, take);
  const cursorOf = (node: Record<string, unknown> | undefined) =>
    node ? parts.cursors.encode(cursorName, keys, node) : null;
  return {
    edges: page.map((node) => new Edge(node, cursorOf)),
    pageInfo: {
      hasNextPage: rows.length > take,
      hasPreviousPage,
      get startCursor() {
        return cursorOf(page[0]);
      },
      get endCursor() {
        return cursorOf(page.at(-1));
      },
    },
    countWhere,
  };
}

/** Models marked requireFilter refuse an unfiltered root list. */
export function requireFilterWhenAsked(model: CompiledModel, input: WhereInput | null | undefined) {
  if (model.requireFilter && (!input || Object.values(input).every((value) => value == null))) {
    throw new OrmaiError('QUERY_TOO_BROAD', `listing ${model.name} needs a filter`, {
      retryable: true,
      hints: [`pass where: { … } naming at least one condition on ${model.name}`],
      details: { model: model.name },
    });
  }
}

/**
 * A planned `select` must still load the sort keys (for cursors; they end with every key field)
 * and the scope fields (for the check).
 */
export function withKeys(query: object, keys: SortKey[], model: CompiledModel): object {
  const select = (query as { select?: Record<string, unknown> }).select;
  if (!select) return query;
  const needed = [...keys.map((key) => key.field), model.tenantField?.name, model.softDeleteField];
  return {
    ...query,
    select: {
      ...select,
      ...Object.fromEntries(needed.filter(Boolean).map((field) => [field, true])),
    },
  };
}
