import { createHash } from 'node:crypto';
import type { SqlDriver } from '../../src/db/database.js';

/** Row counts of the example seed, per tenant (CONTRACT §3 sets the minimums). */
export const SEED_COUNTS = { customers: 200, products: 50, orders: 1000, users: 10 } as const;

export const SEED_TENANTS = [
  { id: 1, slug: 'acme', name: 'Acme Corporation', plan: 'enterprise' },
  { id: 2, slug: 'globex', name: 'Globex Corporation', plan: 'pro' },
  { id: 3, slug: 'initech', name: 'Initech', plan: 'starter' },
] as const;

const TABLES = ['OrderItem', 'Order', 'Product', 'Customer', 'User', 'Tenant'] as const;

const FIRST =
  'Ada Alan Grace Linus Barbara Ken Margaret Dennis Radia Edsger Frances Donald Hedy John Katherine Tim Shafi Leslie Niklaus Anita Guido Sophie Yukihiro Bjarne Joan Claude Ivan Ruth Vint Lynn'.split(
    ' ',
  );
const LAST =
  'Lovelace Turing Hopper Torvalds Liskov Thompson Hamilton Ritchie Perlman Dijkstra Allen Knuth Lamarr McCarthy Johnson Berners-Lee Goldwasser Lamport Wirth Borg Rossum Wilson Matsumoto Stroustrup Clarke Shannon Sutherland Davis Cerf Conway'.split(
    ' ',
  );
const ADJECTIVES =
  'Compact Deluxe Ergonomic Rugged Smart Solar Quiet Modular Wireless Portable'.split(' ');
const NOUNS =
  'Anvil Rocket Widget Sprocket Gizmo Lamp Router Stapler Kettle Drone Sensor Printer'.split(' ');
const TIERS = ['free', 'standard', 'premium', 'enterprise'];
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];
const NOTES = ['Leave at the front desk', 'Gift wrap, please', 'Call before delivery', 'Expedite'];
const BASE_TIME = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

/** mulberry32: a small seeded PRNG, so every seed run produces the same rows. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
    digits: (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join(''),
  };
}

type Row = unknown[];

export interface SeedOptions {
  /** Progress lines go here; silent when omitted. */
  log?: (line: string) => void;
}

export interface SeedSummary {
  tenants: number;
  users: number;
  customers: number;
  products: number;
  orders: number;
  orderItems: number;
}

/** True when the example tables hold no tenant yet. */
export async function isSeeded(sql: SqlDriver): Promise<boolean> {
  const rows = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "Tenant"');
  return (rows[0]?.n ?? 0) > 0;
}

export async function resetExampleData(sql: SqlDriver): Promise<void> {
  await sql.exec(`TRUNCATE ${TABLES.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY CASCADE`);
}

/** Inserts the deterministic example data set. Expects empty tables (see resetExampleData). */
export async function seedExample(sql: SqlDriver, options: SeedOptions = {}): Promise<SeedSummary> {
  const rnd = prng(20261127);
  const rows = {
    Tenant: SEED_TENANTS.map((t) => [t.id, t.slug, t.name, t.plan]) as Row[],
    User: [] as Row[],
    Customer: [] as Row[],
    Product: [] as Row[],
    Order: [] as Row[],
    OrderItem: [] as Row[],
  };
  let userId = 0;
  let customerId = 0;
  let productId = 0;
  let orderId = 0;
  let itemId = 0;

  for (const tenant of SEED_TENANTS) {
    const domain = `${tenant.slug}.example.com`;
    const salesReps: number[] = [];
    const roles = [
      'admin',
      'admin',
      'support',
      'support',
      'support',
      'sales',
      'sales',
      'sales',
      'sales',
      'sales',
    ];
    for (const [i, role] of roles.entries()) {
      userId += 1;
      const first = FIRST[(userId * 7) % FIRST.length]!;
      const last = LAST[(userId * 11) % LAST.length]!;
      if (role === 'sales') salesReps.push(userId);
      rows.User.push([
        userId,
        tenant.id,
        `${first}.${last}.${i + 1}@${domain}`.toLowerCase(),
        `${first} ${last}`,
        role,
        `$argon2id$v=19$m=65536,t=3,p=4$${createHash('sha256').update(`pw${userId}`).digest('base64')}`,
        role === 'admin'
          ? `sk_live_${createHash('sha256').update(`key${userId}`).digest('hex').slice(0, 32)}`
          : null,
        new Date(BASE_TIME - rnd.int(30, 700) * DAY),
      ]);
    }

    const customers: { id: number; createdAt: number }[] = [];
    for (let i = 0; i < SEED_COUNTS.customers; i++) {
      customerId += 1;
      const first = rnd.pick(FIRST);
      const last = rnd.pick(LAST);
      const createdAt = BASE_TIME + rnd.int(0, 365) * DAY + rnd.int(0, DAY - 1);
      customers.push({ id: customerId, createdAt });
      rows.Customer.push([
        customerId,
        tenant.id,
        `${first} ${last}`,
        `${first}.${last}${customerId}@mail.example.org`.toLowerCase(),
        rnd.chance(0.85) ? `+1${rnd.digits(10)}` : null,
        rnd.chance(0.7) ? `${rnd.digits(3)}-${rnd.digits(2)}-${rnd.digits(4)}` : null,
        rnd.pick(TIERS),
        new Date(createdAt),
        rnd.chance(0.03) ? new Date(createdAt + rnd.int(1, 200) * DAY) : null,
      ]);
    }

    const products: { id: number; priceCents: number }[] = [];
    for (let i = 0; i < SEED_COUNTS.products; i++) {
      productId += 1;
      const priceCents = rnd.int(5, 500) * 100 - 1;
      products.push({ id: productId, priceCents });
      rows.Product.push([
        productId,
        tenant.id,
        `${tenant.slug.toUpperCase()}-${String(i + 1).padStart(4, '0')}`,
        `${rnd.pick(ADJECTIVES)} ${rnd.pick(NOUNS)} ${i + 1}`,
        priceCents,
        Math.round(priceCents * (0.4 + rnd.next() * 0.3)),
        rnd.chance(0.9),
      ]);
    }

    for (let i = 0; i < SEED_COUNTS.orders; i++) {
      orderId += 1;
      const customer = rnd.pick(customers);
      const createdAt = customer.createdAt + rnd.int(0, 300) * DAY + rnd.int(0, DAY - 1);
      let totalCents = 0;
      const itemCount = rnd.int(2, 4);
      for (let j = 0; j < itemCount; j++) {
        itemId += 1;
        const product = rnd.pick(products);
        const quantity = rnd.int(1, 5);
        totalCents += quantity * product.priceCents;
        rows.OrderItem.push([itemId, tenant.id, orderId, product.id, quantity, product.priceCents]);
      }
      rows.Order.push([
        orderId,
        tenant.id,
        customer.id,
        rnd.chance(0.4) ? rnd.pick(salesReps) : null,
        rnd.pick(STATUSES),
        totalCents,
        rnd.chance(0.15) ? rnd.pick(NOTES) : null,
        new Date(createdAt),
        new Date(createdAt + rnd.int(0, 20) * DAY),
        rnd.chance(0.04) ? new Date(createdAt + rnd.int(1, 30) * DAY) : null,
      ]);
    }
  }

  const columns: Record<keyof typeof rows, string[]> = {
    Tenant: ['id', 'slug', 'name', 'plan'],
    User: ['id', 'tenantId', 'email', 'name', 'role', 'passwordHash', 'apiKey', 'createdAt'],
    Customer: ['id', 'tenantId', 'name', 'email', 'phone', 'ssn', 'tier', 'createdAt', 'deletedAt'],
    Product: ['id', 'tenantId', 'sku', 'name', 'priceCents', 'costCents', 'active'],
    Order: [
      'id',
      'tenantId',
      'customerId',
      'salesRepId',
      'status',
      'totalCents',
      'notes',
      'createdAt',
      'updatedAt',
      'deletedAt',
    ],
    OrderItem: ['id', 'tenantId', 'orderId', 'productId', 'quantity', 'unitPriceCents'],
  };

  await sql.transaction(async (tx) => {
    for (const table of [...TABLES].reverse()) {
      await insertBatches(tx, table, columns[table], rows[table], options.log);
      // explicit ids were inserted, so the sequence moves past them for later inserts
      await tx.query(
        `SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), (SELECT max(id) FROM "${table}"))`,
      );
    }
  });

  return {
    tenants: rows.Tenant.length,
    users: rows.User.length,
    customers: rows.Customer.length,
    products: rows.Product.length,
    orders: rows.Order.length,
    orderItems: rows.OrderItem.length,
  };
}

async function insertBatches(
  sql: SqlDriver,
  table: string,
  columns: string[],
  rows: Row[],
  log?: (line: string) => void,
) {
  const batchSize = 1000;
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const values = batch
      .map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`)
      .join(', ');
    await sql.query(
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${values}`,
      batch.flat(),
    );
    log?.(`seed: ${table} ${Math.min(start + batchSize, rows.length)}/${rows.length}`);
  }
}
