import type { Policy } from '../../src/policy/types.js';

/**
 * The example's policy (CONTRACT §3). Every table carries tenantId; Tenant itself is scoped by its
 * id. passwordHash and apiKey are denied to everyone by the default globs (*password*, *api_key*).
 * The table in examples/saas/README.md shows what each role reads.
 */
export const saasPolicy: Policy = {
  profile: 'prod',
  models: {
    Tenant: { tenantField: 'id' },
  },
  budgets: {
    // the example nests two relations (orders → customer → …), one more than prod's default
    maxIncludeDepth: 2,
    maxComplexity: 100_000,
  },
  roles: {
    admin: {},
    support: {
      models: {
        Customer: { fields: { mask: { ssn: '****{last4}' } } },
        Product: { fields: { deny: ['costCents'] } },
      },
    },
    sales: {
      models: {
        // a sales rep sees only the orders they sell, at the root and inside customer.orders
        Order: { ownershipField: 'salesRepId' },
        Customer: { fields: { deny: ['ssn'], mask: { phone: true } } },
        Product: { fields: { deny: ['costCents'] } },
        User: { fields: { hash: ['email'] } },
      },
    },
    agent: {
      models: {
        User: { hidden: true },
        Customer: { fields: { deny: ['ssn'], mask: { email: true, phone: true } } },
        Product: { fields: { deny: ['costCents'] } },
      },
    },
  },
  // Writes are off unless enabled here; each one needs a reason (prod) and is audited with before/after.
  writes: {
    enabled: true,
    // who may approve the writes below that wait for an approval; no role does unless named
    approvers: ['admin'],
    models: {
      Order: {
        support: {
          update: { fields: ['status', 'notes'] },
          // soft delete, once an admin approves
          delete: { requireApproval: true },
          bulk: { fields: ['status'], maxAffectedRows: 50, requireApproval: { minIds: 6 } },
        },
      },
      Customer: { support: { update: { fields: ['email', 'phone'] } } },
      Product: {
        admin: { create: { fields: ['sku', 'name', 'priceCents', 'costCents', 'active'] } },
      },
    },
  },
  // who reads the tenant's audit log through GraphQL (auditRecords); no role does unless named
  audit: { readers: ['admin'] },
  views: [
    {
      name: 'CustomerSummary',
      model: 'Customer',
      fields: ['id', 'name', 'tier'],
      computed: { orderCount: { count: 'orders' }, lifetimeCents: { sum: 'orders.totalCents' } },
    },
  ],
};
