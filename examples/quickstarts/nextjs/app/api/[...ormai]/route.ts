// Next.js App Router: app/api/[...ormai]/route.ts serves ormai at /api/graphql, /api/mcp and
// /api/healthz, the paths ormai.config.ts sets in server.paths; next.config.ts lists
// serverExternalPackages: ['ormai'] (both shown in examples/quickstarts/README.md).
import { createOrmai, loadConfig, type Ormai } from 'ormai';

// ormai needs Node.js (its database driver, the audit file), not the Edge runtime
export const runtime = 'nodejs';

async function start(): Promise<Ormai> {
  const ormai = await createOrmai(await loadConfig());
  // flush the audit log at shutdown (`next start` leaves SIGTERM to the app when
  // NEXT_MANUAL_SIG_HANDLE=true; otherwise it exits at once)
  process.once('SIGTERM', () => void ormai.close().finally(() => process.exit(0)));
  return ormai;
}

// One ormai per process, started by the first request (not while `next build` loads this module)
// and kept on globalThis, so that `next dev` reloading this file does not open a second one.
const cache = globalThis as typeof globalThis & { ormai?: Promise<Ormai> };

async function handler(request: Request): Promise<Response> {
  cache.ormai ??= start().catch((error) => {
    cache.ormai = undefined; // the next request tries again
    throw error;
  });
  return (await cache.ormai).fetch(request);
}

export { handler as GET, handler as OPTIONS, handler as POST };
