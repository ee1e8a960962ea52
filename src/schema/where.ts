import { OrmaiError, unwrap, validationError } from '../errors.js';
import type { CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';
import type { Principal } from '../policy/principal.js';
import { rowScope, tenantValue, type WhereData } from '../policy/row-scope.js';
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

/** Scopes and filters for one compiled policy: the only way the schema builds a Prisma where. */
export interface WhereTranslator {
  /** The model's row scope for the principal (tenant, soft delete, row filters). */
  scope(model: CompiledModel, principal: Principal | null): WhereData;
  /** The scope ANDed with the caller's filter. */
  scoped(
    model: CompiledModel,
    where: WhereInput | null | undefined,
    principal: Principal | null,
  ): WhereData;
  /** The caller's filter alone, with relation filters scoped. */
  filter(
    model: CompiledModel,
    where: WhereInput | null | undefined,
    principal: Principal | null,
  ): WhereData;
}

export function createWhereTranslator(
  policy: CompiledPolicy,
  datamodel: Datamodel,
): WhereTranslator {
  const scope = (model: CompiledModel, principal: Principal | null) =>
    unwrap(rowScope(model, principal, datamodel));

  /**
   * Translates a GraphQL where input into a Prisma where. Relation filters are scoped to the rows
   * the principal may see, so `some`/`every`/`none`/`is` never match (or are never defeated by)
   * another tenant's, another owner's or a soft-deleted row.
   */
  const filter = (
    model: CompiledModel,
    where: WhereInput | null | undefined,
    principal: Principal | null,
  ): WhereData => {
    if (!where) return {};
    const parts: WhereData[] = [];
    for (const [key, value] of Object.entries(where)) {
      if (value === undefined || value === null) continue;
      if (key === 'AND' || key === 'OR' || key === 'NOT') {
        parts.push({
          [key]: (value as WhereInput[]).map((item) => filter(model, item, principal)),
        });
        continue;
      }
      const relation = model.relations.get(key);
      if (relation) {
        const target = policy.models.get(relation.target)!;
        const targetScope = scope(target, principal);
        for (const [op, inner] of Object.entries(value as Record<string, WhereInput | null>)) {
          if (inner === undefined || inner === null) continue;
          const sub = filter(target, inner, principal);
          if (op === 'every') {
            // every visible related row matches: rows outside the scope do not count
            const scoped = Object.keys(targetScope).length > 0;
            parts.push({ [key]: { every: scoped ? { OR: [{ NOT: targetScope }, sub] } : sub } });
          } else {
            parts.push({ [key]: { [op]: and(targetScope, sub) } });
          }
        }
        continue;
      }
      const field = model.fields.get(key);
      // the schema offers no filter on redacted fields; this guards callers that bypass it
      if (!field || field.redaction) continue;
      if (model.tenantField?.name === key)
        checkTenantFilter(model, value as ScalarFilter, principal);
      parts.push(...scalarConditions(key, value as ScalarFilter));
    }
    return and(...parts);
  };

  return {
    scope,
    filter,
    scoped: (model, where, principal) =>
      and(scope(model, principal), filter(model, where, principal)),
  };
}

/**
 * A filter on the tenant field that names another tenant is a mistake worth telling: results are
 * already limited to the caller's tenant, so it could only ever return nothing.
 */
export function checkTenantFilter(
  model: CompiledModel,
  filter: ScalarFilter,
  principal: Principal | null,
) {
  const own = unwrap(tenantValue(model.tenantField!, principal));
  const named = [
    ...(filter.equals !== undefined && filter.equals !== null ? [filter.equals] : []),
    ...(Array.isArray(filter.in) ? filter.in : []),
  ];
  const other = named.find((value) => String(value) !== String(own));
  if (other !== undefined) throw tenantScopeViolation(model, other);
}

export function tenantScopeViolation(model: CompiledModel, named: unknown): OrmaiError {
  return new OrmaiError(
    'TENANT_SCOPE_VIOLATION',
    `${model.name}.${model.tenantField!.name} ${String(named)} is not your tenant`,
    {
      retryable: true,
      hints: [
        `results are already limited to your tenant; remove the ${model.tenantField!.name} filter`,
      ],
      details: { field: model.tenantField!.name, model: model.name },
    },
  );
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
    if (model.fields.get(field)?.redaction) {
      throw new OrmaiError('FIELD_NOT_ALLOWED', `${model.name}.${field} cannot be sorted on`, {
        retryable: true,
        hints: ['sort on a field that is returned unredacted'],
        details: { field },
      });
    }
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
