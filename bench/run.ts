// `npm run bench [-- --duration 10 --scale 10k,100k,1m --profile]`: ratios measured in one run,
// never timed unit tests. Every endpoint is a real HTTP server on 127.0.0.1 in a process of its own
// — ormai (startHttpServer: /graphql and /mcp), a hand-written node:http + Prisma endpoint with the
// same selection, tenant filter and redaction, and PostGraphile v5 with row-level security — and
// autocannon loads them from this process. See bench/README.md for what it measures and found.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import pg from 'pg';
import type { Runtime } from '../src/runtime.js';
import { signToken } from '../src/server/auth.js';
import { createGateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';
import { type ServerProcess, startServer } from './lib/children.js';
import {
  analyze,
  applyPostGraphileSetup,
  DEFAULT_SERVER_URL,
  databaseUrl,
  ensureDatabase,
  explain,
  growOrders,
  openBenchRuntime,
  type PlanSummary,
  tableCounts,
} from './lib/databases.js';
import { type LoadResult, measureInterleaved, measureLoad } from './lib/load.js';
import { type ProfileSummary, summarizeProfile } from './lib/profile.js';
import { defineQueries, type QueryDefinition, type Variant } from './lib/queries.js';
import { fixed, table, times } from './lib/report.js';

const HELP = `npm run bench -- [options]
  --duration <s>        seconds measured per cell (default 10)
  --warmup <s>          seconds of load before each cell, not measured (default 2)
  --slice <s>           endpoints of a cell take turns in slices this long (default 2)
  --connections <list>  autocannon concurrency (default 1,32)
  --queries <list>      which of Q1,Q2,Q3,Q4 (default all)
  --scale <list>        cost growth: Q1 at 10k,100k,1m orders (separate databases, seeded once)
  --scale-only          only the --scale section
  --profile             CPU-profile ormai under Q1 and Q4 load (node --cpu-prof)
  --audit               also run Q1 against ormai with its audit log on (sql + jsonl sinks)
  --no-postgraphile     leave PostGraphile out
  --count <n>           sequential requests to count SQL statements over (default 20)
  --node-flags <flags>  node flags for every server process, e.g. "--max-semi-space-size=64"
Env: DATABASE_URL (a PostgreSQL server; default ${DEFAULT_SERVER_URL}).`;

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    slice: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1,32' },
    queries: { type: 'string', default: 'Q1,Q2,Q3,Q4' },
    scale: { type: 'string', multiple: true, default: [] },
    'scale-only': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    audit: { type: 'boolean', default: false },
    'no-postgraphile': { type: 'boolean', default: false },
    count: { type: 'string', default: '20' },
    'node-flags': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

const seconds = Number(flags.duration);
const warmupSeconds = Number(flags.warmup);
const sliceSeconds = Number(flags.slice);
const countRequests = Number(flags.count);
const connectionLevels = flags.connections.split(',').map(Number);
const wantedQueries = new Set(flags.queries.split(',').map((q) => q.trim().toUpperCase()));
const scales = flags.scale
  .flatMap((value) => value.split(','))
  .filter(Boolean)
  .map((label) => {
    const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(label.trim());
    if (!match) throw new Error(`--scale ${label}: use a count such as 10k, 100k or 1m`);
    const factor = { '': 1, k: 1_000, m: 1_000_000 }[match[2]!.toLowerCase() as '' | 'k' | 'm'];
    return { label: label.trim().toLowerCase(), orders: Math.round(Number(match[1]) * factor) };
  })
  .sort((a, b) => a.orders - b.orders);
for (const n of [seconds, warmupSeconds, countRequests, ...connectionLevels]) {
  if (!Number.isFinite(n) || n < 0) throw new Error(`not a number: ${n}\n${HELP}`);
}

const serverUrl = process.env.DATABASE_URL || DEFAULT_SERVER_URL;
const nodeFlags = flags['node-flags'].split(' ').filter(Boolean);
const secret = `ormai-bench-${randomBytes(12).toString('hex')}`;
const token = await signToken(
  { sub: '1', tenantId: 1, roles: ['agent'], expiresIn: '24h' },
  { secret },
);
const say = (line = '') => console.log(line);
const startedAt = new Date();
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

// ---- PostGraphile: its own package (graphql 16), installed on first use --------------------------
const PGL_DIR = join(import.meta.dirname, 'postgraphile');
const postgraphile = ((): { ok: true } | { ok: false; reason: string } => {
  if (flags['no-postgraphile']) return { ok: false, reason: '--no-postgraphile' };
  if (existsSync(join(PGL_DIR, 'node_modules', 'postgraphile', 'package.json')))
    return { ok: true };
  say('installing PostGraphile v5 into bench/postgraphile (first run: npm install --prefix)…');
  const install = spawnSync(
    'npm',
    ['install', '--prefix', PGL_DIR, '--no-audit', '--no-fund', '--loglevel=error'],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) {
    const why = `${install.error?.message ?? ''}${install.stderr ?? ''}`.trim().slice(-800);
    return { ok: false, reason: `npm install --prefix bench/postgraphile failed: ${why}` };
  }
  return { ok: true };
})();
let pglReason = postgraphile.ok ? null : postgraphile.reason;
if (pglReason) say(`PostGraphile left out: ${pglReason}`);

// ---- helpers -----------------------------------------------------------------------------------
async function send(server: ServerProcess, variant: Variant) {
  const response = await fetch(`${server.url}${variant.request.path}`, {
    method: variant.request.method,
    headers: variant.request.headers,
    ...(variant.request.body !== undefined ? { body: variant.request.body } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${variant.endpoint}: HTTP ${response.status} ${text}`);
  return variant.normalize(JSON.parse(text));
}

async function startServers(url: string, options: { audit?: boolean } = {}) {
  const env = { DATABASE_URL: url, BENCH_JWT_SECRET: secret, ORMAI_LOG_LEVEL: 'warn' };
  const servers: Partial<Record<Variant['server'] | 'ormai+audit', ServerProcess>> = {};
  servers.ormai = await startServer('ormai', {
    script: 'bench/servers/ormai.ts',
    typescript: true,
    env,
    execArgv: nodeFlags,
  });
  servers['hand-written'] = await startServer('hand-written', {
    script: 'bench/servers/hand-written.ts',
    typescript: true,
    env,
    execArgv: nodeFlags,
  });
  if (options.audit) {
    servers['ormai+audit'] = await startServer('ormai+audit', {
      script: 'bench/servers/ormai.ts',
      typescript: true,
      env: { ...env, BENCH_AUDIT: 'sql,jsonl' },
      execArgv: nodeFlags,
    });
  }
  if (!pglReason) {
    try {
      servers.postgraphile = await startServer('postgraphile', {
        script: join(PGL_DIR, 'server.mjs'),
        cwd: PGL_DIR,
        env: { ...env, GRAPHILE_ENV: 'production' },
        execArgv: nodeFlags,
      });
    } catch (error) {
      pglReason = `the PostGraphile server did not start: ${(error as Error).message.slice(0, 800)}`;
      say(`PostGraphile left out: ${pglReason}`);
    }
  }
  return servers;
}

const stopAll = (servers: Partial<Record<string, ServerProcess>>) =>
  Promise.all(Object.values(servers).map((server) => server?.stop()));

/** The root statement ormai sends for Q1, captured from Prisma's query events, and its plan. */
async function planOfQ1(runtime: Runtime): Promise<PlanSummary> {
  const gateway = createGateway({ runtime, jwtSecret: secret, logger: createLogger('silent') });
  const seen: { query: string; params: string }[] = [];
  (runtime.prisma as any).$on('query', (event: { query: string; params: string }) =>
    seen.push(event),
  );
  const response = await gateway.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ orders(first: 50) { nodes { id } } }' }),
  });
  await response.text();
  const root = seen.find((event) => event.query.includes('FROM "public"."Order"'));
  if (!root) throw new Error('ormai sent no statement on "Order" for Q1');
  return explain(runtime, root.query, JSON.parse(root.params));
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !b ? Number.NaN : a / b;

// ---- the main database and suite -----------------------------------------------------------------
interface Cell extends LoadResult {
  query: string;
  endpoint: string;
}
interface StatementCount {
  query: string;
  endpoint: string;
  perRequest: number;
  /** PostGraphile: BEGIN, set_config and COMMIT, which carry pgSettings. */
  sessionPerRequest?: number;
}
const cells: Cell[] = [];
const statementCounts: StatementCount[] = [];
const sameRows: { query: string; endpoint: string; same: boolean; detail?: string }[] = [];
let queries: QueryDefinition[] = [];
let mainPlan: PlanSummary | undefined;
let mainCounts: Awaited<ReturnType<typeof tableCounts>> | undefined;
const profiles: { label: string; file: string; summary: ProfileSummary }[] = [];

if (!flags['scale-only']) {
  const url = databaseUrl(serverUrl, 'ormai_bench');
  say(`bench database ${url}`);
  await ensureDatabase(serverUrl, 'ormai_bench');
  const runtime = await openBenchRuntime(url, say);
  if (!pglReason) {
    await applyPostGraphileSetup(url).catch((error: Error) => {
      pglReason = `setting up its role and row-level security failed: ${error.message}`;
      say(`PostGraphile left out: ${pglReason}`);
    });
  }
  await analyze(url);
  mainCounts = await tableCounts(url);
  mainPlan = await planOfQ1(runtime);
  const [q2] = await runtime.db.sql.query<{ id: number }>(
    'SELECT id FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id OFFSET 24 LIMIT 1',
  );
  queries = defineQueries({
    token,
    orderId: q2!.id,
    agentPolicy: runtime.policy.forRoles(['agent']),
  }).filter((query) => wantedQueries.has(query.id));
  await runtime.close();

  const servers = await startServers(url, { audit: flags.audit });
  try {
    if (flags.audit) {
      const q1 = queries.find((query) => query.id === 'Q1');
      const ormai = q1?.variants.find((variant) => variant.endpoint === 'ormai');
      if (q1 && ormai) q1.variants.push({ ...ormai, endpoint: 'ormai+audit' });
    }
    const serverOf = (variant: Variant) =>
      variant.endpoint === 'ormai+audit' ? servers['ormai+audit'] : servers[variant.server];

    // the same rows from every endpoint, or the comparison means nothing
    for (const query of queries) {
      let reference: unknown;
      for (const variant of query.variants) {
        const server = serverOf(variant);
        if (!server) continue;
        const answer = await send(server, variant);
        if (reference === undefined) {
          reference = answer;
          continue;
        }
        const same = isDeepStrictEqual(answer, reference);
        sameRows.push({
          query: query.id,
          endpoint: variant.endpoint,
          same,
          ...(same
            ? {}
            : {
                detail: `${JSON.stringify(answer).slice(0, 300)} vs ${JSON.stringify(reference).slice(0, 300)}`,
              }),
        });
        if (!same)
          say(
            `WARNING: ${query.id} ${variant.endpoint} differs from ${query.variants[0]!.endpoint}`,
          );
      }
    }

    // SQL statements per request, counted over sequential requests (not timed)
    for (const query of queries) {
      for (const variant of query.variants) {
        const server = serverOf(variant);
        if (!server) continue;
        const before = await server.stats();
        for (let i = 0; i < countRequests; i++) await send(server, variant);
        const after = await server.stats();
        statementCounts.push({
          query: query.id,
          endpoint: variant.endpoint,
          perRequest: (after.statements - before.statements) / countRequests,
          ...(after.session !== undefined
            ? { sessionPerRequest: (after.session - (before.session ?? 0)) / countRequests }
            : {}),
        });
      }
    }

    // throughput and latency, the endpoints of a query measured in turns
    for (const query of queries) {
      for (const connections of connectionLevels) {
        const variants = query.variants.filter((variant) => serverOf(variant));
        const results = await measureInterleaved(
          variants.map((variant) => ({
            url: serverOf(variant)!.url,
            spec: variant.request,
            cpuMicros: async () => (await serverOf(variant)!.stats()).cpuMicros,
          })),
          { connections, seconds, warmupSeconds, sliceSeconds },
        );
        variants.forEach((variant, i) => {
          const result = results[i]!;
          cells.push({ query: query.id, endpoint: variant.endpoint, ...result });
          say(
            `[${elapsed()}] ${query.id} ${variant.endpoint.padEnd(13)} c${String(connections).padEnd(3)} ${fixed(result.rps, 0).padStart(6)} req/s  p50 ${fixed(result.p50)} ms  p99 ${fixed(result.p99)} ms${
              result.errors || result.non2xx
                ? `  errors ${result.errors} non2xx ${result.non2xx}`
                : ''
            }`,
          );
        });
      }
    }
    // still the same answers after the load
    for (const query of queries) {
      for (const variant of query.variants) {
        const server = serverOf(variant);
        if (server) await send(server, variant);
      }
    }
  } finally {
    await stopAll(servers);
  }

  // where ormai's time goes under load
  if (flags.profile) {
    const profileDir = mkdtempSync(join(tmpdir(), 'ormai-bench-profile-'));
    for (const id of ['Q1', 'Q4'] as const) {
      const query = queries.find((q) => q.id === id);
      const variant = query?.variants[0];
      if (!variant) continue;
      const server = await startServer('ormai (profiled)', {
        script: 'bench/servers/ormai.ts',
        typescript: true,
        env: { DATABASE_URL: url, BENCH_JWT_SECRET: secret, ORMAI_LOG_LEVEL: 'warn' },
        execArgv: nodeFlags,
      });
      const connections = Math.max(...connectionLevels);
      const file = join(profileDir, `ormai-${id}-c${connections}.cpuprofile`);
      try {
        // warm (JIT, caches) before the profiler starts
        await measureLoad(server.url, variant.request, {
          connections,
          seconds: warmupSeconds,
          warmupSeconds: 0,
        });
        await server.startProfile();
        await measureLoad(server.url, variant.request, { connections, seconds, warmupSeconds: 0 });
        await server.stopProfile(file);
      } finally {
        await server.stop();
      }
      const label = `${id} ${variant.endpoint} c${connections}`;
      profiles.push({ label, file, summary: summarizeProfile(file) });
      say(`[${elapsed()}] profiled ${label}: ${file}`);
    }
  }
}

// ---- cost growth ---------------------------------------------------------------------------------
interface ScalePoint {
  label: string;
  orders: number;
  items: number;
  tenantOrders: number;
  seededSeconds: number;
  plan: PlanSummary;
  q1: Record<string, LoadResult>;
}
const scalePoints: ScalePoint[] = [];
const scaleDefinitions: QueryDefinition[] = [];
const scaleUrls: string[] = [];
for (const scale of scales) {
  const name = `ormai_bench_${scale.label.replace('.', '_')}`;
  const url = databaseUrl(serverUrl, name);
  say(`[${elapsed()}] scale ${scale.label}: ${url}`);
  const seedStarted = performance.now();
  await ensureDatabase(serverUrl, name);
  const runtime = await openBenchRuntime(url, say);
  await growOrders(url, scale.orders, say);
  if (!pglReason) await applyPostGraphileSetup(url);
  await analyze(url);
  const seededSeconds = (performance.now() - seedStarted) / 1000;
  const counts = await tableCounts(url);
  const plan = await planOfQ1(runtime);
  scaleDefinitions.push(
    defineQueries({ token, orderId: 1, agentPolicy: runtime.policy.forRoles(['agent']) }).find(
      (q) => q.id === 'Q1',
    )!,
  );
  scaleUrls.push(url);
  await runtime.close();
  scalePoints.push({
    label: scale.label,
    orders: counts.orders,
    items: counts.items,
    tenantOrders: counts.tenant1,
    seededSeconds: Math.round(seededSeconds),
    plan,
    q1: {},
  });
}
// every scale served at once, and each endpoint measured across the scales in turns, so the
// growth ratio compares the same moments of a shared machine
if (scalePoints.length > 0) {
  const serverSets: Awaited<ReturnType<typeof startServers>>[] = [];
  try {
    for (const url of scaleUrls) serverSets.push(await startServers(url));
    for (const [i, point] of scalePoints.entries()) {
      let reference: unknown;
      for (const variant of scaleDefinitions[i]!.variants) {
        const server = serverSets[i]![variant.server];
        if (!server) continue;
        const answer = await send(server, variant);
        reference ??= answer;
        if (!isDeepStrictEqual(answer, reference)) {
          sameRows.push({ query: `Q1@${point.label}`, endpoint: variant.endpoint, same: false });
          say(`WARNING: Q1 at ${point.label}: ${variant.endpoint} differs from ormai`);
        }
      }
    }
    for (const endpoint of ['ormai', 'hand-written', 'postgraphile'] as const) {
      const targets = scalePoints.map((_, i) => {
        const variant = scaleDefinitions[i]!.variants.find((v) => v.endpoint === endpoint)!;
        const server = serverSets[i]![variant.server];
        return server
          ? {
              url: server.url,
              spec: variant.request,
              cpuMicros: async () => (await server.stats()).cpuMicros,
            }
          : undefined;
      });
      if (targets.some((target) => !target)) continue;
      const results = await measureInterleaved(targets as NonNullable<(typeof targets)[number]>[], {
        connections: 1,
        seconds,
        warmupSeconds,
        sliceSeconds,
      });
      scalePoints.forEach((point, i) => {
        point.q1[endpoint] = results[i]!;
      });
      say(
        `[${elapsed()}]   Q1 ${endpoint.padEnd(13)} c1 p50 ${scalePoints.map((point) => `${point.label} ${fixed(point.q1[endpoint]!.p50)} ms`).join(', ')}`,
      );
    }
  } finally {
    await Promise.all(serverSets.map(stopAll));
  }
}

// ---- report --------------------------------------------------------------------------------------
const cell = (query: string, endpoint: string, connections: number) =>
  cells.find((c) => c.query === query && c.endpoint === endpoint && c.connections === connections);
const statementsOf = (query: string, endpoint: string) =>
  statementCounts.find((s) => s.query === query && s.endpoint === endpoint);

say();
say(
  `ormai bench — ${startedAt.toISOString()}, ${cpus().length} CPUs, Node ${process.version}, ${seconds} s per cell after ${warmupSeconds} s warm-up`,
);
if (mainCounts) {
  say(
    `database ormai_bench: ${mainCounts.orders} orders (${mainCounts.tenant1} visible to tenant 1), ${mainCounts.items} items`,
  );
}
for (const query of queries) {
  say();
  say(`${query.id} — ${query.title}`);
  const rows: (string | number)[][] = [];
  for (const connections of connectionLevels) {
    for (const variant of query.variants) {
      const c = cell(query.id, variant.endpoint, connections);
      if (!c) continue;
      const statements = statementsOf(query.id, variant.endpoint);
      const same = sameRows.find((s) => s.query === query.id && s.endpoint === variant.endpoint);
      rows.push([
        variant.endpoint,
        connections,
        fixed(c.rps, 0),
        fixed(c.p50),
        fixed(c.p99),
        fixed(c.serverCpuMs),
        statements
          ? `${fixed(statements.perRequest, 1)}${statements.sessionPerRequest ? ` (${fixed(statements.perRequest - statements.sessionPerRequest, 1)} + ${fixed(statements.sessionPerRequest, 1)} session)` : ''}`
          : '–',
        same ? (same.same ? 'yes' : 'NO') : 'reference',
        c.errors + c.non2xx,
      ]);
    }
  }
  say(
    table(
      [
        'endpoint',
        'conc',
        'req/s',
        'p50 ms',
        'p99 ms',
        'CPU ms/req',
        'SQL/req',
        'same rows',
        'errors',
      ],
      rows,
    ),
  );
}

interface Target {
  target: string;
  measured: string;
  ratio: number;
  limit: number;
  /** true: the ratio must be at most the limit; false: at least. */
  atMost: boolean;
  met: boolean;
}
const targets: Target[] = [];
const addTarget = (
  target: string,
  measured: string,
  value: number,
  limit: number,
  atMost = true,
) => {
  if (Number.isNaN(value)) return;
  targets.push({
    target,
    measured,
    ratio: value,
    limit,
    atMost,
    met: atMost ? value <= limit : value >= limit,
  });
};
for (const connections of connectionLevels) {
  for (const id of ['Q1', 'Q2', 'Q3']) {
    const ours = cell(id, 'ormai', connections);
    const hand = cell(id, 'hand-written', connections);
    const pgl = cell(id, 'postgraphile', connections);
    if (id === 'Q1') {
      addTarget(
        `${id} p50 ≤ 1.3× hand-written (c${connections})`,
        `${fixed(ours?.p50)} / ${fixed(hand?.p50)} ms`,
        ratio(ours?.p50, hand?.p50),
        1.3,
      );
    }
    addTarget(
      `${id} throughput ≥ PostGraphile (c${connections})`,
      `${fixed(ours?.rps, 0)} / ${fixed(pgl?.rps, 0)} req/s`,
      ratio(ours?.rps, pgl?.rps),
      1,
      false,
    );
  }
  const mcp = cell('Q4', 'ormai MCP', connections);
  const gql = cell('Q4', 'ormai GraphQL', connections);
  addTarget(
    `Q4 MCP p50 ≤ 1.15× GraphQL (c${connections})`,
    `${fixed(mcp?.p50)} / ${fixed(gql?.p50)} ms`,
    ratio(mcp?.p50, gql?.p50),
    1.15,
  );
}
for (const query of queries) {
  for (const endpoint of ['ormai', 'ormai MCP']) {
    const statements = statementsOf(query.id, endpoint);
    if (!statements) continue;
    addTarget(
      `${query.id} ${endpoint} statements ≤ nesting depth + 1 (${query.nestingDepth + 1})`,
      `${fixed(statements.perRequest, 1)} statements`,
      statements.perRequest / (query.nestingDepth + 1),
      1,
    );
  }
}
if (scalePoints.length >= 2) {
  const first = scalePoints[0]!;
  const last = scalePoints.at(-1)!;
  for (const endpoint of ['ormai', 'hand-written', 'postgraphile']) {
    const a = first.q1[endpoint];
    const b = last.q1[endpoint];
    if (!a || !b) continue;
    const growth = last.orders / first.orders;
    addTarget(
      `Q1 ${endpoint} p50 at ${last.label} / ${first.label} orders (${growth.toFixed(0)}× data) < 1.2×`,
      `${fixed(b.p50)} / ${fixed(a.p50)} ms`,
      ratio(b.p50, a.p50),
      1.2,
    );
  }
}

for (const [name, plan] of [
  ['ormai_bench', mainPlan],
  ...scalePoints.map((point) => [`${point.label} orders`, point.plan] as const),
] as const) {
  if (!plan) continue;
  targets.push({
    target: `Q1 root statement on ${name} uses an index, no sequential scan`,
    measured: plan.shape,
    ratio: Number.NaN,
    limit: 1,
    atMost: true,
    met: plan.indexScan && !plan.seqScan,
  });
}

if (scalePoints.length > 0) {
  say();
  say("Cost growth — Q1 at concurrency 1, and the plan of ormai's tenant-scoped root statement");
  say(
    table(
      [
        'orders',
        'tenant 1',
        'items',
        'ormai p50',
        'hand p50',
        'pgl p50',
        'ormai CPU ms',
        'plan',
        'exec ms',
        'buffers',
        'filtered out',
      ],
      scalePoints.map((point) => [
        point.orders,
        point.tenantOrders,
        point.items,
        fixed(point.q1.ormai?.p50),
        fixed(point.q1['hand-written']?.p50),
        fixed(point.q1.postgraphile?.p50),
        fixed(point.q1.ormai?.serverCpuMs),
        point.plan.shape,
        fixed(point.plan.executionMs, 3),
        point.plan.sharedBuffers,
        point.plan.rowsRemovedByFilter,
      ]),
    ),
  );
}
for (const [name, plan] of [
  ['ormai_bench', mainPlan],
  ...scalePoints.map((point) => [`${point.label} orders`, point.plan] as const),
] as const) {
  if (!plan) continue;
  say(
    `\nQ1 root statement plan on ${name}: ${plan.shape} — ${fixed(plan.executionMs, 3)} ms, ${plan.sharedBuffers} buffers, ${plan.rowsRemovedByFilter} rows filtered out${plan.seqScan ? ', SEQUENTIAL SCAN' : ''}`,
  );
  for (const condition of plan.conditions) say(`  ${condition}`);
}

// every ratio of ormai to the others, per query and concurrency
const ratios: {
  query: string;
  connections: number;
  versus: string;
  p50: number;
  p99: number;
  throughput: number;
  cpu: number;
}[] = [];
for (const query of queries) {
  const ours = query.id === 'Q4' ? 'ormai MCP' : 'ormai';
  for (const connections of connectionLevels) {
    const a = cell(query.id, ours, connections);
    for (const versus of query.variants.map((v) => v.endpoint).filter((e) => e !== ours)) {
      const b = cell(query.id, versus, connections);
      if (!a || !b) continue;
      ratios.push({
        query: query.id,
        connections,
        versus: `${ours} / ${versus}`,
        p50: ratio(a.p50, b.p50),
        p99: ratio(a.p99, b.p99),
        throughput: ratio(a.rps, b.rps),
        cpu: ratio(a.serverCpuMs, b.serverCpuMs),
      });
    }
  }
}
if (ratios.length > 0) {
  say();
  say('Ratios (ormai over the other; p50/p99/CPU lower is better, throughput higher is better)');
  say(
    table(
      ['query', 'conc', 'ratio', 'p50', 'p99', 'throughput', 'server CPU/req'],
      ratios.map((r) => [
        r.query,
        r.connections,
        r.versus,
        times(r.p50),
        times(r.p99),
        times(r.throughput),
        times(r.cpu),
      ]),
    ),
  );
}

say();
say('Targets');
say(
  table(
    ['target', 'measured', 'ratio', 'verdict'],
    targets.map((t) => [t.target, t.measured, times(t.ratio), t.met ? 'met' : 'MISSED']),
  ),
);
for (const profile of profiles) {
  say();
  say(
    `CPU profile, ${profile.label}: ${profile.summary.busyMs} ms busy, ${profile.summary.idlePercent}% idle — self time by location`,
  );
  say(
    table(
      ['location', '% of busy'],
      profile.summary.byLocation.map((entry) => [entry.location, fixed(entry.percent, 1)]),
    ),
  );
  say(
    table(
      ['function (self time)', 'location', '%'],
      profile.summary.byFunction.map((entry) => [
        entry.fn,
        entry.location,
        fixed(entry.percent, 1),
      ]),
    ),
  );
  say(
    table(
      ['on the stack (inclusive)', '% of busy'],
      profile.summary.inclusiveByLocation.map((entry) => [entry.location, fixed(entry.percent, 1)]),
    ),
  );
  say(
    table(
      ['ormai function (inclusive)', 'location', '%'],
      profile.summary.inclusiveOwn.map((entry) => [
        entry.fn,
        entry.location,
        fixed(entry.percent, 1),
      ]),
    ),
  );
}
if (pglReason) say(`\nPostGraphile was left out: ${pglReason}`);

const pgVersion = await (async () => {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version;
  } finally {
    await client.end();
  }
})();
const totalSeconds = Math.round((performance.now() - started) / 1000);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
const file = join(
  import.meta.dirname,
  'results',
  `${startedAt.toISOString().slice(0, 19).replaceAll(':', '-')}.json`,
);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      totalSeconds,
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        node: process.version,
        postgres: pgVersion,
      },
      options: {
        seconds,
        warmupSeconds,
        sliceSeconds,
        connections: connectionLevels,
        countRequests,
        scales,
        audit: flags.audit,
        nodeFlags,
      },
      postgraphile: pglReason
        ? { included: false, reason: pglReason }
        : { included: true, version: '5.1.5' },
      database: mainCounts ? { name: 'ormai_bench', ...mainCounts } : null,
      queries: queries.map((query) => ({
        id: query.id,
        title: query.title,
        nestingDepth: query.nestingDepth,
        requests: Object.fromEntries(
          query.variants.map((v) => [
            v.endpoint,
            v.request.body ?? `${v.request.method} ${v.request.path}`,
          ]),
        ),
      })),
      cells,
      statements: statementCounts,
      sameRows,
      ratios,
      plan: mainPlan,
      scale: scalePoints,
      targets,
      profiles: profiles.map(({ label, summary }) => ({ label, ...summary })),
    },
    null,
    2,
  )}\n`,
);
say(`\n${totalSeconds} s in all; written ${file}`);
