import { createHash } from 'node:crypto';
import type { SqlDriver } from '../../src/db/database.js';

/** Row counts of the helpdesk seed, per organization. */
export const SEED_COUNTS = { customers: 60, products: 12, tickets: 300, users: 8 } as const;

/** Event ids start past 2^53, where a JavaScript number can no longer hold them exactly. */
export const FIRST_EVENT_ID = 2n ** 53n + 1n;

export const SEED_ORGANIZATIONS = [
  { id: orgId(1), slug: 'northwind', name: 'Northwind Support', plan: 'enterprise' },
  { id: orgId(2), slug: 'contoso', name: 'Contoso Helpdesk', plan: 'pro' },
  { id: orgId(3), slug: 'fabrikam', name: 'Fabrikam Care', plan: 'starter' },
] as const;

/** The roles of each organization's users, in order: user n of org o has id userId(o, n). */
export const SEED_USER_ROLES = [
  'admin',
  'agent',
  'agent',
  'agent',
  'support',
  'support',
  'viewer',
  'viewer',
] as const;

/**
 * One ticket of the first organization names a product of the second by its sku (the column is
 * unique across organizations, so the database allows it): bad data a scoped read must not follow.
 */
export const CROSS_ORG_PRODUCT_REFERENCE = { orgId: orgId(1), ticketId: 7, sku: 'CONTOSO-P01' };

/** `a0000000-0000-4000-8000-00000000000<n>`: organization ids are uuids, stable across runs. */
export function orgId(n: number): string {
  return `a0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** The uuid of user `n` (1-based, see SEED_USER_ROLES) of organization `org`. */
export function userId(org: number, n: number): string {
  return `b000000${org}-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

const TABLES = [
  '"analytics"."events"',
  '"public"."comments"',
  '"public"."ticket_labels"',
  '"public"."_CustomerLabels"',
  '"public"."tickets"',
  '"public"."labels"',
  '"public"."products"',
  '"public"."customers"',
  '"public"."users"',
  '"public"."organizations"',
] as const;

const FIRST = 'Ada Alan Grace Linus Barbara Ken Margaret Dennis Radia Edsger Frances Donald'.split(
  ' ',
);
const LAST =
  'Lovelace Turing Hopper Torvalds Liskov Thompson Hamilton Ritchie Perlman Dijkstra'.split(' ');
const SUBJECTS = [
  'Cannot log in',
  'Invoice shows the wrong amount',
  'Export to CSV times out',
  'Refund request',
  'App crashes on start',
  'Feature request: dark mode',
  'Password reset email never arrives',
  'Duplicate charge',
];
const PRODUCT_NAMES =
  'Router Kettle Drone Sensor Printer Lamp Widget Gizmo Anvil Rocket Stapler Hub'.split(' ');
const LABELS = [
  ['billing', '#2f80ed'],
  ['bug', '#eb5757'],
  ['feature', '#27ae60'],
  ['vip', '#f2c94c'],
  ['refund', '#9b51e0'],
  ['escalated', '#f2994a'],
] as const;
const STATUSES = ['open', 'pending', 'resolved', 'closed'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const CHANNELS = ['email', 'chat', 'phone', 'web'];
const TAGS = ['login', 'billing', 'mobile', 'api', 'export', 'sso'];
const EVENT_KINDS = ['ticket.created', 'ticket.assigned', 'ticket.status_changed'];
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
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
    /** A few distinct items, in the list's order. */
    some: <T>(items: readonly T[], max: number): T[] => {
      const count = int(0, max);
      return items.filter(() => next() < count / items.length).slice(0, count);
    },
  };
}

type Row = unknown[];

export interface SeedSummary {
  organizations: number;
  users: number;
  customers: number;
  products: number;
  labels: number;
  tickets: number;
  ticketLabels: number;
  comments: number;
  events: number;
}

/** True when the helpdesk tables hold an organization already. */
export async function isSeeded(sql: SqlDriver): Promise<boolean> {
  const rows = await sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM "public"."organizations"',
  );
  return (rows[0]?.n ?? 0) > 0;
}

export async function resetHelpdeskData(sql: SqlDriver): Promise<void> {
  await sql.exec(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`);
}

/** Inserts the deterministic helpdesk data set. Expects empty tables (see resetHelpdeskData). */
export async function seedHelpdesk(
  sql: SqlDriver,
  options: { log?: (line: string) => void } = {},
): Promise<SeedSummary> {
  const rnd = prng(20261201);
  const rows = {
    organizations: SEED_ORGANIZATIONS.map((o, i) => [
      o.id,
      o.slug,
      o.name,
      o.plan,
      new Date(BASE_TIME - (i + 1) * 90 * DAY),
    ]) as Row[],
    users: [] as Row[],
    customers: [] as Row[],
    products: [] as Row[],
    labels: [] as Row[],
    customerLabels: [] as Row[],
    tickets: [] as Row[],
    ticketLabels: [] as Row[],
    comments: [] as Row[],
    events: [] as Row[],
  };
  let customerId = 0;
  let productId = 0;
  let labelId = 0;
  let commentId = 0;
  let eventId = FIRST_EVENT_ID;

  for (const [index, org] of SEED_ORGANIZATIONS.entries()) {
    const o = index + 1;
    const staff: string[] = [];
    for (const [i, role] of SEED_USER_ROLES.entries()) {
      const id = userId(o, i + 1);
      const first = FIRST[(o * 5 + i) % FIRST.length]!;
      const last = LAST[(o * 3 + i * 7) % LAST.length]!;
      if (role === 'agent' || role === 'support') staff.push(id);
      rows.users.push([
        id,
        org.id,
        `${first}.${last}.${i + 1}@${org.slug}.example.com`.toLowerCase(),
        `${first} ${last}`,
        role,
        `$argon2id$v=19$m=65536,t=3,p=4$${createHash('sha256').update(id).digest('base64')}`,
        new Date(BASE_TIME - rnd.int(30, 400) * DAY),
      ]);
    }

    const customers: number[] = [];
    for (let i = 0; i < SEED_COUNTS.customers; i++) {
      customerId += 1;
      customers.push(customerId);
      const first = rnd.pick(FIRST);
      const last = rnd.pick(LAST);
      rows.customers.push([
        customerId,
        org.id,
        `${first} ${last}`,
        `${first}.${last}${customerId}@mail.example.org`.toLowerCase(),
        rnd.chance(0.8) ? `+4420${String(rnd.int(0, 99_999_999)).padStart(8, '0')}` : null,
        new Date(BASE_TIME + rnd.int(0, 200) * DAY),
      ]);
    }

    const skus: string[] = [];
    for (let i = 0; i < SEED_COUNTS.products; i++) {
      productId += 1;
      const sku = `${org.slug.toUpperCase()}-P${String(i + 1).padStart(2, '0')}`;
      skus.push(sku);
      rows.products.push([productId, org.id, sku, `${PRODUCT_NAMES[i]} ${o}`, rnd.chance(0.85)]);
    }

    const labels: number[] = [];
    for (const [name, color] of LABELS) {
      labelId += 1;
      labels.push(labelId);
      rows.labels.push([labelId, org.id, name, color]);
    }
    for (const customer of customers) {
      for (const label of rnd.some(labels, 2)) rows.customerLabels.push([customer, label]);
    }

    for (let id = 1; id <= SEED_COUNTS.tickets; id++) {
      const createdAt = BASE_TIME + rnd.int(0, 300) * DAY + rnd.int(0, DAY - 1);
      const status = rnd.pick(STATUSES);
      const isCrossReference =
        org.id === CROSS_ORG_PRODUCT_REFERENCE.orgId && id === CROSS_ORG_PRODUCT_REFERENCE.ticketId;
      rows.tickets.push([
        org.id,
        id,
        id > 10 && rnd.chance(0.15) ? rnd.int(1, id - 1) : null,
        rnd.pick(customers),
        rnd.chance(0.8) ? rnd.pick(staff) : null,
        isCrossReference
          ? CROSS_ORG_PRODUCT_REFERENCE.sku
          : rnd.chance(0.5)
            ? rnd.pick(skus)
            : null,
        `${rnd.pick(SUBJECTS)} (#${id})`,
        `Hello, ticket ${id} of ${org.name}: please help.`,
        status,
        rnd.pick(PRIORITIES),
        arrayLiteral(rnd.some(CHANNELS, 2)),
        arrayLiteral(rnd.some(TAGS, 3)),
        JSON.stringify({
          source: rnd.pick(['portal', 'email', 'api']),
          sla: { hours: rnd.pick([4, 8, 24, 72]) },
          browser: rnd.chance(0.5) ? rnd.pick(['firefox', 'chrome', 'safari']) : null,
        }),
        rnd.chance(0.3) ? createHash('sha256').update(`${org.id}/${id}`).digest() : null,
        rnd.chance(0.2)
          ? `${rnd.int(1, 250_000)}.${String(rnd.int(0, 99)).padStart(2, '0')}`
          : null,
        rnd.chance(0.3)
          ? `Internal: customer ${rnd.pick(['is a reseller', 'asked twice', 'on legacy plan'])}`
          : null,
        new Date(createdAt),
        new Date(createdAt + rnd.int(0, 20) * DAY),
        status === 'closed' && rnd.chance(0.15) ? new Date(createdAt + rnd.int(1, 30) * DAY) : null,
      ]);
      for (const label of rnd.some(labels, 2)) {
        rows.ticketLabels.push([org.id, id, label, new Date(createdAt + DAY)]);
      }
      const commentCount = rnd.int(0, 3);
      for (let c = 0; c < commentCount; c++) {
        commentId += 1;
        const internal = rnd.chance(0.25);
        rows.comments.push([
          commentId,
          org.id,
          id,
          internal || rnd.chance(0.5) ? rnd.pick(staff) : null,
          internal ? 'Note for the team: check the logs.' : `Reply ${c + 1} on ticket ${id}.`,
          internal,
          new Date(createdAt + (c + 1) * 3_600_000),
        ]);
      }
      const eventCount = rnd.int(1, 2);
      for (let e = 0; e < eventCount; e++) {
        rows.events.push([
          String(eventId),
          org.id,
          rnd.chance(0.9) ? id : null,
          EVENT_KINDS[e % EVENT_KINDS.length],
          JSON.stringify({ by: rnd.pick(staff), step: e + 1 }),
          new Date(createdAt + e * 60_000),
        ]);
        eventId += 1n;
      }
    }
  }

  const tables: [string, string[], Row[]][] = [
    ['"public"."organizations"', ['id', 'slug', 'name', 'plan', 'created_at'], rows.organizations],
    [
      '"public"."users"',
      ['id', 'org_id', 'email', 'name', 'role', 'password_hash', 'created_at'],
      rows.users,
    ],
    [
      '"public"."customers"',
      ['id', 'org_id', 'name', 'email', 'phone', 'created_at'],
      rows.customers,
    ],
    ['"public"."products"', ['id', 'org_id', 'sku', 'name', 'active'], rows.products],
    ['"public"."labels"', ['id', 'org_id', 'name', 'color'], rows.labels],
    ['"public"."_CustomerLabels"', ['A', 'B'], rows.customerLabels],
    [
      '"public"."tickets"',
      [
        'org_id',
        'id',
        'parent_id',
        'requester_id',
        'assignee_id',
        'product_sku',
        'subject',
        'body',
        'status',
        'priority',
        'channels',
        'tags',
        'metadata',
        'attachment_checksum',
        'refund_amount',
        'internal_notes',
        'created_at',
        'updated_at',
        'deleted_at',
      ],
      rows.tickets,
    ],
    [
      '"public"."ticket_labels"',
      ['org_id', 'ticket_id', 'label_id', 'applied_at'],
      rows.ticketLabels,
    ],
    [
      '"public"."comments"',
      ['id', 'ticket_org_id', 'ticket_id', 'author_id', 'body', 'internal', 'created_at'],
      rows.comments,
    ],
    [
      '"analytics"."events"',
      ['id', 'org_id', 'ticket_id', 'kind', 'payload', 'occurred_at'],
      rows.events,
    ],
  ];

  await sql.transaction(async (tx) => {
    for (const [table, columns, tableRows] of tables) {
      await insertBatches(tx, table, columns, tableRows, options.log);
    }
    // explicit ids were inserted, so each sequence moves past them for later inserts
    for (const table of [
      '"public"."customers"',
      '"public"."products"',
      '"public"."labels"',
      '"public"."tickets"',
      '"public"."comments"',
      '"analytics"."events"',
    ]) {
      await tx.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`,
      );
    }
  });

  return {
    organizations: rows.organizations.length,
    users: rows.users.length,
    customers: rows.customers.length,
    products: rows.products.length,
    labels: rows.labels.length,
    tickets: rows.tickets.length,
    ticketLabels: rows.ticketLabels.length,
    comments: rows.comments.length,
    events: rows.events.length,
  };
}

/** `{a,b}`: PGlite binds a JavaScript array to no column type, so lists go in as their literal. */
function arrayLiteral(items: readonly string[]): string {
  return `{${items.join(',')}}`;
}

async function insertBatches(
  sql: SqlDriver,
  table: string,
  columns: string[],
  rows: Row[],
  log?: (line: string) => void,
) {
  const batchSize = Math.floor(10_000 / columns.length);
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const values = batch
      .map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`)
      .join(', ');
    await sql.query(
      `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${values}`,
      batch.flat(),
    );
    log?.(`seed: ${table} ${Math.min(start + batchSize, rows.length)}/${rows.length}`);
  }
}
