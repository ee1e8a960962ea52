export { domainToolsFor, type PreparedDomainTool, prepareDomainTools } from './domain-tools.js';
export { createMcpHttpHandler, type McpHttpOptions } from './http.js';
export { proxyStdioToHttp, type StdioProxyOptions } from './proxy.js';
export {
  createMcpServer,
  type Execute,
  listTools,
  type McpBridgeOptions,
  type ToolCallEvent,
} from './server.js';
export { serveStdio } from './stdio.js';
export { READ_TOOLS, readTools, type ToolDefinition, writeTools } from './tools.js';
export { Translator } from './translate.js';
