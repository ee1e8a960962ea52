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
import type { StatementEvent } from '../src/db/direct-reads.js';
import { MigrationChecksumError } from '../src/db/migrate.js';
import { DEFAULT_ORMAI_SCHEMA } from '../src/db/ormai-tables.js';
import type { Runtime } from '../src/runtime.js';
import { signToken } from '../src/server/auth.js';
import { createGateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';
import { type ServerProcess, type StartOptions, startServer } from './lib/children.js';
import { compileServers } from './lib/compiled-servers.js';
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
import { type HugeSchemaResult, measureHugeSchema } from './lib/huge-schema.js';
import { type LoadResult, measureInterleaved, measureLoad } from './lib/load.js';
import { type ProfileSummary, summarizeProfile } from './lib/profile.js';
import {
  defineQueries,
  type EndpointName,
  type QueryDefinition,
  type Variant,
} from './lib/queries.js';
import { fixed, Targets, table, times } from './lib/report.js';
import { measureToolLists, TOOL_LIST_TOKEN_LIMIT } from './lib/tool-list.js';

const HELP = `npm run bench -- [options]
  --duration <s>        seconds measured per cell (default 10)
  --warmup <s>          seconds of load before each cell, not measured (default 2)
  --slice <s>           endpoints of a cell take turns in slices this long (default 2)
  --connections <list>  autocannon concurrency (default 1,32)
  --queries <list>      which of Q1,Q2,Q3,Q4 (default all)
  --scale <list>        cost growth: Q1 at 10k,100k,1m orders (separate databases, seeded once)
  --scale-only          only the --scale section
  --profile             CPU-profile ormai under Q1 load and Q4's, MCP and GraphQL (node --cpu-prof)
  --audit               also run Q1 against ormai with its audit log on (sql + jsonl sinks)
  --planner-budget      also run Q1 against ormai with planner limits (EXPLAIN first, plans cached)
  --huge                the huge-schema dimension: 200 models, 20 roles (bench/lib/huge-schema.ts)
  --tsx                 run the TypeScript servers under tsx instead of compiled JavaScript
  --compare-tsx         also run Q1 and Q2 against ormai under tsx: what compiled JavaScript buys
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
    'planner-budget': { type: 'boolean', default: false },
    huge: { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    'compare-tsx': { type: 'boolean', default: false },
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

// ---- the served code: compiled JavaScript, no tsx (lib/compiled-servers.ts) ----------------------
const compiled = flags.tsx ? undefined : compileServers();
const served = compiled ? `compiled JavaScript, no tsx: ormai is ${compiled.ormai}` : 'tsx (--tsx)';
say(`TypeScript servers: ${served}`);
const compareTsx = flags['compare-tsx'] && compiled !== undefined;
if (flags['compare-tsx'] && !compareTsx) say('--compare-tsx left out: ormai runs under tsx anyway');
/** How to start one of the bench's TypeScript servers (bench/servers/*.ts). */
const serverScript = (
  script: string,
  tsx = !compiled,
): Pick<StartOptions, 'script' | 'typescript'> =>
  tsx ? { script, typescript: true } : { script: compiled!.script(script) };

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

async function startServers(
  url: string,
  options: {
    audit?: boolean;
    plannerBudget?: boolean;
    noPolicy?: boolean;
    compareTsx?: boolean;
  } = {},
) {
  const env = { DATABASE_URL: url, BENCH_JWT_SECRET: secret, ORMAI_LOG_LEVEL: 'warn' };
  // by server, and by endpoint for the variants served by a server of their own (ormai+audit)
  const servers: Partial<Record<Variant['server'] | EndpointName, ServerProcess>> = {};
  servers.ormai = await startServer('ormai', {
    ...serverScript('bench/servers/ormai.ts'),
    env,
    execArgv: nodeFlags,
  });
  servers['hand-written'] = await startServer('hand-written', {
    ...serverScript('bench/servers/hand-written.ts'),
    env,
    execArgv: nodeFlags,
  });
  if (options.noPolicy) {
    servers['no-policy'] = await startServer('no-policy', {
      ...serverScript('bench/servers/no-policy.ts'),
      env,
      execArgv: nodeFlags,
    });
  }
  if (options.audit) {
    servers['ormai+audit'] = await startServer('ormai+audit', {
      ...serverScript('bench/servers/ormai.ts'),
      env: { ...env, BENCH_AUDIT: 'sql,jsonl' },
      execArgv: nodeFlags,
    });
  }
  if (options.plannerBudget) {
    servers['ormai+budget'] = await startServer('ormai+budget', {
      ...serverScript('bench/servers/ormai.ts'),
      env: { ...env, BENCH_PLANNER_BUDGET: '1' },
      execArgv: nodeFlags,
    });
  }
  if (options.compareTsx) {
    servers['ormai (tsx)'] = await startServer('ormai (tsx)', {
      ...serverScript('bench/servers/ormai.ts', true),
      env,
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

/**
 * A server's counters once they stop moving: an audit log that writes after the response (in
 * groups) has sent its statements by then, so they are counted with the requests that caused them.
 */
async function settledStats(server: ServerProcess) {
  let stats = await server.stats();
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await server.stats();
    if (next.statements === stats.statements) return next;
    stats = next;
  }
  return stats;
}

/**
 * The bench database's runtime. ormai's own tables there are the bench's too: when a migration of
 * ormai's changed since they were made (an in-flight branch ran the bench), they are made again.
 */
async function openBench(url: string): Promise<Runtime> {
  try {
    return await openBenchRuntime(url, say);
  } catch (error) {
    if (!(error instanceof MigrationChecksumError)) throw error;
    say(`${error.message}: ormai's tables in this bench database are made again`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${DEFAULT_ORMAI_SCHEMA}" CASCADE`);
    } finally {
      await client.end();
    }
    return openBenchRuntime(url, say);
  }
}

const stopAll = (servers: Partial<Record<string, ServerProcess>>) =>
  Promise.all(Object.values(servers).map((server) => server?.stop()));

/** The root statement ormai sends for Q1, captured from the runtime's query events, and its plan. */
async function planOfQ1(runtime: Runtime): Promise<PlanSummary> {
  const gateway = createGateway({ runtime, jwtSecret: secret, logger: createLogger('silent') });
  const seen: StatementEvent[] = [];
  runtime.onQuery((event) => seen.push(event));
  const response = await gateway.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ orders(first: 50) { nodes { id } } }' }),
  });
  await response.text();
  // Prisma qualifies the table with its schema; a compiled read (json-read.ts) leaves it to the path
  const root = seen.find((event) => /FROM (?:"public"\.)?"Order"/.test(event.query));
  if (!root) throw new Error('ormai sent no statement on "Order" for Q1');
  return explain(runtime, root.query, [...root.params]);
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
  /** Statements with `COUNT(` (the TypeScript servers). */
  countPerRequest?: number;
  /** pg_advisory_* lock requests (the audit chain). */
  advisoryLocksPerRequest?: number;
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
  const runtime = await openBench(url);
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

  const servers = await startServers(url, {
    audit: flags.audit,
    plannerBudget: flags['planner-budget'],
    noPolicy: true,
    compareTsx,
  });
  try {
    // ormai's request again, to another ormai server: with its audit log on, under tsx
    const another = (ids: string[], endpoint: EndpointName) => {
      for (const query of queries.filter((q) => ids.includes(q.id))) {
        const ormai = query.variants.find((variant) => variant.endpoint === 'ormai');
        if (ormai) query.variants.push({ ...ormai, endpoint });
      }
    };
    if (flags.audit) another(['Q1'], 'ormai+audit');
    if (flags['planner-budget']) another(['Q1'], 'ormai+budget');
    if (compareTsx) another(['Q1', 'Q2'], 'ormai (tsx)');
    const serverOf = (variant: Variant) => servers[variant.endpoint] ?? servers[variant.server];

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
        const before = await settledStats(server);
        for (let i = 0; i < countRequests; i++) await send(server, variant);
        const after = await settledStats(server);
        const perRequest = (key: 'session' | 'countQueries' | 'advisoryLocks') => {
          const total = after[key];
          return total === undefined ? undefined : (total - (before[key] ?? 0)) / countRequests;
        };
        const session = perRequest('session');
        const countQueries = perRequest('countQueries');
        const advisoryLocks = perRequest('advisoryLocks');
        statementCounts.push({
          query: query.id,
          endpoint: variant.endpoint,
          perRequest: (after.statements - before.statements) / countRequests,
          ...(session !== undefined ? { sessionPerRequest: session } : {}),
          ...(countQueries !== undefined ? { countPerRequest: countQueries } : {}),
          ...(advisoryLocks !== undefined ? { advisoryLocksPerRequest: advisoryLocks } : {}),
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
    // Q4 both ways: what MCP adds shows as the difference of its two profiles
    const profiled = (['Q1', 'Q4'] as const).flatMap((id) => {
      const variants = queries.find((q) => q.id === id)?.variants ?? [];
      return (id === 'Q4' ? variants : variants.slice(0, 1)).map((variant) => ({ id, variant }));
    });
    for (const { id, variant } of profiled) {
      const server = await startServer('ormai (profiled)', {
        ...serverScript('bench/servers/ormai.ts'),
        env: { DATABASE_URL: url, BENCH_JWT_SECRET: secret, ORMAI_LOG_LEVEL: 'warn' },
        execArgv: nodeFlags,
      });
      const connections = Math.max(...connectionLevels);
      const side = variant.endpoint.replace(/\W+/g, '-');
      const file = join(profileDir, `${side}-${id}-c${connections}.cpuprofile`);
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
  const runtime = await openBench(url);
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

// ---- huge schema: 200 models, 20 roles, 50 role sets (bench/lib/huge-schema.ts) ----------------
let huge: HugeSchemaResult | undefined;
if (flags.huge) {
  say(`[${elapsed()}] huge schema`);
  huge = await measureHugeSchema({ log: say });
}

// ---- the MCP tool list each example role is offered, in tokens (no database) --------------------
const toolLists = measureToolLists();

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
        fixed(c.databaseCpuMs),
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
        'DB CPU ms/req',
        'SQL/req',
        'same rows',
        'errors',
      ],
      rows,
    ),
  );
}

// ---- the targets of issue 15, each met, missed or not measured -----------------------------------
const targets = new Targets();
/** Why a cell has no figure: the query, the concurrency or the endpoint was not in this run. */
const whyMissing = (id: string, connections?: number, endpoint?: string) =>
  !queries.some((query) => query.id === id)
    ? `${id} not run (--queries)`
    : connections !== undefined && !connectionLevels.includes(connections)
      ? `c${connections} not run (--connections)`
      : endpoint === 'postgraphile' && pglReason
        ? 'PostGraphile left out'
        : endpoint === 'ormai+audit' && !flags.audit
          ? 'needs --audit'
          : endpoint === 'ormai+budget' && !flags['planner-budget']
            ? 'needs --planner-budget'
            : 'no figure in this run';
for (const id of ['Q1', 'Q2', 'Q3']) {
  for (const connections of [1, 32]) {
    const ours = cell(id, 'ormai', connections);
    const pgl = cell(id, 'postgraphile', connections);
    targets.check(
      `${id} throughput ≥ 1.0× PostGraphile (c${connections})`,
      `${fixed(ours?.rps, 0)} / ${fixed(pgl?.rps, 0)} req/s`,
      ratio(ours?.rps, pgl?.rps),
      1,
      { atMost: false, why: whyMissing(id, connections, 'postgraphile') },
    );
  }
}
{
  const ours = cell('Q1', 'ormai', 1);
  const hand = cell('Q1', 'hand-written', 1);
  targets.check(
    'Q1 p50 ≤ 1.3× hand-written (c1)',
    `${fixed(ours?.p50)} / ${fixed(hand?.p50)} ms`,
    ratio(ours?.p50, hand?.p50),
    1.3,
    { why: whyMissing('Q1', 1) },
  );
}
for (const id of ['Q1', 'Q2', 'Q3']) {
  for (const connections of [1, 32]) {
    const ours = cell(id, 'ormai', connections);
    const pgl = cell(id, 'postgraphile', connections);
    targets.check(
      `${id} server CPU/req ≤ PostGraphile's (c${connections})`,
      `${fixed(ours?.serverCpuMs)} / ${fixed(pgl?.serverCpuMs)} ms`,
      ratio(ours?.serverCpuMs, pgl?.serverCpuMs),
      1,
      { why: whyMissing(id, connections, 'postgraphile') },
    );
  }
}
for (const [id, endpoint] of [
  ['Q1', 'ormai'],
  ['Q2', 'ormai'],
  ['Q3', 'ormai'],
  ['Q4', 'ormai MCP'],
] as const) {
  const query = queries.find((q) => q.id === id);
  const depth = { Q1: 2, Q2: 2, Q3: 0, Q4: 1 }[id];
  const statements = statementsOf(id, endpoint);
  targets.check(
    `${id} ${endpoint} SQL statements/request ≤ nesting depth + 1`,
    statements ? `${fixed(statements.perRequest, 1)} statements, depth ${depth}` : '–',
    statements?.perRequest,
    (query?.nestingDepth ?? depth) + 1,
    { why: whyMissing(id) },
  );
}
for (const connections of [1, 32]) {
  const mcp = cell('Q4', 'ormai MCP', connections);
  const gql = cell('Q4', 'ormai GraphQL', connections);
  targets.check(
    `Q4 MCP p50 ≤ 1.15× GraphQL (c${connections})`,
    `${fixed(mcp?.p50)} / ${fixed(gql?.p50)} ms`,
    ratio(mcp?.p50, gql?.p50),
    1.15,
    { why: whyMissing('Q4', connections) },
  );
}
{
  const statements = statementsOf('Q4', 'ormai MCP');
  targets.check(
    'Q4 db_query without a total asked sends no COUNT',
    statements ? `${fixed(statements.countPerRequest, 1)} COUNT statements/request` : '–',
    statements?.countPerRequest,
    0,
    { why: whyMissing('Q4') },
  );
}
for (const connections of [1, 32]) {
  const on = cell('Q1', 'ormai+audit', connections);
  const off = cell('Q1', 'ormai', connections);
  targets.check(
    `audit log on: Q1 throughput ≥ 0.85× audit off (c${connections})`,
    `${fixed(on?.rps, 0)} / ${fixed(off?.rps, 0)} req/s`,
    ratio(on?.rps, off?.rps),
    0.85,
    { atMost: false, why: whyMissing('Q1', connections, 'ormai+audit') },
  );
}
{
  const on = statementsOf('Q1', 'ormai+audit');
  const off = statementsOf('Q1', 'ormai');
  targets.check(
    'audit log on: ≤ 2 extra SQL statements/request (amortized)',
    on && off
      ? `${fixed(on.perRequest, 2)} − ${fixed(off.perRequest, 2)}; ${fixed(on.advisoryLocksPerRequest, 2)} advisory locks/request`
      : '–',
    on && off ? on.perRequest - off.perRequest : undefined,
    2,
    { why: whyMissing('Q1', undefined, 'ormai+audit') },
  );
}
// the planner budget's EXPLAIN runs once per statement and parameters; the warm-up fills the cache
for (const connections of [1, 32]) {
  const on = cell('Q1', 'ormai+budget', connections);
  const off = cell('Q1', 'ormai', connections);
  targets.check(
    `planner budget on: Q1 p50 ≤ 1.05× off, plan cache warm (c${connections})`,
    `${fixed(on?.p50)} / ${fixed(off?.p50)} ms`,
    ratio(on?.p50, off?.p50),
    1.05,
    { why: whyMissing('Q1', connections, 'ormai+budget') },
  );
}
{
  const first = scalePoints[0];
  const last = scalePoints.at(-1);
  const a = first?.q1.ormai;
  const b = last?.q1.ormai;
  targets.check(
    first && last && scalePoints.length >= 2
      ? `cost growth: Q1 p50 at ${last.label} ≤ 1.2× at ${first.label} orders (c1)`
      : 'cost growth: Q1 p50 at 1m ≤ 1.2× at 10k orders (c1)',
    `${fixed(b?.p50)} / ${fixed(a?.p50)} ms`,
    scalePoints.length >= 2 ? ratio(b?.p50, a?.p50) : undefined,
    1.2,
    { why: 'needs --scale 10k,1m' },
  );
}
for (const [name, plan] of [
  ['ormai_bench', mainPlan],
  ...scalePoints.map((point) => [`${point.label} orders`, point.plan] as const),
] as const) {
  if (!plan) continue;
  targets.holds(
    `Q1 root statement on ${name} uses an index, no sequential scan`,
    plan.shape,
    plan.indexScan && !plan.seqScan,
  );
}
if (huge) {
  targets.check(
    `huge schema (${huge.models} models, ${huge.roles} roles): a new role set's first request ≤ 1 s`,
    `p50 ${fixed(huge.firstRequestMs.p50, 0)} ms, max ${fixed(huge.firstRequestMs.max, 0)} ms over ${huge.roleSets} role sets`,
    huge.firstRequestMs.max,
    1000,
  );
  targets.holds(
    `huge schema: memory flat once the role-set cache is full (bound ${huge.cacheBound})`,
    `heap ${fixed(huge.heapAfterWarmMb, 1)} → ${fixed(huge.heapAfterMoreMb, 1)} MB; ${fixed(huge.heapPerSchemaMb, 1)} MB per cached role set`,
    huge.flat,
  );
} else {
  targets.notMeasured("huge schema: a new role set's first request ≤ 1 s", 'needs --huge', 1000);
  targets.notMeasured('huge schema: memory flat once the role-set cache is full', 'needs --huge');
}
{
  const agent = toolLists.find((list) => list.app === 'saas' && list.role === 'agent');
  targets.check(
    `tool list: saas agent's generic tools ≤ ${TOOL_LIST_TOKEN_LIMIT.toLocaleString('en')} tokens`,
    agent
      ? `${agent.generic.tokens} tokens (o200k), ${agent.generic.characters} characters, ${agent.perTool.length} tools`
      : '–',
    agent?.generic.tokens,
    TOOL_LIST_TOKEN_LIMIT,
  );
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

// the cost of the policy itself: ormai over the same schema served without it
const policyCost: {
  query: string;
  connections: number;
  throughput: number;
  cpu: number;
  cpuMsAdded: number;
  p50: number;
  statements: string;
}[] = [];
for (const query of queries) {
  for (const connections of connectionLevels) {
    const a = cell(query.id, 'ormai', connections);
    const b = cell(query.id, 'no-policy', connections);
    if (!a || !b) continue;
    policyCost.push({
      query: query.id,
      connections,
      throughput: ratio(a.rps, b.rps),
      cpu: ratio(a.serverCpuMs, b.serverCpuMs),
      cpuMsAdded: (a.serverCpuMs ?? Number.NaN) - (b.serverCpuMs ?? Number.NaN),
      p50: ratio(a.p50, b.p50),
      statements: `${fixed(statementsOf(query.id, 'ormai')?.perRequest, 1)} / ${fixed(statementsOf(query.id, 'no-policy')?.perRequest, 1)}`,
    });
  }
}
if (policyCost.length > 0) {
  say();
  say(
    'Cost of the policy — ormai / no-policy (the same Pothos + Prisma schema on yoga, without ormai)',
  );
  say(
    table(
      ['query', 'conc', 'throughput', 'CPU/req', 'CPU ms added', 'p50', 'SQL/req'],
      policyCost.map((row) => [
        row.query,
        row.connections,
        times(row.throughput),
        times(row.cpu),
        fixed(row.cpuMsAdded),
        times(row.p50),
        row.statements,
      ]),
    ),
  );
}

if (huge) {
  say();
  say(
    `Huge schema — ${huge.models} models, ${huge.roles} roles, ${huge.roleSets} role sets (${huge.schemaTypes} types in one role set's schema; ${huge.runtime}): compile ${fixed(huge.compileMs)} ms, build ${fixed(huge.buildMs)} ms (p50)`,
  );
  say(
    table(
      [
        'cache bound',
        'first request p50 / max ms',
        'CPU p50 / max ms',
        'later p50 ms',
        'cached',
        'heap MB: base, warm, passes',
        'MB/schema',
        'flat',
      ],
      huge.scenarios.map((scenario) => [
        scenario.cacheBound,
        `${fixed(scenario.firstRequestMs.p50, 0)} / ${fixed(scenario.firstRequestMs.max, 0)}`,
        `${fixed(scenario.firstRequestCpuMs.p50, 0)} / ${fixed(scenario.firstRequestCpuMs.max, 0)}`,
        fixed(scenario.laterRequestMs.p50, 0),
        `${scenario.cachedAfterWarm} → ${scenario.cachedAtEnd}`,
        [scenario.heapBaseMb, scenario.heapAfterWarmMb, ...scenario.heapAfterPassesMb]
          .map((mb) => fixed(mb, 1))
          .join(', '),
        fixed(scenario.heapPerSchemaMb, 2),
        scenario.flat ? 'yes' : 'NO',
      ]),
    ),
  );
}

say();
say('MCP tools/list per role (tokens: o200k_base / cl100k_base; generic = the db_* tools)');
say(
  table(
    [
      'app',
      'role',
      'tools',
      'chars',
      'tokens',
      'cl100k',
      'generic chars',
      'generic tokens',
      'as a model API gets them',
    ],
    toolLists.map((list) => [
      list.app,
      list.role,
      list.tools.length,
      list.all.characters,
      list.all.tokens,
      list.all.cl100kTokens,
      list.generic.characters,
      list.generic.tokens,
      list.genericModelFacing.tokens,
    ]),
  ),
);
{
  const agent = toolLists.find((list) => list.app === 'saas' && list.role === 'agent');
  if (agent) {
    say(
      table(
        ['saas agent tool', 'tokens', 'description', 'inputSchema', 'outputSchema'],
        agent.perTool.map((tool) => [
          tool.name,
          tool.tokens,
          tool.description,
          tool.input,
          tool.output,
        ]),
      ),
    );
  }
}

say();
say('Targets (issue 15)');
say(targets.print());
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
      served,
      options: {
        seconds,
        warmupSeconds,
        sliceSeconds,
        connections: connectionLevels,
        countRequests,
        scales,
        audit: flags.audit,
        huge: flags.huge,
        compareTsx,
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
      policyCost,
      toolLists,
      huge: huge ?? null,
      targets: targets.list,
      profiles: profiles.map(({ label, summary }) => ({ label, ...summary })),
    },
    null,
    2,
  )}\n`,
);
say(`\n${totalSeconds} s in all; written ${file}`);
