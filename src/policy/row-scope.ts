import type { CompiledField, CompiledModel } from './compile-policy.js';
import type { Principal } from './principal.js';
import { fail, ok, type Result } from './result.js';

/** A Prisma-shaped where object, as plain data. */
export type WhereData = Record<string, unknown>;

/**
 * The row predicate every read of a model is ANDed with: the principal's tenant and, where the
 * model soft-deletes, `deletedAt IS NULL`. An empty object means every row is visible.
 */
export function rowScope(model: CompiledModel, principal: Principal | null): Result<WhereData> {
  const where: WhereData = {};
  if (model.tenantField) {
    const tenant = tenantValue(model.tenantField, principal);
    if (!tenant.ok) return tenant;
    where[model.tenantField.name] = tenant.value;
  }
  if (model.softDeleteField) where[model.softDeleteField] = null;
  return ok(where);
}

/** True when a row the database returned satisfies the model's scope (the after-fetch check). */
export function rowInScope(
  model: CompiledModel,
  principal: Principal | null,
  row: unknown,
): boolean {
  if (row === null || typeof row !== 'object') return true;
  const record = row as Record<string, unknown>;
  if (model.softDeleteField && record[model.softDeleteField] != null) return false;
  if (!model.tenantField) return true;
  const tenant = tenantValue(model.tenantField, principal);
  if (!tenant.ok) return false;
  const value = record[model.tenantField.name];
  // a row loaded without its tenant field cannot be checked, so it is not shown
  return value !== undefined && String(value) === String(tenant.value);
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
  const value = coerceToFieldType(field.type, raw);
  if (value === undefined) {
    return fail('TENANT_SCOPE_REQUIRED', `the caller's tenant id is not a valid ${field.type}`, [
      `the tenantId claim must be a ${field.type}`,
    ]);
  }
  return ok(value);
}

/** Principal variables arrive as strings or numbers; fields compare typed values. */
export function coerceToFieldType(type: string, raw: unknown): unknown {
  switch (type) {
    case 'Int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'Float': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      return Number.isFinite(n) ? n : undefined;
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
