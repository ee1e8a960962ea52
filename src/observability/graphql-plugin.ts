import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { type DocumentNode, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OrmaiMetrics } from './metrics.js';
import {
  errorCodeOf,
  finishSpan,
  markRefused,
  parentContextOf,
  tracer,
  tracingOff,
} from './tracing.js';

export interface ObservabilityPluginOptions {
  /** Counts each operation the HTTP endpoint answers (the MCP bridge counts its tool calls). */
  metrics?: OrmaiMetrics | undefined;
}

interface OperationFacts {
  started: number;
  /** The operation's name, else its type (`query`), `invalid` when it does not parse. */
  label?: string;
  /** `graphql.execute` spans open, in the order of the request's operations. */
  spans: Span[];
}

type ResultLike = {
  errors?: readonly { extensions?: { code?: unknown; details?: { budget?: unknown } } }[];
};

/** An operation the MCP bridge runs through the gateway (its tool call is what it counts). */
const internal = (serverContext: unknown) =>
  (serverContext as { ormaiSurface?: string } | undefined)?.ormaiSurface === 'mcp';

/**
 * The GraphQL side of ormai's telemetry: a `graphql.execute` span per operation (parse and
 * validate as its events; SQL spans under it), and per answered request `ormai_requests_total`,
 * its latency and budget refusals, counted once the contract's error codes are set on the result.
 */
export function observabilityPlugin(options: ObservabilityPluginOptions = {}): Plugin {
  const { metrics } = options;
  const facts = new WeakMap<Request, OperationFacts>();
  const factsOf = (request: Request) => {
    let known = facts.get(request);
    if (!known) {
      known = { started: performance.now(), spans: [] };
      facts.set(request, known);
    }
    return known;
  };
  const spanOf = (request: Request | undefined) =>
    request ? facts.get(request)?.spans.at(-1) : undefined;

  return {
    instrumentation: {
      operation({ request, context: serverContext }, wrapped) {
        if (tracingOff()) return wrapped();
        const parent = internal(serverContext) ? context.active() : parentContextOf(request);
        const span = tracer.startSpan('graphql.execute', { kind: SpanKind.INTERNAL }, parent);
        if (!span.isRecording()) return wrapped();
        span.setAttribute('ormai.surface', internal(serverContext) ? 'mcp' : 'graphql');
        factsOf(request).spans.push(span);
        return context.with(trace.setSpan(parent, span), wrapped);
      },
    },
    onRequest({ request, serverContext }) {
      if (metrics && !internal(serverContext)) factsOf(request);
    },
    onParams({ request, params }) {
      // refused before it parses (no token), an operation is still counted under its name
      const known = facts.get(request);
      if (known && params.operationName) known.label = params.operationName;
    },
    onParse({ context: operation }) {
      const { request, params } = operation as {
        request?: Request;
        params?: { operationName?: string | null };
      };
      const known = request ? facts.get(request) : undefined;
      if (!known) return;
      return ({ result }) => {
        const span = spanOf(request);
        if (!result || result instanceof Error) {
          known.label ??= 'invalid';
          span?.addEvent('graphql.parse', { 'graphql.parse.ok': false });
          return;
        }
        const ast = getOperationAST(result as DocumentNode, params?.operationName);
        const name = params?.operationName ?? ast?.name?.value;
        known.label = name ?? ast?.operation ?? 'invalid';
        if (!span) return;
        span.addEvent('graphql.parse', { 'graphql.parse.ok': true });
        if (ast) span.setAttribute('graphql.operation.type', ast.operation);
        if (name) span.setAttribute('graphql.operation.name', name);
      };
    },
    onValidate({ context: operation }) {
      const span = spanOf((operation as { request?: Request }).request);
      if (!span) return;
      return ({ valid, result }) => {
        span.addEvent('graphql.validate', {
          'graphql.validate.ok': valid,
          'graphql.validate.errors': result.length,
        });
      };
    },
    onResultProcess({ request, result, serverContext }) {
      const known = facts.get(request);
      const results = (Array.isArray(result) ? result : [result]) as ResultLike[];
      if (results.some((single) => Symbol.asyncIterator in (single as object))) return;
      const seconds = known ? (performance.now() - known.started) / 1000 : 0;
      for (const single of results) {
        const code = errorCodeOf(single.errors?.[0]);
        const outcome = code ? 'error' : 'ok';
        if (metrics) {
          for (const error of single.errors ?? []) {
            if (error.extensions?.code === 'QUERY_BUDGET_EXCEEDED')
              metrics.budgetRefusal(error.extensions.details?.budget);
          }
          if (known && !internal(serverContext))
            metrics.request('graphql', known.label ?? 'unknown', outcome, code, seconds);
        }
        const span = known?.spans.shift();
        if (span) finishSpan(span, outcome, code);
        else if (code) markRefused(code);
      }
    },
  };
}
