// The huge-schema dimension of issue 15 (`npm run bench -- --huge`): a generated datamodel of 200
// models and a policy of 20 roles, served by ormai over the embedded database (PGlite, in memory)
// with a Prisma client generated for it. Measured in child processes of their own (`--expose-gc`),
// so the bench's own heap and a previous scenario's leave no trace:
//
// - a new role set's first request: one `POST /graphql` through the gateway (JWT check, the policy
//   compiled for the role set, its schema built, the document validated and run: a list of one
//   model with a to-one relation, 2 SQL statements), wall and CPU time, for each of `roleSets` role
//   sets (pairs and triples of roles, none compiled before: the startup check compiles the single
//   roles). Apart, without a database: the policy's compile and the schema's build, p50 of `samples`;
// - heap per cached role set (its compiled policy, schema and what hangs off them), from the heap
//   after GC before and after every role set was served once;
// - memory over time with the cache bound below and at/above the number of role sets in use: the
//   role sets are served `1 + cycles` times round robin (below the bound, every request rebuilds
//   what the least recently used eviction dropped), heap after GC after each pass. Flat means the
//   last pass ended within half a role set's heap, or 2 %, of the first.
//
// The Prisma client (22 MB of TypeScript for 200 models) is generated once with the installed
// prisma CLI, offline, under node_modules/.cache/ormai-huge-schema/<digest>/ and reused.
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OrmaiApp } from '../../src/app.js';
import { OrmaiMetrics } from '../../src/observability/metrics.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import type { Datamodel } from '../../src/policy/datamodel.js';
import type { Policy } from '../../src/policy/types.js';
import { readPrismaSchema } from '../../src/prisma/read-schema.js';
import { openRuntime } from '../../src/runtime.js';
import { buildSchema } from '../../src/schema/build-schema.js';
import { modelNames } from '../../src/schema/naming.js';
import { signToken } from '../../src/server/auth.js';
import { createGateway } from '../../src/server/gateway.js';
import { createLogger } from '../../src/server/logger.js';

export interface HugeSchemaOptions {
  /** Generated models (default 200). */
  models?: number;
  /** Generated roles (default 20). */
  roles?: number;
  /** Distinct role sets in use (default 50; at most roles × 2 + roles / 2). */
  roleSets?: number;
  /** `server.roleSetCacheSize` of each memory scenario (default: 20 and `roleSets`). */
  cacheBounds?: number[];
  /** Passes over the role sets after the first (default 2). */
  cycles?: number;
  /** Role sets whose compile and build are timed apart, without a database (default 5). */
  samples?: number;
  log?: (line: string) => void;
}

export interface Stats {
  p50: number;
  p90: number;
  max: number;
}

export interface HugeScenario {
  /** `server.roleSetCacheSize` of this scenario. */
  cacheBound: number;
  /** Each request of the first pass (every one a role set's first request), wall ms. */
  firstRequestMs: Stats;
  /** The same requests' CPU time in the process (ms): independent of waiting for a core. */
  firstRequestCpuMs: Stats;
  /** Garbage-collection pauses that began during each of them (ms). */
  firstRequestGcMs: Stats;
  /** Each of them less its GC pauses (wall ms): the request's own work. */
  firstRequestLessGcMs: Stats;
  /** Requests of the later passes: hits at or above the bound, rebuilds below it (wall ms). */
  laterRequestMs: Stats;
  /** Schemas cached after the first pass and at the end (`gateway.schemaCacheSize`). */
  cachedAfterWarm: number;
  cachedAtEnd: number;
  /** The gauge `/metrics` reports: equal to cachedAtEnd. */
  gaugeAtEnd: number;
  /** Heap after GC with one role set served (the warm-up), after the first pass, after each later one. */
  heapBaseMb: number;
  heapAfterWarmMb: number;
  heapAfterPassesMb: number[];
  /** (heap after the first pass − base) / (role sets cached then − at base). */
  heapPerSchemaMb: number;
  flat: boolean;
}

/**
 * What `measureHugeSchema` returns. Top-level figures for the verdicts: `firstRequestMs` comes
 * from the scenario whose bound holds every role set (so each of its first-pass requests built a
 * schema: the target is p50 and max ≤ 1000 ms); `heapAfterWarmMb`/`heapAfterMoreMb`/`flat` from
 * the scenario with the smallest bound, where every later request evicted and rebuilt (the
 * target: flat once the cache is full); `flat` is true only when every scenario was flat.
 */
export interface HugeSchemaResult {
  models: number;
  roles: number;
  roleSets: number;
  /** Types in one role set's schema (the first role set). */
  schemaTypes: number;
  /** Compiling the policy for a new role set, p50 (ms, in-process, no database). */
  compileMs: number;
  /** Building its GraphQL schema, p50 (ms). */
  buildMs: number;
  firstRequestMs: Stats;
  firstRequestCpuMs: Stats;
  firstRequestGcMs: Stats;
  heapPerSchemaMb: number;
  heapAfterWarmMb: number;
  heapAfterMoreMb: number;
  cacheBound: number;
  flat: boolean;
  scenarios: HugeScenario[];
  /** Under tsx (the bench's own loader), not compiled JavaScript. */
  runtime: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const CHILD_FLAG = 'ORMAI_HUGE_SCHEMA_CHILD';
const SECRET = 'huge-schema-bench-secret-0123456789';

const STATUSES = ['OPEN', 'PENDING', 'ACTIVE', 'CLOSED', 'ARCHIVED'];
const ENUMS = 10;

export const modelName = (i: number) => `Entity${String(i).padStart(3, '0')}`;
export const roleName = (r: number) => `role${String(r).padStart(2, '0')}`;
const enumName = (i: number) => `Status${i % ENUMS}`;
/** The target of model i's `ref` relation (7 is invertible mod 200: every model is one's target). */
const refTarget = (i: number, models: number) => (i * 7 + 3) % models;

interface Shape {
  models: number;
  roles: number;
}

/** A Prisma schema of `models` tenant-scoped models with enums and relations between them. */
export function hugePrismaSchema({ models }: Shape): string {
  const referrers = new Map<number, number[]>();
  for (let i = 0; i < models; i++) {
    const target = refTarget(i, models);
    if (target !== i) referrers.set(target, [...(referrers.get(target) ?? []), i]);
  }
  const lines = [
    'generator client {',
    '  provider = "prisma-client"',
    '  output   = "./generated"',
    '}',
    '',
    'datasource db {',
    '  provider = "postgresql"',
    '}',
    '',
  ];
  for (let e = 0; e < ENUMS; e++) {
    lines.push(`enum Status${e} {`, ...STATUSES.map((s) => `  ${s}`), '}', '');
  }
  for (let i = 0; i < models; i++) {
    lines.push(
      `model ${modelName(i)} {`,
      '  id          Int       @id @default(autoincrement())',
      '  tenantId    Int',
      '  ownerId     Int',
      '  name        String',
      '  code        String',
      '  email       String',
      '  phone       String?',
      `  status      ${enumName(i)}`,
      '  quantity    Int',
      '  amountCents Int',
      '  score       Float',
      '  active      Boolean',
      '  note        String?',
      '  createdAt   DateTime  @default(now())',
      '  deletedAt   DateTime?',
    );
    if (i > 0) {
      lines.push(
        '  parentId    Int?',
        `  parent      ${modelName(i - 1)}? @relation("P${i}", fields: [parentId], references: [id])`,
      );
    }
    if (i < models - 1) lines.push(`  children    ${modelName(i + 1)}[] @relation("P${i + 1}")`);
    const target = refTarget(i, models);
    if (target !== i) {
      lines.push(
        '  refId       Int?',
        `  ref         ${modelName(target)}? @relation("R${i}", fields: [refId], references: [id])`,
      );
    }
    for (const j of referrers.get(i) ?? []) {
      lines.push(`  refBy${j}    ${modelName(j)}[] @relation("R${j}")`);
    }
    lines.push('  @@index([tenantId, id])', '}', '');
  }
  return lines.join('\n');
}

/**
 * Roles that differ model by model: each hides a tenth of the models, denies, masks or hashes
 * fields, limits rows to its own (`ownerId`) or by a row filter, and denies some relations.
 */
export function hugePolicy({ models, roles }: Shape): Policy {
  const overlays: NonNullable<Policy['roles']> = {};
  for (let r = 0; r < roles; r++) {
    const byModel: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < models; i++) {
      if ((i + r) % 10 === 0) {
        byModel[modelName(i)] = { hidden: true };
        continue;
      }
      const rules: Record<string, unknown> = {};
      const fields: Record<string, unknown> = {};
      if ((i + r) % 3 === 0) fields.deny = ['code'];
      const mask: Record<string, true | string> = {};
      if ((i + r) % 2 === 0) mask.email = true;
      if ((i + 2 * r) % 5 === 0) mask.phone = '****{last4}';
      if (Object.keys(mask).length > 0) fields.mask = mask;
      if ((i * (r + 1)) % 7 === 1) fields.hash = ['name'];
      if (Object.keys(fields).length > 0) rules.fields = fields;
      if ((i + r) % 11 === 0) rules.ownershipField = 'ownerId';
      if ((i + 3 * r) % 13 === 0) rules.rowFilter = { quantity: { gt: 0 } };
      if ((i + r) % 4 === 0) rules.relations = { deny: ['ref'] };
      if (Object.keys(rules).length > 0) byModel[modelName(i)] = rules;
    }
    overlays[roleName(r)] = { models: byModel } as never;
  }
  return { profile: 'prod', budgets: { maxIncludeDepth: 2 }, roles: overlays };
}

/**
 * `count` distinct role sets of two or three roles (none is a single role: the server's startup
 * check compiles those, and a measured role set must be new): (r, r+1), (r, r+3), (r, r+5, r+10).
 */
export function hugeRoleSets(roles: number, count: number): string[][] {
  const sets: string[][] = [];
  for (let r = 0; r < roles; r++) sets.push([r, (r + 1) % roles].map(roleName));
  for (let r = 0; r < roles; r++) sets.push([r, (r + 3) % roles].map(roleName));
  for (let r = 0; r < roles / 2; r++) sets.push([r, r + 5, (r + 10) % roles].map(roleName));
  const keys = new Set(sets.map((set) => [...set].sort().join(',')));
  if (keys.size < count) throw new Error(`only ${keys.size} distinct role sets of ${roles} roles`);
  return sets.slice(0, count);
}

/** CREATE TYPE and CREATE TABLE for the datamodel (no foreign keys: nothing here writes). */
function migrationSql(datamodel: Datamodel): string {
  const columnType: Record<string, string> = {
    Int: 'INTEGER',
    String: 'TEXT',
    Float: 'DOUBLE PRECISION',
    Boolean: 'BOOLEAN',
    DateTime: 'TIMESTAMP(3)',
  };
  const lines: string[] = [];
  for (let e = 0; e < ENUMS; e++) {
    lines.push(`CREATE TYPE "Status${e}" AS ENUM (${STATUSES.map((s) => `'${s}'`).join(', ')});`);
  }
  for (const [name, model] of Object.entries(datamodel.datamodel.models)) {
    const columns = model.fields
      .filter((field) => field.kind === 'scalar' || field.kind === 'enum')
      .map((field) => {
        if (field.isId) return `"${field.name}" SERIAL PRIMARY KEY`;
        const type = field.kind === 'enum' ? `"${field.type}"` : columnType[field.type];
        const defaultNow = field.name === 'createdAt' ? ' DEFAULT CURRENT_TIMESTAMP' : '';
        return `"${field.name}" ${type}${field.isRequired ? ' NOT NULL' : ''}${defaultNow}`;
      });
    lines.push(`CREATE TABLE "${name}" (${columns.join(', ')});`);
    lines.push(`CREATE INDEX "${name}_tenantId_id_idx" ON "${name}" ("tenantId", "id");`);
  }
  return lines.join('\n');
}

/** Five rows per table in tenant 1, each row's parent and ref among the target's five. */
function seedSql(models: number): string {
  const statements: string[] = [];
  for (let i = 0; i < models; i++) {
    const links = [
      ...(i > 0 ? [['"parentId"', 'g']] : []),
      ...(refTarget(i, models) !== i ? [['"refId"', '6 - g']] : []),
    ];
    statements.push(
      `INSERT INTO "${modelName(i)}" ("tenantId", "ownerId", "name", "code", "email", "phone", "status",
        "quantity", "amountCents", "score", "active"${links.map(([column]) => `, ${column}`).join('')})
       SELECT 1, g, 'name ' || g, 'C' || g, 'user' || g || '@example.com', '+1555000' || g,
        'OPEN'::"${enumName(i)}", g, g * 100, g * 1.5, true${links.map(([, value]) => `, ${value}`).join('')}
       FROM generate_series(1, 5) AS g;`,
    );
  }
  return statements.join('\n');
}

/**
 * The generated app's folder: its schema, the migration creating its tables and its Prisma client,
 * made once per shape and prisma version (a later run finds them).
 */
function prepareApp(shape: Shape, log: (line: string) => void): string {
  const schema = hugePrismaSchema(shape);
  const prismaVersion = JSON.parse(
    readFileSync(join(root, 'node_modules', 'prisma', 'package.json'), 'utf8'),
  ).version as string;
  const digest = createHash('sha256').update(schema).update(prismaVersion).digest('hex');
  const dir = join(root, 'node_modules', '.cache', 'ormai-huge-schema', digest.slice(0, 16));
  const done = join(dir, '.complete');
  if (existsSync(done)) return dir;
  mkdirSync(join(dir, 'migrations', '00000000000000_init'), { recursive: true });
  writeFileSync(join(dir, 'schema.prisma'), schema);
  const datamodel = readPrismaSchema(join(dir, 'schema.prisma'));
  writeFileSync(
    join(dir, 'migrations', '00000000000000_init', 'migration.sql'),
    migrationSql(datamodel),
  );
  log(`huge schema: generating the Prisma client of ${shape.models} models (once)…`);
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'prisma', 'build', 'index.js'),
      'generate',
      '--schema',
      join(dir, 'schema.prisma'),
    ],
    {
      cwd: root,
      encoding: 'utf8',
      // as scripts/generate.mjs: generation needs no schema engine, which the CLI would download
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
    },
  );
  if (result.status !== 0) {
    throw new Error(
      `prisma generate failed for the huge schema:\n${result.stderr}${result.stdout}`,
    );
  }
  log(`huge schema: client generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  writeFileSync(done, new Date().toISOString());
  return dir;
}

/** Runs the huge-schema measurements in child processes and returns their figures. */
export async function measureHugeSchema(
  options: HugeSchemaOptions = {},
): Promise<HugeSchemaResult> {
  const log = options.log ?? (() => {});
  const shape = { models: options.models ?? 200, roles: options.roles ?? 20 };
  const roleSets = options.roleSets ?? 50;
  const bounds = options.cacheBounds ?? [Math.min(20, roleSets - 1), roleSets];
  const dir = prepareApp(shape, log);
  const scenarios: (HugeScenario & {
    compileMs: number[];
    buildMs: number[];
    schemaTypes: number;
  })[] = [];
  for (const [index, cacheBound] of bounds.entries()) {
    log(`huge schema: ${roleSets} role sets, cache bound ${cacheBound}…`);
    scenarios.push(
      await runChild({
        dir,
        shape,
        roleSets,
        cacheBound,
        cycles: options.cycles ?? 2,
        // timed apart once
        samples: index === 0 ? (options.samples ?? 5) : 0,
      }),
    );
  }
  const p50 = (values: number[]) => percentile(values, 0.5);
  const holding = [...scenarios].sort((a, b) => b.cacheBound - a.cacheBound)[0]!;
  const smallest = [...scenarios].sort((a, b) => a.cacheBound - b.cacheBound)[0]!;
  const timed = scenarios.find((scenario) => scenario.compileMs.length > 0) ?? scenarios[0]!;
  return {
    ...shape,
    roleSets,
    schemaTypes: timed.schemaTypes,
    compileMs: p50(timed.compileMs),
    buildMs: p50(timed.buildMs),
    firstRequestMs: holding.firstRequestMs,
    firstRequestCpuMs: holding.firstRequestCpuMs,
    firstRequestGcMs: holding.firstRequestGcMs,
    heapPerSchemaMb: holding.heapPerSchemaMb,
    heapAfterWarmMb: smallest.heapAfterWarmMb,
    heapAfterMoreMb: smallest.heapAfterPassesMb.at(-1) ?? smallest.heapAfterWarmMb,
    cacheBound: smallest.cacheBound,
    flat: scenarios.every((scenario) => scenario.flat),
    scenarios: scenarios.map(
      ({ compileMs: _c, buildMs: _b, schemaTypes: _t, ...scenario }) => scenario,
    ),
    runtime: `node ${process.version} under tsx`,
  };
}

interface ChildTask {
  dir: string;
  shape: Shape;
  roleSets: number;
  cacheBound: number;
  cycles: number;
  samples: number;
}

type ChildResult = HugeScenario & { compileMs: number[]; buildMs: number[]; schemaTypes: number };

function runChild(task: ChildTask): Promise<ChildResult> {
  // a heap for every role set the bound keeps (~20 MB each; ~60 MB before src/plugins/build-state)
  const heapMb = Math.max(4096, 1024 + task.cacheBound * 100);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    cwd: root,
    env: { ...process.env, [CHILD_FLAG]: '1' },
    execArgv: ['--import', 'tsx', '--expose-gc', `--max-old-space-size=${heapMb}`],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    child.on('message', (message: { type: string; result?: ChildResult; error?: string }) => {
      if (message.type === 'result' && message.result) {
        settled = true;
        resolvePromise(message.result);
      } else if (message.type === 'error') {
        settled = true;
        reject(new Error(`huge schema child failed: ${message.error}\n${stderr}`));
      }
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`huge schema child exited (${code})\n${stderr}`));
    });
    child.send(task);
  });
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const stats = (values: number[]): Stats => ({
  p50: round(percentile(values, 0.5)),
  p90: round(percentile(values, 0.9)),
  max: round(Math.max(...values)),
});
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

function heapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the huge-schema child needs --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

/** One scenario, in the child process. */
async function scenario(task: ChildTask): Promise<ChildResult> {
  const { dir, shape, cacheBound } = task;
  const datamodel = readPrismaSchema(join(dir, 'schema.prisma'));
  const policy = hugePolicy(shape);
  const sets = hugeRoleSets(shape.roles, task.roleSets);

  // apart, without a database: the policy's compile and the schema's build for new role sets
  const compileMs: number[] = [];
  const buildMs: number[] = [];
  let schemaTypes = 0;
  if (task.samples > 0) {
    const engine = compilePolicy(policy, datamodel);
    if (!engine.ok) throw new Error(engine.message);
    // one build first, so the samples do not pay for loading and optimising the builder's code
    buildSchema({ datamodel, policy: engine.value.forRoles([roleName(0)]), cursorSecret: SECRET });
    for (let i = 0; i < task.samples; i++) {
      // four roles: a set no measured request uses
      const roles = [i, i + 4, i + 8, i + 12].map((r) => roleName(r % shape.roles));
      const t0 = performance.now();
      const compiled = engine.value.forRoles(roles);
      const t1 = performance.now();
      const schema = buildSchema({ datamodel, policy: compiled, cursorSecret: SECRET });
      buildMs.push(performance.now() - t1);
      compileMs.push(t1 - t0);
      if (i === 0) schemaTypes = Object.keys(schema.getTypeMap()).length;
    }
  }

  const { PrismaClient } = (await import(
    pathToFileURL(join(dir, 'generated', 'client.ts')).href
  )) as {
    PrismaClient: new (options: object) => never;
  };
  const app: OrmaiApp = {
    name: 'huge',
    datamodel,
    migrationsDir: join(dir, 'migrations'),
    createPrismaClient: (adapter, options) => new PrismaClient({ adapter, ...options }),
    policy,
  };
  const runtime = await openRuntime(app, {
    dataDir: 'memory://',
    applyMigrations: true,
    seedIfEmpty: false,
    roleSetCacheSize: cacheBound,
  });
  try {
    await runtime.db.sql.exec(seedSql(shape.models));
    const gateway = createGateway({ runtime, jwtSecret: SECRET, logger: createLogger('silent') });
    // the gauge /metrics serves, over this gateway
    const metrics = new OrmaiMetrics(
      { schemaCacheSize: () => gateway.schemaCacheSize },
      { processMetrics: false },
    );
    const request = async (roles: string[], index: number) => {
      // a model the first role reads, with its parent readable too
      const first = Number(roles[0]!.slice(4));
      let model = 2 + ((index * 4) % (shape.models - 4));
      while ((model + first) % 10 < 2) model++;
      const list = modelNames(modelName(model)).list;
      const token = await signToken({ sub: '1', tenantId: 1, roles }, { secret: SECRET });
      const query = `{ ${list}(first: 5) { totalCount nodes { id name email status quantity parent { id name } } } }`;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const response = await gateway.fetch('http://ormai.bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      const body = (await response.json()) as {
        data?: Record<string, { totalCount: number }>;
        errors?: unknown[];
      };
      const ms = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      // every role of the set may limit the rows to its own (ownerId = 1): one row, else five
      if (body.errors || !(body.data?.[list]?.totalCount ?? 0)) {
        throw new Error(`${roles.join('+')}: ${JSON.stringify(body).slice(0, 500)}`);
      }
      return { ms, cpuMs: (used.user + used.system) / 1000, t0, t1: t0 + ms };
    };
    // garbage-collection pauses, to say how much of a slow request was one
    const pauses: { start: number; duration: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        pauses.push({ start: entry.startTime, duration: entry.duration });
    });
    observer.observe({ entryTypes: ['gc'] });
    const gcDuring = async (window: { t0: number; t1: number }) => {
      // entries are delivered after the fact
      await new Promise((done) => setTimeout(done, 20));
      return pauses
        .filter((pause) => pause.start >= window.t0 && pause.start < window.t1)
        .reduce((sum, pause) => sum + pause.duration, 0);
    };

    // the pipeline's code loaded and optimised on a role set outside the measured ones
    await request([roleName(0), roleName(10)], 0);
    const heapBaseMb = heapMb();
    const cachedAtBase = gateway.schemaCacheSize;

    const first: { ms: number; cpuMs: number; t0: number; t1: number }[] = [];
    for (const [index, roles] of sets.entries()) first.push(await request(roles, index));
    const firstGc = await Promise.all(first.map(gcDuring));
    observer.disconnect();
    const heapAfterWarmMb = heapMb();
    const cachedAfterWarm = gateway.schemaCacheSize;

    const later: number[] = [];
    const heapAfterPassesMb: number[] = [];
    for (let pass = 0; pass < task.cycles; pass++) {
      for (const [index, roles] of sets.entries()) later.push((await request(roles, index)).ms);
      heapAfterPassesMb.push(heapMb());
    }
    const gauge = metrics.registry.getSingleMetric('ormai_schema_cache_size');
    const metricsGauge = (await gauge!.get()).values[0]?.value ?? Number.NaN;
    const heapPerSchemaMb =
      (heapAfterWarmMb - heapBaseMb) / Math.max(1, cachedAfterWarm - cachedAtBase);
    const growth = (heapAfterPassesMb.at(-1) ?? heapAfterWarmMb) - heapAfterWarmMb;
    return {
      cacheBound,
      firstRequestMs: stats(first.map((r) => r.ms)),
      firstRequestCpuMs: stats(first.map((r) => r.cpuMs)),
      firstRequestGcMs: stats(firstGc),
      firstRequestLessGcMs: stats(first.map((r, i) => r.ms - firstGc[i]!)),
      laterRequestMs: stats(later),
      cachedAfterWarm,
      cachedAtEnd: gateway.schemaCacheSize,
      gaugeAtEnd: metricsGauge,
      heapBaseMb: round(heapBaseMb),
      heapAfterWarmMb: round(heapAfterWarmMb),
      heapAfterPassesMb: heapAfterPassesMb.map((mb) => round(mb)),
      heapPerSchemaMb: round(heapPerSchemaMb, 2),
      flat: growth <= Math.max(heapPerSchemaMb / 2, heapAfterWarmMb * 0.02),
      compileMs: compileMs.map((ms) => round(ms)),
      buildMs: buildMs.map((ms) => round(ms)),
      schemaTypes,
    };
  } finally {
    await runtime.close();
  }
}

if (process.env[CHILD_FLAG] === '1' && process.send) {
  process.once('message', (task: ChildTask) => {
    scenario(task).then(
      (result) => process.send!({ type: 'result', result }, () => process.exit(0)),
      (error: Error) =>
        process.send!({ type: 'error', error: error.stack ?? String(error) }, () =>
          process.exit(1),
        ),
    );
  });
}
