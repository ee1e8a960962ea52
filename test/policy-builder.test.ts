// Pins the fluent PolicyBuilder: it produces the same validated data a policy file holds, and that
// data compiles to what the methods say.
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { PolicyBuilder } from '../src/policy/builder.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { DEFAULT_DENY_GLOBS } from '../src/policy/defaults.js';

describe('PolicyBuilder', () => {
  const policy = new PolicyBuilder('prod')
    .registerModels(['Tenant', 'Customer', 'Order', 'OrderItem', 'Product'])
    .denyFields(['*internal*'])
    .tenantScope('tenantId')
    .tenantScope('id', 'Tenant')
    .maskFields('Customer', ['email'])
    .maskFields('Customer', ['ssn'], '****{last4}')
    .allowRelations('Order', ['customer', 'items'])
    .rowFilter('Order', { status: { not: 'cancelled' } })
    .budgets({ maxIncludeDepth: 2 })
    .forRole('sales', (role) =>
      role.ownershipScope('Order', 'salesRepId').hashFields('Customer', ['phone']),
    )
    .forRole('agent', (role) => role.hide('Product').denyModelFields('Customer', ['ssn']))
    .build();

  it('builds plain, validated policy data', () => {
    expect(policy).toEqual({
      profile: 'prod',
      expose: ['Tenant', 'Customer', 'Order', 'OrderItem', 'Product'],
      denyFields: ['*internal*'],
      tenantField: 'tenantId',
      budgets: { maxIncludeDepth: 2 },
      models: {
        Tenant: { tenantField: 'id' },
        Customer: { fields: { mask: { email: true, ssn: '****{last4}' } } },
        Order: {
          relations: { allow: ['customer', 'items'] },
          rowFilter: { status: { not: 'cancelled' } },
        },
      },
      roles: {
        sales: {
          models: {
            Order: { ownershipField: 'salesRepId' },
            Customer: { fields: { hash: ['phone'] } },
          },
        },
        agent: { models: { Product: { hidden: true }, Customer: { fields: { deny: ['ssn'] } } } },
      },
    });
    expect(JSON.parse(JSON.stringify(policy))).toEqual(policy);
  });

  it('compiles to what the methods say', () => {
    const engine = compilePolicy(policy, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    const sales = engine.value.forRoles(['sales']);
    const agent = engine.value.forRoles(['agent']);
    expect([...sales.models.keys()]).toEqual([
      'Tenant',
      'Customer',
      'Product',
      'Order',
      'OrderItem',
    ]);
    expect(sales.models.has('User')).toBe(false);
    expect(agent.models.has('Product')).toBe(false);
    expect(sales.models.get('Customer')!.fields.get('phone')!.redaction).toEqual({ kind: 'hash' });
    expect(sales.models.get('Customer')!.fields.get('ssn')!.redaction).toEqual({
      kind: 'mask',
      pattern: '****{last4}',
    });
    expect(agent.models.get('Customer')!.fields.has('ssn')).toBe(false);
    expect([...sales.models.get('Order')!.relations.keys()]).toEqual(['customer', 'items']);
    expect(sales.models.get('Order')!.rowFilters).toEqual([
      { AND: [{ status: { not: 'cancelled' } }, { salesRepId: '$principal.sub' }] },
    ]);
    expect(sales.budgets.maxIncludeDepth).toBe(2);
  });

  it('denyFields adds to the default globs; withoutDefaultDenyFields drops them', () => {
    const fieldsOf = (built: ReturnType<PolicyBuilder['build']>) => {
      const engine = compilePolicy(built, saasApp.datamodel);
      if (!engine.ok) throw new Error(engine.message);
      return [...engine.value.forRoles([]).models.get('User')!.fields.keys()];
    };
    const added = new PolicyBuilder().denyFields(['role']).build();
    expect(added.denyFields).toEqual(['role']);
    expect(fieldsOf(added)).not.toContain('role');
    expect(fieldsOf(added)).not.toContain('passwordHash');
    const replaced = new PolicyBuilder().withoutDefaultDenyFields().denyFields(['role']).build();
    expect(replaced).toMatchObject({ keepDefaultDenyFields: false, denyFields: ['role'] });
    expect(fieldsOf(replaced)).toContain('passwordHash');
    expect(DEFAULT_DENY_GLOBS).toContain('*password*');
  });

  it('scopeThrough names the parent relation', () => {
    const built = new PolicyBuilder()
      .tenantScope('id', 'Tenant')
      .scopeThrough('OrderItem', 'order')
      .build();
    expect(built.models?.OrderItem).toEqual({ scopeThrough: 'order' });
    const engine = compilePolicy(built, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    const item = engine.value.forRoles([]).models.get('OrderItem')!;
    expect(item.tenantField).toBeNull();
    expect(item.scopeThrough).toMatchObject({ relation: 'order', parent: { name: 'Order' } });
  });

  it('rejects a bad shape with the path', () => {
    expect(() => new PolicyBuilder().budgets({ maxTake: -1 }).build()).toThrow(/budgets\.maxTake/);
  });
});
