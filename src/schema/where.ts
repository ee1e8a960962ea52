import { unwrap, validationError } from '../errors.js';
import type { CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { rowScope, type WhereData } from '../policy/row-scope.js';
import type { SortKey } from './cursor.js';

/** The scalar operators of a where input (CONTRACT §4), as GraphQL passes them. */
export interface ScalarFilter {
  equals?: unknown;
  not?: unknown;
  in?: unknown[] | null;
  notIn?: unknown[] | null;
  lt?: unknown;
  lte?: unknown;
  gt?: unknown;
  gte?: unknown;
  contains?: string | null;
  startsWith?: string | null;
  endsWith?: string | null;
  isNull?: boolean | null;
}

export type WhereInput = Record<string, unknown> & {
  AND?: WhereInput[] | null;
  OR?: WhereInput[] | null;
  NOT?: WhereInput[] | null;
};

/** ANDs predicates, dropping empty ones, without nesting a lone predicate. */
export function and(...parts: (WhereData | undefined | null)[]): WhereData {
  const kept = parts.filter((part): part is WhereData => !!part && Object.keys(part).length > 0);
  if (kept.length === 0) return {};
  if (kept.length === 1) return kept[0]!;
  return { AND: kept };
}

/**
 * Translates a GraphQL where input into a Prisma where. Relation filters are scoped to the rows the
 * principal may see, so `some`/`every`/`none`/`is` never match (or are never defeated by) another
 * tenant's or a soft-deleted row.
 */
export function toPrismaWhere(
  policy: CompiledPolicy,
  model: CompiledModel,
  where: WhereInput | null | undefined,
  principal: Principal | null,
): WhereData {
  if (!where) return {};
  const parts: WhereData[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined || value === null) continue;
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      const list = (value as WhereInput[]).map((item) =>
        toPrismaWhere(policy, model, item, principal),
      );
      parts.push({ [key]: list });
      continue;
    }
    const relation = model.relations.get(key);
    if (relation) {
      const target = policy.models.get(relation.target)!;
      const scope = unwrap(rowScope(target, principal));
      const filter = value as Record<string, WhereInput | null | undefined>;
      for (const [op, inner] of Object.entries(filter)) {
        if (inner === undefined || inner === null) continue;
        const sub = toPrismaWhere(policy, target, inner, principal);
        if (op === 'every') {
          // every visible related row matches: rows outside the scope do not count
          const visible = Object.keys(scope).length > 0;
          parts.push({ [key]: { every: visible ? { OR: [{ NOT: scope }, sub] } : sub } });
        } else {
          parts.push({ [key]: { [op]: and(scope, sub) } });
        }
      }
      continue;
    }
    if (model.fields.has(key)) {
      parts.push(...scalarConditions(key, value as ScalarFilter));
    }
  }
  return and(...parts);
}

function scalarConditions(field: string, filter: ScalarFilter): WhereData[] {
  const conditions: WhereData[] = [];
  for (const [op, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    switch (op) {
      case 'equals':
        conditions.push({ [field]: value === null ? null : { equals: value } });
        break;
      case 'not':
        conditions.push({ [field]: { not: value } });
        break;
      case 'isNull':
        if (value !== null) conditions.push({ [field]: value ? null : { not: null } });
        break;
      default:
        if (value !== null) conditions.push({ [field]: { [op]: value } });
    }
  }
  return conditions;
}

/** `[{ totalCents: DESC }, …]` → sort keys ending with the primary key, which breaks every tie. */
export function toSortKeys(
  model: CompiledModel,
  orderBy: Record<string, 'ASC' | 'DESC' | null | undefined>[] | null | undefined,
): SortKey[] {
  const keys: SortKey[] = [];
  for (const [index, item] of (orderBy ?? []).entries()) {
    const entries = Object.entries(item).filter(([, direction]) => direction != null);
    if (entries.length !== 1) {
      throw validationError(`orderBy[${index}] must name exactly one field`, `orderBy[${index}]`, [
        'write one field per list item, e.g. orderBy: [{ createdAt: DESC }, { id: ASC }]',
      ]);
    }
    const [field, direction] = entries[0]!;
    if (keys.some((key) => key.field === field)) continue;
    keys.push({
      field,
      direction: direction === 'DESC' ? 'desc' : 'asc',
      nullable: model.fields.get(field)?.nullable ?? false,
    });
  }
  const id = model.idField;
  if (id && !keys.some((key) => key.field === id.name)) {
    keys.push({ field: id.name, direction: 'asc', nullable: false });
  }
  return keys;
}
