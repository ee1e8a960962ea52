// The bench's own databases on the PostgreSQL server at DATABASE_URL: `ormai_bench` (the example's
// seed: 3,000 orders) and, for --scale, `ormai_bench_10k`, `_100k`, `_1m`, grown from the seed with
// set-based SQL. Each is migrated and seeded through openRuntime; PostGraphile's role, row-level
// security and masking functions (postgraphile/setup.sql) are applied to these databases only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { saasApp } from '../../examples/saas/app.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';

export const DEFAULT_SERVER_URL = 'postgresql://postgres@127.0.0.1:5432/';

/** The URL of database `name` on the server of `serverUrl` (its user, host, port and options). */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function ensureDatabase(serverUrl: string, name: string): Promise<boolean> {
  if (!/^ormai_bench[a-z0-9_]*$/.test(name)) throw new Error(`not a bench database: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${name}"`);
    return true;
  } finally {
    await client.end();
  }
}

/** Migrates and seeds (when empty) through openRuntime; with logQueries for the EXPLAIN. */
export function openBenchRuntime(url: string, log: (line: string) => void): Promise<Runtime> {
  return openRuntime(saasApp, {
    databaseUrl: url,
    applyMigrations: true,
    logQueries: true,
    log: (line) => {
      if (!line.startsWith('seed: ')) log(line);
    },
  });
}

const hash = (expression: string, modulo: string) =>
  `((hashint4(${expression})::bigint & 2147483647) % (${modulo}))`;

// Deterministic items of the generated orders $1..$2: 2–4 per order, products of the order's
// tenant, quantity 1–5, at the product's price. Used twice (order totals, then the items).
const GENERATED_ITEMS = `
  SELECT o.id AS order_id, o.t AS tenant_id, k,
         p.ids[1 + ${hash('o.id * 8 + k', 'cardinality(p.ids)')}] AS product_id,
         1 + ${hash('o.id * 8 + k + 4', '5')} AS quantity
  FROM (SELECT g AS id, 1 + g % 3 AS t FROM generate_series($1::int, $2::int) AS g) AS o
  CROSS JOIN LATERAL generate_series(1, 2 + o.id % 3) AS k
  JOIN (SELECT "tenantId", array_agg(id ORDER BY id) AS ids FROM "Product" GROUP BY 1) AS p
    ON p."tenantId" = o.t`;

/**
 * Grows the orders to `target` (ids after the seed's), a third per tenant, with their items; order
 * totals match their items. Batches of 100,000 orders; VACUUM at the end (see analyze).
 */
export async function growOrders(url: string, target: number, log: (line: string) => void) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const [{ n, max }] = (
      await client.query<{ n: number; max: number }>(
        'SELECT count(*)::int AS n, coalesce(max(id), 0)::int AS max FROM "Order"',
      )
    ).rows as [{ n: number; max: number }];
    if (n >= target) return false;
    const started = performance.now();
    const batch = 100_000;
    for (let from = max + 1; from <= max + (target - n); from += batch) {
      const to = Math.min(from + batch - 1, max + (target - n));
      await client.query('BEGIN');
      await client.query(
        `WITH items AS (${GENERATED_ITEMS}),
         totals AS (
           SELECT i.order_id, sum(i.quantity * pr."priceCents")::int AS total
           FROM items AS i JOIN "Product" AS pr ON pr.id = i.product_id GROUP BY 1
         )
         INSERT INTO "Order" (id, "tenantId", "customerId", "salesRepId", status, "totalCents",
                              notes, "createdAt", "updatedAt", "deletedAt")
         SELECT g, 1 + g % 3,
                c.ids[1 + ${hash('g', 'cardinality(c.ids)')}],
                NULL,
                (ARRAY['pending','paid','shipped','delivered','cancelled','refunded'])[1 + ${hash('g + 1', '6')}],
                t.total, NULL,
                timestamp '2025-01-01' + ${hash('g + 2', '600')} * interval '1 day',
                timestamp '2025-01-01' + ${hash('g + 2', '600')} * interval '1 day',
                CASE WHEN ${hash('g + 3', '25')} = 0 THEN timestamp '2025-09-01' END
         FROM generate_series($1::int, $2::int) AS g
         JOIN (SELECT "tenantId", array_agg(id ORDER BY id) AS ids FROM "Customer" GROUP BY 1) AS c
           ON c."tenantId" = 1 + g % 3
         JOIN totals AS t ON t.order_id = g`,
        [from, to],
      );
      await client.query(
        `INSERT INTO "OrderItem" ("tenantId", "orderId", "productId", quantity, "unitPriceCents")
         SELECT i.tenant_id, i.order_id, i.product_id, i.quantity, pr."priceCents"
         FROM (${GENERATED_ITEMS}) AS i JOIN "Product" AS pr ON pr.id = i.product_id
         ORDER BY i.order_id, i.k`,
        [from, to],
      );
      await client.query('COMMIT');
      log(
        `  orders ${to - max + n}/${target} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
    for (const table of ['Order', 'OrderItem']) {
      await client.query(
        `SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), (SELECT max(id) FROM "${table}"))`,
      );
    }
    await client.query('VACUUM "Order", "OrderItem"');
    log(`  grown to ${target} orders in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/** PostGraphile's role, row-level security and masking functions (idempotent). */
export async function applyPostGraphileSetup(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET client_min_messages = warning');
    await client.query(
      readFileSync(join(import.meta.dirname, '..', 'postgraphile', 'setup.sql'), 'utf8'),
    );
  } finally {
    await client.end();
  }
}

/**
 * Planner statistics for every table. Without them (autovacuum may be off, as on the development
 * server) PostgreSQL guesses row counts and can pick plans no production database would.
 */
export async function analyze(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

export async function tableCounts(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ orders: number; items: number; tenant1: number }>(
      `SELECT (SELECT count(*) FROM "Order")::int AS orders,
              (SELECT count(*) FROM "OrderItem")::int AS items,
              (SELECT count(*) FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL)::int AS tenant1`,
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}

export interface PlanSummary {
  /** The statement ormai sent for the root list, as Prisma logged it. */
  sql: string;
  params: unknown[];
  /** Node types from the top, e.g. `Limit > Index Scan (Order_tenantId_id_idx)`. */
  shape: string;
  indexScan: boolean;
  seqScan: boolean;
  executionMs: number;
  /** Buffers the whole plan touched (hit or read). */
  sharedBuffers: number;
  /** Rows the scans read and then discarded with a filter (the tenant's if it is not an index condition). */
  rowsRemovedByFilter: number;
  /** Index conditions and filters of the scans, as EXPLAIN prints them. */
  conditions: string[];
}

/** EXPLAIN (ANALYZE, BUFFERS) of a statement with its parameters. */
export async function explain(
  runtime: Runtime,
  sql: string,
  params: unknown[],
): Promise<PlanSummary> {
  const [row] = await runtime.db.sql.query<{ 'QUERY PLAN': unknown }>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
    params,
  );
  const [top] = row!['QUERY PLAN'] as [{ Plan: PlanNode; 'Execution Time': number }];
  const nodes: string[] = [];
  let indexScan = false;
  let seqScan = false;
  let rowsRemovedByFilter = 0;
  const conditions: string[] = [];
  const walk = (node: PlanNode, depth: number) => {
    const type = node['Node Type'];
    if (type.includes('Index')) indexScan = true;
    if (type === 'Seq Scan') seqScan = true;
    rowsRemovedByFilter += node['Rows Removed by Filter'] ?? 0;
    if (node['Index Cond']) conditions.push(`${type}, index condition: ${node['Index Cond']}`);
    if (node['Recheck Cond']) conditions.push(`${type}, recheck: ${node['Recheck Cond']}`);
    if (node.Filter) conditions.push(`${type}, filter: ${node.Filter}`);
    nodes.push(
      `${'  '.repeat(depth)}${type}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}${
        node['Relation Name'] && !node['Index Name'] ? ` on ${node['Relation Name']}` : ''
      }`,
    );
    for (const child of node.Plans ?? []) walk(child, depth + 1);
  };
  walk(top.Plan, 0);
  return {
    sql,
    params,
    shape: nodes.map((line) => line.trim()).join(' > '),
    indexScan,
    seqScan,
    executionMs: top['Execution Time'],
    sharedBuffers: (top.Plan['Shared Hit Blocks'] ?? 0) + (top.Plan['Shared Read Blocks'] ?? 0),
    rowsRemovedByFilter,
    conditions,
  };
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  'Rows Removed by Filter'?: number;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}
