// Pins the several-roles semantics (issue 12): a value is plain only on a row that one single role of
// the principal sees with the field plain, else the most restrictive redaction among the roles that
// see the row (deny: null); such fields are no filter, sort key or aggregate. Compared with raw SQL.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { redact } from '../src/policy/redaction.js';
import type { Policy } from '../src/policy/types.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

type Rule = 'plain' | 'deny' | 'hash' | { mask: string | true };
type Row = Record<string, unknown>;

const ROLES = ['owner', 'viewer', 'auditor', 'clerk'] as const;
type Role = (typeof ROLES)[number];

/**
 * Four roles that disagree on rows and fields: `owner` sees its own orders (ownership), enterprise
 * customers and items of active products (a relation row filter), all plain; `viewer` sees every row
 * of its tenant with the sensitive fields masked, hashed or denied; `auditor` and `clerk` see other
 * slices with other redactions (two mask patterns that cannot be ordered: `clerk` vs `viewer`).
 */
const policy: Policy = {
  ...saasPolicy,
  writes: { enabled: false },
  views: [],
  models: { ...saasPolicy.models, User: { hidden: true } },
  roles: {
    owner: {
      models: {
        Order: { ownershipField: 'salesRepId' },
        Customer: { rowFilter: { tier: 'enterprise' } },
        OrderItem: { rowFilter: { product: { is: { active: true } } } },
      },
    },
    viewer: {
      models: {
        Order: { fields: { mask: { notes: true }, deny: ['totalCents'] } },
        Customer: { fields: { mask: { email: true }, hash: ['phone'], deny: ['ssn'] } },
        OrderItem: { fields: { hash: ['quantity'], deny: ['unitPriceCents'] } },
      },
    },
    auditor: {
      models: {
        Order: {
          rowFilter: { status: { in: ['shipped', 'delivered'] } },
          fields: { hash: ['notes'] },
        },
        Customer: {
          rowFilter: { tier: 'premium' },
          fields: { hash: ['email'], mask: { ssn: '****{last4}' } },
        },
        OrderItem: {
          rowFilter: { quantity: { gte: 3 } },
          fields: { mask: { unitPriceCents: true } },
        },
      },
    },
    clerk: {
      models: {
        Order: { fields: { mask: { notes: '{first2}***' } } },
        Customer: {
          rowFilter: { tier: { in: ['free', 'premium'] } },
          fields: { mask: { email: '{first2}***', phone: true } },
        },
      },
    },
  },
};

/** Each role's rule per field, as the policy above says (fields not listed are plain for all). */
const RULES: Record<string, Record<string, Record<Role, Rule>>> = {
  Customer: {
    name: { owner: 'plain', viewer: 'plain', auditor: 'plain', clerk: 'plain' },
    email: {
      owner: 'plain',
      viewer: { mask: true },
      auditor: 'hash',
      clerk: { mask: '{first2}***' },
    },
    phone: { owner: 'plain', viewer: 'hash', auditor: 'plain', clerk: { mask: true } },
    ssn: { owner: 'plain', viewer: 'deny', auditor: { mask: '****{last4}' }, clerk: 'plain' },
  },
  Order: {
    status: { owner: 'plain', viewer: 'plain', auditor: 'plain', clerk: 'plain' },
    notes: {
      owner: 'plain',
      viewer: { mask: true },
      auditor: 'hash',
      clerk: { mask: '{first2}***' },
    },
    totalCents: { owner: 'plain', viewer: 'deny', auditor: 'plain', clerk: 'plain' },
  },
  OrderItem: {
    quantity: { owner: 'plain', viewer: 'hash', auditor: 'plain', clerk: 'plain' },
    unitPriceCents: { owner: 'plain', viewer: 'deny', auditor: { mask: true }, clerk: 'plain' },
  },
};

/** Each role's rows per model, in SQL: the ground truth ($1 tenant, $2 the principal's sub). */
const ROW_SQL: Record<string, { base: string; byRole: Partial<Record<Role, string>> }> = {
  Customer: {
    base: 'SELECT id FROM "Customer" WHERE "tenantId" = $1 AND "deletedAt" IS NULL',
    byRole: {
      owner: `AND tier = 'enterprise'`,
      auditor: `AND tier = 'premium'`,
      clerk: `AND tier IN ('free', 'premium')`,
    },
  },
  Order: {
    base: 'SELECT id FROM "Order" WHERE "tenantId" = $1 AND "deletedAt" IS NULL',
    byRole: {
      owner: 'AND "salesRepId" = $2',
      auditor: `AND status IN ('shipped', 'delivered')`,
    },
  },
  OrderItem: {
    base: 'SELECT i.id FROM "OrderItem" i WHERE i."tenantId" = $1',
    byRole: {
      owner:
        'AND EXISTS (SELECT 1 FROM "Product" p WHERE p.id = i."productId" AND p."tenantId" = $1 AND p.active)',
      auditor: 'AND i.quantity >= 3',
    },
  },
};

const RANK = { mask: 1, hash: 2, deny: 3 } as const;

/** The expected rule for a row: plain if a seeing role has it plain, else the strictest. */
function expectedRule(rules: Rule[]): Rule {
  if (rules.length === 0) return 'deny';
  if (rules.includes('plain')) return 'plain';
  const kind = (rule: Rule) => (typeof rule === 'string' ? rule : 'mask') as keyof typeof RANK;
  const top = Math.max(...rules.map((rule) => RANK[kind(rule)]));
  if (top > 1) return top === 3 ? 'deny' : 'hash';
  const patterns = new Set(rules.map((rule) => String((rule as { mask: unknown }).mask)));
  // two mask patterns reveal different parts: neither is the stricter, so nothing is shown
  return patterns.size === 1 ? rules[0]! : 'deny';
}

describe('several roles, compiled', () => {
  const engine = compilePolicy(policy, saasApp.datamodel);
  const example = compilePolicy(saasPolicy, saasApp.datamodel);
  if (!engine.ok || !example.ok) throw new Error('the test policies compile');
  const field = (roles: string[], model: string, name: string, from = engine.value) =>
    from.forRoles(roles).models.get(model)?.fields.get(name);

  it('costs nothing per row where the answer is the same for every row', () => {
    // a role that sees every row with the field plain: plain
    expect(field(['viewer', 'clerk'], 'Order', 'totalCents')).toMatchObject({ redaction: null });
    expect(field(['viewer', 'clerk'], 'Order', 'totalCents')?.byRole).toBeUndefined();
    // both roles see every customer and one denies ssn: denied throughout, so absent
    expect(field(['sales', 'support'], 'Customer', 'ssn', example.value)).toBeUndefined();
    expect(field(['sales', 'support'], 'Customer', 'phone', example.value)).toMatchObject({
      redaction: null,
    });
    // the strictest rule belongs to a role that sees every row: it holds throughout
    expect(field(['viewer', 'auditor'], 'Customer', 'ssn')).toBeUndefined();
    expect(field(['owner'], 'Customer', 'email')).toMatchObject({ redaction: null });
  });

  it('decides per row where a plain role sees only some rows', () => {
    const email = field(['owner', 'viewer'], 'Customer', 'email');
    expect(email?.redaction).toEqual({ kind: 'mask' });
    expect(email?.byRole?.rules.map((entry) => [entry.role, entry.rule.kind])).toEqual([
      ['owner', 'plain'],
      ['viewer', 'mask'],
    ]);
    // plain vs denied keeps its own type, made nullable
    const total = field(['owner', 'viewer'], 'Order', 'totalCents');
    expect(total).toMatchObject({ type: 'Int', redaction: null, nullable: true });
    expect(total?.byRole?.key).toEqual(['id']);
  });
});

describe.each(DATABASE_KINDS)('several roles on %s', (kind) => {
  const app = useTestApp(kind, { policy });
  const hashKey = () => app.runtime.policy.forRoles(['viewer']).hashKey;
  let reps: Record<number, number[]>;

  beforeAll(async () => {
    reps = {};
    for (const tenantId of [1, 2]) {
      const rows = await app.sql<{ id: number }>(
        'SELECT DISTINCT "salesRepId" AS id FROM "Order" WHERE "tenantId" = $1 AND "salesRepId" IS NOT NULL ORDER BY 1',
        [tenantId],
      );
      reps[tenantId] = rows.map((row) => Number(row.id));
    }
  });

  const visibleTo = async (model: string, role: Role, tenantId: number, sub: number) => {
    const spec = ROW_SQL[model]!;
    // every query binds the sub, so each names $2 (most only to keep the parameter count)
    const rows = await app.sql<{ id: number }>(
      `${spec.base} ${spec.byRole[role] ?? ''} AND $2::int IS NOT NULL`,
      [tenantId, sub],
    );
    return new Set(rows.map((row) => Number(row.id)));
  };

  const rawRows = async (table: string, columns: string[], ids: number[]) => {
    if (ids.length === 0) return new Map<number, Row>();
    const rows = await app.sql<Row>(
      `SELECT id, ${columns.map((c) => `"${c}"`).join(', ')} FROM "${table}" WHERE id = ANY($1::int[])`,
      [ids],
    );
    return new Map(rows.map((row) => [Number(row.id), row]));
  };

  /** Compares every returned value of `model` with what the principal's roles allow for its row. */
  const check = async (
    model: string,
    returned: Row[],
    roles: Role[],
    tenantId: number,
    sub: number,
    present: Set<string>,
  ) => {
    const fields = Object.keys(RULES[model]!);
    const sees = new Map<Role, Set<number>>();
    for (const role of roles) sees.set(role, await visibleTo(model, role, tenantId, sub));
    const raw = await rawRows(
      model,
      fields,
      returned.map((row) => Number(row.id)),
    );
    for (const row of returned) {
      const id = Number(row.id);
      const seeing = roles.filter((role) => sees.get(role)!.has(id));
      // the row itself is one the principal may see
      expect(seeing.length, `${model} ${id} is visible to none of ${roles}`).toBeGreaterThan(0);
      for (const field of fields) {
        const rule = expectedRule(seeing.map((role) => RULES[model]![field]![role]));
        const value = raw.get(id)![field];
        const where = `${model} ${id}.${field} for ${roles.join('+')} (seen by ${seeing.join(',')})`;
        if (!present.has(field)) {
          // absent from the schema only when denied on every row
          expect(rule, where).toBe('deny');
          continue;
        }
        const actual = row[field];
        if (rule === 'deny' || value === null) expect(actual, where).toBeNull();
        else if (rule === 'plain') expect(String(actual), where).toBe(String(value));
        else if (rule === 'hash')
          expect(actual, where).toBe(redact(value, { kind: 'hash' }, hashKey()));
        else {
          const pattern = rule.mask === true ? {} : { pattern: rule.mask };
          expect(actual, where).toBe(redact(value, { kind: 'mask', ...pattern }, hashKey()));
        }
      }
    }
  };

  const presentFields = async (principal: object, type: string) => {
    const data = await query(app, principal, `{ t: __type(name: "${type}") { fields { name } } }`);
    return new Set<string>(data.t.fields.map((field: { name: string }) => field.name));
  };

  it('returns each value as one single role of the principal would for that row (property)', async () => {
    const request = fc.record({
      roles: fc.subarray([...ROLES], { minLength: 2, maxLength: 3 }),
      tenantId: fc.constantFrom(1, 2),
      subIndex: fc.nat({ max: 20 }),
      customerFrom: fc.nat({ max: 400 }),
      orderFrom: fc.nat({ max: 2500 }),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ roles, tenantId, subIndex, customerFrom, orderFrom }) => {
        const subs = reps[tenantId]!;
        const sub = subs[subIndex % subs.length]!;
        const principal = { sub: String(sub), tenantId, roles };
        const present = {
          Customer: await presentFields(principal, 'Customer'),
          Order: await presentFields(principal, 'Order'),
          OrderItem: await presentFields(principal, 'OrderItem'),
        };
        const pick = (model: keyof typeof present) =>
          Object.keys(RULES[model]!)
            .filter((field) => present[model].has(field))
            .join(' ');
        const data = await query(
          app,
          principal,
          `query ($c: Int!, $o: Int!) {
            customers(first: 100, where: { id: { gte: $c } }) { nodes { id ${pick('Customer')} } }
            orders(first: 40, where: { id: { gte: $o } }) {
              nodes {
                id ${pick('Order')}
                customer { id ${pick('Customer')} }
                items(first: 5) { id ${pick('OrderItem')} }
              }
            }
          }`,
          { c: customerFrom, o: orderFrom },
        );
        const orders = data.orders.nodes as Row[];
        await check('Customer', data.customers.nodes, roles, tenantId, sub, present.Customer);
        await check('Order', orders, roles, tenantId, sub, present.Order);
        await check(
          'Customer',
          orders.flatMap((order) => (order.customer ? [order.customer as Row] : [])),
          roles,
          tenantId,
          sub,
          present.Customer,
        );
        await check(
          'OrderItem',
          orders.flatMap((order) => order.items as Row[]),
          roles,
          tenantId,
          sub,
          present.OrderItem,
        );
      }),
      { numRuns: 25 },
    );
  }, 300_000);

  it('owner + viewer: email plain exactly on the rows the owner sees, masked elsewhere', async () => {
    const principal = { sub: String(reps[1]![0]), tenantId: 1, roles: ['owner', 'viewer'] };
    const data = await query(
      app,
      principal,
      '{ customers(first: 100) { nodes { id email tier } } }',
    );
    const rows = data.customers.nodes as Row[];
    const plain = rows.filter((row) => !String(row.email).includes('***'));
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.length).toBeLessThan(rows.length);
    const raw = await rawRows(
      'Customer',
      ['email'],
      rows.map((row) => Number(row.id)),
    );
    for (const row of rows) {
      const email = raw.get(Number(row.id))!.email;
      expect(row.email).toBe(
        row.tier === 'enterprise' ? email : redact(email, { kind: 'mask' }, hashKey()),
      );
    }
    // the owner alone reads every email it sees plain: the viewer's mask does not reach its rows
    const alone = await query(
      app,
      { ...principal, roles: ['owner'] },
      '{ customers(first: 100) { nodes { id email } } }',
    );
    for (const row of alone.customers.nodes as Row[]) {
      expect(row.email).toBe(raw.get(Number(row.id))?.email ?? row.email);
    }
  });

  it('refuses filters, sorts and aggregates on a field plain on some rows only', async () => {
    const principal = { sub: String(reps[1]![0]), tenantId: 1, roles: ['owner', 'viewer'] };
    for (const text of [
      '{ customers(where: { email: { contains: "a" } }) { totalCount } }',
      '{ customers(orderBy: [{ email: ASC }]) { totalCount } }',
      '{ ordersAggregate { sum { totalCents } } }',
      '{ ordersGroupBy(by: [notes]) { count } }',
      '{ orders(where: { totalCents: { gt: 100 } }) { totalCount } }',
    ]) {
      const { body } = await app.graphql(principal, text);
      expect(body.errors?.length, text).toBeGreaterThan(0);
      expect(body.data ?? null, text).toBeNull();
      // one role alone may: the refusal comes from the disagreement, not from the field
      const alone = await app.graphql({ ...principal, roles: ['owner'] }, text);
      expect(alone.body.errors, text).toBeUndefined();
    }
    // a field every role reads plain stays a filter
    const status = await query(
      app,
      principal,
      '{ orders(where: { status: { equals: "paid" } }, orderBy: [{ status: ASC }]) { totalCount } }',
    );
    const [row] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status = 'paid'`,
    );
    expect(status.orders.totalCount).toBe(row!.n);
  });

  it('describeSchema names the roles on whose rows a field is unredacted', async () => {
    const principal = { sub: String(reps[1]![0]), tenantId: 1, roles: ['owner', 'viewer'] };
    const data = await query(app, principal, '{ describeSchema(model: "Customer") }');
    const fields = data.describeSchema.models.Customer.fields;
    expect(fields.email).toMatchObject({
      redaction: 'mask',
      plainOnRowsOf: ['owner'],
      filterable: false,
    });
    expect(fields.email.description).toContain('owner');
    expect(fields.ssn).toMatchObject({
      plainOnRowsOf: ['owner'],
      nullable: true,
      filterable: false,
    });
    expect(fields.ssn.redaction).toBeUndefined();
    expect(fields.name).toMatchObject({ filterable: true });
    expect(fields.name.plainOnRowsOf).toBeUndefined();
  });

  it('asks the database once per role and model, however many rows', async () => {
    const principal = {
      sub: String(reps[1]![0]),
      tenantId: 1,
      roles: ['owner', 'viewer', 'auditor'],
    };
    const count = async (first: number) => {
      app.statements.length = 0;
      await query(
        app,
        principal,
        `{ customers(first: ${first}) { nodes { id email phone ssn } } }`,
      );
      return app.statements.length;
    };
    const few = await count(5);
    const many = await count(100);
    expect(many).toBe(few);
    // the list, then one statement per role with a row filter (owner, auditor)
    expect(many).toBeLessThanOrEqual(3);
  });
});
