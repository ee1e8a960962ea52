import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Principal } from '../policy/principal.js';
import { createMcpServer, type McpBridgeOptions } from './server.js';

/** MCP over stdio for one principal; resolves when the client closes the connection. */
export async function serveStdio(options: McpBridgeOptions, principal: Principal): Promise<void> {
  const server = createMcpServer(options, principal);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}
