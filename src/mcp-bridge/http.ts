import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Principal } from '../policy/principal.js';
import { createMcpServer, type McpBridgeOptions } from './server.js';

export interface McpHttpOptions extends McpBridgeOptions {
  /** The principal of a request (Bearer JWT, or the app's hook); throws when unauthenticated. */
  authenticate(request: Request): Promise<Principal>;
}

/**
 * MCP over Streamable HTTP at `/mcp`, stateless: every request is authenticated on its own (401
 * without a valid bearer token) and served by an MCP server for that principal.
 */
export function createMcpHttpHandler(options: McpHttpOptions) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    let principal: Principal;
    try {
      principal = await options.authenticate(toRequest(req));
    } catch (error) {
      const extensions = (error as { extensions?: Record<string, unknown> }).extensions ?? {};
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end(
        JSON.stringify({
          error: {
            code: 'AUTHENTICATION_REQUIRED',
            message: (error as Error).message,
            retryable: false,
            retry_hints: (extensions.retryHints as string[] | undefined) ?? [],
          },
        }),
      );
      return;
    }
    // stateless: no session to stream to (GET) or end (DELETE); only POSTed messages are served
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'POST' }).end(
        JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32000, message: `${req.method} is not allowed: POST JSON-RPC messages` },
          id: null,
        }),
      );
      return;
    }
    const server = createMcpServer(options, principal);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
}

function toRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) headers.set(name, value.join(', '));
  }
  return new Request(`http://ormai.local${req.url ?? '/mcp'}`, { headers });
}
