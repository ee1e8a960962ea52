import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolResultSchema,
  ListToolsRequestSchema,
  ListToolsResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface StdioProxyOptions {
  /** The server's MCP Streamable HTTP endpoint. */
  url: URL;
  /**
   * Sent as `Authorization: Bearer <token>`: the server decides who calls. A function is asked on
   * every request, so a token it signs can be short-lived however long the stdio session lasts.
   */
  token: string | (() => Promise<string>);
}

// loose, as the bridge's own: the remote server answers malformed params, not this proxy
const ANY_TOOL_CALL = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });

/**
 * MCP over stdio served by a remote ormai over HTTP: tools/list and tools/call are forwarded as they
 * are, results (isError included) and protocol errors come back unchanged, and the remote records
 * each call. Resolves when the stdio client closes the connection.
 */
export async function proxyStdioToHttp(options: StdioProxyOptions): Promise<void> {
  const { token } = options;
  const client = new Client({ name: 'ormai-stdio-proxy', version: '0.1.0' });
  await client.connect(
    new StreamableHTTPClientTransport(options.url, {
      fetch: async (url, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token()}`);
        return fetch(url, { ...init, headers });
      },
    }),
  );
  const remote = client.getServerVersion() ?? { name: 'ormai', version: '0.1.0' };
  const instructions = client.getInstructions();
  const server = new Server(remote, {
    capabilities: { tools: {} },
    ...(instructions ? { instructions } : {}),
  });
  server.setRequestHandler(ListToolsRequestSchema, (request) =>
    client.request({ method: 'tools/list', params: request.params }, ListToolsResultSchema),
  );
  server.setRequestHandler(ANY_TOOL_CALL, (request) =>
    client.request(
      { method: 'tools/call', params: request.params as { name: string } },
      CallToolResultSchema,
    ),
  );

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  try {
    await closed;
  } finally {
    await server.close();
    await client.close();
  }
}
