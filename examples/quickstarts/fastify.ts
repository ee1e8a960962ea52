// Fastify 5: ormai's GraphQL and MCP endpoints beside the app's own routes.
// Run: npx tsx fastify.ts (ormai.config.ts in the working directory)
import Fastify from 'fastify';
import { createOrmai, loadConfig } from 'ormai';

const ormai = await createOrmai(await loadConfig());

const app = Fastify();
app.addHook('onClose', () => ormai.close()); // flushes the audit log, closes the database
app.get('/api/hello', async () => ({ hello: 'world' }));

// ormai reads the request body itself: in this scope no Fastify parser consumes it
app.register(async (scope) => {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  for (const path of [ormai.paths.graphql, ormai.paths.mcp, ormai.paths.healthz]) {
    scope.all(path, async (request, reply) => {
      reply.hijack(); // ormai writes the response itself
      await ormai.nodeHandler(request.raw, reply.raw);
    });
  }
});

const address = await app.listen({ port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${address} (GraphQL ${ormai.paths.graphql}, MCP ${ormai.paths.mcp})`);

process.once('SIGINT', () => app.close());
process.once('SIGTERM', () => app.close());
