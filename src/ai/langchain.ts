import type { DynamicStructuredTool } from '@langchain/core/tools';
import { loadPeer } from './peer.js';
import {
  type AgentPrincipal,
  type AgentToolOptions,
  agentTools,
  executeToolCall,
  type ToolSource,
} from './tools.js';

/**
 * The principal's tools as LangChain.js structured tools (`model.bindTools(tools)`, LangGraph's
 * ToolNode, `createAgent`). Each runs in-process through the same path as `/mcp` and answers with
 * its structured result as JSON (an error result too, for the model to correct its call). Needs
 * `@langchain/core` (an optional peer dependency, loaded here).
 */
export async function langchainTools(
  ormai: ToolSource,
  principal: AgentPrincipal,
  options: AgentToolOptions = {},
): Promise<DynamicStructuredTool[]> {
  const { tool } = await loadPeer(
    '@langchain/core',
    () => import('@langchain/core/tools'),
    'langchainTools',
  );
  return agentTools(ormai, principal).map(
    (definition) =>
      tool(
        async (input: Record<string, unknown>) =>
          (await executeToolCall(ormai, principal, definition.name, input, options)).text,
        {
          name: definition.name,
          description: definition.description,
          schema: definition.inputSchema,
          metadata: { annotations: definition.annotations },
        },
      ) as DynamicStructuredTool,
  );
}
