import {
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  readRequestBody,
  requestBodyTooLargeMessage,
} from '@modelcontextprotocol/sdk/server/requestBody.js';
import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { Response as ServedResponse } from '@whatwg-node/server';
import type { Principal } from '../policy/principal.js';
import { callTool } from './call-tool.js';
import { listTools } from './catalog.js';
import { toolResultJson } from './errors.js';
import type { McpBridgeOptions } from './options.js';
import { protocolErrorOf } from './server.js';

/**
 * tools/list and tools/call answered without the SDK's Server and transport: in the stateless
 * Streamable HTTP handler they made an MCP server, connected a transport and checked the message
 * with zod for every call (0.2–0.8 ms of CPU per db_query call, measured in process). Only a request the transport
 * would take as it is goes this way — one JSON-RPC request, its headers, method and params in the
 * plain form clients send; anything else (batches, notifications, initialize, ping, a refusal)
 * is left to the SDK, so every edge the transport and the conformance suite define stays theirs.
 */
export type DirectRequest =
  | { id: string | number; method: 'tools/list' }
  | { id: string | number; method: 'tools/call'; name: string; arguments: Record<string, unknown> };

/** What to do with a POST to /mcp: answer it directly, or hand it (or its read body) to the SDK. */
export type DirectPlan =
  | { kind: 'direct'; message: DirectRequest }
  | { kind: 'sdk'; request: Request; parsedBody?: unknown }
  | { kind: 'too-large'; response: Response };

/** `application/json`, with at most a charset: some of what the transport's media type check takes. */
const JSON_CONTENT = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;

/** The transport's own checks of the headers, passed: the body may be read here. */
function takesHeaders(request: Request): boolean {
  const accept = request.headers.get('accept') ?? '';
  const version = request.headers.get('mcp-protocol-version');
  return (
    accept.includes('application/json') &&
    accept.includes('text/event-stream') &&
    JSON_CONTENT.test(request.headers.get('content-type') ?? '') &&
    (version === null || SUPPORTED_PROTOCOL_VERSIONS.includes(version))
  );
}

/**
 * Reads a POST's body (bounded as the transport bounds it) when its headers pass, and says whether
 * it is a request answered directly. A body that is not JSON goes to the SDK as it came, for its
 * parse error.
 */
export async function planPost(request: Request): Promise<DirectPlan> {
  if (!takesHeaders(request)) return { kind: 'sdk', request };
  const body = await bodyOf(request);
  if (body.tooLarge) {
    // the transport's answer to the same body (413, JSON-RPC -32000)
    const message = requestBodyTooLargeMessage(DEFAULT_MAX_REQUEST_BODY_SIZE);
    return {
      kind: 'too-large',
      response: Response.json(
        { jsonrpc: '2.0', error: { code: -32000, message }, id: null },
        { status: 413 },
      ),
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch {
    const again = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: body.text,
    });
    return { kind: 'sdk', request: again };
  }
  const message = directRequest(parsed);
  return message ? { kind: 'direct', message } : { kind: 'sdk', request, parsedBody: parsed };
}

/**
 * The body as text, bounded as the transport bounds it. With a Content-Length within the bound
 * (node:http holds a body to its declared length) it is read whole: the server adapter's request
 * reads that faster than a stream reader; without one it is read chunk by chunk up to the bound.
 */
async function bodyOf(
  request: Request,
): Promise<{ tooLarge: true } | { tooLarge: false; text: string }> {
  const length = request.headers.get('content-length');
  if (length !== null && Number(length) <= DEFAULT_MAX_REQUEST_BODY_SIZE) {
    return { tooLarge: false, text: await request.text() };
  }
  return readRequestBody(request, DEFAULT_MAX_REQUEST_BODY_SIZE);
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOnly(value: Json, keys: readonly string[]): boolean {
  return Object.keys(value).every((key) => keys.includes(key));
}

/** One tools/list or tools/call request in the form the SDK would accept unchanged, or undefined. */
export function directRequest(raw: unknown): DirectRequest | undefined {
  if (
    !isObject(raw) ||
    raw.jsonrpc !== '2.0' ||
    !hasOnly(raw, ['jsonrpc', 'id', 'method', 'params'])
  )
    return undefined;
  const { id, method } = raw;
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  // a null where the SDK takes an object or nothing is its to refuse (as are all odd shapes)
  const params = raw.params === undefined ? {} : raw.params;
  if (!isObject(params)) return undefined;
  // a progress token asks for notifications the bridge never sends; other _meta (tasks) is the SDK's
  const meta = params._meta;
  if (meta !== undefined && !(isObject(meta) && hasOnly(meta, ['progressToken']))) return undefined;
  if (meta && !['string', 'number', 'undefined'].includes(typeof meta.progressToken))
    return undefined;
  if (method === 'tools/list') {
    const cursorOk = params.cursor === undefined || typeof params.cursor === 'string';
    return cursorOk && hasOnly(params, ['cursor', '_meta'])
      ? { id: id as string | number, method }
      : undefined;
  }
  if (method === 'tools/call') {
    const args = params.arguments === undefined ? {} : params.arguments;
    if (typeof params.name !== 'string' || !isObject(args)) return undefined;
    if (!hasOnly(params, ['name', 'arguments', '_meta'])) return undefined;
    return { id: id as string | number, method, name: params.name, arguments: args };
  }
  return undefined;
}

/**
 * The JSON-RPC answer to a direct request, as the SDK's Server would have written it. It is the
 * fetch ponyfill's Response, as /graphql's (yoga's) are: node:http writes its string body at once,
 * where a native Response's body is a stream pumped chunk by chunk (~0.5 ms of CPU for 25 KB).
 */
export async function answerDirect(
  options: McpBridgeOptions,
  principal: Principal,
  message: DirectRequest,
  traceId: string,
): Promise<Response> {
  try {
    if (message.method === 'tools/list') {
      return json({
        result: { tools: listTools(options, principal) },
        jsonrpc: '2.0',
        id: message.id,
      });
    }
    const result = await callTool(options, principal, message.name, message.arguments, {
      traceId,
    });
    // JSON.stringify({ result, jsonrpc, id }), with the rows in it serialised once
    const id = JSON.stringify(message.id);
    return jsonText(`{"result":${toolResultJson(result)},"jsonrpc":"2.0","id":${id}}`);
  } catch (thrown) {
    // the SDK's Protocol: an error with a JSON-RPC code keeps it; anything else is InternalError
    const error = protocolErrorOf(thrown) as { code?: unknown; message?: string; data?: unknown };
    return json({
      jsonrpc: '2.0',
      id: message.id,
      error: {
        code: Number.isSafeInteger(error.code) ? error.code : ErrorCode.InternalError,
        message: error.message ?? 'Internal error',
        ...(error.data !== undefined ? { data: error.data } : {}),
      },
    });
  }
}

function json(body: unknown): Response {
  return jsonText(JSON.stringify(body));
}

function jsonText(text: string): Response {
  return new ServedResponse(text, {
    headers: { 'content-type': 'application/json' },
  }) as unknown as Response;
}
