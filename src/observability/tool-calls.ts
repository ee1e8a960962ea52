import { type Context, context, SpanKind, trace } from '@opentelemetry/api';
import type { RefusedCallEvent } from '../mcp-bridge/http.js';
import type { Execute, ToolCallEvent } from '../mcp-bridge/options.js';
import type { OrmaiMetrics } from './metrics.js';
import {
  errorCodeOf,
  finishSpan,
  markRefused,
  type OpenToolSpan,
  TOOL_SPANS,
  tracer,
} from './tracing.js';

/** The bridge's execute with each tool's GraphQL operation run under its `mcp.tool` span. */
export function tracedExecute(execute: Execute): Execute {
  return (operation) =>
    operation.operation
      ? traceToolExecution(operation.operation, () => execute(operation))
      : execute(operation);
}

/** Counts a finished tool call and closes its span (the bridge's onToolCall). */
export function observeToolCall(metrics: OrmaiMetrics | undefined) {
  return (event: ToolCallEvent): void => {
    endToolSpan(event);
    metrics?.request('mcp', event.tool, event.outcome, event.errorCode, event.durationMs / 1000);
  };
}

/**
 * Counts an MCP request refused before any tool ran (authentication, origin, a malformed message):
 * like a GraphQL request refused before its body was read, its operation is `unknown`.
 */
export function observeRefusedCall(metrics: OrmaiMetrics | undefined) {
  return (event: Pick<RefusedCallEvent, 'code' | 'durationMs'>): void => {
    markRefused(event.code);
    metrics?.request('mcp', 'unknown', 'error', event.code, event.durationMs / 1000);
  };
}

/** The MCP tool spans a request opened and its tool-call events have not closed yet. */
function openToolSpans(ctx: Context = context.active()): OpenToolSpan[] | undefined {
  return ctx.getValue(TOOL_SPANS) as OpenToolSpan[] | undefined;
}

const toolSpanName = (tool: string) => `mcp.tool ${tool}`;

/**
 * Runs an MCP tool's GraphQL operation under an `mcp.tool <name>` span, so the operation's spans
 * are its children. Inside an HTTP request the span stays open until the call's event (`endToolSpan`)
 * gives its outcome; elsewhere (stdio) it ends with the operation.
 */
async function traceToolExecution<T extends { errors?: unknown[] | undefined }>(
  tool: string,
  run: () => Promise<T>,
): Promise<T> {
  const active = context.active();
  const span = tracer.startSpan(
    toolSpanName(tool),
    { kind: SpanKind.INTERNAL, attributes: { 'mcp.tool.name': tool } },
    active,
  );
  if (!span.isRecording()) return run();
  const open = openToolSpans(active);
  open?.push({ tool, span });
  try {
    const result = await context.with(trace.setSpan(active, span), run);
    if (!open) {
      const code = errorCodeOf(result.errors?.[0]);
      finishSpan(span, code ? 'error' : 'ok', code);
    }
    return result;
  } catch (error) {
    span.recordException(error as Error);
    if (!open) finishSpan(span, 'error', 'INTERNAL_ERROR');
    throw error;
  }
}

/** Closes the span of a finished tool call; one refused before it ran gets a span of its own. */
function endToolSpan(event: ToolCallEvent): void {
  const open = openToolSpans();
  const index = open?.findIndex((entry) => entry.tool === event.tool) ?? -1;
  if (index >= 0) {
    const [entry] = open!.splice(index, 1);
    finishSpan(entry!.span, event.outcome, event.errorCode, event.rowCount);
    return;
  }
  // ran outside an HTTP request: its span ended with the operation
  if (event.document !== undefined) return;
  const span = tracer.startSpan(toolSpanName(event.tool), {
    kind: SpanKind.INTERNAL,
    attributes: { 'mcp.tool.name': event.tool },
    startTime: performance.timeOrigin + performance.now() - event.durationMs,
  });
  if (span.isRecording()) finishSpan(span, event.outcome, event.errorCode, event.rowCount);
}
