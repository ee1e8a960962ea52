import {
  type Context,
  context,
  createContextKey,
  createTraceState,
  ProxyTracerProvider,
  propagation,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { traceIdFrom } from '../server/trace.js';

/**
 * ormai only speaks the OpenTelemetry API: without an SDK registered (by `ormai serve` from the
 * OTEL_* variables, or by the app embedding ormai) every span is the API's no-op one, and each
 * helper here returns as soon as it sees a span that does not record.
 */
export const tracer = trace.getTracer('ormai');

/**
 * No SDK registered: the API hands out no-op spans, so a request skips reading its trace headers.
 * (One property read and an instanceof; an app that registers its SDK later is seen at once.)
 */
export function tracingOff(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && !provider.getDelegateTracer('ormai');
}

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/** The `traceparent` header a span context is sent on as (W3C Trace Context, version 00). */
export function traceparentOf(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** A remote span context from W3C headers, or undefined when `traceparent` is absent or invalid. */
function remoteSpanContext(headers: Headers): SpanContext | undefined {
  const match = TRACEPARENT.exec(headers.get('traceparent')?.trim().toLowerCase() ?? '');
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return;
  const state = headers.get('tracestate');
  return {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: Number.parseInt(match[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(state ? { traceState: createTraceState(state) } : {}),
  };
}

/**
 * Where a request's spans hang: the span already active (an app's own HTTP server span), else the
 * caller's context from its headers through the registered propagator, else its W3C `traceparent`
 * read here (an SDK registered without a propagator would otherwise drop the caller's trace).
 */
export function parentContextOf(request: Request): Context {
  const active = context.active();
  if (trace.getSpan(active)?.isRecording()) return active;
  const extracted = propagation.extract(active, request.headers, headerGetter);
  if (trace.getSpanContext(extracted)) return extracted;
  const remote = remoteSpanContext(request.headers);
  return remote ? trace.setSpanContext(extracted, remote) : extracted;
}

/**
 * The trace id of a request: its `traceparent`'s, else the recording span's it runs under (the
 * app's or ormai's own), else a new one. The audit record, `x-trace-id` and the spans agree on it.
 */
export function requestTraceId(request: Request): string {
  const header = request.headers.get('traceparent');
  if (!header) {
    const active = trace.getActiveSpan();
    if (active?.isRecording()) return active.spanContext().traceId;
  }
  return traceIdFrom(header);
}

/** The MCP tool spans a request opened and its tool-call events have not closed yet. */
export const TOOL_SPANS = createContextKey('ormai.mcp.tool-spans');

export interface OpenToolSpan {
  tool: string;
  span: Span;
}

/**
 * Serves a request under an `ormai.http` server span (a child of the caller's trace), answered with
 * the span's `traceparent`. The request's own `traceparent` is set to the span's when it named
 * another trace (or none), so every trace id read from the request downstream is the span's.
 */
export async function traceHttp(
  request: Request,
  handler: (request: Request) => Promise<Response> | Response,
): Promise<Response> {
  if (tracingOff()) return handler(request);
  const parent = parentContextOf(request);
  const span = tracer.startSpan(
    'ormai.http',
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method } },
    parent,
  );
  if (!span.isRecording()) return handler(request);
  span.setAttribute('url.path', new URL(request.url).pathname);
  const spanContext = span.spanContext();
  const traceparent = traceparentOf(spanContext);
  const served = withTraceparent(request, spanContext.traceId, traceparent);
  const open: OpenToolSpan[] = [];
  const active = trace.setSpan(parent, span).setValue(TOOL_SPANS, open);
  try {
    const response = await context.with(active, () => handler(served));
    span.setAttribute('http.response.status_code', response.status);
    if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    try {
      response.headers.set('traceparent', traceparent);
    } catch {
      // a response whose headers are immutable (Response.redirect) goes out as it is
    }
    return response;
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    // a tool call whose event never came (its handler threw) still ends its span
    for (const { span: tool } of open.splice(0)) tool.end();
    span.end();
  }
}

function withTraceparent(request: Request, traceId: string, traceparent: string): Request {
  if (traceIdFrom(request.headers.get('traceparent')) === traceId) return request;
  try {
    request.headers.set('traceparent', traceparent);
    return request;
  } catch {
    const headers = new Headers(request.headers);
    headers.set('traceparent', traceparent);
    return new Request(request, { headers });
  }
}

/** A request refused before its operation began (no token, a foreign origin) says why on its span. */
export function markRefused(code: string): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.setAttribute('ormai.outcome', 'error');
  span.setAttribute('ormai.error_code', code);
}

/** Sets ormai's outcome attributes (and the error status) on a span and ends it. */
export function finishSpan(
  span: Span,
  outcome: 'ok' | 'error',
  errorCode?: string,
  rowCount?: number,
): void {
  span.setAttribute('ormai.outcome', outcome);
  if (errorCode) {
    span.setAttribute('ormai.error_code', errorCode);
    span.setAttribute('error.type', errorCode);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
  }
  if (rowCount !== undefined) span.setAttribute('ormai.row_count', rowCount);
  span.end();
}

/** The contract code of a GraphQL error (`extensions.code`, INTERNAL_ERROR without one); none without an error. */
export function errorCodeOf(error: unknown): string | undefined {
  if (!error) return undefined;
  const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_ERROR';
}
