// Hono 4 on Node (@hono/node-server): ormai's GraphQL and MCP endpoints beside the app's routes.
// Run: npx tsx hono.ts (ormai.config.ts in the working directory)
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createOrmai, loadConfig } from 'ormai';

const ormai = await createOrmai(await loadConfig());

const app = new Hono();
app.get('/api/hello', (c) => c.json({ hello: 'world' }));
// GraphQL, MCP and the health check: Hono and ormai both speak Web-standard Request and Response
for (const path of [ormai.paths.graphql, ormai.paths.mcp, ormai.paths.healthz]) {
  app.all(path, (c) => ormai.fetch(c.req.raw));
}

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, (info) => {
  console.log(
    `listening on http://localhost:${info.port} (GraphQL ${ormai.paths.graphql}, MCP ${ormai.paths.mcp})`,
  );
});

function shutdown() {
  // flushes the audit log and closes the database once the last request is answered
  server.close(() => void ormai.close());
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
