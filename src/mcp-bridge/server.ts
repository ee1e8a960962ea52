import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  type CallToolRequest,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { z } from 'zod';
import type { Principal } from '../policy/principal.js';
import { callTool, ToolNotFoundError } from './call-tool.js';
import { listTools } from './catalog.js';
import type { McpBridgeOptions } from './options.js';
import { DEFAULT_TOOL_NAME_STYLE, listedName } from './tool-names.js';

export { listTools } from './catalog.js';
export type { Execute, McpBridgeOptions, ToolCallEvent } from './options.js';

/** What the MCP server knows of the HTTP request it serves (over stdio: nothing). */
export interface McpRequestInfo {
  /** The caller's W3C trace id (`traceparent`): the audit records of its calls carry it. */
  traceId?: string;
}

/** tools/call with any params; the SDK validates them (see the handler). */
const ANY_TOOL_CALL = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });

// the SDK builds an Ajv instance per server otherwise (it is used for elicitation only); over HTTP
// a server is made for every request
const sharedValidator = new AjvJsonSchemaValidator();

/**
 * An MCP server for one principal: OrmAI's db.* tools, each call compiled into one GraphQL document
 * and run through the gateway, so the policy is enforced in one place. A denial or a bad parameter is
 * a tool result with isError and a structured error the agent can act on; only an unknown tool name is
 * a protocol error. (The SDK's high-level McpServer reports input validation as plain text, so the
 * bridge sets its handlers on the SDK's Server itself.)
 */
export function createMcpServer(
  options: McpBridgeOptions,
  principal: Principal,
  request: McpRequestInfo = {},
): Server {
  const style = options.toolNames ?? DEFAULT_TOOL_NAME_STYLE;
  const describe = listedName('db.describe_schema', style);
  const server = new Server(
    { name: 'ormai', version: options.version ?? '0.1.0' },
    {
      capabilities: { tools: {} },
      instructions: `Read the database through the ${style === 'function' ? 'db_*' : 'db.*'} tools. Call ${describe} first; rows are limited to your tenant and role, masked fields stay masked.`,
      jsonSchemaValidator: sharedValidator,
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: listTools(options, principal),
  }));

  // registered with a loose schema: the SDK's own check of tools/call then answers malformed
  // params with InvalidParams (-32602); with the strict schema they surface as InternalError
  server.setRequestHandler(ANY_TOOL_CALL, async (raw): Promise<CallToolResult> => {
    const { params } = raw as unknown as CallToolRequest;
    try {
      return await callTool(
        options,
        principal,
        params.name,
        (params.arguments ?? {}) as Record<string, unknown>,
        request.traceId ? { traceId: request.traceId } : {},
      );
    } catch (error) {
      throw protocolErrorOf(error);
    }
  });

  return server;
}

/** What a tools/call that threw answers: an unknown tool is InvalidParams, the only protocol error. */
export function protocolErrorOf(error: unknown): unknown {
  return error instanceof ToolNotFoundError
    ? new McpError(ErrorCode.InvalidParams, `TOOL_NOT_FOUND: ${error.message}`)
    : error;
}
