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
