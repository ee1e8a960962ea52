// ormai as `ormai serve` runs it — startHttpServer with /graphql and /mcp (stateless Streamable
// HTTP) — on the bench database, in a process of its own. The audit log is off unless BENCH_AUDIT
// names its sinks (`sql`, `jsonl` or `sql,jsonl`), because the other endpoints record nothing.
// BENCH_PLANNER_BUDGET=1 adds planner limits no bench query reaches: every list is planned first.
// Env: DATABASE_URL, BENCH_JWT_SECRET, BENCH_AUDIT, BENCH_PLANNER_BUDGET.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saasApp } from '../../examples/saas/app.js';
import { createMcpHttpHandler } from '../../src/mcp-bridge/index.js';
import { openRuntime } from '../../src/runtime.js';
import { auditToolCall, createAuditLog } from '../../src/server/audit-setup.js';
import { createGateway } from '../../src/server/gateway.js';
import { startHttpServer } from '../../src/server/http-server.js';
import { createLogger } from '../../src/server/logger.js';
import { countStatements, requireEnv, serveBench } from './common.js';

const counts = countStatements();
const logger = createLogger('warn');
const app = process.env.BENCH_PLANNER_BUDGET
  ? {
      ...saasApp,
      policy: {
        ...saasApp.policy,
        budgets: { ...saasApp.policy.budgets, maxEstimatedRows: 10_000_000, maxEstimatedCost: 1e9 },
      },
    }
  : saasApp;
const runtime = await openRuntime(app, {
  databaseUrl: requireEnv('DATABASE_URL'),
  seedIfEmpty: false,
});
const sinks = (process.env.BENCH_AUDIT ?? '')
  .split(',')
  .filter((sink): sink is 'sql' | 'jsonl' => sink === 'sql' || sink === 'jsonl');
const audit =
  sinks.length > 0
    ? createAuditLog(
        {
          app: saasApp,
          audit: {
            sinks,
            jsonlPath: join(mkdtempSync(join(tmpdir(), 'ormai-bench-')), 'audit.jsonl'),
          },
        },
        runtime,
        logger,
      )
    : undefined;
const gateway = createGateway({
  runtime,
  jwtSecret: requireEnv('BENCH_JWT_SECRET'),
  logger,
  ...(audit ? { audit } : {}),
});
const running = await startHttpServer({
  gateway,
  runtime,
  logger,
  port: 0,
  mcp: createMcpHttpHandler({
    execute: gateway.execute,
    policyFor: gateway.policyFor,
    schemaFor: gateway.schemaFor,
    domainTools: saasApp.domainTools ?? [],
    ...(audit ? { onToolCall: auditToolCall(audit, gateway.policyFor) } : {}),
    authenticate: gateway.authenticate,
  }),
});

serveBench(running.url, counts, async () => {
  await running.close();
  await audit?.close();
  await runtime.close();
});
