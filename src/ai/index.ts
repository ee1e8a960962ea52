// ormai/ai: the MCP tools as in-process tools for agent frameworks, run through the same path as
// /mcp (policy, budgets, one audit record per call). `ai` and `@langchain/core` are optional peer
// dependencies, loaded only by the function that needs them.
export { type AiSdkToolOptions, aiSdkTools } from './ai-sdk.js';
export { langchainTools } from './langchain.js';
export {
  type AnthropicTool,
  anthropicTools,
  type OpenAIChatTool,
  type OpenAIResponsesTool,
  openaiResponsesTools,
  openaiTools,
} from './providers.js';
export { type StrictSchema, strictSchema, withoutOmittedNulls } from './strict.js';
export {
  type AgentPrincipal,
  type AgentTool,
  type AgentToolOptions,
  agentTools,
  executeToolCall,
  type ToolCallOutput,
  type ToolSource,
} from './tools.js';
