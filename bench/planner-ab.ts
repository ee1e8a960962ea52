// The planner budget's added latency on Q1, in one process: two gateways over the same bench
// database, one with planner limits no query reaches, asked Q1 in alternating rounds (the order
// rotating), so a burst of outside load falls on both alike and no second server process is
// compared with the first. The warm-up fills the plan cache; the counters show it stayed warm.
// `npx tsx bench/planner-ab.ts [--rounds 40] [--per-round 25]` (needs `npm run bench` once: the
// ormai_bench database). Env: DATABASE_URL (the PostgreSQL server).
import { parseArgs } from 'node:util';
import { saasApp } from '../examples/saas/app.js';
import { plannerStats } from '../src/data-access/index.js';
import { openRuntime } from '../src/runtime.js';
import { signToken } from '../src/server/auth.js';
import { createGateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';
import { DEFAULT_SERVER_URL, databaseUrl } from './lib/databases.js';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    'per-round': { type: 'string', default: '25' },
  },
});
const rounds = Number(flags.rounds);
const perRound = Number(flags['per-round']);
const url = databaseUrl(process.env.DATABASE_URL || DEFAULT_SERVER_URL, 'ormai_bench');
const secret = 'ormai-bench-planner-ab-0123456789';
const Q1 =
  'query Q1 { orders(first: 50) { nodes { id status totalCents customer { name email phone } items { quantity product { name } } } } }';

const budgeted = {
  ...saasApp,
  policy: {
    ...saasApp.policy,
    budgets: { ...saasApp.policy.budgets, maxEstimatedRows: 10_000_000, maxEstimatedCost: 1e9 },
  },
};
const variants = await Promise.all(
  [
    ['off', saasApp],
    ['on', budgeted],
  ].map(async ([name, app]) => {
    const runtime = await openRuntime(app as typeof saasApp, {
      databaseUrl: url,
      seedIfEmpty: false,
    });
    const gateway = createGateway({ runtime, jwtSecret: secret, logger: createLogger('silent') });
    return { name: name as string, runtime, gateway, times: [] as number[] };
  }),
);
const token = await signToken({ sub: '1', tenantId: 1, roles: ['agent'] }, { secret });
const ask = async (variant: (typeof variants)[number]) => {
  const started = performance.now();
  const response = await variant.gateway.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: Q1 }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(`${variant.name}: ${JSON.stringify(body.errors)}`);
  return performance.now() - started;
};

for (const variant of variants) for (let i = 0; i < 50; i++) await ask(variant);
const warm = { ...plannerStats(variants[1]!.runtime.db.adapter!)! };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    for (let i = 0; i < perRound; i++) variant.times.push(await ask(variant));
  }
}
const after = plannerStats(variants[1]!.runtime.db.adapter!)!;

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const [off, on] = variants as [(typeof variants)[0], (typeof variants)[0]];
console.log(`Q1 in process, ${rounds} rounds × ${perRound} requests per variant (c1)`);
for (const variant of variants) {
  console.log(
    `  planner budget ${variant.name.padEnd(3)}  p50 ${quantile(variant.times, 0.5).toFixed(2)} ms  mean ${mean(variant.times).toFixed(2)} ms  p90 ${quantile(variant.times, 0.9).toFixed(2)} ms`,
  );
}
console.log(
  `  on / off: p50 ${(quantile(on.times, 0.5) / quantile(off.times, 0.5)).toFixed(3)}×, mean ${(mean(on.times) / mean(off.times)).toFixed(3)}×`,
);
console.log(
  `  plans while measured: ${after.explained - warm.explained} EXPLAIN, ${after.cached - warm.cached} from the cache`,
);
for (const variant of variants) await variant.runtime.close();
