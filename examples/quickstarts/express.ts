// Express 5: ormai's GraphQL and MCP endpoints in an app that already has its PrismaClient.
// Run: DATABASE_URL=postgres://… npx tsx express.ts (ormai.config.ts in the working directory)
import type { AddressInfo } from 'node:net';
import { PrismaPg } from '@prisma/adapter-pg';
import express from 'express';
import { createOrmai, loadConfig } from 'ormai';
// your app's generated client (here the saas example's)
import { PrismaClient } from '../saas/generated/prisma/client.js';

// the client your app already uses: ormai runs on its connections and opens none of its own
const prisma = new PrismaClient({
  adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
const ormai = await createOrmai(await loadConfig(), { prisma });

const app = express();
// GraphQL, MCP and the health check, before any body parser: ormai reads the request body itself
app.all([ormai.paths.graphql, ormai.paths.mcp, ormai.paths.healthz], ormai.nodeHandler);
app.use(express.json());
app.post('/api/notes', (req, res) => {
  res.status(201).json({ note: req.body });
});

const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  const { port } = server.address() as AddressInfo;
  console.log(
    `listening on http://localhost:${port} (GraphQL ${ormai.paths.graphql}, MCP ${ormai.paths.mcp})`,
  );
});

function shutdown() {
  // once the last request is answered: flush ormai's audit log, then close your client (ormai
  // never closes a client it was given)
  server.close(async () => {
    await ormai.close();
    await prisma.$disconnect();
  });
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
