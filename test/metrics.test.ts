// Pins GET /metrics: Prometheus text whose counters move by exactly the calls made (checked against
// the audit log's own rows), the gauges ormai reports, and who may scrape (loopback by default, a
// Bearer token, an allow-list); /healthz/live and /healthz/ready.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrmaiMetrics } from '../src/observability/metrics.js';
import {
  createMetricsEndpoint,
  resolveMetricsAccess,
} from '../src/observability/metrics-endpoint.js';
import { listen, type RunningServer } from '../src/server/http-server.js';
import { type OrmaiHandle, useOrmai } from './helpers/ormai.js';
import { DATABASE_KINDS } from './helpers/runtime.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[key!] = value!;
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the sample with exactly these labels (0 when absent: a counter not yet moved). */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = samples.find(
    (sample) =>
      sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted,
  );
  return found?.value ?? 0;
}

const mcpCall = (url: string, token: string, name: string, args: Record<string, unknown>) =>
  fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name, arguments: args },
    }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));

const graphql = (url: string, token: string | undefined, query: string) =>
  fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));

/** ormai.fetch on a real socket (the peer address is the socket's). */
function useServer(app: OrmaiHandle): { url: string } {
  const handle = { url: '' };
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await listen(app.ormai.fetch, { port: 0, host: '127.0.0.1' });
    handle.url = server.url;
  });
  afterAll(() => server?.close());
  return handle;
}

describe.each(DATABASE_KINDS)('/metrics on %s', (kind) => {
  const app = useOrmai(kind);
  const server = useServer(app);

  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await response.text());
  };
  const auditCounts = async () => {
    await app.ormai.audit.flush();
    const rows = await app.sql<{ surface: string; n: number }>(
      `SELECT surface, count(*)::int AS n FROM ${app.ormai.runtime.tables.auditLog} GROUP BY surface`,
    );
    return Object.fromEntries(rows.map((row) => [row.surface, row.n]));
  };
  const toolName = async (token: string) => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    const { result } = (await response.json()) as { result: { tools: { name: string }[] } };
    return result.tools.map((tool) => tool.name).find((name) => /^db[._]query$/.test(name))!;
  };

  it('counts GraphQL operations, MCP tool calls and budget refusals exactly', async () => {
    const agent = await app.token({ tenantId: 1, roles: ['agent'] });
    const tool = await toolName(agent);
    const before = await scrape();
    const auditBefore = await auditCounts();

    for (let i = 0; i < 2; i++) {
      const ok = await graphql(
        server.url,
        agent,
        'query Recent { orders(first: 2) { nodes { id } } }',
      );
      expect(ok.body.errors).toBeUndefined();
    }
    const refused = await graphql(
      server.url,
      undefined,
      'query Recent { orders(first: 2) { nodes { id } } }',
    );
    expect(refused.status).toBe(401);
    const tooMany = await graphql(
      server.url,
      agent,
      'query Big { orders(first: 5000) { nodes { id } } }',
    );
    expect(tooMany.body.errors[0].extensions).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budget: 'max_rows' },
    });
    for (let i = 0; i < 2; i++) {
      const call = await mcpCall(server.url, agent, tool, {
        model: 'Order',
        select: ['id'],
        take: 3,
      });
      expect(call.body.result.isError).toBeFalsy();
    }
    const overBudget = await mcpCall(server.url, agent, tool, {
      model: 'Order',
      select: ['id'],
      take: 5000,
    });
    expect(overBudget.body.result.structuredContent.error.code).toBe('QUERY_BUDGET_EXCEEDED');
    const unauthenticated = await mcpCall(server.url, 'not-a-token', tool, { model: 'Order' });
    expect(unauthenticated.status).toBe(401);

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    const requests = (labels: Record<string, string>) => moved('ormai_requests_total', labels);

    expect(requests({ surface: 'graphql', operation: 'Recent', outcome: 'ok', code: 'none' })).toBe(
      2,
    );
    expect(
      // refused before its body is read: its name is unknown, as in its audit record
      requests({
        surface: 'graphql',
        operation: 'unknown',
        outcome: 'error',
        code: 'AUTHENTICATION_REQUIRED',
      }),
    ).toBe(1);
    expect(
      requests({
        surface: 'graphql',
        operation: 'Big',
        outcome: 'error',
        code: 'QUERY_BUDGET_EXCEEDED',
      }),
    ).toBe(1);
    expect(requests({ surface: 'mcp', operation: tool, outcome: 'ok', code: 'none' })).toBe(2);
    expect(
      requests({
        surface: 'mcp',
        operation: tool,
        outcome: 'error',
        code: 'QUERY_BUDGET_EXCEEDED',
      }),
    ).toBe(1);
    expect(
      requests({
        surface: 'mcp',
        operation: 'unknown',
        outcome: 'error',
        code: 'AUTHENTICATION_REQUIRED',
      }),
    ).toBe(1);
    // one refusal per surface, each naming the budget
    expect(moved('ormai_budget_refusals_total', { budget: 'max_rows' })).toBe(2);

    const observed = (surface: string, outcome: string) =>
      moved('ormai_request_duration_seconds_count', { surface, outcome });
    expect([observed('graphql', 'ok'), observed('graphql', 'error')]).toEqual([2, 2]);
    expect([observed('mcp', 'ok'), observed('mcp', 'error')]).toEqual([2, 2]);
    expect(
      moved('ormai_request_duration_seconds_bucket', { surface: 'mcp', outcome: 'ok', le: '+Inf' }),
    ).toBe(2);
    expect(moved('ormai_http_responses_total', { endpoint: 'graphql', status: '401' })).toBe(1);
    expect(moved('ormai_http_responses_total', { endpoint: 'mcp', status: '200' })).toBe(3);
    expect(moved('ormai_http_responses_total', { endpoint: 'mcp', status: '401' })).toBe(1);

    // every counted request is one audit record, on both surfaces
    const auditAfter = await auditCounts();
    const total = (samples: Sample[], surface: string) =>
      samples
        .filter((s) => s.name === 'ormai_requests_total' && s.labels.surface === surface)
        .reduce((sum, s) => sum + s.value, 0);
    for (const surface of ['graphql', 'mcp']) {
      expect(total(after, surface) - total(before, surface)).toBe(
        (auditAfter[surface] ?? 0) - (auditBefore[surface] ?? 0),
      );
    }
  });

  it('reports the audit queue, the schema cache, the pool and the process', async () => {
    await app.ormai.audit.flush();
    const before = await scrape();
    expect(sampleValue(before, 'ormai_audit_queue_depth', { sink: 'sql' })).toBe(0);
    expect(sampleValue(before, 'ormai_audit_sink_up', { sink: 'sql' })).toBe(1);
    const cached = sampleValue(before, 'ormai_schema_cache_size');
    expect(cached).toBe(app.ormai.gateway.schemaCacheSize);

    // a role set not served yet builds one schema; serving it again builds none
    const admin = await app.token({ tenantId: 2, roles: ['admin', 'support'] });
    for (let i = 0; i < 2; i++) {
      const answer = await graphql(server.url, admin, '{ customers(first: 1) { nodes { id } } }');
      expect(answer.body.errors).toBeUndefined();
    }
    expect(sampleValue(await scrape(), 'ormai_schema_cache_size')).toBe(cached + 1);

    const pool = app.ormai.runtime.db.pool;
    const names = new Set(before.map((sample) => sample.name));
    if (pool) {
      expect(sampleValue(before, 'ormai_db_pool_connections')).toBeGreaterThan(0);
      expect(names).toContain('ormai_db_pool_idle_connections');
      expect(names).toContain('ormai_db_pool_waiting_requests');
    } else {
      // the embedded database is one connection, not a pool
      expect([...names].some((name) => name.startsWith('ormai_db_pool_'))).toBe(false);
    }
    expect(names).toContain('ormai_process_cpu_user_seconds_total');
    expect(names).toContain('ormai_nodejs_eventloop_lag_seconds');
  });

  it('serves the host itself, and refuses a peer it cannot see', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    // mounted as a fetch handler without node:http's socket, the peer is unknown: refused
    const response = await app.ormai.fetch(new Request('http://ormai.test/metrics'));
    expect(response.status).toBe(403);
    const body = (await response.json()) as any;
    expect(body.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', retryable: false });
    expect(body.errors[0].extensions.retryHints.join(' ')).toMatch(/ORMAI_METRICS_TOKEN/);
    // POST is not a scrape
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('answers /healthz/live always and /healthz/ready from the database and the audit log', async () => {
    const live = await fetch(`${server.url}/healthz/live`);
    expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${server.url}/healthz/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok' });
    const healthz = await fetch(`${server.url}/healthz`);
    expect(healthz.status).toBe(200);
  });
});

describe('who may scrape /metrics', () => {
  const metrics = new OrmaiMetrics({}, { processMetrics: false });
  const peer = (address: string) => ({ req: { socket: { remoteAddress: address } } });
  const get = (headers: Record<string, string> = {}) =>
    new Request('http://ormai.test/metrics', { headers });

  it('without a token: loopback only (IPv4, IPv6 and IPv4-mapped)', async () => {
    const endpoint = createMetricsEndpoint(metrics, resolveMetricsAccess(undefined, {}));
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect((await endpoint(get(), peer(address))).status, address).toBe(200);
    for (const address of ['10.0.0.7', '::ffff:10.0.0.7', '2001:db8::1'])
      expect((await endpoint(get(), peer(address))).status, address).toBe(403);
    expect((await endpoint(get())).status).toBe(403);
  });

  it('with a token: any address that sends it, 401 otherwise', async () => {
    const endpoint = createMetricsEndpoint(metrics, resolveMetricsAccess({ token: 's3cret' }, {}));
    const ok = await endpoint(get({ authorization: 'Bearer s3cret' }), peer('10.0.0.7'));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP ormai_requests_total/m);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 's3cret' },
    ];
    for (const headers of attempts) {
      const refused = await endpoint(get(headers), peer('127.0.0.1'));
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await refused.json()) as any).errors[0].extensions.code).toBe(
        'AUTHENTICATION_REQUIRED',
      );
    }
  });

  it('with a token and an allow-list: both', async () => {
    const endpoint = createMetricsEndpoint(
      metrics,
      resolveMetricsAccess({ token: 's3cret', allowFrom: ['10.0.0.0/8', '2001:db8::/32'] }, {}),
    );
    const bearer = { authorization: 'Bearer s3cret' };
    expect((await endpoint(get(bearer), peer('10.200.0.1'))).status).toBe(200);
    expect((await endpoint(get(bearer), peer('2001:db8::5'))).status).toBe(200);
    expect((await endpoint(get(bearer), peer('192.168.0.1'))).status).toBe(403);
    expect((await endpoint(get(bearer), peer('127.0.0.1'))).status).toBe(403);
    expect((await endpoint(get(), peer('10.200.0.1'))).status).toBe(401);
  });

  it("'*' opens it to any address; ORMAI_METRICS_TOKEN overrides the config's token", async () => {
    const open = createMetricsEndpoint(metrics, resolveMetricsAccess({ allowFrom: ['*'] }, {}));
    expect((await open(get())).status).toBe(200);
    const endpoint = createMetricsEndpoint(
      metrics,
      resolveMetricsAccess({ token: 'from-config' }, { ORMAI_METRICS_TOKEN: 'from-env' }),
    );
    expect((await endpoint(get({ authorization: 'Bearer from-env' }))).status).toBe(200);
    expect((await endpoint(get({ authorization: 'Bearer from-config' }))).status).toBe(401);
  });

  it('refuses a malformed allowFrom entry at start', () => {
    for (const entry of ['localhost', '10.0.0.0/33', '::1/129', '10.0.0.1/x']) {
      expect(() => resolveMetricsAccess({ allowFrom: [entry] }, {}), entry).toThrow(
        expect.objectContaining({ code: 'METRICS_ALLOW_FROM_INVALID' }),
      );
    }
  });

  it('caps operation names: a client inventing names cannot grow the series', async () => {
    const capped = new OrmaiMetrics({}, { processMetrics: false, maxOperations: 3 });
    for (let i = 0; i < 10; i++) capped.request('graphql', `Op${i}`, 'ok', undefined, 0.001);
    capped.request('graphql', 'query', 'ok', undefined, 0.001);
    capped.request('graphql', 'not a name!', 'ok', undefined, 0.001);
    const samples = parseMetrics(await capped.scrape()).filter(
      (sample) => sample.name === 'ormai_requests_total',
    );
    expect(Object.fromEntries(samples.map((s) => [s.labels.operation, s.value]))).toEqual({
      Op0: 1,
      Op1: 1,
      Op2: 1,
      other: 8,
      query: 1,
    });
  });
});

describe('metrics disabled', () => {
  const app = useOrmai('pglite', { metrics: { enabled: false } });

  it('serves no /metrics and counts nothing', async () => {
    expect(app.ormai.metrics).toBeUndefined();
    const response = await app.ormai.fetch(new Request('http://ormai.test/metrics'));
    expect(response.status).toBe(404);
    const token = await app.token({ tenantId: 1, roles: ['agent'] });
    const answer = await app.ormai.fetch(
      new Request('http://ormai.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ orders(first: 1) { nodes { id } } }' }),
      }),
    );
    expect(answer.status).toBe(200);
  });
});
