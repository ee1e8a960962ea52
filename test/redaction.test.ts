// Pins the redaction formats of CONTRACT §7 (as OrmAI) and that every path returns them: root lists,
// nested relations and views, compared with the raw values in the database.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashValue, maskValue } from '../src/policy/redaction.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

describe('mask and hash formats', () => {
  it.each([
    ['john@example.com', undefined, 'j***@example.com'],
    ['+12345678901', undefined, '+1*******901'],
    ['123-456-789-012', undefined, '12**********012'],
    ['secret', undefined, 's****t'],
    ['ab', undefined, '**'],
    ['a', undefined, '*'],
    ['0123456789', undefined, '0********9'],
    ['123-45-6789', '****{last4}', '****6789'],
    ['Johnson', '{first2}***', 'Jo***'],
  ])('mask(%j, %j) = %j', (value, pattern, masked) => {
    expect(maskValue(value, pattern)).toBe(masked);
  });

  it('null stays null', () => {
    expect(maskValue(null)).toBeNull();
    expect(maskValue(undefined)).toBeNull();
    expect(hashValue(null, 'salt')).toBeNull();
  });

  it('hash is 64 lowercase hex of HMAC-SHA256(key, value)', () => {
    const key = 'k'.repeat(32);
    expect(hashValue('a@b.c', key)).toBe(createHmac('sha256', key).update('a@b.c').digest('hex'));
    expect(hashValue('a@b.c', key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashValue('a@b.c', key)).not.toBe(hashValue('a@b.c', 'another key'));
    // no longer the salted sha256 it was: a guessed value cannot be checked without the key
    expect(hashValue('a@b.c', key)).not.toBe(
      createHash('sha256').update(`${key}a@b.c`).digest('hex'),
    );
  });
});

describe.each(DATABASE_KINDS)('redaction on every path on %s', (kind) => {
  const app = useTestApp(kind);

  const raw = async (table: string, columns: string, tenantId: number) => {
    const rows = await app.sql<Record<string, unknown>>(
      `SELECT id, ${columns} FROM "${table}" WHERE "tenantId" = $1`,
      [tenantId],
    );
    return new Map(rows.map((row) => [Number(row.id), row]));
  };

  it('agent: customer email and phone masked at the root, nested, and in none unmasked', async () => {
    const customers = await raw('Customer', 'email, phone', 1);
    const data = await query(
      app,
      { tenantId: 1, roles: ['agent'] },
      `{ customers(first: 100) { nodes { id email phone } }
         orders(first: 50) { nodes { customer { id email phone } } } }`,
    );
    // an order's soft-deleted customer is hidden (null), like any row out of scope
    const hidden = data.orders.nodes.filter((order: any) => order.customer === null).length;
    const [deleted] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT "customerId" FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 50
       ) page JOIN "Customer" c ON c.id = page."customerId" WHERE c."deletedAt" IS NOT NULL`,
    );
    expect(hidden).toBe(deleted!.n);
    const seen = [
      ...data.customers.nodes,
      ...data.orders.nodes.map((order: any) => order.customer).filter(Boolean),
    ];
    let nullPhones = 0;
    for (const customer of seen) {
      const row = customers.get(customer.id)!;
      expect(customer.email).toBe(maskValue(row.email));
      expect(customer.email).not.toBe(row.email);
      expect(customer.phone).toBe(maskValue(row.phone));
      if (row.phone === null) nullPhones++;
      else expect(customer.phone).not.toBe(row.phone);
    }
    expect(seen.length).toBeGreaterThan(100);
    expect(nullPhones).toBeGreaterThan(0);
  });

  it('support: ssn with the pattern ****{last4}; admin: the raw value', async () => {
    const customers = await raw('Customer', 'ssn', 2);
    const asSupport = await query(
      app,
      { tenantId: 2, roles: ['support'] },
      '{ customers(first: 100) { nodes { id ssn } } }',
    );
    for (const customer of asSupport.customers.nodes) {
      const ssn = customers.get(customer.id)!.ssn as string | null;
      expect(customer.ssn).toBe(ssn === null ? null : `****${ssn.slice(-4)}`);
    }
    const asAdmin = await query(
      app,
      { tenantId: 2, roles: ['admin'] },
      '{ customers(first: 5) { nodes { id ssn } } }',
    );
    for (const customer of asAdmin.customers.nodes) {
      expect(customer.ssn).toBe(customers.get(customer.id)!.ssn);
    }
  });

  it('sales: user email hashed, also through order.salesRep', async () => {
    const users = await raw('User', 'email', 1);
    const data = await query(
      app,
      { sub: '6', tenantId: 1, roles: ['sales'] },
      `{ users(first: 20) { nodes { id email } } orders(first: 5) { nodes { salesRep { id email } } } }`,
    );
    const seen = [
      ...data.users.nodes,
      ...data.orders.nodes.map((order: any) => order.salesRep).filter(Boolean),
    ];
    expect(seen.length).toBeGreaterThan(10);
    const { hashKey } = app.runtime.policy.forRoles(['sales']);
    for (const user of seen) {
      expect(user.email).toBe(hashValue(users.get(user.id)!.email, hashKey));
    }
  });

  it('a masked, hashed or denied field cannot be filtered, sorted or grouped on', async () => {
    for (const [role, text] of [
      ['agent', '{ customers(where: { email: { startsWith: "a" } }) { totalCount } }'],
      ['agent', '{ customers(orderBy: [{ phone: ASC }]) { totalCount } }'],
      ['agent', '{ customersGroupBy(by: [email]) { count } }'],
      ['agent', '{ productsAggregate { sum { costCents } } }'],
      ['agent', '{ customers { nodes { ssn } } }'],
      ['sales', '{ users(where: { email: { equals: "x" } }) { totalCount } }'],
      ['support', '{ customers(where: { ssn: { endsWith: "1" } }) { totalCount } }'],
    ] as const) {
      const { body } = await app.graphql({ tenantId: 1, roles: [role] }, text);
      expect(body.errors?.[0]?.extensions.code, `${role}: ${text}`).toBe('FIELD_NOT_ALLOWED');
      expect(body.data ?? undefined).toBeUndefined();
    }
  });

  it('secrets are denied to every role, in objects and inputs alike', async () => {
    for (const role of ['admin', 'support', 'sales']) {
      for (const text of [
        '{ users { nodes { passwordHash } } }',
        '{ users { nodes { apiKey } } }',
        '{ users(where: { apiKey: { isNull: false } }) { totalCount } }',
      ]) {
        const { body } = await app.graphql({ tenantId: 1, roles: [role] }, text);
        expect(body.errors?.[0]?.extensions.code).toBe('FIELD_NOT_ALLOWED');
      }
    }
  });
});
