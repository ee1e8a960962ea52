import { type AgentPrincipal, agentTools, type ToolSource } from './tools.js';

/** A Chat Completions tool (`tools` of `client.chat.completions.create`). */
export interface OpenAIChatTool {
  type: 'function';
  function: {
    name: string;
    description: string;
    parameters: Record<string, unknown>;
    strict: boolean;
  };
}

/** A Responses API function tool (`tools` of `client.responses.create`). */
export interface OpenAIResponsesTool {
  type: 'function';
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  strict: boolean;
}

/** A Messages API tool (`tools` of `client.messages.create`). */
export interface AnthropicTool {
  name: string;
  description: string;
  input_schema: { type: 'object'; [keyword: string]: unknown };
}

/**
 * The principal's tools as OpenAI function definitions: in strict mode (the strict form of the input
 * schema) wherever the schema allows it, otherwise `strict: false` with the schema as MCP lists it
 * (`agentTools(…)[i].strict.reason` says why). Run the model's calls with `executeToolCall`.
 */
function openaiFunctions(ormai: ToolSource, principal: AgentPrincipal) {
  return agentTools(ormai, principal).map((tool) => ({
    name: tool.name,
    description: tool.description,
    parameters: tool.strict.strict ? tool.strict.schema : tool.inputSchema,
    strict: tool.strict.strict,
  }));
}

/** Chat Completions tool definitions (see `openaiResponsesTools` for the Responses API). */
export function openaiTools(ormai: ToolSource, principal: AgentPrincipal): OpenAIChatTool[] {
  return openaiFunctions(ormai, principal).map((fn) => ({ type: 'function', function: fn }));
}

/** Responses API tool definitions. */
export function openaiResponsesTools(
  ormai: ToolSource,
  principal: AgentPrincipal,
): OpenAIResponsesTool[] {
  return openaiFunctions(ormai, principal).map((fn) => ({ type: 'function', ...fn }));
}

/** Anthropic Messages API tool definitions; answer each `tool_use` with `executeToolCall`. */
export function anthropicTools(ormai: ToolSource, principal: AgentPrincipal): AnthropicTool[] {
  return agentTools(ormai, principal).map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema,
  }));
}
