export { type CallToolOptions, callTool, ToolNotFoundError } from './call-tool.js';
export { type CatalogEntry, findTool, preparedDomainTools, toolCatalog } from './catalog.js';
export { domainToolsFor, type PreparedDomainTool, prepareDomainTools } from './domain-tools.js';
export {
  createMcpHttpHandler,
  type McpHttpOptions,
  type RefusalReason,
  type RefusedCallEvent,
} from './http.js';
export type { Execute, McpBridgeOptions, ToolCallEvent } from './options.js';
export { type OriginPolicy, originPolicy } from './origin.js';
export { ERROR_OUTPUT } from './output-schemas.js';
export { proxyStdioToHttp, type StdioProxyOptions } from './proxy.js';
export { createMcpServer, listTools, type McpRequestInfo } from './server.js';
export { serveStdio } from './stdio.js';
export {
  aliasName,
  assertToolNames,
  DEFAULT_TOOL_NAME_STYLE,
  FUNCTION_NAME,
  functionName,
  listedName,
  type ToolNameStyle,
} from './tool-names.js';
export {
  READ_ONLY,
  READ_TOOLS,
  readTools,
  type ToolAnnotations,
  type ToolDefinition,
  WRITE_TOOLS,
  writeTools,
} from './tools.js';
export { Translator } from './translate.js';
