import type {
  CompiledField,
  CompiledModel,
  ScopeThrough,
  TenantScope,
  WhereTemplate,
} from './compile-policy.js';
import { type Datamodel, isUuidColumn } from './datamodel.js';
import { typeName, uuidValue } from './field-types.js';
import type { Principal } from './principal.js';
import { fail, ok, type Result } from './result.js';

/** A Prisma-shaped where object, as plain data. */
export type WhereData = Record<string, unknown>;

const PRINCIPAL_VARIABLE = /^\$principal\.([A-Za-z_][\w.]*)$/;
/** How `bindValue` marks a uuid column: a claim that is no uuid matches no row, as a missing one. */
const UUID_TYPE = 'uuid';

/**
 * The row predicate every read of a model is ANDed with: the principal's tenant (or, for a model
 * scoped through a parent, its parent's tenant scope as a relation filter), `deletedAt IS NULL`
 * where the model soft-deletes, and the roles' row filters (ownership and custom filters, ORed
 * across roles). An empty object means every row is visible.
 */
export function rowScope(
  model: CompiledModel,
  principal: Principal | null,
  datamodel: Datamodel,
): Result<WhereData> {
  const tenant = tenantScope(model, principal);
  if (!tenant.ok) return tenant;
  const parts = [tenant.value];
  if (model.rowFilters) {
    const bound = model.rowFilters.map((template) =>
      bindTemplate(template, model.name, principal, datamodel),
    );
    parts.push(bound.length === 1 ? bound[0]! : { OR: bound });
  }
  return ok(and(parts));
}

/**
 * The role-independent part of the scope: the tenant field equal to the principal's tenant, or
 * `{ order: { is: <the parent's tenant scope> } }` through a parent (recursively), and not
 * soft-deleted. Prisma writes the relation filter as a join to the parent's table, so the
 * parent's columns decide, never a copy of the tenant id on the child.
 */
export function tenantScope(scope: TenantScope, principal: Principal | null): Result<WhereData> {
  const parts: WhereData[] = [];
  if (scope.tenantField) {
    const tenant = tenantValue(scope.tenantField, principal);
    if (!tenant.ok) return tenant;
    parts.push({ [scope.tenantField.name]: tenant.value });
  }
  if (scope.scopeThrough) {
    const parent = tenantScope(scope.scopeThrough.parent, principal);
    if (!parent.ok) return parent;
    parts.push({ [scope.scopeThrough.relation]: { is: parent.value } });
  }
  if (scope.softDeleteField) parts.push({ [scope.softDeleteField]: null });
  return ok(and(parts));
}

/**
 * The where that finds, among the parents the principal may see, the parent that `values` (a row
 * about to be written) point to through the model's scope-through relation; null when a key is
 * missing. A write may only attach a row to a visible parent.
 */
export function visibleParentWhere(
  through: ScopeThrough,
  values: Record<string, unknown>,
  principal: Principal | null,
): Result<WhereData | null> {
  if (through.keys.some((key) => values[key.localField] == null)) return ok(null);
  const parent = tenantScope(through.parent, principal);
  if (!parent.ok) return parent;
  return ok(
    and([
      parent.value,
      Object.fromEntries(through.keys.map((key) => [key.targetField, values[key.localField]])),
    ]),
  );
}

/** ANDs predicates, dropping empty ones, without nesting a lone predicate. */
export function andWheres(...parts: (WhereData | undefined | null)[]): WhereData {
  const kept = parts.filter((part): part is WhereData => !!part && Object.keys(part).length > 0);
  if (kept.length === 0) return {};
  if (kept.length === 1) return kept[0]!;
  return { AND: kept };
}

/** One where from several: merged into one object while no key repeats, else an AND list. */
function and(parts: WhereData[]): WhereData {
  const merged: WhereData = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (key in merged) return parts.length === 1 ? parts[0]! : { AND: parts };
      merged[key] = value;
    }
  }
  return merged;
}

/**
 * Fills `$principal.sub`, `$principal.tenantId` and `$principal.<claim>` in a row filter, each
 * coerced to the type of the field it is compared with. A claim the token lacks matches no row.
 */
export function bindTemplate(
  template: WhereTemplate,
  modelName: string,
  principal: Principal | null,
  datamodel: Datamodel,
): WhereData {
  const model = datamodel.datamodel.models[modelName];
  const bound: WhereData = {};
  for (const [key, value] of Object.entries(template)) {
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      const list = Array.isArray(value) ? value : [value];
      bound[key] = list.map((item) =>
        bindTemplate(item as WhereTemplate, modelName, principal, datamodel),
      );
      continue;
    }
    const field = model?.fields.find((candidate) => candidate.name === key);
    if (field?.kind === 'object') {
      bound[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([op, inner]) => [
          op,
          inner && typeof inner === 'object'
            ? bindTemplate(inner as WhereTemplate, field.type, principal, datamodel)
            : inner,
        ]),
      );
      continue;
    }
    const boundValue = bindValue(
      value,
      field && isUuidColumn(field) ? UUID_TYPE : (field?.type ?? 'String'),
      principal,
    );
    // a nullable column equal to a claim: a null row is not the principal's, and says so plainly,
    // so the scope is true or false (never unknown) even under a NOT in a relation filter
    bound[key] =
      field && !field.isRequired && isPlain(boundValue)
        ? { equals: boundValue, not: null }
        : boundValue;
  }
  return bound;
}

const isPlain = (value: unknown) =>
  value !== null && value !== undefined && (typeof value !== 'object' || value instanceof Date);

function bindValue(value: unknown, type: string, principal: Principal | null): unknown {
  if (typeof value === 'string') {
    const variable = PRINCIPAL_VARIABLE.exec(value)?.[1];
    if (!variable) return value;
    const raw = principalVariable(principal, variable);
    const coerced =
      raw === undefined || raw === null
        ? undefined
        : type === UUID_TYPE
          ? uuidValue(String(raw))
          : coerceToFieldType(type, raw);
    // nothing equals a missing claim: match no row rather than every row
    return coerced === undefined ? { in: [] } : coerced;
  }
  if (Array.isArray(value)) return value.map((item) => bindValue(item, type, principal));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([op, inner]) => [op, bindValue(inner, type, principal)]),
    );
  }
  return value;
}

function principalVariable(principal: Principal | null, path: string): unknown {
  if (!principal) return undefined;
  if (path === 'sub') return principal.sub;
  if (path === 'tenantId') return principal.tenantId;
  if (path === 'roles') return principal.roles;
  let current: unknown = principal.claims;
  for (const part of path.split('.')) {
    current =
      current && typeof current === 'object'
        ? (current as Record<string, unknown>)[part]
        : undefined;
  }
  return current;
}

/** The principal's tenant id, coerced to the type of the field it is compared with. */
export function tenantValue(field: CompiledField, principal: Principal | null): Result<unknown> {
  const raw = principal?.tenantId;
  if (raw === null || raw === undefined || raw === '') {
    return fail(
      'TENANT_SCOPE_REQUIRED',
      'this data is scoped by tenant, and the caller has no tenant',
      ['use a token whose tenantId claim names your tenant'],
    );
  }
  const value = field.uuid ? uuidValue(String(raw)) : coerceToFieldType(field.type, raw);
  if (value === undefined) {
    const type = typeName(field);
    return fail('TENANT_SCOPE_REQUIRED', `the caller's tenant id is not a valid ${type}`, [
      `the tenantId claim must be a ${type}`,
    ]);
  }
  return ok(value);
}

/** Principal variables arrive as strings or numbers; fields compare typed values. */
export function coerceToFieldType(type: string, raw: unknown): unknown {
  switch (type) {
    case 'Int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      return Number.isSafeInteger(n) && String(raw).trim() !== '' ? n : undefined;
    }
    case 'Float': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      return Number.isFinite(n) && String(raw).trim() !== '' ? n : undefined;
    }
    case 'BigInt':
      try {
        return BigInt(String(raw));
      } catch {
        return undefined;
      }
    case 'String':
      return String(raw);
    default:
      return raw;
  }
}
