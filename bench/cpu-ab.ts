// In-process CPU A/B of ormai's request path: Q1 and Q2 (bench/lib/queries.ts) sent sequentially
// through `gateway.fetch` (yoga, auth, schema, execution, Prisma, response; no HTTP socket), CPU per
// request from process.cpuUsage. Q4 sends its MCP db_query call and the GraphQL operation it
// becomes through the handler `ormai serve` answers with (the router in @whatwg-node/server's
// adapter, /mcp by createMcpHttpHandler) and prints MCP's CPU over GraphQL's per variant.
// Variants are copies of src/ (snapshots) loaded side by side in one process and measured in
// alternating rounds, so a burst of load elsewhere falls on all of them.
//
//   npx tsx bench/cpu-ab.ts --snapshot before                # copy src/ to tmp/cpu-ab/before/src
//   npx tsx bench/cpu-ab.ts --variants before,work           # A/B: the snapshot against src/
//   npx tsx bench/cpu-ab.ts --variants work --profile q1.cpuprofile --queries Q1 --rounds 1 --n 500
//   npx tsx bench/cpu-ab.ts --variants before,work --queries Q4 --concurrency 32
//   npx tsx bench/cpu-ab.ts --variants work,work+audit --queries Q1   # audit log on (+sql, +jsonl: one sink)
//
// Env/flags: --db URL (default postgresql://postgres@127.0.0.1:5432/p4_cpu, created, migrated and
// seeded on first use), --n requests per variant per round (default 30), --rounds (default 30),
// --warmup requests per variant (default 100), --queries Q1,Q2 (or Q4), --concurrency requests in
// flight (default 1: sequential), --endpoints to measure one side of Q4 only (`'ormai MCP'`, to
// profile it alone).
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { saasApp } from '../examples/saas/app.js';
import type * as Mcp from '../src/mcp-bridge/index.js';
import type { openRuntime, Runtime } from '../src/runtime.js';
import type * as AuditSetup from '../src/server/audit-setup.js';
import { signToken } from '../src/server/auth.js';
import type { Gateway, GatewayOptions } from '../src/server/gateway.js';
import type * as Http from '../src/server/http-server.js';
import { createLogger } from '../src/server/logger.js';
import type * as Router from '../src/server/router.js';
import { summarizeProfile } from './lib/profile.js';
import { defineQueries } from './lib/queries.js';
import { countStatements } from './servers/common.js';

const ROOT = resolve(import.meta.dirname, '..');
const SNAPSHOTS = join(ROOT, 'tmp', 'cpu-ab');

const { values: flags } = parseArgs({
  options: {
    snapshot: { type: 'string' },
    variants: { type: 'string', default: 'work' },
    db: { type: 'string', default: 'postgresql://postgres@127.0.0.1:5432/p4_cpu' },
    n: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '1' },
    queries: { type: 'string', default: 'Q1,Q2' },
    endpoints: { type: 'string' },
    profile: { type: 'string' },
  },
});

if (flags.snapshot) {
  const target = join(SNAPSHOTS, flags.snapshot, 'src');
  rmSync(target, { recursive: true, force: true });
  cpSync(join(ROOT, 'src'), target, { recursive: true });
  // Pothos keeps plugins in one registry by name: each copy registers its own under its own name
  for (const dir of readdirSync(join(target, 'plugins'))) {
    const plugin = join(target, 'plugins', dir, 'index.ts');
    const text = readFileSync(plugin, 'utf8');
    const renamed = text.replace(
      /const pluginName = '(\w+)';/,
      (_, name) => `const pluginName = '${name}_${flags.snapshot!.replace(/\W/g, '_')}';`,
    );
    if (renamed === text) throw new Error(`snapshot: no plugin name in plugins/${dir}/index.ts`);
    writeFileSync(plugin, renamed);
  }
  console.log(`snapshot of src/ in ${target}`);
  process.exit(0);
}

const n = Number(flags.n);
const rounds = Number(flags.rounds);
const warmup = Number(flags.warmup);
const concurrency = Number(flags.concurrency);
const wanted = new Set(flags.queries.split(','));

await ensureDatabase(flags.db);
const secret = 'cpu-ab-secret-0123456789abcdef';
const token = await signToken({ sub: '1', tenantId: 1, roles: ['agent'] }, { secret });

// one runtime per variant: its own copy of src/ opens it (the SQL adapter, the pool and the Prisma
// client are src/'s too), on the example app or another (`name:path/to/app.ts`, e.g. a copy of the
// example whose Prisma client was generated with other preview features)
const runtimes: Runtime[] = [];
// statements counted as the bench's servers count them: every query node-postgres sends (Prisma's
// query events would cost CPU of their own)
const counts = countStatements();
async function runtimeOf(src: string, appPath: string | undefined): Promise<Runtime> {
  const app = appPath
    ? ((await import(resolve(ROOT, appPath))) as { saasApp: typeof saasApp }).saasApp
    : saasApp;
  const open = (await import(join(src, 'runtime.ts'))) as { openRuntime: typeof openRuntime };
  const runtime = await open.openRuntime(app, {
    databaseUrl: flags.db,
    applyMigrations: true,
    log: () => {},
  });
  runtimes.push(runtime);
  return runtime;
}
const runtime = await runtimeOf(join(ROOT, 'src'), undefined);
await runtime.db.sql.query('ANALYZE');
const [q2] = await runtime.db.sql.query<{ id: number }>(
  'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id OFFSET 24 LIMIT 1',
);
const queries = defineQueries({
  token,
  orderId: q2!.id,
  agentPolicy: runtime.policy.forRoles(['agent']),
}).filter((query) => wanted.has(query.id));

interface Variant {
  name: string;
  gateway: Gateway;
  /** The handler `ormai serve` answers with: the router, `/mcp` included, in the server adapter. */
  served: { fetch(url: string, init: RequestInit): Promise<Response> };
}
const variants: Variant[] = [];
const audits: { close(): Promise<void> }[] = [];
for (const spec of flags.variants.split(',')) {
  const [named, appPath] = spec.split(':') as [string, string | undefined];
  // `NAME+audit`: the variant with its audit log on, both sinks, as the bench's ormai+audit;
  // `NAME+sql` or `NAME+jsonl` with that sink alone
  const [name, auditSinks] = named.split('+') as [string, string | undefined];
  const sinks = { audit: ['sql', 'jsonl'], sql: ['sql'], jsonl: ['jsonl'] }[auditSinks ?? ''] as
    | ('sql' | 'jsonl')[]
    | undefined;
  if (auditSinks && !sinks) throw new Error(`${named}: after + comes audit, sql or jsonl`);
  const src = name === 'work' ? join(ROOT, 'src') : join(SNAPSHOTS, name, 'src');
  if (!existsSync(src)) throw new Error(`no snapshot ${name}: run with --snapshot ${name} first`);
  const module = (await import(join(src, 'server', 'gateway.ts'))) as {
    createGateway(options: GatewayOptions): Gateway;
  };
  const variantRuntime = await runtimeOf(src, appPath);
  const logger = createLogger('warn');
  const { createAuditLog } = (await import(
    join(src, 'server', 'audit-setup.ts')
  )) as typeof AuditSetup;
  const audit = sinks
    ? createAuditLog(
        {
          app: variantRuntime.app as never,
          audit: {
            sinks,
            jsonlPath: join(mkdtempSync(join(tmpdir(), 'cpu-ab-')), 'audit.jsonl'),
          },
        },
        variantRuntime as never,
        logger,
      )
    : undefined;
  if (audit) audits.push(audit);
  const gateway = module.createGateway({
    runtime: variantRuntime as never,
    jwtSecret: secret,
    logger,
    ...(audit ? { audit: audit as never } : {}),
  });
  const { createRouter } = (await import(join(src, 'server', 'router.ts'))) as typeof Router;
  const { toNodeHandler } = (await import(join(src, 'server', 'http-server.ts'))) as typeof Http;
  const { createMcpHttpHandler } = (await import(
    join(src, 'mcp-bridge', 'index.ts')
  )) as typeof Mcp;
  const mcp = createMcpHttpHandler({
    execute: gateway.execute,
    policyFor: gateway.policyFor,
    schemaFor: gateway.schemaFor,
    domainTools: variantRuntime.app.domainTools ?? [],
    authenticate: gateway.authenticate,
  });
  const served = toNodeHandler(
    createRouter({ gateway, runtime: variantRuntime as never, logger, mcp }),
  ) as unknown as Variant['served'];
  variants.push({ name: spec, gateway, served });
}

type QueryRequest = (typeof queries)[number]['variants'][number];
/** Q1 and Q2 go to the gateway; Q4's two sides to the served handler, so they are compared alike. */
const throughServer = (request: QueryRequest) =>
  request.endpoint === 'ormai MCP' || request.endpoint === 'ormai GraphQL';

async function send(variant: Variant, request: QueryRequest) {
  const body = 'body' in request.request ? (request.request.body as string) : undefined;
  const init = {
    method: request.request.method,
    // with the Content-Length an HTTP client sends (node:http hands the gateway the header)
    headers: body
      ? { ...request.request.headers, 'content-length': String(Buffer.byteLength(body)) }
      : request.request.headers,
    ...(body ? { body } : {}),
  };
  const url = `http://ormai${request.request.path}`;
  const response = throughServer(request)
    ? await variant.served.fetch(url, init)
    : await variant.gateway.fetch(url, init);
  const answer = await response.text();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${answer.slice(0, 300)}`);
  return answer;
}

/** The endpoints of a query measured: ormai's, or for Q4 MCP and the GraphQL it becomes. */
const endpoints = new Set(flags.endpoints?.split(',') ?? ['ormai', 'ormai MCP', 'ormai GraphQL']);
const measured = (query: (typeof queries)[number]) =>
  query.variants.filter((variant) => endpoints.has(variant.endpoint));

// every variant answers the same
for (const query of queries) {
  for (const endpoint of measured(query)) {
    const answers = new Set<string>();
    for (const variant of variants) {
      answers.add(JSON.stringify(endpoint.normalize(JSON.parse(await send(variant, endpoint)))));
    }
    if (answers.size !== 1) throw new Error(`${query.id}: the variants answer differently`);
  }
}

// time in garbage collection, a proxy for what a request allocates
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** A batch of requests; CPU and statements per request over it. */
async function batch(variant: Variant, request: QueryRequest) {
  const cpu = cpuMs();
  const wall = performance.now();
  const before = counts.statements;
  const gc = gcMs;
  // `concurrency` senders share the batch: requests in flight together, as under load
  let sent = 0;
  const sender = async () => {
    while (sent < n) {
      sent++;
      await send(variant, request);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  // the observer reports after the fact: let it catch up
  await new Promise((done) => setImmediate(done));
  return {
    cpu: (cpuMs() - cpu) / n,
    gc: (gcMs - gc) / n,
    wall: (performance.now() - wall) / n,
    statements: (counts.statements - before) / n,
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const session = flags.profile ? new Session() : undefined;
for (const query of queries) {
  // a cell is one variant asked one endpoint; every round asks each cell in turn
  const cells = measured(query).flatMap((request) =>
    variants.map((variant) => ({ variant, request, key: `${variant.name} ${request.endpoint}` })),
  );
  for (const { variant, request } of cells)
    for (let i = 0; i < warmup; i++) await send(variant, request);
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  const results = new Map<
    string,
    { cpu: number[]; wall: number[]; gc: number[]; statements: number }
  >();
  for (let round = 0; round < rounds; round++) {
    // the order rotates each round
    const order = cells.map((_, i) => cells[(i + round) % cells.length]!);
    for (const { variant, request, key } of order) {
      const result = await batch(variant, request);
      const entry = results.get(key) ?? { cpu: [], wall: [], gc: [], statements: 0 };
      entry.cpu.push(result.cpu);
      entry.gc.push(result.gc);
      entry.wall.push(result.wall);
      entry.statements = result.statements;
      results.set(key, entry);
    }
  }
  if (session && flags.profile) {
    const { profile } = await session.post('Profiler.stop');
    const file =
      queries.length > 1 ? flags.profile.replace(/(\.\w+)?$/, `-${query.id}$1`) : flags.profile;
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    const summary = summarizeProfile(file, 25);
    console.log(`${query.id} profile (${file}): busy ${summary.busyMs.toFixed(0)} ms`);
    printShares('self time by location', summary.byLocation);
    printShares('self time by function', summary.byFunction);
    printShares('on the stack (inclusive)', summary.inclusiveByLocation);
    printShares('ormai functions on the stack', summary.inclusiveOwn);
  }
  // each round's ratio to the cell measured next to it, so drifting load cancels out
  const pairedRatio = (of: string, to: string) => {
    const a = results.get(of)!.cpu;
    const b = results.get(to)!.cpu;
    return median(a.map((cpu, round) => cpu / b[round]!));
  };
  const how = concurrency > 1 ? `${concurrency} in flight` : 'sequential';
  console.log(`${query.id}: ${n} requests × ${rounds} rounds per cell, ${how}`);
  const baseline = variants[0]!.name;
  for (const { variant, request, key } of cells) {
    const entry = results.get(key)!;
    const against = `${baseline} ${request.endpoint}`;
    const ratio = key === against ? undefined : pairedRatio(key, against);
    const spread = `${Math.min(...entry.cpu).toFixed(2)}–${Math.max(...entry.cpu).toFixed(2)}`;
    console.log(
      `  ${`${variant.name} ${request.endpoint === 'ormai' ? '' : request.endpoint}`.padEnd(24)} CPU ms/req ${median(entry.cpu).toFixed(3)} (${spread})  GC ${median(entry.gc).toFixed(3)}  wall ${median(entry.wall).toFixed(2)}  SQL/req ${entry.statements}${ratio === undefined ? '' : `  paired ratio × ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %)`}`,
    );
  }
  if (query.id === 'Q4' && endpoints.has('ormai MCP') && endpoints.has('ormai GraphQL')) {
    for (const { name } of variants) {
      const ratio = pairedRatio(`${name} ormai MCP`, `${name} ormai GraphQL`);
      console.log(`  ${name}: MCP CPU / GraphQL CPU (paired) × ${ratio.toFixed(3)}`);
    }
  }
}

for (const audit of audits) await audit.close();
for (const open of runtimes) await open.close();

async function ensureDatabase(url: string) {
  const name = new URL(url).pathname.slice(1);
  const server = new URL(url);
  server.pathname = '/postgres';
  const client = new pg.Client({ connectionString: server.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!found.rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** One list of a profile summary: each row's share, and its function when it names one. */
function printShares(title: string, rows: { percent: number; location: string; fn?: string }[]) {
  console.log(`  ${title}:`);
  for (const row of rows) {
    const what = row.fn === undefined ? row.location : `${row.fn}  (${row.location})`;
    console.log(`    ${row.percent.toFixed(1).padStart(5)} %  ${what}`);
  }
}

export type { Runtime };
