// An MCP client connected in memory to the bridge for one principal of a test app.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createMcpServer, type ToolCallEvent } from '../../src/mcp-bridge/index.js';
import type { Principal } from '../../src/policy/principal.js';
import { auditToolCall } from '../../src/server/audit-setup.js';
import type { TestApp } from './runtime.js';

export interface McpTestClient {
  client: Client;
  events: ToolCallEvent[];
  call(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ isError: boolean; structured: any; text: string }>;
  close(): Promise<void>;
}

export async function connectMcp(
  app: TestApp,
  principal: Partial<Principal>,
): Promise<McpTestClient> {
  const full: Principal = {
    sub: principal.sub ?? '1',
    tenantId: principal.tenantId === undefined ? 1 : principal.tenantId,
    roles: principal.roles ?? ['agent'],
    claims: {},
  };
  const events: ToolCallEvent[] = [];
  const record = app.audit ? auditToolCall(app.audit.log, app.gateway.policyFor) : () => {};
  const server = createMcpServer(
    {
      execute: app.gateway.execute,
      policyFor: app.gateway.policyFor,
      schemaFor: app.gateway.schemaFor,
      domainTools: app.runtime.app.domainTools ?? [],
      onToolCall: (event) => {
        events.push(event);
        if (app.audit) record(event);
      },
    },
    full,
  );
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'ormai-test', version: '1.0.0' });
  await client.connect(clientSide);
  return {
    client,
    events,
    async call(name, args) {
      const result = (await client.callTool({ name, arguments: args })) as any;
      return {
        isError: result.isError === true,
        structured: result.structuredContent,
        text: result.content?.[0]?.text ?? '',
      };
    },
    close: () => client.close(),
  };
}
