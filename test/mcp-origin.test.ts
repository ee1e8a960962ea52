// Pins /mcp's conformance edges in process: an Origin off the allow-list is 403 before authentication
// (DNS rebinding), CORS for allowed origins, one audit record per refused request (table and JSONL,
// counted with raw SQL, the chain still verifying), and the caller's traceparent as the trace id.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/cli/audit.js';
import { createMcpHttpHandler } from '../src/mcp-bridge/index.js';
import { originPolicy } from '../src/mcp-bridge/origin.js';
import { StartupError } from '../src/startup-error.js';
import { toolCallRequest, useOrmai } from './helpers/ormai.js';
import { DATABASE_KINDS } from './helpers/runtime.js';

const APP_ORIGIN = 'https://app.example.com';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** A JSON-RPC message POSTed to /mcp as a Streamable HTTP client sends it. */
function mcpPost(
  body: string,
  headers: Record<string, string> = {},
  url = 'http://127.0.0.1:4000/mcp',
): Request {
  return new Request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body,
  });
}

const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

describe.each(DATABASE_KINDS)('/mcp origins, refusals and traces on %s', (kind) => {
  const dir = mkdtempSync(join(tmpdir(), 'ormai-mcp-origin-'));
  const jsonlPath = join(dir, 'audit.jsonl');
  const handle = useOrmai(kind, {
    mcp: { allowedOrigins: [APP_ORIGIN] },
    audit: { sinks: ['sql', 'jsonl'], jsonlPath },
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const mcp = (request: Request) => handle.ormai.fetch(request);
  const token = () => handle.token({ sub: '7', tenantId: 1, roles: ['agent'] });
  /** Every record in the table, oldest first (raw SQL, not ormai's reader). */
  const tableRows = async () => {
    await handle.ormai.audit.flush();
    return handle.sql<{
      trace_id: string;
      surface: string;
      operation: string;
      principal_sub: string | null;
      outcome: string;
      error_code: string | null;
      reason: string | null;
    }>(
      `SELECT trace_id, surface, operation, principal_sub, outcome, error_code, reason
         FROM ${handle.ormai.runtime.tables.auditLog} ORDER BY id`,
    );
  };
  const jsonlLines = () =>
    (existsSync(jsonlPath) ? readFileSync(jsonlPath, 'utf8') : '')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { trace_id: string; error_code: string | null });

  it('answers an Origin off the list 403 before authentication, with no CORS grant', async () => {
    for (const [headers, url] of [
      [{ origin: 'https://evil.example' }],
      [{ origin: 'https://evil.example', authorization: `Bearer ${await token()}` }],
      [{ origin: 'null' }],
      // a rebinding page: its own name resolved to 127.0.0.1, the same origin by the headers
      [{ origin: 'http://evil.example:4000' }, 'http://evil.example:4000/mcp'],
    ] as [Record<string, string>, string?][]) {
      const response = await mcp(mcpPost(TOOLS_LIST, headers, url));
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toBe('Origin');
      const body = await response.json();
      expect(body).toMatchObject({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32000,
          data: { code: 'VALIDATION_ERROR', retryable: false, details: { field: 'origin' } },
        },
      });
      expect(body.error.message).toContain(headers.origin);
    }
    const preflight = await mcp(
      new Request('http://127.0.0.1:4000/mcp', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      }),
    );
    expect(preflight.status).toBe(403);
  });

  it('serves no Origin, a listed origin and its own origin on localhost, with CORS headers', async () => {
    const bearer = { authorization: `Bearer ${await token()}` };
    const plain = await mcp(mcpPost(TOOLS_LIST, bearer));
    expect(plain.status).toBe(200);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();

    for (const [origin, url] of [
      [APP_ORIGIN, undefined],
      ['http://localhost:4000', 'http://localhost:4000/mcp'],
      ['http://127.0.0.1:4000', 'http://127.0.0.1:4000/mcp'],
    ] as const) {
      const response = await mcp(mcpPost(TOOLS_LIST, { ...bearer, origin }, url));
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-expose-headers')).toBe(
        'mcp-session-id, www-authenticate, x-trace-id, traceparent',
      );
      expect(response.headers.get('vary')).toBe('Origin');
      expect((await response.json()).result.tools.length).toBeGreaterThan(0);
    }

    // a browser client may read the 401 and its challenge
    const unauthenticated = await mcp(mcpPost(TOOLS_LIST, { origin: APP_ORIGIN }));
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);

    const preflight = await mcp(
      new Request('http://127.0.0.1:4000/mcp', {
        method: 'OPTIONS',
        headers: {
          origin: APP_ORIGIN,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
        },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(Object.fromEntries(preflight.headers)).toMatchObject({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers':
        'authorization, content-type, mcp-protocol-version, mcp-session-id, last-event-id, traceparent, tracestate',
      'access-control-expose-headers': 'mcp-session-id, www-authenticate, x-trace-id, traceparent',
      vary: 'Origin',
    });
  });

  it('records each refused request once (table and JSONL), and the chain still verifies', async () => {
    const before = await tableRows();
    const linesBefore = jsonlLines().length;
    const bearer = { authorization: `Bearer ${await token()}` };
    const refusals: { request: Request; status: number; code: string; reason: string }[] = [
      {
        request: mcpPost(TOOLS_LIST, { origin: 'https://evil.example', traceparent: TRACEPARENT }),
        status: 403,
        code: 'VALIDATION_ERROR',
        reason: 'origin: ',
      },
      {
        request: mcpPost(TOOLS_LIST),
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
        reason: 'authentication: ',
      },
      {
        request: mcpPost(TOOLS_LIST, { authorization: 'Bearer not-a-token' }),
        status: 401,
        code: 'AUTHENTICATION_REQUIRED',
        reason: 'authentication: ',
      },
      {
        request: mcpPost('{"jsonrpc": "2.0", "id": 1, "method": ', bearer),
        status: 400,
        code: 'VALIDATION_ERROR',
        reason: 'protocol: Parse error',
      },
      {
        request: mcpPost(JSON.stringify({ jsonrpc: '1.0', method: 7 }), bearer),
        status: 400,
        code: 'VALIDATION_ERROR',
        reason: 'protocol: Parse error: Invalid JSON-RPC message',
      },
      {
        request: new Request('http://127.0.0.1:4000/mcp', { method: 'GET', headers: bearer }),
        status: 405,
        code: 'VALIDATION_ERROR',
        reason: 'protocol: GET is not allowed',
      },
    ];
    const traceIds: string[] = [];
    for (const refusal of refusals) {
      const response = await mcp(refusal.request);
      expect(response.status).toBe(refusal.status);
      traceIds.push(response.headers.get('x-trace-id')!);
    }
    expect(traceIds[0]).toBe(TRACE_ID);
    // not refusals: a preflight from a listed origin, and a served call (tools/list is no tool call)
    await mcp(
      new Request('http://127.0.0.1:4000/mcp', {
        method: 'OPTIONS',
        headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
      }),
    );
    await mcp(mcpPost(TOOLS_LIST, bearer));

    const added = (await tableRows()).slice(before.length);
    expect(added).toHaveLength(refusals.length);
    added.forEach((row, i) => {
      const refusal = refusals[i]!;
      expect(row).toMatchObject({
        trace_id: traceIds[i],
        surface: 'mcp',
        operation: `${refusal.request.method} /mcp`,
        outcome: 'error',
        error_code: refusal.code,
      });
      expect(row.reason).toContain(refusal.reason);
      // the principal is known only when the message was refused after authentication
      expect(row.principal_sub).toBe(refusal.status === 401 || i === 0 ? null : '7');
    });
    const lines = jsonlLines().slice(linesBefore);
    expect(lines.map((line) => [line.trace_id, line.error_code])).toEqual(
      refusals.map((refusal, i) => [traceIds[i], refusal.code]),
    );

    expect((await verifyAudit(handle.ormai.runtime)).ok).toBe(true);
    expect((await verifyAudit(undefined, jsonlPath)).ok).toBe(true);
  });

  it("takes the trace id of the caller's traceparent for the call, its audit record and x-trace-id", async () => {
    const before = (await tableRows()).length;
    const ok = await mcp(
      toolCallRequest(
        await token(),
        'db_query',
        { model: 'Order', select: ['id'], take: 1 },
        { traceparent: TRACEPARENT },
      ),
    );
    expect(ok.headers.get('x-trace-id')).toBe(TRACE_ID);
    expect((await ok.json()).result.isError).toBeFalsy();

    const failed = await mcp(
      toolCallRequest(
        await token(),
        'db_query',
        { model: 'NoSuchModel' },
        { traceparent: TRACEPARENT },
      ),
    );
    expect(failed.headers.get('x-trace-id')).toBe(TRACE_ID);
    const result = (await failed.json()).result;
    expect(result.isError).toBe(true);
    expect(result.structuredContent.trace_id).toBe(TRACE_ID);

    const added = (await tableRows()).slice(before);
    expect(added.map((row) => [row.trace_id, row.operation, row.outcome])).toEqual([
      [TRACE_ID, 'db_query', 'ok'],
      [TRACE_ID, 'db_query', 'error'],
    ]);
  });
});

describe('mcp.allowedOrigins', () => {
  const request = (origin: string, url = 'http://10.0.0.5:4000/mcp') =>
    new Request(url, { method: 'POST', headers: { origin } });

  it("'*' allows any origin; entries are compared as origins; a non-origin fails the start", () => {
    const any = originPolicy(['*']);
    expect(any.allows('https://anything.example', request('x'))).toBe(true);
    expect(any.allows('null', request('x'))).toBe(true);

    const listed = originPolicy(['https://App.Example.com:443/', 'http://localhost:5173']);
    expect(listed.allows('https://app.example.com', request('x'))).toBe(true);
    expect(listed.allows('http://localhost:5173', request('x'))).toBe(true);
    expect(listed.allows('http://app.example.com', request('x'))).toBe(false);
    expect(listed.allows('https://app.example.com.evil.example', request('x'))).toBe(false);
    // same origin by the headers on a host that is not a localhost name proves nothing
    expect(listed.allows('http://10.0.0.5:4000', request('x'))).toBe(false);
    expect(listed.allows(null, request('x'))).toBe(true);

    for (const bad of ['app.example.com', 'ftp://files.example.com', '']) {
      expect(() => originPolicy([bad])).toThrow(StartupError);
    }
  });

  it('is read by createMcpHttpHandler: a refused origin never reaches authenticate', async () => {
    let authenticated = 0;
    const handler = createMcpHttpHandler({
      execute: async () => ({ traceId: TRACE_ID }),
      policyFor: () => {
        throw new Error('not reached');
      },
      authenticate: async () => {
        authenticated++;
        throw new Error('no');
      },
      allowedOrigins: ['https://app.example.com'],
    });
    expect((await handler(mcpPost(TOOLS_LIST, { origin: 'https://evil.example' }))).status).toBe(
      403,
    );
    expect(authenticated).toBe(0);
    expect((await handler(mcpPost(TOOLS_LIST, { origin: 'https://app.example.com' }))).status).toBe(
      401,
    );
    expect(authenticated).toBe(1);
  });
});
