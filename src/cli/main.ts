#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig, type OrmaiConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { migrateOrmai } from '../db/migrate.js';
import { ormaiTables } from '../db/ormai-tables.js';
import { describeError } from '../describe-error.js';
import { proxyStdioToHttp, serveStdio } from '../mcp-bridge/index.js';
import { startTracing } from '../observability/otel-sdk.js';
import { compilePolicy } from '../policy/compile-policy.js';
import { explainPolicy } from '../policy/explain.js';
import type { Principal } from '../policy/principal.js';
import { openRuntime, runtimeOptionsFromConfig } from '../runtime.js';
import { isApiKey } from '../server/api-keys.js';
import { createAuditLog } from '../server/audit-setup.js';
import {
  identitySettings,
  resolveJwtSecret,
  signingOptions,
  signToken,
  verifyToken,
} from '../server/auth.js';
import { bridgeOptions, createOrmai, type Ormai } from '../server/create-ormai.js';
import { createGateway } from '../server/gateway.js';
import { DEFAULT_HOST, DEFAULT_PORT, deferredHandler, listen } from '../server/http-server.js';
import { createJwksVerifier } from '../server/jwks.js';
import { createLogger } from '../server/logger.js';
import { apiKeyCommand } from './api-keys.js';
import { durationFrom, listenFailure, portFrom } from './arguments.js';
import { tailAudit, verifyAudit } from './audit.js';
import { runChecks } from './check.js';
import {
  clientConfig,
  installClientConfig,
  MCP_CLIENTS,
  type McpClient,
  type McpTransport,
  mcpClientConfig,
} from './mcp-config.js';
import { findRunningServer, graphqlAt, recordRunningServer, tokenFor } from './running-server.js';
import { serveReloads } from './serve-reload.js';

const print = (line = '') => process.stdout.write(`${line}\n`);

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
  .description('serve GraphQL at /graphql (GraphiQL in a browser), MCP at /mcp and /healthz')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('-p, --port <port>', `port (env PORT; default ${DEFAULT_PORT})`)
  .option('-H, --host <host>', `host (env HOST; default ${DEFAULT_HOST})`)
  .option(
    '-w, --watch',
    'reload the policy, the datamodel and the domain tools when a file the config reads changes (SIGHUP reloads too)',
  )
  .action(async (opts: { config: string; port?: string; host?: string; watch?: boolean }) => {
    // started before anything is traced; the OTEL_* variables decide (off without them)
    const tracing = await startTracing(process.env, (line) => process.stderr.write(`${line}\n`));
    const config = await loadConfig(opts.config);
    const logger = createLogger();
    const port =
      opts.port !== undefined
        ? portFrom(opts.port, '--port')
        : process.env.PORT
          ? portFrom(process.env.PORT, 'PORT')
          : config.server?.port !== undefined
            ? portFrom(config.server.port, 'server.port')
            : DEFAULT_PORT;
    const host = opts.host || process.env.HOST || config.server?.host || DEFAULT_HOST;
    // the port first: one in use fails now, not after the database was opened (or created); until
    // the database is ready, requests are answered 503
    const handler = deferredHandler();
    const running = await listen(handler.fetch, { port, host }).catch((error: unknown) => {
      throw listenFailure(error, port, host);
    });
    print(`ormai: opening ${describeDatabase(config)}…`);
    let ormai: Ormai;
    try {
      ormai = await createOrmai(config, { logger, log: print });
    } catch (error) {
      await running.close();
      throw error;
    }
    handler.ready(ormai.fetch);
    // while it holds the embedded database, `approvals` and `mcp` of this host go through it, with
    // tokens signed by its secret (an app's resolvePrincipal would not accept them)
    const forget = config.auth?.resolvePrincipal
      ? () => {}
      : recordRunningServer(config, {
          url: running.url,
          paths: { graphql: ormai.paths.graphql, mcp: ormai.paths.mcp },
          secret: ormai.jwt.secret,
        });

    print(`ormai: serving ${config.app.name} (policy ${ormai.policyVersion})`);
    print(`  GraphQL + GraphiQL  ${running.url}${ormai.paths.graphql}`);
    print(`  MCP (HTTP)          ${running.url}${ormai.paths.mcp}`);
    print(`  health              ${running.url}${ormai.paths.healthz}`);
    if (ormai.metrics) print(`  metrics             ${running.url}${ormai.paths.metrics}`);
    if (tracing) print('  traces              exported as the OTEL_* variables say');
    const principals = config.app.devPrincipals ?? [];
    if (principals.length > 0) {
      print();
      print(
        ormai.jwt.generated
          ? 'Dev tokens (ORMAI_JWT_SECRET is unset, so a random secret signs them; they last until restart):'
          : 'Dev tokens (signed with ORMAI_JWT_SECRET, valid 12h):',
      );
      for (const principal of principals) {
        const token = await ormai.signToken(principal);
        print(
          `  tenant ${principal.tenantId} ${principal.roles.join(',').padEnd(8)} sub ${principal.sub.padEnd(3)} ${token}`,
        );
      }
      print();
    } else if (ormai.jwt.generated) {
      print();
      print(
        'ORMAI_JWT_SECRET is unset: a random secret signs tokens until restart. Set it, then: npx ormai token --sub <user> --tenant <id> --roles agent',
      );
    }
    print('In GraphiQL, open Headers and paste: { "Authorization": "Bearer <token>" }');

    let stopping = false;
    // SIGHUP (and with --watch, a changed file) reloads the policy without a restart
    const reloads = serveReloads({
      configPath: opts.config,
      config,
      ormai,
      watch: opts.watch === true,
      print,
      printError: (line) => process.stderr.write(`${line}\n`),
    });
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      reloads.close();
      forget();
      await running.close();
      await ormai.close();
      // the spans still batched are exported before the process ends
      await tracing?.shutdown().catch(() => {});
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
  .option('--cwd <dir>', 'run in this folder (the embedded database is under its .ormai/)')
  .option('--url <url>', "forward to this ormai server's /mcp with ORMAI_TOKEN; no database here")
  .action(async (opts: { config: string; devPrincipal?: string; cwd?: string; url?: string }) => {
    // stdout is the protocol: everything else goes to stderr
    const say = (line: string) => process.stderr.write(`${line}\n`);
    // an MCP client starts servers where it likes (Claude Desktop: in /)
    if (opts.cwd) process.chdir(opts.cwd);
    if (opts.url) {
      if (!process.env.ORMAI_TOKEN) throw new Error('ormai mcp --url needs ORMAI_TOKEN');
      await proxyStdioToHttp({ url: new URL(opts.url), token: process.env.ORMAI_TOKEN });
      return;
    }
    const config = await loadConfig(opts.config);
    const logger = createLogger();
    const needsToken = () =>
      new Error(
        'ormai mcp needs ORMAI_TOKEN (a JWT from `ormai token` with ORMAI_JWT_SECRET to verify it, a token of the identity provider of ORMAI_JWKS_URL, or an API key); or pass --dev-principal explicitly',
      );
    // the server's own rules: claim paths, issuer, audience, the identity provider's keys
    const identity = identitySettings(config.auth);
    const jwks = identity.jwks ? createJwksVerifier(identity.jwks) : undefined;
    const verifyWith = (secret: string) =>
      verifyToken(token!, { ...signingOptions(secret, identity), jwks });
    const token = process.env.ORMAI_TOKEN;
    let principal: Principal | undefined;
    if (opts.devPrincipal) {
      principal = parsePrincipalSpec(opts.devPrincipal);
      say(`ormai mcp: running as the dev principal ${JSON.stringify(principal)}`);
    } else if (!token) {
      throw needsToken();
    }

    const server = await findRunningServer(config);
    if (server) {
      // the server holds the embedded database: its /mcp serves the calls (and records each one);
      // a token is checked here first so that a bad one fails now, with a message
      // (an API key is the server's to look up)
      if (!principal && !isApiKey(token!)) await verifyWith(server.secret);
      const dev = principal;
      const bearer = dev ? () => tokenFor(server, config, dev) : token!;
      const url = new URL(server.paths.mcp, server.url);
      say(
        `ormai mcp: \`ormai serve\` (pid ${server.pid}) holds the database; forwarding to ${url}`,
      );
      await proxyStdioToHttp({ url, token: bearer });
      return;
    }
    if (!principal && !isApiKey(token!)) {
      const secret = process.env.ORMAI_JWT_SECRET ?? config.auth?.jwtSecret ?? '';
      if (!secret && !jwks) throw needsToken();
      principal = await verifyWith(secret);
    }
    const ormai = await createOrmai(config, { logger, log: say });
    try {
      // an API key is looked up in the database just opened, as /mcp would
      principal ??= await ormai.gateway.authenticate(
        new Request('http://ormai.stdio/', { headers: { authorization: `Bearer ${token}` } }),
      );
      await serveStdio(bridgeOptions(ormai.gateway, logger, config, ormai.audit), principal);
    } finally {
      await ormai.close();
    }
  });

program
  .command('migrate')
  .description(
    "create or update ormai's own tables (audit log, approvals) in their own schema; never the app's",
  )
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .action(async (opts: { config: string }) => {
    const config = await loadConfig(opts.config);
    const options = runtimeOptionsFromConfig(config);
    print(`ormai: opening ${describeDatabase(config)}…`);
    const tables = ormaiTables(options.ormaiSchema);
    const db = options.databaseUrl
      ? await openDatabase({ kind: 'postgres', url: options.databaseUrl, schema: options.schema })
      : await openDatabase({ kind: 'pglite', dataDir: options.dataDir });
    try {
      const result = await migrateOrmai(db.sql, tables);
      for (const name of result.applied) print(`applied: ${name}`);
      print(
        result.applied.length > 0
          ? `ormai's tables are ready in schema ${tables.schema}`
          : `ormai's tables in schema ${tables.schema} are up to date`,
      );
    } finally {
      await db.close();
    }
  });

program
  .command('mcp-config')
  .description(
    'print MCP client configuration (stdio and HTTP) with exactly the tools the roles get',
  )
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('--http <url>', 'the /mcp URL of a running ormai serve', 'http://127.0.0.1:4000/mcp')
  .option('--roles <roles>', 'comma-separated roles whose tools to list', 'agent')
  .addOption(
    new Option('--client <client>', "that client's config file format").choices(MCP_CLIENTS),
  )
  .addOption(
    new Option('--transport <transport>', 'with --client: the server ormai runs, or its URL')
      .choices(['stdio', 'http'])
      .default('stdio'),
  )
  .option('--install', "with --client: merge into the client's config file (a backup first)")
  .option('--file <path>', "with --client: this file instead of the client's usual one")
  .action(
    async (opts: {
      config: string;
      http: string;
      roles: string;
      client?: McpClient;
      transport: McpTransport;
      install?: boolean;
      file?: string;
    }) => {
      const config = await loadConfig(opts.config);
      const roles = opts.roles
        .split(',')
        .map((role) => role.trim())
        .filter(Boolean);
      const options = { configFile: opts.config, http: opts.http, roles, cwd: process.cwd() };
      if (!opts.client) {
        if (opts.install || opts.file) throw new InvalidArgumentError('--install needs --client');
        print(JSON.stringify(mcpClientConfig(config, options), null, 2));
        return;
      }
      const target = clientConfig(config, {
        ...options,
        client: opts.client,
        transport: opts.transport,
        file: opts.file,
      });
      const say = (line: string) => process.stderr.write(`${line}\n`);
      if (opts.install) {
        const result = installClientConfig(target);
        print(
          result.status === 'unchanged'
            ? `${target.path} already has ${target.name} as printed; nothing written`
            : `${result.status === 'created' ? 'wrote' : 'merged'} ${target.name} into ${target.path}${result.backup ? ` (backup: ${result.backup})` : ''}`,
        );
        for (const note of target.notes) print(`  ${note}`);
      } else {
        // stdout is the file's JSON (to pipe or paste); the rest goes to stderr
        print(JSON.stringify(target.block, null, 2));
        say(`ormai: for ${target.path}`);
        for (const note of target.notes) say(`  ${note}`);
      }
      const names = target.tools.map((tool) => tool.name);
      (opts.install ? print : say)(
        `  ${names.length} tools for ${roles.join(', ')}: ${names.join(', ')}`,
      );
    },
  );

const generate = program
  .command('generate')
  .description('write typed files from the datamodel and the policy: a view, a domain tool');

/** `a,b` → `['a', 'b']` */
const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
/** Repeatable `--count orderCount=orders` → `{ orderCount: 'orders' }` */
const assignments = (value: string, previous: Record<string, string> = {}) => {
  for (const item of list(value)) {
    const [name, path] = item.split('=').map((part) => part.trim());
    if (!name || !path) throw new InvalidArgumentError(`expected name=path, got ${item}`);
    previous[name] = path;
  }
  return previous;
};
const generateOptions = (command: Command) =>
  command
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
    .option('--roles <roles>', 'comma-separated roles to check it for (default: every role)')
    .option('--out <dir>', 'the folder to write into (default: the working directory)')
    .option('--dry-run', 'print the file instead of writing it')
    .option('--force', 'overwrite the file when it differs');

generateOptions(
  generate
    .command('view <model>')
    .description("a view for the policy's views (chosen fields, counts, sums) and its row type")
    .requiredOption('--name <Name>', 'the view, PascalCase (e.g. CustomerContact)')
    .requiredOption('--fields <fields>', 'comma-separated fields of the model')
    .option(
      '--count <name=relation>',
      'a count of related rows, e.g. orderCount=orders',
      assignments,
    )
    .option(
      '--sum <name=relation.field>',
      'a sum, e.g. lifetimeCents=orders.totalCents',
      assignments,
    ),
).action(
  async (
    model: string,
    opts: {
      config: string;
      name: string;
      fields: string;
      count?: Record<string, string>;
      sum?: Record<string, string>;
      roles?: string;
      out?: string;
      dryRun?: boolean;
      force?: boolean;
    },
  ) => {
    const { emit, generateView } = await import('./generate.js');
    const config = await loadConfig(opts.config);
    const file = generateView(config, {
      model,
      name: opts.name,
      fields: list(opts.fields),
      counts: opts.count ?? {},
      sums: opts.sum ?? {},
      roles: opts.roles ? list(opts.roles) : undefined,
    });
    process.exitCode = emit(file, { cwd: process.cwd(), ...opts, print });
  },
);

generateOptions(
  generate
    .command('tool <name>')
    .description(
      'a domain tool (one GraphQL query served over MCP) with its argument and result types',
    )
    .requiredOption('--query <document>', "the GraphQL query, e.g. 'query($id: Int!) { … }'")
    .option('--description <text>', 'what the tool does, for the agent'),
).action(
  async (
    name: string,
    opts: {
      config: string;
      query: string;
      description?: string;
      roles?: string;
      out?: string;
      dryRun?: boolean;
      force?: boolean;
    },
  ) => {
    const { emit, generateTool } = await import('./generate.js');
    const config = await loadConfig(opts.config);
    const file = generateTool(config, {
      name,
      query: opts.query,
      description: opts.description,
      roles: opts.roles ? list(opts.roles) : undefined,
    });
    process.exitCode = emit(file, { cwd: process.cwd(), ...opts, print });
  },
);

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
      // starting over includes an embedded database that cannot be opened: moved aside, made anew
      replaceDamaged: Boolean(opts.reset),
      log: print,
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

program
  .command('policy')
  .description('compare policies before changing one')
  .command('diff <old> <new>')
  .description(
    "what changes per role between two policy files (.ts, .js or .json) over the config's datamodel; with --calls, which recorded calls would change",
  )
  .option('-c, --config <file>', 'config file (its datamodel and database)', DEFAULT_CONFIG_FILE)
  .option('--calls <file>', 'recorded calls (ormai record) to run under both policies')
  .option('--json', 'print the report as JSON')
  .action(
    async (
      oldFile: string,
      newFile: string,
      opts: { config: string; calls?: string; json?: boolean },
    ) => {
      const config = await loadConfig(opts.config);
      const { runPolicyDiff } = await import('./policy-diff.js');
      await runPolicyDiff(
        config,
        {
          oldFile,
          newFile,
          ...(opts.calls ? { callsFile: opts.calls } : {}),
          json: Boolean(opts.json),
        },
        print,
      );
    },
  );

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
  const writes = config.app.policy.writes;
  const approvers = writes?.approvers ?? [];
  const role = opts.role ?? approvers[0];
  if (!role) {
    throw new Error(
      'the policy names no approver role: add writes.approvers (e.g. ["admin"]), or pass --role',
    );
  }
  // checked before the database is opened: the decision is recorded under this role
  const compiled = compilePolicy(config.app.policy, config.app.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  if (!compiled.value.forRoles([role]).canApprove) {
    throw new Error(
      writes?.enabled
        ? `--role ${role} cannot decide approvals: the policy's writes.approvers are ${approvers.join(', ')}`
        : 'writes are off in the policy (writes.enabled), so there is nothing to approve',
    );
  }
  const tenant = /^\d+$/.test(opts.tenant) ? Number(opts.tenant) : opts.tenant;
  const principal: Principal = {
    sub: opts.sub,
    tenantId: tenant,
    roles: [role],
    claims: { sub: opts.sub, tenantId: tenant, roles: [role] },
  };
  // a server holding the embedded database runs (and records) the operation for this approver
  const server = await findRunningServer(config);
  const result = server
    ? await graphqlAt(server, await tokenFor(server, config, principal), document, variables)
    : await executeLocally(config, principal, document, variables);
  if (result.errors?.length) {
    const error = result.errors[0]!;
    throw new Error(`${String(error.extensions?.code)}: ${error.message}`);
  }
  return result.data!;
}

/** One GraphQL operation through a gateway of this process's own, over the database it opens. */
async function executeLocally(
  config: OrmaiConfig,
  principal: Principal,
  document: string,
  variables: Record<string, unknown>,
) {
  const logger = createLogger('warn');
  const runtime = await openRuntime(config.app, {
    ...runtimeOptionsFromConfig(config),
    seedIfEmpty: false,
  });
  const audit = createAuditLog(config, runtime, logger);
  try {
    const gateway = createGateway({ runtime, jwtSecret: resolveJwtSecret().secret, logger, audit });
    return await gateway.execute({ principal, document, variables, surface: 'graphql' });
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
    'walk the hash chains of ormai_audit_log (one per process that wrote) or a JSONL file; exit 1 at the first broken link',
  )
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .option('--jsonl <file>', 'verify this JSONL audit file instead of the table')
  .action(async (opts: { config: string; jsonl?: string }) => {
    const config = await loadConfig(opts.config);
    // a JSONL file needs no database: it can be verified while the server runs
    const runtime = opts.jsonl
      ? undefined
      : await openRuntime(config.app, { ...runtimeOptionsFromConfig(config), seedIfEmpty: false });
    let report: Awaited<ReturnType<typeof verifyAudit>>;
    try {
      report = await verifyAudit(runtime, opts.jsonl);
    } finally {
      await runtime?.close();
    }
    for (const line of report.lines) print(line);
    process.exitCode = report.ok ? 0 : 1;
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
  .command('record')
  .description(
    'export recorded calls (principal, inputs, outcome, result digest) from the audit log to JSONL',
  )
  .requiredOption('-o, --out <file>', 'the JSONL file to write')
  .option('-n, --limit <n>', 'only the latest N calls')
  .option('--since <iso>', 'only calls at or after this instant (ISO-8601)')
  .option('--jsonl <file>', 'read this JSONL audit file instead of the configured audit log')
  .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
  .action(
    async (opts: {
      out: string;
      limit?: string;
      since?: string;
      jsonl?: string;
      config: string;
    }) => {
      const { limitFrom, recordCalls, sinceFrom } = await import('./record.js');
      const limit = opts.limit === undefined ? undefined : limitFrom(opts.limit);
      const since = opts.since === undefined ? undefined : sinceFrom(opts.since);
      const config = await loadConfig(opts.config);
      const lines = await recordCalls(config, {
        out: opts.out,
        ...(limit !== undefined ? { limit } : {}),
        ...(since ? { since } : {}),
        ...(opts.jsonl ? { jsonl: opts.jsonl } : {}),
      });
      for (const line of lines) print(line);
    },
  );

program
  .command('replay <file>')
  .description(
    'run recorded calls again (writes rolled back), compare outcomes and digests, check for leaks; exit 1 on any difference or violation',
  )
  .option('--report <file>', 'write the report as JSON (the same calls give the same bytes)')
  .option(
    '--against <url>',
    'replay against this PostgreSQL database instead of the configured one',
  )
  .option('-c, --config <file>', 'config file (its policy and database)', DEFAULT_CONFIG_FILE)
  .action(async (file: string, opts: { report?: string; against?: string; config: string }) => {
    const { replayFile } = await import('./replay.js');
    const config = await loadConfig(opts.config);
    const result = await replayFile(config, file, {
      ...(opts.report ? { report: opts.report } : {}),
      ...(opts.against ? { against: opts.against } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    for (const line of result.lines) print(line);
    process.exitCode = result.ok ? 0 : 1;
  });

program.addCommand(apiKeyCommand(print));

program
  .command('token')
  .description('print a JWT signed with ORMAI_JWT_SECRET')
  .requiredOption('--sub <id>', 'the user id (sub claim)')
  .option('--tenant <id>', 'the tenant id claim')
  .option('--roles <roles>', 'comma-separated roles', 'agent')
  .option('--expires <span>', 'lifetime, e.g. 30m, 12h or 7d', '12h')
  .option('-c, --config <file>', "write the claims where this config's auth.claims reads them")
  .action(
    async (opts: {
      sub: string;
      tenant?: string;
      roles: string;
      expires: string;
      config?: string;
    }) => {
      const expiresIn = durationFrom(opts.expires);
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
      // with the issuer and audience the server checks (ORMAI_JWT_ISSUER, ORMAI_JWT_AUDIENCE)
      const auth = opts.config ? (await loadConfig(opts.config)).auth : undefined;
      print(
        await signToken(
          { sub: opts.sub, tenantId: tenant, roles, expiresIn },
          signingOptions(secret, identitySettings(auth)),
        ),
      );
    },
  );

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

program
  .command('init')
  .description(
    'in a Prisma project: write ormai.config.ts and ormai.policy.ts from its schema, then check them',
  )
  .option('--schema <path>', 'the Prisma schema (default: as Prisma finds it)')
  .option('--tenant-field <field>', 'the tenant field or its column (default: detected)')
  .option('-y, --yes', 'accepted for scripts; init never asks')
  .option('--force', 'overwrite ormai.config.ts and ormai.policy.ts when they differ')
  .action(async (opts: { schema?: string; tenantField?: string; force?: boolean }) => {
    // loaded on demand: init needs none of the server
    const { runInit } = await import('./init.js');
    process.exitCode = runInit({ cwd: process.cwd(), ...opts, print });
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`ormai: ${describeError(error)}\n`);
  process.exit(1);
});
