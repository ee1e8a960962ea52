// Pins observability as `ormai serve` ships it (dist/, the real CLI): `curl /metrics` is Prometheus
// text, and the standard OTEL_* variables make the served process export its spans over OTLP to a
// receiver this test runs, continuing the caller's trace.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedCli, serve } from './helpers/cli.js';

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** OTLP/JSON ids are hex; some encoders write base64: read either as hex. */
const hexId = (id: string | undefined) =>
  !id ? '' : /^[\da-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');

/** An OTLP/HTTP JSON trace receiver: keeps every span posted to /v1/traces, with its service. */
async function startReceiver() {
  const spans: (OtlpSpan & { service: string })[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const payload = JSON.parse(body || '{}') as {
        resourceSpans?: {
          resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
          scopeSpans?: { spans?: OtlpSpan[] }[];
        }[];
      };
      for (const resource of payload.resourceSpans ?? []) {
        const service =
          resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ??
          '';
        for (const scope of resource.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({
              name: span.name,
              traceId: hexId(span.traceId),
              spanId: hexId(span.spanId),
              parentSpanId: hexId(span.parentSpanId),
              service,
            });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('ormai serve', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-observability-'));
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let served: ServedCli;
  let base: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    served = await serve(cwd, {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    base = new URL(served.url).origin;
  }, 180_000);
  afterAll(async () => {
    await served?.stop();
    await receiver?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('prints where the metrics are and that traces are exported', () => {
    expect(served.stdout()).toMatch(new RegExp(`metrics\\s+${base}/metrics`));
    expect(served.stdout()).toMatch(/traces\s+exported as the OTEL_\* variables say/);
  });

  it('serves Prometheus text at /metrics that counts the calls made', async () => {
    const token = served.tokenOf(1, 'agent');
    const body = await served.graphql(token, 'query Served { orders(first: 1) { nodes { id } } }');
    expect(body.errors).toBeUndefined();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^# TYPE ormai_requests_total counter$/m);
    expect(text).toMatch(
      /^ormai_requests_total\{surface="graphql",operation="Served",outcome="ok",code="none"\} 1$/m,
    );
    expect(text).toMatch(/^ormai_audit_queue_depth\{sink="sql"\} \d+$/m);
    expect(text).toMatch(/^ormai_process_resident_memory_bytes \d+/m);
  });

  it('exports the spans of a request over OTLP, under the caller trace', async () => {
    const traceId = randomBytes(16).toString('hex');
    const caller = randomBytes(8).toString('hex');
    const response = await fetch(served.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${served.tokenOf(2, 'agent')}`,
        traceparent: `00-${traceId}-${caller}-01`,
      },
      body: JSON.stringify({ query: '{ customers(first: 2) { nodes { id } } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trace-id')).toBe(traceId);

    const deadline = Date.now() + 20_000;
    const ofTrace = () => receiver.spans.filter((span) => span.traceId === traceId);
    while (!ofTrace().some((span) => span.name === 'ormai.http') && Date.now() < deadline)
      await new Promise((done) => setTimeout(done, 100));
    const spans = ofTrace();
    const http = spans.find((span) => span.name === 'ormai.http');
    expect(http, JSON.stringify(receiver.spans.slice(0, 5))).toBeDefined();
    expect(http!.parentSpanId).toBe(caller);
    expect(http!.service).toBe('ormai');
    const graphql = spans.find((span) => span.name === 'graphql.execute');
    expect(graphql?.parentSpanId).toBe(http!.spanId);
    const statements = spans.filter((span) => span.name === 'db.query');
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.every((span) => span.parentSpanId === graphql!.spanId)).toBe(true);
    expect(response.headers.get('traceparent')).toBe(`00-${traceId}-${http!.spanId}-01`);
  });
});
