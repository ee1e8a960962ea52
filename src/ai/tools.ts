import { fromToolError, toolErrorResult } from '../mcp-bridge/errors.js';
import {
  type CatalogEntry,
  callTool,
  type McpBridgeOptions,
  type ToolAnnotations,
  type ToolDefinition,
  ToolNotFoundError,
  toolCatalog,
} from '../mcp-bridge/index.js';
import type { Principal } from '../policy/principal.js';
import { type StrictSchema, strictSchema, withoutOmittedNulls } from './strict.js';

/** What serves the tools: an Ormai (`createOrmai`), whose `tools` are the ones `/mcp` serves. */
export interface ToolSource {
  tools: McpBridgeOptions;
}

/** Who the agent acts for, as a verified token would say (`claims` default to none). */
export interface AgentPrincipal {
  sub: string;
  tenantId: string | number | null;
  roles: readonly string[];
  claims?: Readonly<Record<string, unknown>>;
}

export interface AgentToolOptions {
  /** The W3C trace id (32 hex) the audit records of the calls carry; a new one per call otherwise. */
  traceId?: string;
}

/** A tool as an agent framework needs it: the MCP definition plus its strict-mode form. */
export interface AgentTool {
  /** The listed name (`db_query` unless `mcp.toolNames` is `dotted`). */
  name: string;
  title: string;
  description: string;
  inputSchema: ToolDefinition['inputSchema'];
  outputSchema: ToolDefinition['outputSchema'];
  annotations: ToolAnnotations;
  /** The input schema in OpenAI's strict mode, or the reason the tool cannot use it. */
  strict: StrictSchema;
}

/** The result of one call: what MCP's tools/call returns, with the JSON to hand back to the model. */
export interface ToolCallOutput {
  isError: boolean;
  /** The result (CONTRACT §5 shapes), or `{error: {code, message, retryable, retry_hints, details}}`. */
  structuredContent: Record<string, unknown>;
  /** `structuredContent` as JSON: the tool message's content. */
  text: string;
}

function principalOf(principal: AgentPrincipal): Principal {
  return { ...principal, claims: principal.claims ?? {} };
}

const strictCache = new WeakMap<ToolDefinition, StrictSchema>();

function agentToolOf(entry: CatalogEntry): AgentTool {
  const { definition } = entry;
  let strict = strictCache.get(definition);
  if (!strict) {
    strict = strictSchema(definition.inputSchema);
    strictCache.set(definition, strict);
  }
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: definition.inputSchema,
    outputSchema: definition.outputSchema,
    annotations: definition.annotations,
    strict,
  };
}

/**
 * The tools a principal is offered — exactly `/mcp`'s tools/list for its token: the db.* tools its
 * roles may use and the domain tools its schema validates.
 */
export function agentTools(ormai: ToolSource, principal: AgentPrincipal): AgentTool[] {
  return toolCatalog(ormai.tools, principalOf(principal)).map(agentToolOf);
}

/**
 * Runs a model's tool call for a principal through the same path as `/mcp` (policy, budgets, one
 * audit record), without an MCP hop. `args` may be the JSON string a model API returns. A denial, a
 * bad argument or an unknown tool name is a result with isError the model can correct itself from.
 */
export async function executeToolCall(
  ormai: ToolSource,
  principal: AgentPrincipal,
  name: string,
  args: Record<string, unknown> | string | null | undefined,
  options: AgentToolOptions = {},
): Promise<ToolCallOutput> {
  const caller = principalOf(principal);
  let input: unknown = args ?? {};
  if (typeof input === 'string') {
    try {
      input = input.trim() === '' ? {} : JSON.parse(input);
    } catch {
      return output(
        toolErrorResult({
          code: 'VALIDATION_ERROR',
          message: 'the arguments are not JSON',
          retryable: true,
          retry_hints: ['pass the arguments as one JSON object'],
          details: { field: 'arguments' },
        }),
      );
    }
  }
  const entry = toolCatalog(ormai.tools, caller).find(
    (candidate) => candidate.listed === name || candidate.alias === name,
  );
  const cleaned = entry ? withoutOmittedNulls(entry.definition.inputSchema, input) : input;
  try {
    return output(
      await callTool(ormai.tools, caller, name, cleaned as Record<string, unknown>, options),
    );
  } catch (error) {
    if (error instanceof ToolNotFoundError) {
      return output(toolErrorResult(fromToolError(error), options.traceId));
    }
    throw error;
  }
}

function output(result: {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
}): ToolCallOutput {
  const structuredContent = result.structuredContent ?? {};
  return {
    isError: result.isError === true,
    structuredContent,
    text: JSON.stringify(structuredContent),
  };
}
