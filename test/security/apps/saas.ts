// The saas example (examples/saas) for the security suite: its anchors are the table of
// examples/saas/README.md, its cross-tenant rows point orders and items at other tenants' rows.
import { fileURLToPath } from 'node:url';
import { saasApp } from '../../../examples/saas/app.js';
import type { Principal, TenantId } from '../support/app-model.js';
import type { SecurityAppSpec, SqlFn } from '../support/app-spec.js';
import type { Truth } from '../support/truth.js';

/** Users of a tenant, all of them or those of one app role (`User.role`). */
function usersOf(truth: Truth, tenant: TenantId, role?: string): string[] {
  return [...truth.rows.get('User')!.values()]
    .filter((user) => user.tenantId === tenant && (!role || user.role === role))
    .map((user) => String(user.id));
}

/**
 * Orders of tenant 1 for a customer of tenant 2, an order of tenant 2 sold by a rep of tenant 3,
 * an item of tenant 3 in an order of tenant 1 for a product of tenant 2, an item of tenant 1 for a
 * product of tenant 3.
 */
async function addCrossTenantRows(sql: SqlFn): Promise<void> {
  const first = async (text: string, params: unknown[] = []) => {
    const [row] = await sql<{ id: number }>(text, params);
    if (!row) throw new Error(`no row for ${text}`);
    return Number(row.id);
  };
  const customerOf = (tenant: number) =>
    first('SELECT id FROM "Customer" WHERE "tenantId" = $1 AND "deletedAt" IS NULL ORDER BY id', [
      tenant,
    ]);
  const repOf = (tenant: number) =>
    first(`SELECT id FROM "User" WHERE "tenantId" = $1 AND role = 'sales' ORDER BY id`, [tenant]);
  const productOf = (tenant: number) =>
    first('SELECT id FROM "Product" WHERE "tenantId" = $1 ORDER BY id', [tenant]);
  const orderOf = (tenant: number) =>
    first('SELECT id FROM "Order" WHERE "tenantId" = $1 AND "deletedAt" IS NULL ORDER BY id', [
      tenant,
    ]);
  const insertOrder = (tenant: number, customer: number, rep: number | null) =>
    first(
      `INSERT INTO "Order" ("tenantId", "customerId", "salesRepId", status, "totalCents", notes)
       VALUES ($1, $2, $3, 'paid', 4242, 'cross-tenant') RETURNING id`,
      [tenant, customer, rep],
    );
  const order1 = await insertOrder(1, await customerOf(2), await repOf(1));
  await insertOrder(2, await customerOf(2), await repOf(3));
  const item = (tenant: number, order: number, product: number) =>
    sql(
      `INSERT INTO "OrderItem" ("tenantId", "orderId", "productId", quantity, "unitPriceCents")
       VALUES ($1, $2, $3, 3, 777)`,
      [tenant, order, product],
    );
  await item(3, order1, await productOf(2));
  await item(1, await orderOf(1), await productOf(3));
  await item(1, order1, await productOf(1));
}

/** Secrets by their shape, so a part of one (in a message, a concatenation) is found too. */
function leakPatterns(json: string, truth: Truth, principal: Principal): string[] {
  const leaks: string[] = [];
  if (json.includes('$argon2id$')) leaks.push('a password hash');
  if (json.includes('sk_live_')) leaks.push('an API key');
  const own = [...truth.rows.get('Tenant')!.values()].find((t) => t.id === principal.tenantId);
  const slug = String(own?.slug ?? '').toUpperCase();
  for (const [, prefix] of json.matchAll(/\b(ACME|GLOBEX|INITECH)-\d{4}\b/g))
    if (prefix !== slug) leaks.push(`a ${prefix} product`);
  return leaks;
}

export const saasSpec: SecurityAppSpec = {
  app: saasApp,
  schemaPath: fileURLToPath(
    new URL('../../../examples/saas/prisma/schema.prisma', import.meta.url),
  ),
  // a sales rep's sub is one of its tenant's sales users (it sees the orders it sells)
  subs: (truth, tenant, role) => usersOf(truth, tenant, role === 'sales' ? 'sales' : undefined),
  addCrossTenantRows,
  leakPatterns,
  leakProbes: ['$argon2id$v=19$m=65536', 'sk_live_0123', 'GLOBEX-0001'],
  anchors: {
    complete: true,
    hidden: { agent: ['User'] },
    fields: {
      admin: { 'User.passwordHash': 'deny', 'User.apiKey': 'deny' },
      support: {
        'User.passwordHash': 'deny',
        'User.apiKey': 'deny',
        'Customer.ssn': 'mask',
        'Product.costCents': 'deny',
      },
      sales: {
        'User.passwordHash': 'deny',
        'User.apiKey': 'deny',
        'User.email': 'hash',
        'Customer.ssn': 'deny',
        'Customer.phone': 'mask',
        'Product.costCents': 'deny',
      },
      agent: {
        'Customer.ssn': 'deny',
        'Customer.email': 'mask',
        'Customer.phone': 'mask',
        'Product.costCents': 'deny',
      },
    },
    owners: { sales: { Order: 'salesRepId' } },
  },
};
