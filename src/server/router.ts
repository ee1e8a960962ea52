import type { AuditLog } from '../audit/audit-log.js';
import type { OrmaiPaths } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { Gateway } from './gateway.js';
import type { Logger } from './logger.js';

export const DEFAULT_PATHS: Required<OrmaiPaths> = {
  graphql: '/graphql',
  mcp: '/mcp',
  healthz: '/healthz',
};

export type FetchHandler = (request: Request) => Promise<Response>;

export interface RouterOptions {
  gateway: Gateway;
  runtime: Runtime;
  logger: Logger;
  /** Serves MCP (Streamable HTTP). */
  mcp?: FetchHandler;
  /** The audit log: while it refuses calls (a sink down, its queue full) the health check says so. */
  audit?: AuditLog;
  paths?: OrmaiPaths;
}

/** One Web-standard handler for every endpoint: GraphQL (GraphiQL on GET), MCP and the health check. */
export function createRouter(options: RouterOptions): FetchHandler {
  const { gateway, runtime, logger } = options;
  const paths = { ...DEFAULT_PATHS, ...options.paths };

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

  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path === paths.healthz) return healthz();
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
}
