// Pins OpenTelemetry tracing: with an SDK registered, a caller's `traceparent` is the parent of
// ormai's spans on both endpoints (ormai.http → graphql.execute → db.query; ormai.http →
// mcp.tool → graphql.execute → db.query), and the audit record, `x-trace-id` and the spans agree.
import { randomBytes } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tracesRequested } from '../src/observability/otel-sdk.js';
import { graphqlRequest, toolCallRequest, useOrmai } from './helpers/ormai.js';
import { DATABASE_KINDS } from './helpers/runtime.js';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();

// registered as an app embedding ormai would; no propagator on purpose: ormai reads W3C
// `traceparent` itself when the SDK leaves the API's no-op one in place
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const spansOf = (traceId: string) =>
  exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
const one = (spans: ReadableSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0]!;
};

describe.each(DATABASE_KINDS)('tracing on %s', (kind) => {
  const app = useOrmai(kind);
  beforeEach(() => exporter.reset());

  const auditTraceIds = async (traceId: string) => {
    await app.ormai.audit.flush();
    return app.sql<{ surface: string; operation: string; trace_id: string }>(
      `SELECT surface, operation, trace_id FROM ${app.ormai.runtime.tables.auditLog} WHERE trace_id = $1`,
      [traceId],
    );
  };

  /** db_query, or db.query when the tools are listed with OrmAI's names. */
  const queryToolName = async (token: string) => {
    const response = await app.ormai.fetch(
      new Request('http://127.0.0.1/mcp', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      }),
    );
    const { result } = (await response.json()) as { result: { tools: { name: string }[] } };
    exporter.reset();
    return result.tools.map((tool) => tool.name).find((tool) => /^db[._]query$/.test(tool))!;
  };

  it('a GraphQL request continues the caller trace: http → graphql.execute → db.query', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    const token = await app.token({ tenantId: 1, roles: ['agent'] });
    const response = await app.ormai.fetch(
      graphqlRequest(
        token,
        'query RecentOrders { orders(first: 3) { nodes { id total: totalCents } } }',
        {
          traceparent: `00-${traceId}-${callerSpan}-01`,
          tracestate: 'vendor=value',
        },
      ),
    );
    const body = (await response.json()) as { data?: unknown; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(response.headers.get('x-trace-id')).toBe(traceId);

    const spans = spansOf(traceId);
    const http = one(spans, 'ormai.http');
    expect(http.parentSpanContext?.spanId).toBe(callerSpan);
    expect(http.parentSpanContext?.traceState?.get('vendor')).toBe('value');
    expect(http.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/graphql',
      'http.response.status_code': 200,
    });
    expect(response.headers.get('traceparent')).toBe(
      `00-${traceId}-${http.spanContext().spanId}-01`,
    );

    const graphql = one(childrenOf(spans, http), 'graphql.execute');
    expect(graphql.attributes).toMatchObject({
      'graphql.operation.name': 'RecentOrders',
      'graphql.operation.type': 'query',
      'ormai.outcome': 'ok',
    });
    expect(graphql.events.map((event) => event.name)).toEqual([
      'graphql.parse',
      'graphql.validate',
    ]);

    const statements = childrenOf(spans, graphql);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.every((span) => span.name === 'db.query')).toBe(true);
    expect(String(statements[0]!.attributes['db.query.text'])).toMatch(
      /FROM\s+"[^"]*"?\.?"?Order"/,
    );
    expect(statements[0]!.attributes['db.system.name']).toBe('postgresql');
    // every SQL span of the trace hangs under the operation
    expect(spans.filter((span) => span.name === 'db.query')).toHaveLength(statements.length);

    expect(await auditTraceIds(traceId)).toEqual([
      expect.objectContaining({ surface: 'graphql', trace_id: traceId }),
    ]);
  });

  it('a GraphQL request refused for its token says so on its server span', async () => {
    const traceId = hex(16);
    const response = await app.ormai.fetch(
      graphqlRequest(undefined, '{ orders(first: 1) { nodes { id } } }', {
        traceparent: `00-${traceId}-${hex(8)}-01`,
      }),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get('x-trace-id')).toBe(traceId);
    // refused before its operation began: the server span says why, and nothing ran
    const spans = spansOf(traceId);
    expect(one(spans, 'ormai.http').attributes).toMatchObject({
      'http.response.status_code': 401,
      'ormai.outcome': 'error',
      'ormai.error_code': 'AUTHENTICATION_REQUIRED',
    });
    expect(spans.map((span) => span.name)).toEqual(['ormai.http']);
  });

  it('an MCP tool call continues the caller trace: http → mcp.tool → graphql.execute → db.query', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    const token = await app.token({ tenantId: 2, roles: ['agent'] });
    const name = await queryToolName(token);

    const response = await app.ormai.fetch(
      toolCallRequest(
        token,
        name,
        { model: 'Order', select: ['id', 'tenantId'], take: 5 },
        { traceparent: `00-${traceId}-${callerSpan}-01` },
      ),
    );
    const body = (await response.json()) as { result: { isError?: boolean } };
    expect(body.result.isError).toBeFalsy();

    const spans = spansOf(traceId);
    const http = one(spans, 'ormai.http');
    expect(http.parentSpanContext?.spanId).toBe(callerSpan);
    expect(http.attributes['url.path']).toBe('/mcp');
    const tool = one(childrenOf(spans, http), `mcp.tool ${name}`);
    expect(tool.attributes).toMatchObject({
      'mcp.tool.name': name,
      'ormai.outcome': 'ok',
      'ormai.row_count': 5,
    });
    const graphql = one(childrenOf(spans, tool), 'graphql.execute');
    expect(graphql.attributes['ormai.surface']).toBe('mcp');
    const statements = childrenOf(spans, graphql);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.every((span) => span.name === 'db.query')).toBe(true);

    // the tool call's one audit record carries the caller's trace id
    expect(await auditTraceIds(traceId)).toEqual([
      expect.objectContaining({ surface: 'mcp', operation: name, trace_id: traceId }),
    ]);
  });

  it('a tool call refused before it runs is a span with its error code', async () => {
    const traceId = hex(16);
    const token = await app.token({ tenantId: 2, roles: ['agent'] });
    const name = await queryToolName(token);
    const response = await app.ormai.fetch(
      toolCallRequest(
        token,
        name,
        { model: 'Order', select: ['id'], take: 'many' },
        { traceparent: `00-${traceId}-${hex(8)}-01` },
      ),
    );
    const body = (await response.json()) as {
      result: { isError?: boolean; structuredContent: { error: { code: string } } };
    };
    expect(body.result.isError).toBe(true);
    const spans = spansOf(traceId);
    const tool = one(childrenOf(spans, one(spans, 'ormai.http')), `mcp.tool ${name}`);
    expect(tool.attributes).toMatchObject({
      'ormai.outcome': 'error',
      'ormai.error_code': body.result.structuredContent.error.code,
    });
  });

  it('an MCP request refused for its token says so on its server span', async () => {
    const traceId = hex(16);
    const response = await app.ormai.fetch(
      toolCallRequest(
        'not-a-token',
        'db_query',
        { model: 'Order' },
        {
          traceparent: `00-${traceId}-${hex(8)}-01`,
        },
      ),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get('x-trace-id')).toBe(traceId);
    const spans = spansOf(traceId);
    expect(spans.map((span) => span.name)).toEqual(['ormai.http']);
    expect(spans[0]!.attributes).toMatchObject({
      'url.path': '/mcp',
      'http.response.status_code': 401,
      'ormai.error_code': 'AUTHENTICATION_REQUIRED',
    });
  });

  it('without a traceparent the server span starts the trace, and x-trace-id names it', async () => {
    const token = await app.token({ tenantId: 3, roles: ['agent'] });
    const response = await app.ormai.fetch(
      graphqlRequest(token, '{ customers(first: 1) { nodes { id } } }'),
    );
    expect(response.status).toBe(200);
    const traceId = response.headers.get('x-trace-id')!;
    const spans = spansOf(traceId);
    const http = one(spans, 'ormai.http');
    expect(http.parentSpanContext).toBeUndefined();
    expect(response.headers.get('traceparent')).toBe(
      `00-${traceId}-${http.spanContext().spanId}-01`,
    );
    expect(await auditTraceIds(traceId)).toHaveLength(1);
  });

  it('the health and metrics endpoints are traced too', async () => {
    const traceId = hex(16);
    const response = await app.ormai.fetch(
      new Request('http://127.0.0.1/healthz/live', {
        headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
      }),
    );
    expect(response.status).toBe(200);
    expect(one(spansOf(traceId), 'ormai.http').attributes['url.path']).toBe('/healthz/live');
  });

  it('a caller that does not sample its trace gets no spans', async () => {
    const traceId = hex(16);
    const token = await app.token({ tenantId: 1, roles: ['agent'] });
    const response = await app.ormai.fetch(
      graphqlRequest(token, '{ orders(first: 1) { nodes { id } } }', {
        traceparent: `00-${traceId}-${hex(8)}-00`,
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trace-id')).toBe(traceId);
    expect(response.headers.get('traceparent')).toBeNull();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('ormai serve starts the OpenTelemetry SDK when the standard variables ask', () => {
  it('reads OTEL_TRACES_EXPORTER, the OTLP endpoints and OTEL_SDK_DISABLED', () => {
    const endpoint = 'http://127.0.0.1:4318';
    expect(tracesRequested({})).toBe(false);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: 'console,zipkin' })).toBe(true);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(true);
    expect(tracesRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint })).toBe(true);
    expect(
      tracesRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }),
    ).toBe(false);
    expect(tracesRequested({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toBe(
      false,
    );
  });
});
