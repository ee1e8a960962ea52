// The three-replica suite's load: the reliability mix (GraphQL and MCP reads as every role) plus
// writes, spread over the replicas a load balancer would send to. Each call carries a traceparent of
// its own, so its audit record can be counted by trace id, and each write creates a product whose
// sku names the call, so its effect can be found in the database.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { signToken } from '../../src/server/auth.js';
import { buildCalls, type Call, JWT_SECRET, type Outcome, send } from './load.js';
import { CLI } from './server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
export const REPLICAS_CONFIG = join(import.meta.dirname, 'ormai.replicas.config.ts');
/** The schema of the example's tables in the replicas' database (ormai's own tables are in `ormai`). */
export const APP_SCHEMA = 'ormai_replicas';
export const AUDIT_TABLE = '"ormai"."ormai_audit_log"';

export interface TracedOutcome extends Outcome {
  traceId: string;
  /** The replica it was sent to (its index among the three). */
  replica: number;
  kind: 'read' | 'write';
  /** The product a write creates. */
  sku?: string;
}

/** A W3C traceparent with a fresh trace id. */
export function newTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/** The example's users: tenant t has subs 10(t-1)+1..+10 (admins 1-2, support 3-5, sales 6-10). */
export function principalOf(role: 'admin' | 'support', tenantId: number, second = false) {
  const offset = role === 'admin' ? (second ? 2 : 1) : second ? 4 : 3;
  return { sub: String(10 * (tenantId - 1) + offset), tenantId, roles: [role] };
}

export function tokenOf(principal: { sub: string; tenantId: number; roles: string[] }) {
  return signToken(principal, { secret: JWT_SECRET });
}

/** What the load sends: the reliability suite's reads, and an admin per tenant who creates products. */
export interface Mix {
  reads: Call[];
  admins: { tenantId: number; token: string }[];
}

export async function buildMix(): Promise<Mix> {
  return {
    reads: await buildCalls(),
    admins: await Promise.all(
      [1, 2, 3].map(async (tenantId) => ({
        tenantId,
        token: await tokenOf(principalOf('admin', tenantId)),
      })),
    ),
  };
}

/** Creates one product with this sku: `createProduct` over GraphQL, `db.create` over MCP. */
export function createProductCall(
  surface: 'graphql' | 'mcp',
  admin: { tenantId: number; token: string },
  sku: string,
): Call {
  const data = { sku, name: `replica load ${sku}`, priceCents: 1200, costCents: 700 };
  const reason = 'three-replica load';
  return {
    surface,
    label: `${surface} create Product as admin`,
    tenantId: admin.tenantId,
    token: admin.token,
    body: JSON.stringify(
      surface === 'graphql'
        ? {
            query:
              'mutation($data: ProductCreateInput!, $reason: String) { createProduct(data: $data, reason: $reason) { id tenantId sku } }',
            variables: { data, reason },
          }
        : {
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'db.create', arguments: { model: 'Product', data, reason } },
          },
    ),
  };
}

/** mulberry32: a small seeded PRNG, so each client's choices are its own and repeatable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `clients` concurrent loops until `stop()`. Each call goes to one of the replicas `targets()`
 * names at that moment (a load balancer's pick), and is a write with probability `writeShare`
 * (a product created over GraphQL or MCP), else one of the reads; the picks are independent.
 */
export async function runReplicaLoad(options: {
  targets: () => { replica: number; base: string }[];
  mix: Mix;
  clients: number;
  writeShare: number;
  stop: (elapsedMs: number) => boolean;
  t0?: number;
}): Promise<TracedOutcome[]> {
  const t0 = options.t0 ?? performance.now();
  const outcomes: TracedOutcome[] = [];
  const { reads, admins } = options.mix;
  const client = async (k: number) => {
    const random = prng(k + 1);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    while (!options.stop(performance.now() - t0)) {
      const target = pick(options.targets());
      const { traceId, traceparent } = newTrace();
      const sku = random() < options.writeShare ? `r-${traceId}` : undefined;
      const call = sku
        ? createProductCall(random() < 0.5 ? 'graphql' : 'mcp', pick(admins), sku)
        : pick(reads);
      const outcome = await send(target.base, call, t0, { traceparent });
      outcomes.push({
        ...outcome,
        traceId,
        replica: target.replica,
        kind: sku ? 'write' : 'read',
        ...(sku ? { sku } : {}),
      });
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, k) => client(k)));
  return outcomes;
}

/**
 * Every read of the mix once, and a product created over each surface, on each replica in turn
 * (the replicas side by side): each role's schema is built before the load, as in the reliability
 * suite's warm-up, so the load measures replicas at work rather than starting.
 */
export async function warmUp(
  targets: { replica: number; base: string }[],
  mix: Mix,
): Promise<TracedOutcome[]> {
  const t0 = performance.now();
  const perReplica = await Promise.all(
    targets.map(async (target) => {
      const outcomes: TracedOutcome[] = [];
      const writes = (['graphql', 'mcp'] as const).map((surface) => ({ surface, sku: '' }));
      for (const item of [...mix.reads, ...writes]) {
        const { traceId, traceparent } = newTrace();
        const sku = 'sku' in item ? `r-${traceId}` : undefined;
        const call = sku
          ? createProductCall(item.surface, mix.admins[target.replica % mix.admins.length]!, sku)
          : (item as Call);
        const outcome = await send(target.base, call, t0, { traceparent });
        outcomes.push({
          ...outcome,
          traceId,
          replica: target.replica,
          kind: sku ? 'write' : 'read',
          ...(sku ? { sku } : {}),
        });
      }
      return outcomes;
    }),
  );
  return perReplica.flat();
}

/** Runs a query on a connection of its own. */
export async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Audit rows per trace id, for these trace ids (a trace id without a row is absent). */
export async function auditRowsByTrace(
  url: string,
  traceIds: string[],
): Promise<Map<string, number>> {
  const rows = await sql<{ trace_id: string; n: number }>(
    url,
    `SELECT trace_id, count(*)::int AS n FROM ${AUDIT_TABLE} WHERE trace_id = ANY($1::text[]) GROUP BY trace_id`,
    [traceIds],
  );
  return new Map(rows.map((row) => [row.trace_id, row.n]));
}

/**
 * Audit rows per trace id once the replicas' background queues have drained: polls until every
 * trace id has a row (then once more a second later, so a duplicate written late would show) or
 * the count stops changing for 3 s, for at most 60 s.
 */
export async function settledAuditRowsByTrace(
  url: string,
  traceIds: string[],
): Promise<Map<string, number>> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const found = await auditRowsByTrace(url, traceIds);
    if (found.size !== last) stableSince = Date.now();
    last = found.size;
    if (found.size === traceIds.length) {
      await new Promise((r) => setTimeout(r, 1000));
      return auditRowsByTrace(url, traceIds);
    }
    if (Date.now() - stableSince > 3000 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The skus of these that exist as products. */
export async function existingSkus(url: string, skus: string[]): Promise<Set<string>> {
  const rows = await sql<{ sku: string }>(
    url,
    `SELECT sku FROM "${APP_SCHEMA}"."Product" WHERE sku = ANY($1::text[])`,
    [skus],
  );
  return new Set(rows.map((row) => row.sku));
}

/** The real CLI, `ormai audit verify`, on the table (or a replica's JSONL file). */
export async function auditVerify(
  env: Record<string, string>,
  jsonl?: string,
): Promise<{ code: number; output: string }> {
  const args = [
    ...CLI,
    'audit',
    'verify',
    '--config',
    REPLICAS_CONFIG,
    ...(jsonl ? ['--jsonl', jsonl] : []),
  ];
  try {
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: `${stdout}${stderr}`.trim() };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`.trim(),
    };
  }
}

/** POSTs a GraphQL operation to a replica; the status, the Retry-After header and the body. */
export async function graphql(
  base: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
  traceparent = newTrace().traceparent,
): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${token}`,
      traceparent,
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.json(),
  };
}

/** One MCP tools/call on a replica; the HTTP status and the JSON-RPC body. */
export async function mcpCall(
  base: string,
  token: string,
  name: string,
  args: Record<string, unknown>,
  traceparent = newTrace().traceparent,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      traceparent,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name, arguments: args },
    }),
  });
  return { status: response.status, body: await response.json() };
}
