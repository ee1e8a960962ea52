import { Command, InvalidArgumentError } from 'commander';
import type { OrmaiApp } from '../app.js';
import type { AuditLog } from '../audit/audit-log.js';
import { DEFAULT_CONFIG_FILE, loadConfig, type OrmaiConfig } from '../config.js';
import {
  createMcpHttpHandler,
  domainToolsFor,
  prepareDomainTools,
  readTools,
  serveStdio,
  type ToolCallEvent,
} from '../mcp-bridge/index.js';
import { compilePolicy } from '../policy/compile-policy.js';
import { explainPolicy } from '../policy/explain.js';
import type { Principal } from '../policy/principal.js';
import { openRuntime, runtimeOptionsFromConfig } from '../runtime.js';
import { buildSchema } from '../schema/build-schema.js';
import { auditToolCall, createAuditLog } from '../server/audit-setup.js';
import { resolveJwtSecret, signToken, verifyToken } from '../server/auth.js';
import { createGateway, type Gateway } from '../server/gateway.js';
import { DEFAULT_HOST, DEFAULT_PORT, startHttpServer } from '../server/http-server.js';
import { createLogger, type Logger } from '../server/logger.js';
import { tailAudit, verifyAudit } from './audit.js';
import { runChecks } from './check.js';

const print = (line = '') => process.stdout.write(`${line}\n`);

const parsePort = (value: string) => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  }
  return port;
};

function describeDatabase(config: OrmaiConfig) {
  const options = runtimeOptionsFromConfig(config);
  return options.databaseUrl
    ? 'PostgreSQL (DATABASE_URL)'
    : `the embedded database (${options.dataDir})`;
}

const program = new Command('ormai')
  .description('A policy-enforcing GraphQL and MCP gateway to your database')
  .showHelpAfterError();

program
  .command('serve')
  .description('serve GraphQL at /graphql (GraphiQL in a browser) and /healthz')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('-p, --port <port>', `port (env PORT; default ${DEFAULT_PORT})`, parsePort)
  .option('-H, --host <host>', `host (env HOST; default ${DEFAULT_HOST})`)
  .action(async (opts: { config: string; port?: number; host?: string }) => {
    const config = await loadConfig(opts.config);
    const logger = createLogger();
    const { secret, generated } =
      config.auth?.jwtSecret && !process.env.ORMAI_JWT_SECRET
        ? { secret: config.auth.jwtSecret, generated: false }
        : resolveJwtSecret();
    print(`ormai: opening ${describeDatabase(config)}…`);
    const runtime = await openRuntime(config.app, {
      ...runtimeOptionsFromConfig(config),
      log: print,
    });
    const audit = createAuditLog(config, runtime, logger);
    const gateway = createGateway({
      runtime,
      jwtSecret: secret,
      logger,
      audit,
      ...(config.auth?.tenantClaim ? { tenantClaim: config.auth.tenantClaim } : {}),
      ...(config.auth?.resolvePrincipal ? { resolvePrincipal: config.auth.resolvePrincipal } : {}),
      ...(config.naming ? { naming: config.naming } : {}),
      ...(config.writes?.approvalGate ? { approvalGate: config.writes.approvalGate } : {}),
    });
    const envPort = process.env.PORT ? parsePort(process.env.PORT) : undefined;
    const running = await startHttpServer({
      gateway,
      runtime,
      logger,
      audit,
      mcp: createMcpHttpHandler({
        ...bridgeOptions(gateway, logger, config.app, audit),
        authenticate: gateway.authenticate,
      }),
      port: opts.port ?? envPort ?? config.server?.port ?? DEFAULT_PORT,
      host: opts.host ?? process.env.HOST ?? config.server?.host ?? DEFAULT_HOST,
    });

    print(`ormai: serving ${config.app.name}`);
    print(`  GraphQL + GraphiQL  ${running.url}/graphql`);
    print(`  MCP (HTTP)          ${running.url}/mcp`);
    print(`  health              ${running.url}/healthz`);
    const principals = config.app.devPrincipals ?? [];
    if (principals.length > 0) {
      print();
      print(
        generated
          ? 'Dev tokens (ORMAI_JWT_SECRET is unset, so a random secret signs them; they last until restart):'
          : 'Dev tokens (signed with ORMAI_JWT_SECRET, valid 12h):',
      );
      for (const principal of principals) {
        const token = await signToken(principal, { secret });
        print(
          `  tenant ${principal.tenantId} ${principal.roles.join(',').padEnd(8)} sub ${principal.sub.padEnd(3)} ${token}`,
        );
      }
      print();
      print('In GraphiQL, open Headers and paste: { "Authorization": "Bearer <token>" }');
    }

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      await running.close();
      try {
        await audit.close();
      } catch (error) {
        logger.error({ err: error }, 'audit records left unwritten at shutdown');
      }
      await runtime.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('mcp')
  .description('serve the db.* tools over MCP stdio; the principal comes from ORMAI_TOKEN (a JWT)')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option(
    '--dev-principal <spec>',
    'run without a token as this principal, e.g. sub=1,tenant=1,roles=agent',
  )
  .action(async (opts: { config: string; devPrincipal?: string }) => {
    // stdout is the protocol: everything else goes to stderr
    const say = (line: string) => process.stderr.write(`${line}\n`);
    const config = await loadConfig(opts.config);
    const logger = createLogger();
    let principal: Principal;
    let secret: string;
    if (opts.devPrincipal) {
      principal = parsePrincipalSpec(opts.devPrincipal);
      secret = resolveJwtSecret().secret;
      say(`ormai mcp: running as the dev principal ${JSON.stringify(principal)}`);
    } else {
      const token = process.env.ORMAI_TOKEN;
      secret = process.env.ORMAI_JWT_SECRET ?? config.auth?.jwtSecret ?? '';
      if (!token || !secret) {
        throw new Error(
          'ormai mcp needs ORMAI_TOKEN (a JWT from `ormai token`) and ORMAI_JWT_SECRET to verify it; or pass --dev-principal explicitly',
        );
      }
      principal = await verifyToken(token, {
        secret,
        ...(config.auth?.tenantClaim ? { tenantClaim: config.auth.tenantClaim } : {}),
      });
    }
    const runtime = await openRuntime(config.app, {
      ...runtimeOptionsFromConfig(config),
      log: say,
    });
    const audit = createAuditLog(config, runtime, logger);
    const gateway = createGateway({
      runtime,
      jwtSecret: secret,
      logger,
      audit,
      ...(config.naming ? { naming: config.naming } : {}),
      ...(config.writes?.approvalGate ? { approvalGate: config.writes.approvalGate } : {}),
    });
    try {
      await serveStdio(bridgeOptions(gateway, logger, config.app, audit), principal);
    } finally {
      await audit.close();
      await runtime.close();
    }
  });

program
  .command('mcp-config')
  .description('print MCP client configuration (stdio and HTTP) with the tool schemas')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('--http <url>', 'the /mcp URL of a running ormai serve', 'http://127.0.0.1:4000/mcp')
  .option('--roles <roles>', 'roles whose tools to list', 'agent')
  .action(async (opts: { config: string; http: string; roles: string }) => {
    const config = await loadConfig(opts.config);
    const compiled = compilePolicy(config.app.policy, config.app.datamodel);
    if (!compiled.ok) throw new Error(compiled.message);
    const configFile = opts.config === DEFAULT_CONFIG_FILE ? [] : ['--config', opts.config];
    print(
      JSON.stringify(
        {
          mcpServers: {
            'ormai-stdio': {
              command: 'npx',
              args: ['ormai', 'mcp', ...configFile],
              env: {
                ORMAI_TOKEN: '<a JWT from: npx ormai token --sub 1 --tenant 1 --roles agent>',
                ORMAI_JWT_SECRET: '<the server secret>',
              },
            },
            'ormai-http': {
              type: 'http',
              url: opts.http,
              headers: {
                Authorization:
                  'Bearer <a JWT from: npx ormai token --sub 1 --tenant 1 --roles agent>',
              },
            },
          },
          tools: [
            ...readTools(compiled.value.forRoles(opts.roles.split(','))),
            ...domainToolsFor(
              prepareDomainTools(config.app.domainTools),
              buildSchema({
                datamodel: config.app.datamodel,
                policy: compiled.value.forRoles(opts.roles.split(',')),
                cursorSecret: 'mcp-config',
              }),
            ),
          ],
        },
        null,
        2,
      ),
    );
  });

program
  .command('seed')
  .description('migrate the configured database and load the example data (when empty)')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('--reset', 'delete the example data first, then seed again')
  .action(async (opts: { config: string; reset?: boolean }) => {
    const config = await loadConfig(opts.config);
    const seed = config.app.seed;
    if (!seed) throw new Error(`the app ${config.app.name} has no seed`);
    print(`ormai: opening ${describeDatabase(config)}…`);
    const runtime = await openRuntime(config.app, {
      ...runtimeOptionsFromConfig(config),
      seedIfEmpty: false,
    });
    try {
      for (const name of runtime.migrations.applied) print(`migration applied: ${name}`);
      if (opts.reset) {
        await seed.reset(runtime.db.sql);
        print('example data deleted');
      }
      if (await seed.isSeeded(runtime.db.sql)) {
        print('already seeded; pass --reset to start over');
      } else {
        const summary = await seed.run(runtime.db.sql, { log: print });
        print(`seeded: ${JSON.stringify(summary)}`);
      }
    } finally {
      await runtime.close();
    }
  });

program
  .command('check')
  .description(
    'verify the policy statically: scoping, relation walks, filter oracles, write reasons',
  )
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .action(async (opts: { config: string }) => {
    const config = await loadConfig(opts.config);
    const report = runChecks(config.app);
    for (const line of report.lines) print(line);
    process.exit(report.ok ? 0 : 1);
  });

program
  .command('explain')
  .description('print what each role reads, field by field (allow, mask, hash, deny), as markdown')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .action(async (opts: { config: string }) => {
    const config = await loadConfig(opts.config);
    const compiled = compilePolicy(config.app.policy, config.app.datamodel);
    if (!compiled.ok) throw new Error(compiled.message);
    print(explainPolicy(compiled.value));
  });

const approvals = program
  .command('approvals')
  .description('list, approve or reject writes waiting for approval, as an approver of a tenant');

/** Runs one GraphQL operation as the CLI's approver of a tenant, through the same gateway. */
async function asApprover(
  opts: { config: string; tenant: string; sub: string; role?: string },
  document: string,
  variables: Record<string, unknown>,
) {
  const config = await loadConfig(opts.config);
  const logger = createLogger('warn');
  const runtime = await openRuntime(config.app, {
    ...runtimeOptionsFromConfig(config),
    seedIfEmpty: false,
  });
  const audit = createAuditLog(config, runtime, logger);
  try {
    const gateway = createGateway({ runtime, jwtSecret: resolveJwtSecret().secret, logger, audit });
    const role = opts.role ?? runtime.policy.policy.writes?.approvers?.[0] ?? 'admin';
    const tenant = /^\d+$/.test(opts.tenant) ? Number(opts.tenant) : opts.tenant;
    const principal: Principal = {
      sub: opts.sub,
      tenantId: tenant,
      roles: [role],
      claims: { sub: opts.sub, tenantId: tenant, roles: [role] },
    };
    const result = await gateway.execute({ principal, document, variables, surface: 'graphql' });
    if (result.errors?.length) {
      const error = result.errors[0]!;
      throw new Error(`${String(error.extensions.code)}: ${error.message}`);
    }
    return result.data!;
  } finally {
    await audit.close();
    await runtime.close();
  }
}

const approverOptions = (command: Command) =>
  command
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
    .requiredOption('--tenant <id>', 'the tenant whose requests these are')
    .option('--sub <id>', 'who decides (recorded as decided_by)', 'cli')
    .option(
      '--role <role>',
      'the approver role to act as (default: the first of writes.approvers)',
    );

approverOptions(approvals.command('list').description('requests of the tenant, newest first'))
  .option('--status <status>', 'pending, approved, rejected or expired')
  .action(
    async (opts: {
      config: string;
      tenant: string;
      sub: string;
      role?: string;
      status?: string;
    }) => {
      const data = await asApprover(
        opts,
        'query($status: String) { approvalRequests(status: $status) { id status operation model reason requestedBy createdAt expiresAt } }',
        { status: opts.status ?? null },
      );
      const rows = data.approvalRequests as Record<string, string>[];
      if (rows.length === 0) print('no requests');
      for (const row of rows) {
        print(
          `${row.id} ${String(row.status).padEnd(8)} ${row.operation} ${row.model} by ${row.requestedBy} at ${row.createdAt}: ${row.reason ?? ''}`,
        );
      }
    },
  );

approverOptions(
  approvals.command('approve <id>').description('approve a pending request; it runs once, now'),
).action(
  async (id: string, opts: { config: string; tenant: string; sub: string; role?: string }) => {
    const data = await asApprover(
      opts,
      'mutation($id: ID!) { approveRequest(id: $id) { id status result } }',
      { id },
    );
    print(JSON.stringify(data.approveRequest));
  },
);

approverOptions(approvals.command('reject <id>').description('reject a pending request'))
  .option('--reason <text>', 'why')
  .action(
    async (
      id: string,
      opts: { config: string; tenant: string; sub: string; role?: string; reason?: string },
    ) => {
      const data = await asApprover(
        opts,
        'mutation($id: ID!, $reason: String) { rejectRequest(id: $id, reason: $reason) { id status } }',
        {
          id,
          reason: opts.reason ?? null,
        },
      );
      print(JSON.stringify(data.rejectRequest));
    },
  );

const auditCommand = program.command('audit').description('read and verify the audit log');

auditCommand
  .command('verify')
  .description(
    'walk the hash chain of ormai_audit_log (or a JSONL file); exit 1 at the first broken link',
  )
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('--jsonl <file>', 'verify this JSONL audit file instead of the table')
  .action(async (opts: { config: string; jsonl?: string }) => {
    const config = await loadConfig(opts.config);
    const runtime = await openRuntime(config.app, {
      ...runtimeOptionsFromConfig(config),
      seedIfEmpty: false,
    });
    try {
      const report = await verifyAudit(runtime, opts.jsonl);
      for (const line of report.lines) print(line);
      process.exitCode = report.ok ? 0 : 1;
    } finally {
      await runtime.close();
    }
  });

auditCommand
  .command('tail')
  .description('print the latest audit records readably')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('--tenant <id>', 'only this tenant')
  .option('--trace <id>', 'only this trace id')
  .option('-n, --limit <n>', 'how many', (value) => Number.parseInt(value, 10), 20)
  .option('-f, --follow', 'keep printing new records')
  .action(
    async (opts: {
      config: string;
      tenant?: string;
      trace?: string;
      limit: number;
      follow?: boolean;
    }) => {
      const config = await loadConfig(opts.config);
      const runtime = await openRuntime(config.app, {
        ...runtimeOptionsFromConfig(config),
        seedIfEmpty: false,
      });
      try {
        await tailAudit(runtime, opts, print);
      } finally {
        await runtime.close();
      }
    },
  );

program
  .command('token')
  .description('print a JWT signed with ORMAI_JWT_SECRET')
  .requiredOption('--sub <id>', 'the user id (sub claim)')
  .option('--tenant <id>', 'the tenant id claim')
  .option('--roles <roles>', 'comma-separated roles', 'agent')
  .option('--expires <span>', 'lifetime, e.g. 12h or 7d', '12h')
  .action(async (opts: { sub: string; tenant?: string; roles: string; expires: string }) => {
    const secret = process.env.ORMAI_JWT_SECRET;
    if (!secret) {
      throw new Error(
        'set ORMAI_JWT_SECRET to the secret the server uses (tokens are signed with it)',
      );
    }
    const tenant =
      opts.tenant === undefined
        ? null
        : /^\d+$/.test(opts.tenant)
          ? Number(opts.tenant)
          : opts.tenant;
    const roles = opts.roles
      .split(',')
      .map((role) => role.trim())
      .filter(Boolean);
    print(
      await signToken(
        { sub: opts.sub, tenantId: tenant, roles, expiresIn: opts.expires },
        { secret },
      ),
    );
  });

function bridgeOptions(gateway: Gateway, logger: Logger, app: OrmaiApp, audit: AuditLog) {
  const record = auditToolCall(audit, gateway.policyFor);
  return {
    execute: gateway.execute,
    policyFor: gateway.policyFor,
    schemaFor: gateway.schemaFor,
    domainTools: app.domainTools ?? [],
    onToolCall: (event: ToolCallEvent) => {
      record(event);
      logger.info(
        {
          tool: event.tool,
          traceId: event.traceId,
          outcome: event.outcome,
          errorCode: event.errorCode,
          rows: event.rowCount,
          ms: event.durationMs,
        },
        'mcp tool call',
      );
    },
  };
}

/** `sub=1,tenant=1,roles=agent+support` → a principal. */
function parsePrincipalSpec(spec: string): Principal {
  const parts = Object.fromEntries(
    spec.split(',').map((part) => part.split('=').map((s) => s.trim()) as [string, string]),
  );
  if (!parts.sub) throw new InvalidArgumentError('--dev-principal needs sub=<id>');
  const tenant = parts.tenant ?? parts.tenantId;
  const roles = (parts.roles ?? 'agent').split('+').filter(Boolean);
  return {
    sub: parts.sub,
    tenantId: tenant === undefined ? null : /^\d+$/.test(tenant) ? Number(tenant) : tenant,
    roles,
    claims: { sub: parts.sub, tenantId: tenant, roles },
  };
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`ormai: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
