import type { AuditLog } from '../audit/audit-log.js';
import type { OrmaiPaths } from '../config.js';
import type { OrmaiMetrics } from '../observability/metrics.js';
import {
  createMetricsEndpoint,
  type MetricsAccessOptions,
} from '../observability/metrics-endpoint.js';
import { traceHttp } from '../observability/tracing.js';
import type { Runtime } from '../runtime.js';
import type { Gateway } from './gateway.js';
import type { Logger } from './logger.js';
import {
  createProtectedResourceHandler,
  type ProtectedResourceOptions,
  protectedResourcePaths,
} from './oauth.js';

export const DEFAULT_PATHS: Required<OrmaiPaths> = {
  graphql: '/graphql',
  mcp: '/mcp',
  healthz: '/healthz',
  metrics: '/metrics',
};

/** A Web-standard handler; node:http's adapter passes its `{ req, res }` as the second argument. */
export type FetchHandler = (request: Request, serverContext?: unknown) => Promise<Response>;

export interface RouterOptions {
  gateway: Gateway;
  runtime: Runtime;
  logger: Logger;
  /** Serves MCP (Streamable HTTP). */
  mcp?: FetchHandler;
  /** The audit log: while it refuses calls (a sink down, its queue full) the health check says so. */
  audit?: AuditLog;
  paths?: OrmaiPaths;
  /** Serves `GET /metrics` from these counters (and counts every response); absent: no /metrics. */
  metrics?: OrmaiMetrics;
  /** Who may scrape `/metrics` (default: loopback only). */
  metricsAccess?: MetricsAccessOptions;
  /** The OAuth protected-resource metadata (`/.well-known/oauth-protected-resource`, also `…/mcp`). */
  protectedResource?: ProtectedResourceOptions;
}

/** One Web-standard handler for every endpoint: GraphQL (GraphiQL on GET), MCP, health and metrics. */
export function createRouter(options: RouterOptions): FetchHandler {
  const { gateway, runtime, logger } = options;
  const paths = { ...DEFAULT_PATHS, ...options.paths };
  const live = `${paths.healthz}/live`;
  const ready = `${paths.healthz}/ready`;
  const metrics = options.metrics;
  const scrape = metrics ? createMetricsEndpoint(metrics, options.metricsAccess) : undefined;
  const resource = { mcpPath: paths.mcp, ...options.protectedResource };
  const resourceMetadata = createProtectedResourceHandler(resource);
  const resourceMetadataPaths = new Set(protectedResourcePaths(resource));
  const endpointOf = (path: string) =>
    path === paths.graphql
      ? 'graphql'
      : path === paths.mcp
        ? 'mcp'
        : path === paths.metrics
          ? 'metrics'
          : path === paths.healthz || path === live || path === ready
            ? 'healthz'
            : 'other';

  const healthz = async () => {
    try {
      await runtime.db.sql.query('SELECT 1');
      // the gateway refuses calls it cannot record: then the service is not healthy either
      if (options.audit && !options.audit.available('read')) {
        return Response.json(
          { status: 'unavailable', database: runtime.db.kind, audit: 'unavailable' },
          { status: 503 },
        );
      }
      return Response.json({ status: 'ok', database: runtime.db.kind });
    } catch (error) {
      logger.error({ err: error }, 'health check: the database does not answer');
      return Response.json({ status: 'unavailable', database: runtime.db.kind }, { status: 503 });
    }
  };

  const route = async (request: Request, path: string, serverContext: unknown) => {
    // readiness: the database answers and calls can be recorded; liveness: the process serves
    if (path === paths.healthz || path === ready) return healthz();
    if (path === live) return Response.json({ status: 'ok' });
    if (resourceMetadataPaths.has(path)) return resourceMetadata(request);
    if (path === paths.metrics && scrape) return scrape(request, serverContext);
    if (path === paths.graphql) return gateway.yoga.fetch(request, {});
    if (path === paths.mcp && options.mcp) {
      try {
        return await options.mcp(request);
      } catch (error) {
        logger.error({ err: error }, 'MCP request failed');
        return Response.json(
          { error: { code: 'INTERNAL_ERROR', message: 'internal error' } },
          { status: 500 },
        );
      }
    }
    if (path === '/')
      return new Response(null, { status: 302, headers: { location: paths.graphql } });
    return Response.json(
      {
        errors: [
          { message: `no route ${path}`, extensions: { code: 'NOT_FOUND', retryable: false } },
        ],
      },
      { status: 404 },
    );
  };

  // every endpoint under an `ormai.http` span (a no-op unless an OpenTelemetry SDK is registered)
  return async (request, serverContext) => {
    const path = new URL(request.url).pathname;
    const response = await traceHttp(request, (served) => route(served, path, serverContext));
    metrics?.httpResponse(endpointOf(path), response.status);
    return response;
  };
}
