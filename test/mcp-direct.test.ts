// Pins /mcp's direct path for tools/list and tools/call: its answers equal the SDK transport's
// (status, headers, JSON body), and every message it does not take as it is (headers, batches, notifications,
// initialize, ping, malformed JSON-RPC, a body over the bound) gets the transport's answer and,
// when refused, one audit event. One database kind: the path is the same over both.
import { describe, expect, it } from 'vitest';
import { createMcpHttpHandler, type RefusedCallEvent } from '../src/mcp-bridge/index.js';
import { useOrmai } from './helpers/ormai.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;
const ACCEPT = 'application/json, text/event-stream';
/** A media type parameter the direct path leaves to the SDK, which reads the body as JSON anyway. */
const VIA_SDK = 'application/json; profile="via-sdk"';

function post(body: string, headers: Record<string, string> = {}): Request {
  return new Request('http://127.0.0.1:4000/mcp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body,
  });
}

const rpc = (id: number | string, method: string, params?: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) });

describe('/mcp direct tools/list and tools/call', () => {
  const handle = useOrmai('pglite');
  const bearer = async () => ({
    authorization: `Bearer ${await handle.token({ sub: '7', tenantId: 1, roles: ['agent'] })}`,
    traceparent: TRACEPARENT,
  });
  const answer = async (request: Request) => {
    const response = await handle.ormai.fetch(request);
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      trace: response.headers.get('x-trace-id'),
      body: JSON.parse(text) as unknown,
      text,
    };
  };

  it('answers as the SDK transport does: results, tool errors, an unknown tool, string ids', async () => {
    const messages = [
      rpc(1, 'tools/list'),
      rpc('a-1', 'tools/list', { cursor: 'ignored' }),
      rpc(2, 'tools/call', {
        name: 'db_query',
        arguments: { model: 'Order', select: ['id', 'status'], take: 3 },
      }),
      rpc(3, 'tools/call', { name: 'db.get', arguments: { model: 'Order', id: 1 } }),
      rpc(4, 'tools/call', { name: 'db_query', arguments: { model: 'NoSuchModel' } }),
      rpc(5, 'tools/call', { name: 'db_query', arguments: { model: 'Order', take: 0 } }),
      rpc(6, 'tools/call', { name: 'db_drop_everything', arguments: {} }),
      rpc(7, 'tools/call', { name: 'db_describe_schema', _meta: { progressToken: 1 } }),
    ];
    for (const message of messages) {
      const { text: directText, ...direct } = await answer(post(message, await bearer()));
      const { text: sdkText, ...sdk } = await answer(
        post(message, { ...(await bearer()), 'content-type': VIA_SDK }),
      );
      expect(direct, message).toEqual(sdk);
      expect(direct.status).toBe(200);
      expect(direct.trace).toBe(TRACE_ID);
      // a result is written byte for byte as the SDK writes it, though its rows are serialised
      // once for both the text block and structuredContent (errors.ts toolResultJson)
      const { result } = direct.body as { result?: { isError?: boolean } };
      if (result && !result.isError) expect(directText, message).toBe(sdkText);
    }
    // odd shapes are the SDK's to judge, whichever way the handler first looks at them
    for (const message of [
      rpc(8, 'tools/list', null),
      rpc(9, 'tools/call', { name: 'db_query', arguments: null }),
      rpc(10, 'tools/call', { name: 'db_describe_schema', _meta: { progressToken: {} } }),
    ]) {
      const { text: _direct, ...direct } = await answer(post(message, await bearer()));
      const { text: _sdk, ...sdk } = await answer(
        post(message, { ...(await bearer()), 'content-type': VIA_SDK }),
      );
      expect(direct, message).toEqual(sdk);
      expect(JSON.stringify(direct.body), message).toMatch(/"error"/);
    }
    const unknown = (await answer(post(messages[6]!, await bearer()))).body as {
      error: { code: number; message: string };
    };
    expect(unknown.error.code).toBe(-32602);
    expect(unknown.error.message).toMatch(/TOOL_NOT_FOUND/);
  });

  it('leaves every other message to the SDK: batches, notifications, initialize, ping', async () => {
    const headers = await bearer();
    const batch = await answer(post(`[${rpc(1, 'tools/list')},${rpc(2, 'ping')}]`, headers));
    expect(batch.status).toBe(200);
    const answers = batch.body as { id: number; result: Record<string, unknown> }[];
    expect(answers.map((item) => item.id)).toEqual([1, 2]);
    expect((answers[0]!.result.tools as unknown[]).length).toBeGreaterThan(0);
    expect(answers[1]!.result).toEqual({});

    const notification = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const accepted = await handle.ormai.fetch(post(notification, headers));
    expect([accepted.status, await accepted.text()]).toEqual([202, '']);

    const initialize = await answer(
      post(
        rpc(3, 'initialize', {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 't', version: '1' },
        }),
        headers,
      ),
    );
    expect((initialize.body as any).result.serverInfo.name).toBe('ormai');

    // params the SDK checks itself: a tool name that is no string is InvalidParams
    const malformed = await answer(post(rpc(4, 'tools/call', { name: 7 }), headers));
    expect(malformed.status).toBe(200);
    expect((malformed.body as any).error.code).toBe(-32602);
  });

  it('refuses as the transport does, each refusal reported once with its JSON-RPC code', async () => {
    const events: RefusedCallEvent[] = [];
    const handler = createMcpHttpHandler({
      execute: async () => {
        throw new Error('no tool runs in this test');
      },
      policyFor: () => {
        throw new Error('no tool is listed in this test');
      },
      authenticate: async () => ({ sub: '7', tenantId: 1, roles: ['agent'], claims: {} }),
      onRefused: (event) => events.push(event),
    });
    const list = rpc(1, 'tools/list');
    const refusals: [Request, number, number, RegExp][] = [
      [post(list, { accept: 'application/json' }), 406, -32000, /Not Acceptable/],
      [post(list, { 'content-type': 'text/plain' }), 415, -32000, /Unsupported Media Type/],
      [post('{"jsonrpc": "2.0", "id": 1, "method": '), 400, -32700, /Invalid JSON$/],
      [post(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 7 })), 400, -32700, /JSON-RPC/],
      [post(list, { 'mcp-protocol-version': '1999-01-01' }), 400, -32000, /protocol version/],
      [post(`[${Array(101).fill(list).join(',')}]`), 400, -32600, /Batch/],
      [post(`{"pad": "${'x'.repeat(4 * 1024 * 1024)}"}`), 413, -32000, /Payload Too Large/],
    ];
    for (const [request, status, code, message] of refusals) {
      const response = await handler(request);
      expect(response.status, message.source).toBe(status);
      const body = (await response.json()) as { error: { code: number; message: string } };
      expect(body.error.code, message.source).toBe(code);
      expect(body.error.message).toMatch(message);
    }
    expect(events.map((event) => [event.status, event.jsonRpcCode, event.principal?.sub])).toEqual(
      refusals.map(([, status, code]) => [status, code, '7']),
    );
  });
});
