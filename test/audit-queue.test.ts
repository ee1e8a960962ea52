// Pins the fail-closed audit log through an outage long enough to fill its queue: every GraphQL
// operation and MCP tool call over HTTP is then refused with the typed, retryable 503 (never served
// unrecorded, never an untyped 500 or a protocol error), and once the sink is back the records it
// accepted are written and calls are served again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { AuditLog, NOT_RECORDED_MESSAGE } from '../src/audit/audit-log.js';
import { MemoryAuditSink } from '../src/audit/sinks.js';
import { createMcpHttpHandler } from '../src/mcp-bridge/index.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { auditToolCall } from '../src/server/audit-setup.js';
import { signToken } from '../src/server/auth.js';
import { createGateway } from '../src/server/gateway.js';
import { type RunningServer, startHttpServer } from '../src/server/http-server.js';
import { createLogger } from '../src/server/logger.js';
import { auditEntry } from './helpers/audit.js';
import { type Call, JWT_SECRET, judge, LEAK } from './reliability/load.js';

const MAX_QUEUE = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the audit queue fills while its sink is down', () => {
  let runtime: Runtime;
  let server: RunningServer;
  const sink = new MemoryAuditSink();
  const audit = new AuditLog({ sinks: [sink], maxQueue: MAX_QUEUE });
  const calls: Call[] = [];

  beforeAll(async () => {
    runtime = await openRuntime(saasApp, { dataDir: 'memory://', applyMigrations: true });
    const logger = createLogger('silent');
    const gateway = createGateway({ runtime, jwtSecret: JWT_SECRET, logger, audit });
    server = await startHttpServer({
      gateway,
      runtime,
      logger,
      audit,
      port: 0,
      mcp: createMcpHttpHandler({
        execute: gateway.execute,
        policyFor: gateway.policyFor,
        authenticate: gateway.authenticate,
        onToolCall: auditToolCall(audit, gateway.policyFor),
      }),
    });
    const token = await signToken(
      { sub: '11', tenantId: 2, roles: ['admin'] },
      { secret: JWT_SECRET },
    );
    calls.push(
      {
        surface: 'graphql',
        label: 'graphql customers',
        tenantId: 2,
        token,
        body: JSON.stringify({ query: '{ customers(first: 2) { nodes { id tenantId } } }' }),
      },
      {
        surface: 'mcp',
        label: 'mcp db.query',
        tenantId: 2,
        token,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'db.query',
            arguments: { model: 'Order', select: ['id', 'tenantId'], take: 2 },
          },
        }),
      },
    );
  });

  afterAll(async () => {
    await server?.close();
    await runtime?.close();
  });

  async function send(call: Call) {
    const response = await fetch(`${server.url}/${call.surface}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${call.token}`,
      },
      body: call.body,
    });
    const text = await response.text();
    return { status: response.status, text, ...judge(call, response.status, text) };
  }

  it('refuses every call with the typed 503 once the queue is full, and serves again after it drains', async () => {
    for (const call of calls) expect((await send(call)).ok).toBe(true);
    await audit.flush();
    expect(sink.records).toHaveLength(calls.length);

    sink.failing = true;
    // the log learns of the failure from a write: this call is served, its record waits in the queue
    expect((await send(calls[0]!)).ok).toBe(true);
    for (let wait = 0; audit.available() && wait < 40; wait++) await sleep(50);
    expect(audit.available()).toBe(false);
    const health = async () => (await fetch(`${server.url}/healthz`)).status;
    expect(await health()).toBe(503);
    // well past the queue's capacity: the first ones are refused and queued, the rest find it full
    const refused = [];
    for (let round = 0; round < MAX_QUEUE; round++) {
      for (const call of calls) refused.push({ surface: call.surface, ...(await send(call)) });
    }
    expect(audit.stats()[0]!.pending).toBe(MAX_QUEUE);
    // the calls that found the queue full say they have no record, and the log counts them
    const unrecorded = refused.filter((answer) => answer.error?.message === NOT_RECORDED_MESSAGE);
    expect(unrecorded).toHaveLength(refused.length - (MAX_QUEUE - 1));
    expect(new Set(unrecorded.map((answer) => answer.surface))).toEqual(
      new Set(['graphql', 'mcp']),
    );
    expect(audit.refusedUnrecorded).toBe(unrecorded.length);
    for (const answer of refused) {
      expect(answer.ok).toBe(false);
      expect(answer.status).toBe(answer.surface === 'graphql' ? 503 : 200);
      expect(answer.error).toMatchObject({ code: 'INTERNAL_ERROR', retryable: true });
      expect(answer.text).not.toMatch(LEAK);
      expect(answer.text).not.toMatch(/AuditUnavailableError|queue/);
    }

    sink.failing = false;
    await audit.flush();
    expect(await health()).toBe(200);
    // the records accepted while it was down are written, nothing beyond the queue's capacity
    expect(sink.records).toHaveLength(calls.length + MAX_QUEUE);
    for (const call of calls) expect((await send(call)).ok).toBe(true);
    await audit.flush();
    expect(sink.records).toHaveLength(2 * calls.length + MAX_QUEUE);
  });
});

describe('durable reads: a call is answered only once its record is written', () => {
  const entry = (traceId: string) => auditEntry({ trace_id: traceId });

  it('waits for every sink, and refuses (rejects) when the record is not written in time', async () => {
    const fast = new MemoryAuditSink();
    const slow = new MemoryAuditSink();
    slow.failing = true;
    const audit = new AuditLog({ sinks: [fast, slow], durableReads: true });
    let settled: string | undefined;
    const waiting = audit.acceptCall(entry('a'.repeat(32)));
    expect(waiting).toBeInstanceOf(Promise);
    void waiting!.then(
      () => (settled = 'written'),
      () => (settled = 'refused'),
    );
    await sleep(150);
    // one sink wrote it, the other keeps retrying: not answered yet
    expect(fast.records).toHaveLength(1);
    expect(settled).toBeUndefined();
    slow.failing = false;
    await waiting;
    expect(slow.records.map((r) => r.trace_id)).toEqual(['a'.repeat(32)]);

    slow.failing = true;
    await expect(audit.record(entry('b'.repeat(32)), { timeoutMs: 200 })).rejects.toThrow(
      'not written in time',
    );
    slow.failing = false;
    await audit.close();
    // the record that timed out was kept and written later, never dropped
    expect(slow.records.map((r) => r.trace_id)).toContain('b'.repeat(32));
  });

  it('without durableReads a read is queued and nothing is awaited', () => {
    const audit = new AuditLog({ sinks: [new MemoryAuditSink()] });
    expect(audit.acceptCall(entry('c'.repeat(32)))).toBeUndefined();
  });
});
