// Pins issue 14's promise for several gateway processes: three real `ormai serve` replicas on one
// PostgreSQL, under load over GraphQL and MCP, keep one audit record per call in one hash chain that
// `ormai audit verify` accepts, run an approval approved through two of them at once exactly once,
// share their rate limits, and, when one of them is killed, lose no call it acknowledged (the
// replicas answer reads only once their record is written: audit.durableReads).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failuresByKind, JWT_SECRET, LEAK, summarize } from './load.js';
import { type PrivateCluster, startPrivateCluster } from './pg-cluster.js';
import {
  APP_SCHEMA,
  AUDIT_TABLE,
  auditRowsByTrace,
  auditVerify,
  buildMix,
  createProductCall,
  existingSkus,
  graphql,
  type Mix,
  mcpCall,
  newTrace,
  principalOf,
  REPLICAS_CONFIG,
  runReplicaLoad,
  settledAuditRowsByTrace,
  sql,
  type TracedOutcome,
  tokenOf,
  warmUp,
} from './replicas.js';
import { type ServerProcess, startServer } from './server.js';

const SECONDS = Number(process.env.RELIABILITY_SECONDS ?? 60);
/** The shared load's length: half the suite's, so the three-replica file stays within ~2 minutes. */
const LOAD_SECONDS = Math.max(5, Math.round(SECONDS / 2));
const KILL_SECONDS = Math.max(6, Math.round(SECONDS / 3));
const CLIENTS = Number(process.env.RELIABILITY_REPLICA_CLIENTS ?? 45);
const REPLICAS = 3;
/** The per-tenant limit of the rate-limit test: this many requests an hour, for all replicas together. */
const RATE_LIMIT = 30;
const RATE_WINDOW_SECONDS = 3600;

const LOG_DIR = resolve(import.meta.dirname, '..', '..', '.ormai');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Row = Record<string, any>;

/**
 * Rows that background writers are still adding to: read until there are `expected` of them (then
 * once more half a second later, so one written late shows), for at most 10 s.
 */
async function settled(read: () => Promise<Row[]>, expected: number): Promise<Row[]> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(200)) {
    if ((await read()).length >= expected) break;
  }
  await sleep(500);
  return read();
}

describe('three ormai serve replicas on one PostgreSQL', () => {
  let cluster: PrivateCluster;
  let env: Record<string, string>;
  const servers: (ServerProcess | undefined)[] = [];
  const dirs: string[] = [];
  let mix: Mix;
  const report: string[] = [];
  /** Every server process the suite started, for the logs and the clean-up. */
  const started: { replica: number; server: ServerProcess }[] = [];

  const startReplica = async (replica: number, extraEnv: Record<string, string> = {}) => {
    // a restart in the same directory writes the same log file: the earlier run's is kept first
    const earlier = servers[replica];
    if (earlier) writeFileSync(join(LOG_DIR, `replica-${replica}-earlier.log`), earlier.log());
    const server = await startServer({
      cwd: dirs[replica]!,
      env: { ...env, ...extraEnv },
      config: REPLICAS_CONFIG,
    });
    servers[replica] = server;
    started.push({ replica, server });
    return server;
  };
  const live = () =>
    servers.flatMap((server, replica) =>
      server && server.child.exitCode === null && server.child.signalCode === null
        ? [{ replica, base: server.base }]
        : [],
    );

  beforeAll(async () => {
    mkdirSync(LOG_DIR, { recursive: true });
    cluster = await startPrivateCluster();
    env = { RELIABILITY_DATABASE_URL: cluster.url, ORMAI_JWT_SECRET: JWT_SECRET };
    for (let i = 0; i < REPLICAS; i++)
      dirs.push(mkdtempSync(join(tmpdir(), `ormai-replica-${i}-`)));
    // the first creates and seeds the database; the other two then start together (migrations take
    // turns on a lock, the example's seed does not: two seeding an empty database at once collide)
    const t0 = performance.now();
    await startReplica(0);
    const first = performance.now();
    await Promise.all([startReplica(1), startReplica(2)]);
    report.push(
      `start: replica 0 (migrate + seed) in ${((first - t0) / 1000).toFixed(1)} s, replicas 1 and 2 together in ${((performance.now() - first) / 1000).toFixed(1)} s`,
    );
    mix = await buildMix();
  }, 300_000);

  afterAll(async () => {
    await Promise.all(started.map(({ server }) => server.stop()));
    servers.forEach((server, replica) => {
      if (server) writeFileSync(join(LOG_DIR, `replica-${replica}.log`), server.log());
    });
    if (cluster) writeFileSync(join(LOG_DIR, 'replicas-postgres.log'), cluster.log());
    await cluster?.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    if (report.length > 0) console.log(`\n── three replicas ──\n${report.join('\n')}\n`);
  }, 120_000);

  /** Requests by replica and surface (and how many were writes), for the report. */
  const tally = (outcomes: TracedOutcome[]) =>
    [0, 1, 2]
      .map((replica) => {
        const mine = outcomes.filter((o) => o.replica === replica);
        const count = (surface: string) => mine.filter((o) => o.surface === surface).length;
        const writes = mine.filter((o) => o.kind === 'write').length;
        return `replica ${replica}: ${mine.length} (${count('graphql')} GraphQL, ${count('mcp')} MCP; ${writes} writes)`;
      })
      .join('; ');

  /** Latency of reads and of writes, for the report. */
  const latency = (outcomes: TracedOutcome[]) =>
    (['read', 'write'] as const)
      .map((kind) => {
        const { p50Ms, p99Ms, maxMs } = summarize(
          outcomes.filter((o) => o.kind === kind),
          1,
        );
        return `${kind}s p50 ${p50Ms} ms, p99 ${p99Ms} ms, max ${maxMs} ms`;
      })
      .join('; ');

  /** Trace ids with no audit row, and those with more than one. */
  const auditGaps = (outcomes: TracedOutcome[], rows: Map<string, number>) => ({
    missing: outcomes
      .filter((o) => !rows.has(o.traceId))
      .map((o) => `${o.label} on replica ${o.replica}`),
    duplicated: outcomes
      .filter((o) => (rows.get(o.traceId) ?? 0) > 1)
      .map((o) => `${o.label}: ${rows.get(o.traceId)} rows`),
  });

  const maxAuditId = async () =>
    (
      await sql<{ id: number }>(
        cluster.url,
        `SELECT coalesce(max(id), 0)::int AS id FROM ${AUDIT_TABLE}`,
      )
    )[0]!.id;

  async function verifyTable(label: string) {
    const verified = await auditVerify(env);
    report.push(`audit verify (${label}): exit ${verified.code}, "${verified.output}"`);
    expect(verified, verified.output).toMatchObject({ code: 0 });
    expect(verified.output).toMatch(/^ok: \d+ record\(s\) in the table ormai_audit_log/m);
  }

  it(
    `${CLIENTS} clients for ${LOAD_SECONDS} s over three replicas: no error, one audit record per call in one chain that audit verify accepts`,
    async () => {
      const idBefore = await maxAuditId();
      const warmup = await warmUp(live(), mix);
      expect(failuresByKind(warmup)).toEqual({});
      const t0 = performance.now();
      const loaded = await runReplicaLoad({
        targets: live,
        mix,
        clients: CLIENTS,
        writeShare: 0.15,
        stop: (elapsed) => elapsed >= LOAD_SECONDS * 1000,
        t0,
      });
      const seconds = (performance.now() - t0) / 1000;
      // every call is checked, the warm-up's too; the figures are the load's
      const outcomes = [...warmup, ...loaded];
      const rows = await settledAuditRowsByTrace(
        cluster.url,
        outcomes.map((o) => o.traceId),
      );
      const [{ n: added }] = (await sql<{ n: number }>(
        cluster.url,
        `SELECT count(*)::int AS n FROM ${AUDIT_TABLE} WHERE id > $1`,
        [idBefore],
      )) as [{ n: number }];
      const writes = outcomes.filter((o) => o.kind === 'write');
      const skus = await existingSkus(
        cluster.url,
        writes.map((o) => o.sku!),
      );
      const writeRecords = await sql<{ trace_id: string; sku: string; affected: number }>(
        cluster.url,
        `SELECT trace_id, "after"->>'sku' AS sku, affected_rows AS affected FROM ${AUDIT_TABLE} WHERE trace_id = ANY($1::text[])`,
        [writes.map((o) => o.traceId)],
      );
      const gaps = auditGaps(outcomes, rows);
      const count = (surface: string) => loaded.filter((o) => o.surface === surface).length;
      report.push(
        `load: ${CLIENTS} clients × ${seconds.toFixed(1)} s after a warm-up of ${warmup.length} calls: ${loaded.length} requests (${count('graphql')} GraphQL, ${count('mcp')} MCP; ${loaded.filter((o) => o.kind === 'write').length} writes), ${(loaded.length / seconds).toFixed(0)} req/s, ${loaded.filter((o) => !o.ok).length} errors`,
        `load per replica: ${tally(loaded)}; ${latency(loaded)}`,
        `load audit: +${added} rows for ${outcomes.length} calls (warm-up and load); ${rows.size} trace ids with a row, ${gaps.missing.length} without, ${gaps.duplicated.length} with more than one; ${skus.size}/${writes.length} created products in the table`,
      );

      expect(failuresByKind(outcomes)).toEqual({});
      for (const replica of [0, 1, 2]) {
        expect(outcomes.filter((o) => o.replica === replica).length).toBeGreaterThan(0);
      }
      expect(writes.length).toBeGreaterThan(0);
      expect(gaps).toEqual({ missing: [], duplicated: [] });
      // nothing else was recorded meanwhile (a bridge's GraphQL operation under a trace of its own)
      expect(added).toBe(outcomes.length);
      // every write is in the table, and its record is the one that created it
      expect(skus.size).toBe(writes.length);
      expect(
        writeRecords.filter((r) => !(r.sku === `r-${r.trace_id}` && Number(r.affected) === 1)),
      ).toEqual([]);
      await verifyTable('after the load');
    },
    (LOAD_SECONDS + 180) * 1000,
  );

  /** A live order of tenant 1, asked to be soft-deleted by support; the approval id it waits under. */
  async function askDelete(replica: number, offset: number, reason: string) {
    const [order] = await sql<{ id: number }>(
      cluster.url,
      `SELECT id FROM "${APP_SCHEMA}"."Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL ORDER BY id LIMIT 1 OFFSET $1`,
      [offset],
    );
    const asked = await graphql(
      servers[replica]!.base,
      await tokenOf(principalOf('support', 1)),
      'mutation($id: Int!, $reason: String) { deleteOrder(id: $id, reason: $reason) { success } }',
      { id: order!.id, reason },
    );
    expect(asked.body.errors?.[0]?.extensions?.code).toBe('WRITE_APPROVAL_REQUIRED');
    return {
      order: order!.id,
      approvalId: String(asked.body.errors[0].extensions.details.approval_id),
    };
  }

  const APPROVE = 'mutation($id: ID!) { approveRequest(id: $id) { id status decidedBy } }';

  it('an approval approved through two replicas at once runs once; the other approver is told it is approved', async () => {
    const admin = await tokenOf(principalOf('admin', 1));
    const rounds: string[] = [];
    for (let round = 0; round < 6; round++) {
      const pair = [round % 3, (round + 1) % 3] as const;
      const { order, approvalId } = await askDelete(
        round % 3,
        100 + round,
        `replica race ${round}`,
      );
      const traces = [newTrace(), newTrace()];
      const answers = await Promise.all(
        pair.map((replica, i) =>
          graphql(
            servers[replica]!.base,
            admin,
            APPROVE,
            { id: approvalId },
            traces[i]!.traceparent,
          ),
        ),
      );
      const won = answers.filter((a) => a.body.data?.approveRequest?.status === 'approved');
      const refused = answers.filter((a) => a.body.errors?.[0]);
      expect(won).toHaveLength(1);
      expect(won[0]!.body.data.approveRequest).toEqual({
        id: approvalId,
        status: 'approved',
        decidedBy: '1',
      });
      expect(refused).toHaveLength(1);
      expect(refused[0]!.body.errors[0].extensions).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { approval_id: approvalId, status: 'approved' },
      });
      expect(JSON.stringify(refused[0]!.body)).not.toMatch(LEAK);

      // the database: the order deleted once, the request decided once
      const [deleted] = await sql<Row>(
        cluster.url,
        `SELECT "deletedAt" FROM "${APP_SCHEMA}"."Order" WHERE id = $1`,
        [order],
      );
      expect(deleted!.deletedAt).not.toBeNull();
      const [request] = await sql<Row>(
        cluster.url,
        'SELECT status, decided_by FROM "ormai"."ormai_approval_request" WHERE id = $1',
        [approvalId],
      );
      expect(request).toEqual({ status: 'approved', decided_by: '1' });
      // the audit log: one decision, one run of the write, one refused decision, the queueing call
      // the refused decision and the queueing call are recorded in the background: a moment later
      const records = await settled(
        () =>
          sql<Row>(
            cluster.url,
            `SELECT operation, trace_id, outcome, error_code, affected_rows FROM ${AUDIT_TABLE} WHERE approval_id = $1 ORDER BY id`,
            [approvalId],
          ),
        4,
      );
      const operations = records.map((r) => r.operation).sort();
      expect(operations).toEqual([
        'approve ormai_approval_request',
        'approved delete Order',
        'mutation approveRequest',
        'mutation deleteOrder',
      ]);
      expect(records.find((r) => r.operation === 'approved delete Order')).toMatchObject({
        outcome: 'ok',
        affected_rows: 1,
      });
      expect(records.find((r) => r.operation === 'mutation approveRequest')).toMatchObject({
        outcome: 'error',
        error_code: 'VALIDATION_ERROR',
      });
      // each approver's call is its own trace: two records for the one that ran it, one for the other
      const perTrace = await auditRowsByTrace(
        cluster.url,
        traces.map((t) => t.traceId),
      );
      const winner = answers.indexOf(won[0]!);
      expect([
        perTrace.get(traces[winner]!.traceId),
        perTrace.get(traces[1 - winner]!.traceId),
      ]).toEqual([2, 1]);
      rounds.push(`replicas ${pair[0]}+${pair[1]}: ${pair[winner]} ran it`);
    }
    report.push(
      `approval race: 6 requests, each approved through two replicas at once; ${rounds.join(', ')}; every order deleted once, 1 decision + 1 run + 1 refusal (VALIDATION_ERROR "approved, not pending") per request`,
    );
  });

  it('an approval waiting for a row lock does not hold the audit chain: the other replicas keep writing', async () => {
    const { order, approvalId } = await askDelete(0, 200, 'waits for a row lock');
    const admin = mix.admins[1]!;
    // another transaction holds the order (as a support update in flight would), for less than the
    // 2 s statement budget, so the approval waits for it rather than times out
    const HOLD_MS = 1500;
    const holder = new pg.Client({ connectionString: cluster.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT id FROM "${APP_SCHEMA}"."Order" WHERE id = $1 FOR UPDATE`, [order]);
    const t0 = performance.now();
    const approving = graphql(servers[1]!.base, await tokenOf(principalOf('admin', 1)), APPROVE, {
      id: approvalId,
    });
    await sleep(300);
    // writes through the other replicas while the approval waits for the order: each appends to
    // the audit chain the approval would hold if it had taken its turn before the order
    const writing = Promise.all(
      [0, 2].map(async (replica) => {
        const { query, variables } = JSON.parse(
          createProductCall('graphql', admin, `lock-${newTrace().traceId}`).body,
        );
        const response = await graphql(servers[replica]!.base, admin.token, query, variables);
        return { replica, ended: performance.now() - t0, response };
      }),
    );
    await sleep(HOLD_MS - 300);
    const committed = performance.now() - t0;
    await holder.query('COMMIT');
    await holder.end();
    const [writes, approved] = await Promise.all([writing, approving]);
    report.push(
      `row lock: an approval waited ${committed.toFixed(0)} ms for a locked order on replica 1; creates through replicas 0 and 2 answered at ${writes.map((w) => `${Math.round(w.ended)} ms`).join(' and ')}; the approval then: ${approved.body.data?.approveRequest?.status ?? JSON.stringify(approved.body.errors?.[0]?.extensions)}`,
    );
    for (const write of writes) {
      expect(write.response.body.errors).toBeUndefined();
      expect(write.response.body.data.createProduct.tenantId).toBe(2);
      // answered while the order was still locked, not queued behind the approval
      expect(write.ended).toBeLessThan(committed);
    }
    expect(approved.body.data?.approveRequest?.status).toBe('approved');
  });

  it(
    'a replica killed (SIGKILL) mid-load loses no call it acknowledged (reads are durable); the other two keep serving',
    async () => {
      const victim = 2;
      const t0 = performance.now();
      let killedAt = Number.POSITIVE_INFINITY;
      const killing = (async () => {
        await sleep((KILL_SECONDS * 1000) / 2);
        killedAt = performance.now() - t0;
        servers[victim]!.child.kill('SIGKILL');
      })();
      // the load balancer stops sending to the replica once it is gone: only calls in flight fail
      const targets = () => live().filter((t) => !(t.replica === victim && killedAt < Infinity));
      const outcomes = await runReplicaLoad({
        targets,
        mix,
        clients: CLIENTS,
        writeShare: 0.2,
        stop: (elapsed) => elapsed >= KILL_SECONDS * 1000,
        t0,
      });
      await killing;
      const acknowledged = outcomes.filter((o) => o.ok);
      const rows = await settledAuditRowsByTrace(
        cluster.url,
        acknowledged.map((o) => o.traceId),
      );
      const writes = outcomes.filter((o) => o.kind === 'write');
      const skus = await existingSkus(
        cluster.url,
        writes.map((o) => o.sku!),
      );
      const allRows = await auditRowsByTrace(
        cluster.url,
        outcomes.map((o) => o.traceId),
      );
      const survivors = outcomes.filter((o) => o.replica !== victim);
      const onVictim = outcomes.filter((o) => o.replica === victim);
      const unanswered = onVictim.filter((o) => !o.ok);
      const ackedWrites = writes.filter((o) => o.ok);
      const ackedVictimReads = onVictim.filter((o) => o.ok && o.kind === 'read');
      const lostReads = ackedVictimReads.filter((o) => !rows.has(o.traceId));
      // a write the victim did not answer: committed with its record, or neither
      const halfWritten = writes
        .filter((o) => !o.ok)
        .filter((o) => skus.has(o.sku!) !== allRows.has(o.traceId));
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      report.push(
        `kill: ${CLIENTS} clients × ${KILL_SECONDS} s, replica ${victim} (pid ${servers[victim]!.pid}) SIGKILLed at ${s(killedAt)}: ${outcomes.length} requests; ${tally(outcomes)}`,
        `kill: replica ${victim} answered ${onVictim.length - unanswered.length} and left ${unanswered.length} in flight unanswered (${unanswered.filter((o) => o.kind === 'write').length} writes: ${writes.filter((o) => !o.ok && skus.has(o.sku!)).length} committed with their record, none half-written); replicas 0 and 1 served ${survivors.filter((o) => o.ok).length}/${survivors.length}, ${survivors.filter((o) => o.started > killedAt).length} after the kill`,
        `kill: ${ackedWrites.length} acknowledged writes, ${ackedWrites.filter((o) => rows.get(o.traceId) === 1 && skus.has(o.sku!)).length} with their audit record and their product; acknowledged reads of the killed replica without a record: ${lostReads.length} of ${ackedVictimReads.length}${lostReads.length ? `, answered ${lostReads.map((o) => `${Math.round(killedAt - o.ended)} ms`).join(', ')} before the kill` : ''}; ${latency(outcomes)}`,
      );

      // the two others kept serving, before and after the kill, without an error
      expect(failuresByKind(survivors)).toEqual({});
      expect(survivors.filter((o) => o.started > killedAt).length).toBeGreaterThan(0);
      // the victim's unanswered calls are those in flight at the kill: no response at all
      expect(unanswered.filter((o) => o.status !== 0 || o.ended < killedAt)).toEqual([]);
      expect(servers[victim]!.child.signalCode).toBe('SIGKILL');
      // every acknowledged write: exactly one record and its row
      expect(ackedWrites.length).toBeGreaterThan(0);
      expect(
        ackedWrites
          .filter((o) => rows.get(o.traceId) !== 1 || !skus.has(o.sku!))
          .map(
            (o) =>
              `${o.label} on replica ${o.replica}: ${rows.get(o.traceId) ?? 0} records, row ${skus.has(o.sku!)}`,
          ),
      ).toEqual([]);
      expect(halfWritten.map((o) => o.label)).toEqual([]);
      // every acknowledged read of the survivors: exactly one record
      expect(
        auditGaps(
          survivors.filter((o) => o.ok),
          rows,
        ),
      ).toEqual({ missing: [], duplicated: [] });
      // the replicas answer a read only once its record is written (audit.durableReads): the
      // killed one lost no record of a call it answered
      expect(
        lostReads.map((o) => `${o.label} answered at ${o.ended.toFixed(0)} ms, no record`),
      ).toEqual([]);
      expect([...allRows.values()].filter((n) => n > 1)).toEqual([]);
      // the chain is whole: the killed replica's open transaction was rolled back, its lock released
      await verifyTable('after the kill');
    },
    (KILL_SECONDS + 180) * 1000,
  );

  it('rate limits hold across replicas: a tenant gets its limit once, not once per replica', async () => {
    // the survivors stop (flushing their queues), then all three start again with a limit: the
    // killed one in its old directory, as a restarted replica would
    await Promise.all([servers[0]!.stop(), servers[1]!.stop()]);
    // each file is verified before its replica starts appending to it again
    const jsonlVerified = await Promise.all(
      [0, 1].map((replica) => auditVerify(env, join(dirs[replica]!, '.ormai', 'audit.jsonl'))),
    );
    jsonlVerified.forEach((verified, replica) => {
      report.push(
        `audit verify --jsonl (replica ${replica}'s own file): exit ${verified.code}, "${verified.output}"`,
      );
      expect(verified.code, verified.output).toBe(0);
    });
    const limited = { RELIABILITY_RATE_LIMIT: `${RATE_LIMIT}/${RATE_WINDOW_SECONDS}` };
    await Promise.all([0, 1, 2].map((replica) => startReplica(replica, limited)));

    const support = await tokenOf({ sub: '23', tenantId: 3, roles: ['support'] });
    const agent = await tokenOf({ sub: '21', tenantId: 3, roles: ['agent'] });
    const calls = Array.from({ length: REPLICAS * RATE_LIMIT }, (_, n) => ({
      replica: n % REPLICAS,
      surface: n % 2 === 0 ? ('graphql' as const) : ('mcp' as const),
      trace: newTrace(),
    }));
    const answers = await Promise.all(
      calls.map(async (call) => {
        const base = servers[call.replica]!.base;
        if (call.surface === 'graphql') {
          const r = await graphql(
            base,
            support,
            '{ customers(first: 2) { nodes { id tenantId } } }',
            {},
            call.trace.traceparent,
          );
          const error = r.body.errors?.[0]?.extensions;
          return {
            ...call,
            ok: !!r.body.data?.customers && !error,
            status: r.status,
            retryAfterHeader: r.retryAfter,
            error,
          };
        }
        const r = await mcpCall(
          base,
          agent,
          'db.query',
          { model: 'Customer', select: ['id', 'tenantId'], take: 2 },
          call.trace.traceparent,
        );
        const error = r.body.result?.isError
          ? r.body.result.structuredContent?.error
          : r.body.error;
        return {
          ...call,
          ok: r.status === 200 && !error,
          status: r.status,
          retryAfterHeader: null,
          error,
        };
      }),
    );
    // another tenant is not held back by tenant 3's limit
    const other = await graphql(
      servers[0]!.base,
      await tokenOf(principalOf('support', 2)),
      '{ customers(first: 2) { nodes { id tenantId } } }',
    );
    const served = answers.filter((a) => a.ok);
    const refused = answers.filter((a) => !a.ok);
    const rows = await settledAuditRowsByTrace(
      cluster.url,
      calls.map((c) => c.trace.traceId),
    );
    report.push(
      `rate limit: ${RATE_LIMIT} requests/${RATE_WINDOW_SECONDS} s per tenant; ${answers.length} concurrent calls of tenant 3 spread over the three replicas: ${served.length} served (${[0, 1, 2].map((r) => `replica ${r}: ${served.filter((a) => a.replica === r).length}`).join(', ')}), ${refused.length} refused ${JSON.stringify(
        refused.reduce<Record<string, number>>((codes, a) => {
          const key = `${a.surface} ${a.status} ${a.error?.code ?? 'untyped'}`;
          codes[key] = (codes[key] ?? 0) + 1;
          return codes;
        }, {}),
      )}; tenant 2 afterwards: ${other.status}; ${rows.size}/${calls.length} calls with an audit record`,
    );

    // the window starts with the burst's first call (README: Rate limits), so all of it is in one
    expect(served.length).toBe(RATE_LIMIT);
    for (const answer of refused) {
      expect(answer.error).toMatchObject({
        code: 'RATE_LIMITED',
        retryable: true,
        details: {
          limit: RATE_LIMIT,
          window: RATE_WINDOW_SECONDS,
          scope: 'tenant',
          kind: 'requests',
        },
      });
      expect(answer.error.details.retryAfter).toBeGreaterThan(0);
      if (answer.surface === 'graphql') {
        expect(answer.status).toBe(429);
        expect(Number(answer.retryAfterHeader)).toBeGreaterThan(0);
      }
    }
    expect(other.body.errors).toBeUndefined();
    expect(other.body.data.customers.nodes.length).toBeGreaterThan(0);
    // served or refused, each call is one record
    const missing = calls.filter((c) => rows.get(c.trace.traceId) !== 1);
    expect(
      missing.map((c) => `${c.surface} on replica ${c.replica}: ${rows.get(c.trace.traceId) ?? 0}`),
    ).toEqual([]);
    await verifyTable('at the end');
  }, 300_000);
});
