import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A tool call refused before or during execution, with what the agent needs to correct itself. */
export class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly options: {
      retryable?: boolean;
      hints?: string[];
      details?: Record<string, unknown>;
    } = {},
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

export interface StructuredToolError {
  code: string;
  message: string;
  retryable: boolean;
  retry_hints: string[];
  details: Record<string, unknown>;
}

/** CONTRACT §5: an error is a tool result with isError and `structuredContent.error`, plus readable text. */
export function toolErrorResult(error: StructuredToolError, traceId?: string): CallToolResult {
  const hints = error.retry_hints.length > 0 ? ` Hint: ${error.retry_hints.join(' ')}` : '';
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${error.message}.${hints}` }],
    structuredContent: { error, ...(traceId ? { trace_id: traceId } : {}) },
  };
}

export function fromToolError(error: ToolError): StructuredToolError {
  return {
    code: error.code,
    message: error.message,
    retryable: error.options.retryable ?? error.code === 'VALIDATION_ERROR',
    retry_hints: error.options.hints ?? [],
    details: error.options.details ?? {},
  };
}

/** The first GraphQL error of a result, in the tool shape (snake_case keys, as OrmAI). */
export function fromGraphQLError(error: {
  message: string;
  extensions?: Record<string, unknown>;
}): StructuredToolError {
  const extensions = error.extensions ?? {};
  return {
    code: typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_ERROR',
    message: error.message,
    retryable: extensions.retryable === true,
    retry_hints: Array.isArray(extensions.retryHints) ? (extensions.retryHints as string[]) : [],
    details: (extensions.details as Record<string, unknown> | undefined) ?? {},
  };
}

// The JSON of a successful result's structuredContent, which its text block already holds (the
// spec asks for both, for clients that read only text): the JSON-RPC answer reuses it rather than
// serialising the rows a second time, so both say what the result held when it was made.
const structuredJson = new WeakMap<CallToolResult, string>();

export function toolResult(structured: Record<string, unknown>): CallToolResult {
  const json = JSON.stringify(structured);
  const result: CallToolResult = {
    content: [{ type: 'text', text: json }],
    structuredContent: structured,
  };
  structuredJson.set(result, json);
  return result;
}

/** `JSON.stringify(result)`, with the structuredContent of a toolResult serialised once, not twice. */
export function toolResultJson(result: CallToolResult): string {
  const json = structuredJson.get(result);
  // anything but the two keys toolResult wrote (an error, a result changed since) is written whole
  const { content, structuredContent, ...rest } = result;
  if (json === undefined || structuredContent === undefined || Object.keys(rest).length > 0)
    return JSON.stringify(result);
  return `{"content":${JSON.stringify(content)},"structuredContent":${json}}`;
}
