// Pins the pure policy core: compilation against the datamodel, default deny globs, row scope and
// principal coercion. No database.
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { matchesAnyGlob, toSnakeCase } from '../src/policy/globs.js';
import { coerceToFieldType, rowInScope, rowScope } from '../src/policy/row-scope.js';

const principal = (tenantId: string | number | null) => ({
  sub: '7',
  tenantId,
  roles: ['agent'],
  claims: {},
});

describe('compilePolicy', () => {
  it('compiles the example: every model tenant-scoped, Tenant by id, secrets denied', () => {
    const result = compilePolicy(saasApp.policy, saasApp.datamodel);
    if (!result.ok) throw new Error(result.message);
    const models = result.value.forRoles(['admin']).models;
    expect([...models.keys()]).toEqual([
      'Tenant',
      'User',
      'Customer',
      'Product',
      'Order',
      'OrderItem',
    ]);
    expect(models.get('Tenant')!.tenantField?.name).toBe('id');
    expect(models.get('Order')!.tenantField?.name).toBe('tenantId');
    expect(models.get('Order')!.softDeleteField).toBe('deletedAt');
    expect(models.get('Product')!.softDeleteField).toBeNull();
    expect([...models.get('User')!.fields.keys()]).not.toContain('passwordHash');
    expect([...models.get('User')!.fields.keys()]).not.toContain('apiKey');
    expect(models.get('Order')!.relations.get('customer')).toMatchObject({
      target: 'Customer',
      list: false,
      join: { localField: 'customerId', targetField: 'id' },
    });
    expect(models.get('Customer')!.relations.get('orders')).toMatchObject({
      target: 'Order',
      list: true,
    });
    expect(result.value.forRoles(['admin']).budgets).toMatchObject({
      defaultTake: 25,
      maxTake: 100,
      maxIncludeDepth: 2,
      maxSelectedFields: 40,
      statementTimeoutMs: 2000,
    });
  });

  it('lists every problem with its path and a suggestion', () => {
    const result = compilePolicy(
      { models: { Ordr: {}, Order: { tenantField: 'tenantld' }, Tenant: {} }, bogus: 1 },
      saasApp.datamodel,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('INVALID_POLICY');
    expect(result.hints.join('\n')).toContain('Unrecognized key');
    const fixed = compilePolicy(
      { models: { Ordr: {}, Order: { tenantField: 'tenantld' }, Tenant: {} } },
      saasApp.datamodel,
    );
    expect(fixed.ok).toBe(false);
    if (fixed.ok) return;
    expect(fixed.hints).toEqual([
      'models.Ordr: unknown model Ordr; did you mean Order?',
      'models.Order.tenantField: unknown field tenantld; did you mean tenantId?',
    ]);
  });

  it('a global model has no tenant scope; a hidden model is left out', () => {
    const result = compilePolicy(
      { models: { Tenant: { global: true }, User: { hidden: true } } },
      saasApp.datamodel,
    );
    if (!result.ok) throw new Error(result.message);
    const models = result.value.forRoles([]).models;
    expect(models.get('Tenant')!.tenantField).toBeNull();
    expect(models.get('Tenant')!.global).toBe(true);
    expect(models.has('User')).toBe(false);
    expect(models.get('Order')!.relations.has('salesRep')).toBe(false);
  });
});

describe('deny globs', () => {
  it.each([
    ['passwordHash', true],
    ['apiKey', true],
    ['api_key', true],
    ['APIKey', true],
    ['refreshToken', true],
    ['clientSecret', true],
    ['privateKey', true],
    ['email', false],
    ['tokenizerName', true],
    ['name', false],
  ])('%s denied: %s', (name, denied) => {
    expect(
      matchesAnyGlob(name, [
        '*password*',
        '*secret*',
        '*token*',
        '*api_key*',
        '*apikey*',
        '*private_key*',
      ]),
    ).toBe(denied);
  });

  it('snake-cases camelCase', () => {
    expect(toSnakeCase('passwordHash')).toBe('password_hash');
    expect(toSnakeCase('APIKey')).toBe('api_key');
  });
});

describe('row scope', () => {
  const compiled = compilePolicy(saasApp.policy, saasApp.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  const order = compiled.value.forRoles(['admin']).models.get('Order')!;
  const product = compiled.value.forRoles(['admin']).models.get('Product')!;
  const dm = saasApp.datamodel;

  it('is the tenant, coerced to the field type, and not soft-deleted', () => {
    expect(rowScope(order, principal('2'), dm)).toEqual({
      ok: true,
      value: { tenantId: 2, deletedAt: null },
    });
    expect(rowScope(product, principal(3), dm)).toEqual({ ok: true, value: { tenantId: 3 } });
  });

  it('fails with TENANT_SCOPE_REQUIRED without a usable tenant', () => {
    for (const tenant of [null, '', 'acme']) {
      const result = rowScope(order, principal(tenant), dm);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.code).toBe('TENANT_SCOPE_REQUIRED');
    }
  });

  it('checks fetched rows: other tenant, soft-deleted or missing tenant field are out', () => {
    expect(rowInScope(order, principal(1), { tenantId: 1, deletedAt: null })).toBe(true);
    expect(rowInScope(order, principal(1), { tenantId: 2, deletedAt: null })).toBe(false);
    expect(rowInScope(order, principal(1), { tenantId: 1, deletedAt: new Date() })).toBe(false);
    expect(rowInScope(order, principal(1), { id: 5 })).toBe(false);
  });

  it('coerces principal values to field types', () => {
    expect(coerceToFieldType('Int', '42')).toBe(42);
    expect(coerceToFieldType('Int', '4.2')).toBeUndefined();
    expect(coerceToFieldType('String', 42)).toBe('42');
    expect(coerceToFieldType('BigInt', '9007199254740993')).toBe(9007199254740993n);
  });
});
