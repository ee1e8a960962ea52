// Pins issue 8's reliability promises on a real `ormai serve` process over loopback, against a private
// PostgreSQL cluster: sustained concurrent load with no error and one audit record per request,
// bounded memory, and a database restart under load that callers see as a retryable error and that
// ormai recovers from by itself.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../../examples/saas/app.js';
import { NOT_RECORDED_MESSAGE } from '../../src/audit/audit-log.js';
import { openRuntime } from '../../src/runtime.js';
import { signToken } from '../../src/server/auth.js';
import { createGateway } from '../../src/server/gateway.js';
import { createLogger } from '../../src/server/logger.js';
import { connectMcp } from '../helpers/mcp.js';
import type { TestApp } from '../helpers/runtime.js';
import {
  buildCalls,
  type Call,
  failuresByKind,
  JWT_SECRET,
  LEAK,
  type Outcome,
  runLoad,
  send,
  summarize,
} from './load.js';
import { type PrivateCluster, startPrivateCluster } from './pg-cluster.js';
import { type LiveMemory, type ServerProcess, startServer } from './server.js';
import { startTcpProxy } from './tcp-proxy.js';

const SECONDS = Number(process.env.RELIABILITY_SECONDS ?? 60);
const CLIENTS = Number(process.env.RELIABILITY_CLIENTS ?? 200);
const OUTAGE_CLIENTS = 30;
const SCHEMA = 'ormai_reliability';
/**
 * What is still allocated after a full garbage collection may grow this much over the load (caches
 * filling) and no more: a leak of 10 kB per request fails it within a few thousand requests.
 */
const LIVE_GROWTH_LIMIT_MB = 50;
/**
 * RSS is mostly heap V8 keeps reserved: it sizes the heap to a multiple of the peak working set (200
 * requests in flight) and keeps it after collecting, so this ceiling is coarse; the live memory above
 * is the leak check.
 */
const RSS_GROWTH_LIMIT_MB = 500;

const SERVER_LOG = resolve(import.meta.dirname, '..', '..', '.ormai', 'reliability-server.log');
const POSTGRES_LOG = resolve(import.meta.dirname, '..', '..', '.ormai', 'reliability-postgres.log');

const round = (n: number) => Math.round(n * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('reliability: ormai serve on PostgreSQL under load', () => {
  let cluster: PrivateCluster;
  let server: ServerProcess;
  let cwd: string;
  let calls: Call[];
  const report: string[] = [];

  beforeAll(async () => {
    mkdirSync(dirname(SERVER_LOG), { recursive: true });
    cluster = await startPrivateCluster();
    cwd = mkdtempSync(join(tmpdir(), 'ormai-reliability-'));
    server = await startServer({
      cwd,
      env: { RELIABILITY_DATABASE_URL: cluster.url, ORMAI_JWT_SECRET: JWT_SECRET },
    });
    calls = await buildCalls();
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    // the logs outlive the run, for a failure's post-mortem
    if (server) writeFileSync(SERVER_LOG, server.log());
    if (cluster) writeFileSync(POSTGRES_LOG, cluster.log());
    await cluster?.destroy();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
    if (report.length > 0) console.log(`\n── reliability summary ──\n${report.join('\n')}\n`);
  }, 120_000);

  /** Calls the server refused without a record, as its /metrics counts them. */
  async function unrecordedRefusals(): Promise<number> {
    const text = await (await fetch(`${server.base}/metrics`)).text();
    const line = /^ormai_audit_unrecorded_refusals_total (\S+)$/m.exec(text);
    if (!line) throw new Error('/metrics has no ormai_audit_unrecorded_refusals_total');
    return Number(line[1]);
  }

  /** Rows in the audit table, read on a connection of its own. */
  async function auditRows(): Promise<number> {
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT count(*)::int AS n FROM "ormai"."ormai_audit_log"',
      );
      return rows[0].n as number;
    } finally {
      await client.end();
    }
  }

  /**
   * The table once the background queue has drained: polls until it holds `expected` rows (then
   * once more, so a duplicate written late would show) or stops changing for 3 s, for at most 60 s.
   */
  async function settledAuditRows(expected: number): Promise<number> {
    const deadline = Date.now() + 60_000;
    let last = -1;
    let stableSince = Date.now();
    for (;;) {
      const now = await auditRows();
      if (now !== last) stableSince = Date.now();
      last = now;
      if (now === expected) {
        await sleep(1000);
        return auditRows();
      }
      if (Date.now() - stableSince > 3000 || Date.now() > deadline) return now;
      await sleep(250);
    }
  }

  /** The id of the last record in the JSONL sink (ids count the records across rotated files). */
  function lastJsonlId(): number {
    const path = join(cwd, '.ormai', 'audit.jsonl');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return 0;
    }
    const last = text.trimEnd().split('\n').at(-1);
    return last ? Number(JSON.parse(last).id) : 0;
  }

  /** The ormai process started in beforeAll is still the one running: never restarted, never died. */
  function expectServerAlive() {
    expect(server.child.exitCode, `ormai exited:\n${server.log().slice(-3000)}`).toBeNull();
    expect(() => process.kill(server.pid, 0)).not.toThrow();
  }

  it('a connection PostgreSQL terminates, idle in the pool or checked out, does not end the process', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'drop-connections.ts'), cluster.url],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stderr).not.toContain("Unhandled 'error' event");
    expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({ status: 0, stdout: 'ok' });
  });

  it('an unreachable database is a retryable INTERNAL_ERROR (503) over GraphQL and MCP; the same gateway serves again once it is back', async () => {
    // in process, without an audit log (which would refuse the calls before they reach the
    // database), through a proxy that drops and refuses connections on demand
    const proxy = await startTcpProxy(cluster.port);
    const runtime = await openRuntime(saasApp, {
      databaseUrl: `postgresql://postgres@127.0.0.1:${proxy.port}/postgres`,
      schema: SCHEMA,
      applyMigrations: true,
    });
    const gateway = createGateway({
      runtime,
      jwtSecret: JWT_SECRET,
      logger: createLogger('silent'),
    });
    const mcp = await connectMcp({ gateway, runtime } as TestApp, {
      sub: '11',
      tenantId: 2,
      roles: ['agent'],
    });
    const token = await signToken(
      { sub: '11', tenantId: 2, roles: ['admin'] },
      { secret: JWT_SECRET },
    );
    const ask = async () => {
      const response = await gateway.fetch('http://gateway/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ customers(first: 3) { nodes { id tenantId } } }' }),
      });
      return { status: response.status, text: await response.text() };
    };
    const tool = () =>
      mcp.call('db.query', { model: 'Order', select: ['id', 'tenantId'], take: 3 });
    try {
      const served = await ask();
      expect(served.status).toBe(200);
      expect(JSON.parse(served.text).data.customers.nodes).toHaveLength(3);
      expect((await tool()).isError).toBe(false);

      await proxy.cut();
      for (let attempt = 0; attempt < 2; attempt++) {
        const refused = await ask();
        expect(refused.status).toBe(503);
        expect(JSON.parse(refused.text).errors[0].extensions).toMatchObject({
          code: 'INTERNAL_ERROR',
          retryable: true,
        });
        expect(refused.text).not.toMatch(LEAK);
        const failed = await tool();
        expect(failed.isError).toBe(true);
        expect(failed.structured.error).toMatchObject({ code: 'INTERNAL_ERROR', retryable: true });
        expect(JSON.stringify(failed.structured)).not.toMatch(LEAK);
      }

      await proxy.restore();
      const again = await ask();
      expect(again.status).toBe(200);
      expect(JSON.parse(again.text).data.customers.nodes).toHaveLength(3);
      expect((await tool()).isError).toBe(false);
    } finally {
      await mcp.close();
      await runtime.close();
      await proxy.close();
    }
  });

  it(
    `${CLIENTS} concurrent clients for ${SECONDS} s: no error, one audit record per request, bounded memory`,
    async () => {
      const auditBefore = await auditRows();
      const jsonlBefore = lastJsonlId();
      // every call once, so each role's schema is built before memory is measured
      const t0 = performance.now();
      const warmup: Outcome[] = [];
      for (const call of calls) warmup.push(await send(server.base, call, t0));
      expect(failuresByKind(warmup)).toEqual({});
      await sleep(1000);
      const rssBefore = server.rssMb();
      const liveBefore = await server.liveMemory();

      const started = performance.now();
      const outcomes = await runLoad({
        base: server.base,
        calls,
        clients: CLIENTS,
        stop: (elapsed) => elapsed >= SECONDS * 1000,
      });
      const summary = summarize(outcomes, (performance.now() - started) / 1000);

      const requests = warmup.length + outcomes.length;
      const auditAfter = await settledAuditRows(auditBefore + requests);
      const jsonlAfter = lastJsonlId();
      await sleep(5000);
      const rssAfter = server.rssMb();
      const liveAfter = await server.liveMemory();
      const live = (memory: LiveMemory) => round(memory.heapUsedMb + memory.externalMb);

      report.push(
        `load: ${CLIENTS} clients × ${summary.seconds} s over loopback: ${summary.requests} requests ` +
          `(${summary.graphql} GraphQL, ${summary.mcp} MCP db.query), ${summary.requestsPerSecond} req/s, ` +
          `p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms, ${summary.failed} errors`,
        `audit: table +${auditAfter - auditBefore} rows, JSONL +${jsonlAfter - jsonlBefore} records, ` +
          `for ${requests} requests (${warmup.length} warm-up + ${outcomes.length} load)`,
        `memory: server RSS ${rssBefore} MB before the load, ${rssAfter} MB after it and 5 s idle ` +
          `(+${round(rssAfter - rssBefore)} MB; ceiling +${RSS_GROWTH_LIMIT_MB} MB), ` +
          `${liveAfter.rssMb} MB right after a full GC`,
        `memory: live after a full GC (heap used + external) ${live(liveBefore)} MB before the load, ` +
          `${live(liveAfter)} MB after it (+${round(live(liveAfter) - live(liveBefore))} MB; ` +
          `limit +${LIVE_GROWTH_LIMIT_MB} MB)`,
      );

      expect(summary.requests).toBeGreaterThan(CLIENTS);
      expect(failuresByKind(outcomes)).toEqual({});
      expect(auditAfter - auditBefore).toBe(requests);
      expect(jsonlAfter - jsonlBefore).toBe(requests);
      expect(live(liveAfter)).toBeLessThan(live(liveBefore) + LIVE_GROWTH_LIMIT_MB);
      expect(rssAfter).toBeLessThan(rssBefore + RSS_GROWTH_LIMIT_MB);
      expectServerAlive();
    },
    (SECONDS + 180) * 1000,
  );

  it('PostgreSQL restarted under load: retryable errors during the outage, served again after it, every call audited or refused saying it has none', async () => {
    const auditBefore = await auditRows();
    const unrecordedBefore = await unrecordedRefusals();
    const jsonlBefore = lastJsonlId();
    const t0 = performance.now();
    const at = () => performance.now() - t0;
    const timeline = { stopBegin: 0, stopDone: 0, startBegin: 0, startDone: 0, end: 0 };
    let done = false;

    // /healthz, probed four times a second beside the load
    const probes: { started: number; ended: number; status: number; body: string }[] = [];
    const probing = (async () => {
      while (!done) {
        const started = at();
        try {
          const response = await fetch(`${server.base}/healthz`);
          probes.push({
            started,
            ended: at(),
            status: response.status,
            body: await response.text(),
          });
        } catch (error) {
          probes.push({ started, ended: at(), status: 0, body: String(error) });
        }
        await sleep(250);
      }
    })();
    // the outage: 3 s of load, stop PostgreSQL (fast: sessions are terminated), 5 s down, start it, 10 s
    const script = (async () => {
      try {
        await sleep(3000);
        timeline.stopBegin = at();
        await cluster.stop('fast');
        timeline.stopDone = at();
        await sleep(5000);
        timeline.startBegin = at();
        await cluster.start();
        timeline.startDone = at();
        await sleep(10_000);
        timeline.end = at();
      } finally {
        done = true;
      }
    })();
    const outcomes = await runLoad({
      base: server.base,
      calls,
      clients: OUTAGE_CLIENTS,
      stop: () => done,
      t0,
    });
    await script;
    await probing;

    const before = outcomes.filter((o) => o.ended < timeline.stopBegin);
    const during = outcomes.filter(
      (o) => o.started > timeline.stopDone && o.ended < timeline.startBegin,
    );
    const after = outcomes.filter((o) => o.started > timeline.startDone);
    const failed = outcomes.filter((o) => !o.ok);
    const firstServedAgain = after.find((o) => o.ok)?.started;
    // a request refused because of the outage: typed, retryable, no internals, 503 or a non-5xx
    const wrongRefusals = failed.filter(
      (o) =>
        o.error?.code !== 'INTERNAL_ERROR' ||
        o.error.retryable !== true ||
        o.leaks ||
        !(o.status === 503 || (o.status > 0 && o.status < 500)),
    );
    const probesDuring = probes.filter(
      (p) => p.started > timeline.stopDone && p.ended < timeline.startBegin,
    );
    const probesAfter = probes.filter((p) => p.started > timeline.startDone);
    // /healthz also waits for the audit log to write again (its sink retries after a delay),
    // as requests do: from 5 s after the restart on, every probe must say ok
    const probesSettled = probesAfter.filter((p) => p.started > timeline.startDone + 5000);

    const requests = outcomes.length;
    // a call that finds the audit queue full (audit.maxQueue records waiting, a fast load over a
    // long outage) is refused without a record and says so; every other call has its record
    const unrecorded = failed.filter((o) => o.error?.message === NOT_RECORDED_MESSAGE);
    const auditAfter = await settledAuditRows(auditBefore + requests - unrecorded.length);
    const jsonlAfter = lastJsonlId();
    const codes = failed.reduce<Record<string, number>>((counts, o) => {
      const key = `${o.surface} HTTP ${o.status} ${o.error?.code ?? o.failure} retryable=${o.error?.retryable}`;
      counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    }, {});
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    report.push(
      `outage: ${OUTAGE_CLIENTS} clients; PostgreSQL stopped (fast) at ${s(timeline.stopBegin)}–${s(timeline.stopDone)}, ` +
        `started at ${s(timeline.startBegin)}–${s(timeline.startDone)}, load until ${s(timeline.end)}: ` +
        `${requests} requests, ${requests - failed.length} served, ${failed.length} refused ${JSON.stringify(codes)}`,
      `outage: before ${before.length} (${before.filter((o) => o.ok).length} ok), while down ${during.length} ` +
        `(${during.filter((o) => o.ok).length} ok), after the restart ${after.length} (${after.filter((o) => o.ok).length} ok); ` +
        `first served ${firstServedAgain === undefined ? 'never' : s(firstServedAgain - timeline.startDone)} after PostgreSQL was back, ormai not restarted (pid ${server.pid})`,
      `outage: /healthz ${probesDuring.map((p) => p.status).join(',')} while down; ` +
        `${probesAfter.map((p) => p.status).join(',')} after`,
      `outage: audit table +${auditAfter - auditBefore} rows, JSONL +${jsonlAfter - jsonlBefore} records, for ${requests} requests ` +
        `(${unrecorded.length} refused unrecorded: the audit queue was full)`,
    );

    // the server stayed up and answered everything, the same process throughout
    expect(outcomes.filter((o) => o.status === 0).map((o) => o.failure)).toEqual([]);
    expectServerAlive();
    expect(before.length).toBeGreaterThan(0);
    expect(failuresByKind(before)).toEqual({});
    // while PostgreSQL is down nothing is served, and every refusal is typed and retryable
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((o) => o.ok)).toEqual([]);
    expect(wrongRefusals.map((o) => ({ label: o.label, status: o.status, body: o.body }))).toEqual(
      [],
    );
    // served again without restarting ormai: every request from 5 s after the restart on
    expect(firstServedAgain).toBeDefined();
    const settled = after.filter((o) => o.started > timeline.startDone + 5000);
    expect(settled.length).toBeGreaterThan(0);
    expect(failuresByKind(settled)).toEqual({});
    // /healthz says so: 503 while down (or while the audit log catches up), 200 once it is back
    expect(probesDuring.length).toBeGreaterThan(0);
    expect(probesDuring.filter((p) => p.status !== 503)).toEqual([]);
    expect(probesDuring.every((p) => JSON.parse(p.body).status === 'unavailable')).toBe(true);
    expect(
      probesAfter.filter((p) => p.status !== 200 && JSON.parse(p.body).status !== 'unavailable'),
    ).toEqual([]);
    expect(probesSettled.length).toBeGreaterThan(0);
    expect(probesSettled.filter((p) => p.status !== 200)).toEqual([]);
    // every GraphQL operation and tool call is recorded, served or refused: the records accepted
    // while the table could not be written were kept and written once it was back; those refused
    // unrecorded came after the outage began, and /metrics counted each of them
    expect(unrecorded.length).toBeGreaterThan(0);
    expect(unrecorded.filter((o) => o.started < timeline.stopBegin)).toEqual([]);
    expect(unrecorded.filter((o) => o.status !== (o.surface === 'graphql' ? 503 : 200))).toEqual(
      [],
    );
    expect((await unrecordedRefusals()) - unrecordedBefore).toBe(unrecorded.length);
    expect(auditAfter - auditBefore).toBe(requests - unrecorded.length);
    expect(jsonlAfter - jsonlBefore).toBe(requests - unrecorded.length);
  }, 180_000);
});
