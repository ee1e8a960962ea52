// The real HTTP server (`/graphql`, `/mcp`, `/healthz`) in front of a test app, on a free port.
import { afterAll, beforeAll } from 'vitest';
import { createMcpHttpHandler } from '../../src/mcp-bridge/index.js';
import { type RunningServer, startHttpServer } from '../../src/server/http-server.js';
import { createLogger } from '../../src/server/logger.js';
import type { TestApp } from './runtime.js';

/**
 * Registers beforeAll/afterAll that start and stop the server; `url` is filled in beforeAll.
 * `domainTools: true` serves the app's domain tools over MCP too, as `ormai serve` does.
 */
export function useHttpServer(
  app: TestApp,
  options: { domainTools?: boolean } = {},
): { url: string } {
  const handle = { url: '' };
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await startHttpServer({
      gateway: app.gateway,
      runtime: app.runtime,
      logger: createLogger('silent'),
      port: 0,
      mcp: createMcpHttpHandler({
        execute: app.gateway.execute,
        policyFor: app.gateway.policyFor,
        authenticate: app.gateway.authenticate,
        ...(options.domainTools
          ? { schemaFor: app.gateway.schemaFor, domainTools: app.runtime.app.domainTools ?? [] }
          : {}),
      }),
    });
    handle.url = server.url;
  });
  afterAll(() => server?.close());
  return handle;
}
