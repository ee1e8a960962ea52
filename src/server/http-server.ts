import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { createRouter, type FetchHandler, type RouterOptions } from './router.js';

export const DEFAULT_PORT = 4000;
export const DEFAULT_HOST = '127.0.0.1';

export interface HttpServerOptions extends RouterOptions {
  port?: number;
  host?: string;
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** A Web-standard handler as a node:http request listener (Express, Fastify's raw request, node:http). */
export function toNodeHandler(handler: FetchHandler) {
  return createServerAdapter(handler);
}

/** node:http in front of the gateway: `/graphql` (GraphiQL on GET from a browser), `/mcp`, `/healthz`. */
export function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  return listen(createRouter(options), options);
}

/**
 * A handler to set later: until `ready`, every request is answered 503 (retryable). It lets the
 * port be bound before the database is opened, so a port in use fails at once, not after it.
 */
export function deferredHandler(): { fetch: FetchHandler; ready(handler: FetchHandler): void } {
  let current: FetchHandler | undefined;
  const starting = async () =>
    Response.json(
      {
        status: 'starting',
        errors: [
          {
            message: 'ormai is starting: the database is being opened',
            extensions: {
              code: 'INTERNAL_ERROR',
              retryable: true,
              retryHints: ['retry in a few seconds'],
            },
          },
        ],
      },
      { status: 503, headers: { 'retry-after': '1' } },
    );
  return {
    // the node:http context goes along: /metrics checks the peer's address in it
    fetch: (request, serverContext) => (current ? current(request, serverContext) : starting()),
    ready(handler) {
      current = handler;
    },
  };
}

/** Serves a Web-standard handler on a port; resolves once it listens. */
export async function listen(
  handler: FetchHandler,
  options: { port?: number; host?: string },
): Promise<RunningServer> {
  const server = createServer(toNodeHandler(handler));
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
