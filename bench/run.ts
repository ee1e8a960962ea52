// `npm run bench`: ratios measured in one run (never timed unit tests). For now Q1 — 50 orders of
// tenant 1 with customer and items → product — through ormai's /graphql (in-process) against a
// hand-written Prisma query with the same selection and tenant filter, plus SQL statements per request.
// Runs on PostgreSQL at DATABASE_URL, else on a fresh in-memory PGlite.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { saasApp } from '../examples/saas/app.js';
import { openRuntime } from '../src/runtime.js';
import { signToken } from '../src/server/auth.js';
import { createGateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const WARMUP = 20;
const secret = 'bench-secret';

const runtime = await openRuntime(saasApp, {
  databaseUrl: process.env.DATABASE_URL,
  dataDir: 'memory://',
  logQueries: true,
});
let statements = 0;
runtime.prisma.$on('query', () => {
  statements++;
});
const gateway = createGateway({ runtime, jwtSecret: secret, logger: createLogger('silent') });
const token = await signToken({ sub: '1', tenantId: 1, roles: ['agent'] }, { secret });
const Q1 = `{ orders(first: 50) { nodes { id status totalCents customer { name } items { quantity product { name } } } } }`;

const ormai = async () => {
  const response = await gateway.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: Q1 }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body;
};

const prisma = runtime.prisma as any;
const handWritten = async () => {
  const rows = await prisma.order.findMany({
    where: { tenantId: 1, deletedAt: null },
    orderBy: { id: 'asc' },
    take: 50,
    select: {
      id: true,
      status: true,
      totalCents: true,
      customer: { select: { name: true } },
      items: {
        where: { tenantId: 1 },
        select: { quantity: true, product: { select: { name: true } } },
      },
    },
  });
  return JSON.parse(JSON.stringify({ data: { orders: { nodes: rows } } }));
};

async function measure(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const before = statements;
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) =>
    times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
  return {
    name,
    p50: pct(50),
    p99: pct(99),
    statementsPerRequest: (statements - before) / ITERATIONS,
  };
}

const results = [
  await measure('ormai /graphql', ormai),
  await measure('hand-written Prisma', handWritten),
];
const [ours, baseline] = results as [(typeof results)[0], (typeof results)[0]];
console.log(`Q1 on ${runtime.db.kind}, ${ITERATIONS} sequential requests (concurrency 1)`);
console.table(
  results.map((r) => ({
    endpoint: r.name,
    'p50 ms': r.p50.toFixed(2),
    'p99 ms': r.p99.toFixed(2),
    'SQL/request': r.statementsPerRequest,
  })),
);
const ratios = { p50: ours.p50 / baseline.p50, p99: ours.p99 / baseline.p99 };
console.log(
  `ratio ormai / hand-written: p50 ${ratios.p50.toFixed(2)}x, p99 ${ratios.p99.toFixed(2)}x (target p50 ≤ 1.3x)`,
);

mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${new Date().toISOString().replaceAll(':', '-')}.json`;
writeFileSync(
  file,
  JSON.stringify({ database: runtime.db.kind, iterations: ITERATIONS, results, ratios }, null, 2),
);
console.log(`written ${file}`);
await runtime.close();
