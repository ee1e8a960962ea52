// PostGraphile v5 over node:http for `npm run bench`, in its own process with its own dependencies
// (graphql 16). It verifies the same HS256 JWT as ormai (jose) and hands the tenant claim to
// PostgreSQL through pgSettings, where row-level security (setup.sql) scopes every row.
// Env: DATABASE_URL, BENCH_JWT_SECRET; BENCH_LOG_SQL=1 prints every statement on stderr. Talks to
// the bench over IPC: {type: 'ready', url} once listening; {type: 'stats'} → {type: 'stats',
// statements, session, cpuMicros}.
import './node20.mjs';
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import { PgAggregatesPreset } from '@graphile/pg-aggregates';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';

const ROLE = 'ormai_bench_postgraphile';
// the key is made once, as ormai does (src/server/auth.ts)
const key = createSecretKey(new TextEncoder().encode(process.env.BENCH_JWT_SECRET ?? ''));

// every statement sent to PostgreSQL, counted; `session` are the transaction and set_config ones
let statements = 0;
let session = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  statements++;
  const text = typeof args[0] === 'string' ? args[0] : args[0]?.text;
  if (typeof text === 'string' && /^\s*(begin|commit|rollback|select set_config)/i.test(text))
    session++;
  if (process.env.BENCH_LOG_SQL) console.error(JSON.stringify({ text, values: args[0]?.values }));
  return query.apply(this, args);
};

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const preset = {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: {
    explain: false,
    async context(requestContext) {
      const header = requestContext.node?.req?.headers?.authorization ?? '';
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new Error('a bearer token is required');
      const { payload } = await jwtVerify(match[1], key, { algorithms: ['HS256'] });
      if (payload.tenantId === undefined || payload.tenantId === null)
        throw new Error('the token has no tenant');
      return {
        pgSettings: { role: ROLE, 'jwt.claims.tenant_id': String(payload.tenantId) },
      };
    },
  },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server).catch((error) => {
  console.error(error);
  process.exit(1);
});
await pgl.getSchema();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}` });
});

process.on('message', (message) => {
  if (message?.type === 'stats') {
    const cpu = process.cpuUsage();
    process.send?.({ type: 'stats', statements, session, cpuMicros: cpu.user + cpu.system });
  }
});
const stop = async () => {
  server.close();
  server.closeAllConnections?.();
  await pgl.release();
  await pool.end();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
