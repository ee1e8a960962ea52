import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditLog } from '../audit/audit-log.js';
import type { Runtime } from '../runtime.js';
import type { Gateway } from './gateway.js';
import type { Logger } from './logger.js';

export const DEFAULT_PORT = 4000;
export const DEFAULT_HOST = '127.0.0.1';

export interface HttpServerOptions {
  gateway: Gateway;
  runtime: Runtime;
  logger: Logger;
  port?: number;
  host?: string;
  /** Serves MCP (Streamable HTTP) at `/mcp`. */
  mcp?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The audit log: while it refuses calls (a sink down, its queue full) /healthz says so. */
  audit?: AuditLog;
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** node:http in front of the gateway: `/graphql` (GraphiQL on GET from a browser), `/mcp`, `/healthz`. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const { gateway, runtime, logger } = options;

  const healthz = async (res: ServerResponse) => {
    try {
      await runtime.db.sql.query('SELECT 1');
      // the gateway refuses calls it cannot record: then the service is not healthy either
      if (options.audit && !options.audit.available('read')) {
        sendJson(res, 503, {
          status: 'unavailable',
          database: runtime.db.kind,
          audit: 'unavailable',
        });
        return;
      }
      sendJson(res, 200, { status: 'ok', database: runtime.db.kind });
    } catch (error) {
      logger.error({ err: error }, 'health check: the database does not answer');
      sendJson(res, 503, { status: 'unavailable', database: runtime.db.kind });
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void healthz(res);
    if (path === '/graphql') return void gateway.yoga(req, res);
    if (path === '/mcp' && options.mcp) {
      options.mcp(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'MCP request failed');
        if (!res.headersSent)
          sendJson(res, 500, { error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
      });
      return;
    }
    if (path === '/') {
      res.writeHead(302, { location: '/graphql' }).end();
      return;
    }
    sendJson(res, 404, {
      errors: [
        { message: `no route ${path}`, extensions: { code: 'NOT_FOUND', retryable: false } },
      ],
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, options.host ?? DEFAULT_HOST, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // idle keep-alive connections would hold close() open
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
