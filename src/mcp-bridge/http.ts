import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { requestTraceId } from '../observability/tracing.js';
import type { Principal } from '../policy/principal.js';
import { refusalInitOf } from '../server/oauth.js';
import { answerDirect, planPost } from './direct-rpc.js';
import type { McpBridgeOptions } from './options.js';
import { corsHeaders, originPolicy, preflightResponse } from './origin.js';
import { createMcpServer } from './server.js';

/** Why `/mcp` refused a request before any tool ran. */
export type RefusalReason = 'authentication' | 'origin' | 'protocol';

/** A request `/mcp` refused: the audit hook's input (one record each). */
export interface RefusedCallEvent {
  reason: RefusalReason;
  /** The contract code of the refusal: AUTHENTICATION_REQUIRED, or VALIDATION_ERROR. */
  code: string;
  /** What the caller was told. */
  message: string;
  /** The HTTP status it was told with. */
  status: number;
  /** The JSON-RPC error code, for a malformed request (-32700 parse error, -32600 …). */
  jsonRpcCode?: number;
  /** The request's W3C trace id (`traceparent`), as sent back in `x-trace-id`. */
  traceId: string;
  /** Known when the refusal came after authentication (a malformed message). */
  principal?: Principal;
  durationMs: number;
  request: Request;
}

export interface McpHttpOptions extends McpBridgeOptions {
  /** The principal of a request (Bearer JWT, or the app's hook); throws when unauthenticated. */
  authenticate(request: Request): Promise<Principal>;
  /**
   * Browser origins that may call (`mcp.allowedOrigins`; `'*'` for any). A request without
   * `Origin` is served, and so is the server's own origin on a localhost name; any other → 403.
   */
  allowedOrigins?: readonly string[];
  /** Called once per refused request (origin, authentication, malformed message): the audit log. */
  onRefused?(event: RefusedCallEvent): void;
}

/**
 * MCP over Streamable HTTP as a Web-standard handler (`Request` in, `Response` out), stateless:
 * the browser origin is checked first (403, before authentication, so a rebinding page learns
 * nothing), then every request is authenticated on its own (401 without a valid bearer token) and
 * served for that principal: a plain tools/list or tools/call directly (direct-rpc.ts), any other
 * message by the SDK's Server and transport. Refusals are reported to `onRefused`; every answer
 * carries the request's trace id in `x-trace-id`. Any framework that speaks fetch can mount it.
 */
export function createMcpHttpHandler(options: McpHttpOptions) {
  const origins = originPolicy(options.allowedOrigins);
  return async (request: Request): Promise<Response> => {
    const started = performance.now();
    const traceId = requestTraceId(request);
    const origin = request.headers.get('origin');
    const allowed = origins.allows(origin, request);
    const refused = (
      response: Response,
      event: Omit<RefusedCallEvent, 'traceId' | 'durationMs' | 'request' | 'status'>,
    ) => {
      try {
        options.onRefused?.({
          ...event,
          status: response.status,
          traceId,
          durationMs: performance.now() - started,
          request,
        });
      } catch {
        // the refusal stands whether or not it could be recorded (the hook logs its failures)
      }
      return response;
    };
    const answer = (response: Response) => {
      response.headers.set('x-trace-id', traceId);
      for (const [name, value] of Object.entries(corsHeaders(allowed ? origin : null)))
        response.headers.set(name, value);
      return response;
    };

    if (!allowed) {
      const message = `the origin ${origin} may not call this MCP server`;
      return answer(
        refused(
          jsonRpcRefusal(403, message, {
            code: 'VALIDATION_ERROR',
            hints: [
              "add the page's origin to mcp.allowedOrigins in the ormai config, if it is yours",
            ],
            details: { field: 'origin', origin },
          }),
          { reason: 'origin', code: 'VALIDATION_ERROR', message },
        ),
      );
    }
    // a preflight carries no credentials: answered before authentication
    if (request.method === 'OPTIONS') return answer(preflightResponse(origin));

    let principal: Principal;
    try {
      principal = await options.authenticate(request);
    } catch (error) {
      const extensions = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
      const message = (error as Error).message;
      // an identity provider that does not answer is the server's problem (503, retryable)
      const code = (extensions.code as string | undefined) ?? 'AUTHENTICATION_REQUIRED';
      return answer(
        refused(
          Response.json(
            {
              error: {
                code,
                message,
                retryable: extensions.retryable === true,
                retry_hints: (extensions.retryHints as string[] | undefined) ?? [],
              },
            },
            refusalInitOf(error),
          ),
          { reason: 'authentication', code, message },
        ),
      );
    }
    // stateless: no session to stream to (GET) or end (DELETE); only POSTed messages are served
    if (request.method !== 'POST') {
      const message = `${request.method} is not allowed: POST JSON-RPC messages`;
      return answer(
        refused(
          jsonRpcRefusal(
            405,
            message,
            { code: 'VALIDATION_ERROR', hints: ['POST JSON-RPC messages to this URL'] },
            { allow: 'POST' },
          ),
          { reason: 'protocol', code: 'VALIDATION_ERROR', message, principal },
        ),
      );
    }
    const plan = await planPost(request);
    const response =
      plan.kind === 'direct'
        ? await answerDirect(options, principal, plan.message, traceId)
        : plan.kind === 'too-large'
          ? plan.response
          : await viaSdk(options, principal, traceId, plan.request, plan.parsedBody);
    // the transport refuses what is not a JSON-RPC message it can take (bad JSON, wrong headers)
    if (response.status >= 400) {
      const error = await jsonRpcErrorOf(response);
      refused(response, {
        reason: 'protocol',
        code: 'VALIDATION_ERROR',
        message: error.message,
        ...(error.code !== undefined ? { jsonRpcCode: error.code } : {}),
        principal,
      });
    }
    return answer(response);
  };
}

/** A message served by the SDK's Server over its Streamable HTTP transport (JSON responses). */
async function viaSdk(
  options: McpBridgeOptions,
  principal: Principal,
  traceId: string,
  request: Request,
  parsedBody: unknown,
): Promise<Response> {
  const server = createMcpServer(options, principal, { traceId });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request, parsedBody === undefined ? {} : { parsedBody });
  } finally {
    // a JSON response is complete when handleRequest returns: nothing streams after it
    void transport.close();
    void server.close();
  }
}

/** A refusal as a JSON-RPC error; `data` carries the contract's error (code, retryable, hints). */
function jsonRpcRefusal(
  status: number,
  message: string,
  error: { code: string; hints: string[]; details?: Record<string, unknown> },
  headers: Record<string, string> = {},
): Response {
  return Response.json(
    {
      jsonrpc: '2.0',
      error: {
        code: -32000,
        message,
        data: {
          code: error.code,
          retryable: false,
          retry_hints: error.hints,
          ...(error.details ? { details: error.details } : {}),
        },
      },
      id: null,
    },
    { status, headers },
  );
}

/** The JSON-RPC error of a refusal the SDK's transport wrote (its body is small JSON). */
async function jsonRpcErrorOf(response: Response): Promise<{ code?: number; message: string }> {
  try {
    const body = (await response.clone().json()) as {
      error?: { code?: unknown; message?: unknown };
    };
    return {
      ...(typeof body.error?.code === 'number' ? { code: body.error.code } : {}),
      message:
        typeof body.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`,
    };
  } catch {
    return { message: `HTTP ${response.status}` };
  }
}
