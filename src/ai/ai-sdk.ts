import type { JSONSchema7, Tool } from 'ai';
import { loadPeer } from './peer.js';
import {
  type AgentPrincipal,
  type AgentToolOptions,
  agentTools,
  executeToolCall,
  type ToolSource,
} from './tools.js';

export interface AiSdkToolOptions extends AgentToolOptions {
  /**
   * Send the strict-mode input schema with `strict: true` for the tools that allow it (OpenAI
   * honours it; others ignore it). Default false: every tool with the schema MCP lists.
   */
  strict?: boolean;
}

/**
 * The principal's tools for the Vercel AI SDK (`generateText({ tools })`), by listed name. Each runs
 * in-process through the same path as `/mcp` and returns its structured result; an error result
 * (`{error: {code, message, retry_hints}}`) goes back to the model to correct its call. Needs the
 * `ai` package (an optional peer dependency, loaded here).
 */
export async function aiSdkTools(
  ormai: ToolSource,
  principal: AgentPrincipal,
  options: AiSdkToolOptions = {},
): Promise<Record<string, Tool<Record<string, unknown>, Record<string, unknown>>>> {
  const { tool, jsonSchema } = await loadPeer('ai', () => import('ai'), 'aiSdkTools');
  const { strict = false, ...callOptions } = options;
  return Object.fromEntries(
    agentTools(ormai, principal).map((definition) => {
      const useStrict = strict && definition.strict.strict;
      const schema =
        useStrict && definition.strict.strict ? definition.strict.schema : definition.inputSchema;
      return [
        definition.name,
        tool({
          description: definition.description,
          inputSchema: jsonSchema<Record<string, unknown>>(schema as JSONSchema7),
          ...(useStrict ? { strict: true } : {}),
          execute: async (input: Record<string, unknown>) =>
            (await executeToolCall(ormai, principal, definition.name, input, callOptions))
              .structuredContent,
        }),
      ];
    }),
  );
}
