import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Principal } from '../policy/principal.js';
import { createMcpServer, type McpBridgeOptions } from './server.js';

export interface McpHttpOptions extends McpBridgeOptions {
  /** The principal of a request (Bearer JWT, or the app's hook); throws when unauthenticated. */
  authenticate(request: Request): Promise<Principal>;
}

/**
 * MCP over Streamable HTTP as a Web-standard handler (`Request` in, `Response` out), stateless:
 * every request is authenticated on its own (401 without a valid bearer token) and served by an MCP
 * server for that principal. Any framework that speaks fetch can mount it.
 */
export function createMcpHttpHandler(options: McpHttpOptions) {
  return async (request: Request): Promise<Response> => {
    let principal: Principal;
    try {
      principal = await options.authenticate(request);
    } catch (error) {
      const extensions = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
      return Response.json(
        {
          error: {
            code: 'AUTHENTICATION_REQUIRED',
            message: (error as Error).message,
            retryable: false,
            retry_hints: (extensions.retryHints as string[] | undefined) ?? [],
          },
        },
        { status: 401, headers: { 'www-authenticate': 'Bearer' } },
      );
    }
    // stateless: no session to stream to (GET) or end (DELETE); only POSTed messages are served
    if (request.method !== 'POST') {
      return Response.json(
        {
          jsonrpc: '2.0',
          error: {
            code: -32000,
            message: `${request.method} is not allowed: POST JSON-RPC messages`,
          },
          id: null,
        },
        { status: 405, headers: { allow: 'POST' } },
      );
    }
    const server = createMcpServer(options, principal);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request);
    } finally {
      // a JSON response is complete when handleRequest returns: nothing streams after it
      void transport.close();
      void server.close();
    }
  };
}
