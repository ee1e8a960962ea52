import type { OrmaiApp } from '../app.js';
import type { AuditLog } from '../audit/audit-log.js';
import {
  type OrmaiConfig,
  type OrmaiPaths,
  resolveHashKey,
  roleSetCacheSizeOf,
} from '../config.js';
import { describeDatamodelGaps, findDatamodelGaps } from '../db/check-datamodel.js';
import type { RawSqlClient } from '../db/database.js';
import {
  createMcpHttpHandler,
  type McpBridgeOptions,
  originPolicy,
  preparedDomainTools,
  type ToolCallEvent,
} from '../mcp-bridge/index.js';
import { OrmaiMetrics } from '../observability/metrics.js';
import { resolveMetricsAccess } from '../observability/metrics-endpoint.js';
import { observeRefusedCall, observeToolCall, tracedExecute } from '../observability/tool-calls.js';
import { traceHttp } from '../observability/tracing.js';
import { hasPlannerBudgets, type PolicyEngine } from '../policy/compile-policy.js';
import {
  compileAppPolicy,
  openRuntime,
  type Runtime,
  runtimeOptionsFromConfig,
} from '../runtime.js';
import type { PrismaClientLike } from '../schema/context.js';
import { ApiKeyStore } from './api-keys.js';
import { auditRefusedCall, auditToolCall, createAuditLog } from './audit-setup.js';
import { identitySettings, resolveJwtSecret, signingOptions, signToken } from './auth.js';
import { createGateway, type Gateway } from './gateway.js';
import { clientGaps, type ReloadableApp } from './hot-reload.js';
import { toNodeHandler } from './http-server.js';
import { createJwksVerifier } from './jwks.js';
import { createLogger, type Logger } from './logger.js';
import { protectedResourceFromConfig } from './oauth.js';
import { checkRateLimits, createRateLimiter } from './rate-limit.js';
import { createRouter, DEFAULT_PATHS, type FetchHandler } from './router.js';

export interface CreateOrmaiOptions {
  /**
   * Your app's PrismaClient: ormai runs every query through it (its connections, its pool) and
   * opens none of its own. Without it ormai opens `database.url` (or the embedded database) and
   * builds a client with `app.createPrismaClient`.
   */
  prisma?: PrismaClientLike & RawSqlClient;
  /**
   * Your client's driver adapter is wrapped in `plannerBudgetAdapter` (exported by `ormai`):
   * `new PrismaClient({ adapter: plannerBudgetAdapter(new PrismaPg(…)) })`. Planner budgets
   * (`maxEstimatedRows`, `maxEstimatedCost`) then hold through your client; without this a policy
   * that sets them is refused at start.
   */
  plannedAdapter?: boolean;
  /** A pino logger (default: pino at `LOG_LEVEL`, or `info`). */
  logger?: Logger;
  /** Environment read for `DATABASE_URL`, `ORMAI_JWT_SECRET`, `ORMAI_HASH_KEY` (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Runtime messages (first-run seeding of an example). */
  log?: (line: string) => void;
}

/** ormai mounted in a server: Web-standard handlers, plus what the CLI and tests need to see. */
export interface Ormai {
  /** Every endpoint by path (GraphQL, MCP, health, metrics): `fetch(request) → response`. */
  fetch: FetchHandler;
  /** GraphQL only (GraphiQL on GET from a browser), whatever the request's path. */
  graphql: FetchHandler;
  /** MCP Streamable HTTP only, whatever the request's path. */
  mcp: FetchHandler;
  /** `fetch` as a node:http listener `(req, res)`, for Express, Fastify (`reply.raw`) or node:http. */
  nodeHandler: ReturnType<typeof toNodeHandler>;
  /** Where `fetch` serves each endpoint. */
  paths: Required<OrmaiPaths>;
  gateway: Gateway;
  runtime: Runtime;
  audit: AuditLog;
  /** The JWT secret in use; `generated` when none was configured (dev only). */
  jwt: { secret: string; generated: boolean };
  /** Signs a token for a principal with the secret in use (dev tokens, tests). */
  signToken(principal: {
    sub: string;
    tenantId: number | string | null;
    roles: string[];
  }): Promise<string>;
  /**
   * The MCP tools as `/mcp` serves them (policy, budgets, one audit record per call), for agents
   * in this process: `ormai/ai` turns them into AI SDK, LangChain, OpenAI and Anthropic tools.
   */
  tools: McpBridgeOptions;
  /** What `/metrics` serves (its `registry` can be merged into an app's); undefined when disabled. */
  metrics: OrmaiMetrics | undefined;
  /** The API keys of ormai's table (`ormai api-key`); undefined when `auth.apiKeys` is false. */
  apiKeys: ApiKeyStore | undefined;
  /** The version of the policy served now (`PolicyEngine.version`); every audit record names it. */
  readonly policyVersion: string;
  /**
   * Serves a new policy, datamodel and domain tools: validated and checked like at start, the
   * role-set schemas built, then swapped in at once (requests in flight finish on the old
   * version). When any check fails, the old version keeps serving and the result says why.
   */
  reload(next: ReloadableApp): Promise<ReloadResult>;
  /** Flushes the audit log and closes what ormai opened (never a PrismaClient you passed). */
  close(): Promise<void>;
}

/**
 * ormai for a config: the database checked (and ormai's own tables created when missing), the
 * policy compiled, the audit log, GraphQL and MCP, as Web-standard handlers any server can mount.
 */
export async function createOrmai(
  config: OrmaiConfig,
  options: CreateOrmaiOptions = {},
): Promise<Ormai> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger();
  const jwt =
    config.auth?.jwtSecret && !env.ORMAI_JWT_SECRET
      ? { secret: config.auth.jwtSecret, generated: false }
      : resolveJwtSecret(env);
  // a bad claim path, JWKS URL or public URL stops the start before the database is opened
  const identity = identitySettings(config.auth, env);
  const jwks = identity.jwks
    ? createJwksVerifier(identity.jwks, {
        onUnavailable: (error) => logger.error({ err: error.cause }, error.message),
      })
    : undefined;
  const protectedResource = protectedResourceFromConfig(
    config,
    identity.issuer,
    config.server?.paths?.mcp ?? DEFAULT_PATHS.mcp,
  );
  // refused before the database is opened: production needs a hash key of its own
  const hashKey = resolveHashKey(config, env);
  const metricsAccess = resolveMetricsAccess(config.metrics, env);
  // so are domain tools that do not parse or whose names collide as function names
  preparedDomainTools(config.app.domainTools);
  // and an mcp.allowedOrigins entry that is no origin
  originPolicy(config.mcp?.allowedOrigins);
  if (config.rateLimits)
    checkRateLimits(config.rateLimits, Object.keys(config.app.policy.roles ?? {}));
  const runtime = await openRuntime(config.app, {
    ...runtimeOptionsFromConfig(config, env),
    hashKey: hashKey.key,
    ...(options.prisma ? { prisma: options.prisma, plannedAdapter: options.plannedAdapter } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  // warned once the database is open, so a start that fails prints only its reason
  if (hashKey.warning) logger.warn(hashKey.warning);
  const paths = { ...DEFAULT_PATHS, ...config.server?.paths };
  const audit = createAuditLog(config, runtime, logger);
  const rateLimiter = config.rateLimits
    ? createRateLimiter({
        limits: config.rateLimits,
        sql: runtime.db.sql,
        table: runtime.tables.rateLimit,
        onCleanupError: (error) => logger.warn({ err: error }, 'rate limits: cleanup failed'),
      })
    : undefined;
  const metrics =
    config.metrics?.enabled === false
      ? undefined
      : new OrmaiMetrics(
          {
            auditQueues: () => audit.stats(),
            auditRefusedUnrecorded: () => audit.refusedUnrecorded,
            schemaCacheSize: () => gateway.schemaCacheSize,
            pool: () => runtime.db.pool,
          },
          { processMetrics: config.metrics?.processMetrics },
        );
  const apiKeys =
    config.auth?.apiKeys === false
      ? undefined
      : new ApiKeyStore(runtime.db.sql, runtime.tables.apiKey);
  const connectionTimeoutMs = runtime.policy.forRoles(runtime.policy.declaredRoles).budgets
    .statementTimeoutMs;
  const observeRefused = observeRefusedCall(metrics);
  /** One version of the app served: its policy, gateway, MCP tools and handler. */
  const serve = (app: OrmaiApp, engine: PolicyEngine): ServedVersion => {
    const versionRuntime =
      engine === runtime.policy ? runtime : { ...runtime, app, policy: engine };
    const versionGateway = createGateway({
      runtime: versionRuntime,
      jwtSecret: jwt.secret,
      identity: {
        claims: identity.claims,
        issuer: identity.issuer,
        audience: identity.audience,
        jwks,
        apiKeys,
      },
      protectedResource,
      logger,
      audit,
      metrics,
      graphqlPath: paths.graphql,
      connectionTimeoutMs,
      ...(config.auth?.tenantClaim ? { tenantClaim: config.auth.tenantClaim } : {}),
      ...(config.auth?.resolvePrincipal ? { resolvePrincipal: config.auth.resolvePrincipal } : {}),
      ...(config.naming ? { naming: config.naming } : {}),
      ...(config.writes?.approvalGate ? { approvalGate: config.writes.approvalGate } : {}),
      ...(rateLimiter ? { rateLimiter } : {}),
    });
    const versionTools = bridgeOptions(
      versionGateway,
      logger,
      app === config.app ? config : { ...config, app },
      audit,
      metrics,
    );
    const auditRefused = auditRefusedCall(
      audit,
      versionGateway.policyFor,
      logger,
      () => engine.version,
    );
    const versionMcp = createMcpHttpHandler({
      ...versionTools,
      authenticate: versionGateway.authenticate,
      ...(config.mcp?.allowedOrigins ? { allowedOrigins: config.mcp.allowedOrigins } : {}),
      onRefused: (event) => {
        auditRefused(event);
        observeRefused(event);
      },
    });
    return {
      runtime: versionRuntime,
      gateway: versionGateway,
      tools: versionTools,
      mcp: versionMcp,
    };
  };
  // a reload swaps this one reference: a request reads it once, as it starts, and finishes on the
  // version it started on
  let current = serve(config.app, runtime.policy);
  let reloading: Promise<unknown> = Promise.resolve();
  const gateway: Gateway = {
    schemaFor: (principal) => current.gateway.schemaFor(principal),
    policyFor: (principal) => current.gateway.policyFor(principal),
    get yoga() {
      return current.gateway.yoga;
    },
    fetch: (input, init) => current.gateway.fetch(input, init),
    authenticate: (request) => current.gateway.authenticate(request),
    execute: (operation) => current.gateway.execute(operation),
    get schemaCacheSize() {
      return current.gateway.schemaCacheSize;
    },
  };
  const fetch = createRouter({
    gateway,
    runtime,
    logger,
    audit,
    mcp: (request) => current.mcp(request),
    paths,
    protectedResource,
    metrics,
    metricsAccess,
  });
  const graphql: FetchHandler = async (request) =>
    traceHttp(request, (served) => current.gateway.yoga.fetch(served, {}));
  const reload = async (next: ReloadableApp): Promise<ReloadResult> => {
    const previous = current;
    const app: OrmaiApp = {
      ...config.app,
      policy: next.policy,
      datamodel: next.datamodel,
      domainTools: next.domainTools ?? [],
    };
    const refused = (message: string, findings: string[] = [], hints: string[] = []) =>
      ({
        ok: false,
        code: 'RELOAD_REFUSED',
        message,
        findings,
        hints,
        version: previous.runtime.policy.version,
      }) as const;
    try {
      const engine = compileAppPolicy(app, hashKey.key, roleSetCacheSizeOf(config));
      if (options.prisma && !options.plannedAdapter && hasPlannerBudgets(engine.policy)) {
        // as at start (runtime.ts): the estimate needs ormai's own driver adapter
        return refused(
          'the policy sets maxEstimatedRows or maxEstimatedCost, which ormai enforces only on a database it opens',
        );
      }
      const unchanged =
        engine.version === previous.runtime.policy.version &&
        JSON.stringify(app.domainTools) === JSON.stringify(previous.runtime.app.domainTools ?? []);
      if (unchanged) {
        return {
          ok: true,
          version: engine.version,
          previous: engine.version,
          unchanged: true,
          warnings: [],
        };
      }
      const gaps = clientGaps(config.app.datamodel, app.datamodel);
      if (gaps.length > 0) {
        return refused(
          'the datamodel names what the Prisma client of this process does not know',
          gaps,
          ['run `prisma generate`, then restart ormai: a new client needs a new process'],
        );
      }
      const tableGaps = describeDatamodelGaps(
        await findDatamodelGaps(runtime.db.sql, app.datamodel, runtime.db.schema),
        runtime.db.location,
      );
      if (tableGaps) return refused(tableGaps);
      preparedDomainTools(app.domainTools);
      const version = serve(app, engine);
      // every role set the old version had compiled gets its schema now, before the swap, so no
      // request after it waits for a build (and a schema that does not build refuses the reload)
      const roleSets = new Set([
        ...previous.runtime.policy.roleSets.keys(),
        ...engine.declaredRoles,
      ]);
      for (const roles of roleSets) {
        version.gateway.schemaFor({
          sub: '',
          tenantId: null,
          roles: roles ? roles.split(',') : [],
          claims: {},
        });
      }
      const warnings: string[] = [];
      const widest = engine.forRoles(engine.declaredRoles).budgets.statementTimeoutMs;
      if (widest > connectionTimeoutMs) {
        warnings.push(
          `budgets.statementTimeoutMs of ${widest} ms is over the connections' ${connectionTimeoutMs} ms until a restart`,
        );
      }
      current = version;
      logger.info(
        { version: engine.version, previous: previous.runtime.policy.version },
        'policy reloaded',
      );
      return {
        ok: true,
        version: engine.version,
        previous: previous.runtime.policy.version,
        warnings,
      };
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const [first, ...rest] = message.split('\n');
      return refused(
        first ?? message,
        rest.map((line) => line.trim()).filter(Boolean),
        (error as { hints?: string[] }).hints ?? [],
      );
    }
  };
  return {
    fetch,
    graphql,
    mcp: (request) => traceHttp(request, (served) => current.mcp(served)),
    nodeHandler: toNodeHandler(fetch),
    paths,
    gateway,
    get runtime() {
      return current.runtime;
    },
    audit,
    jwt,
    get tools() {
      return current.tools;
    },
    get policyVersion() {
      return current.runtime.policy.version;
    },
    reload(next) {
      // one reload at a time, in the order they were asked for
      const result = reloading.then(() => reload(next));
      reloading = result.catch(() => {});
      return result;
    },
    metrics,
    apiKeys,
    signToken: (principal) => signToken(principal, signingOptions(jwt.secret, identity)),
    async close() {
      try {
        await audit.close();
      } catch (error) {
        logger.error({ err: error }, 'audit records left unwritten at shutdown');
      }
      await rateLimiter?.close();
      await runtime.close();
    },
  };
}

/** What one version of the app is served with; a reload builds a new one and swaps it in. */
interface ServedVersion {
  runtime: Runtime;
  gateway: Gateway;
  tools: McpBridgeOptions;
  mcp: FetchHandler;
}

/** What `Ormai.reload` did: swapped the new version in, or kept the old one and says why. */
export type ReloadResult =
  | {
      ok: true;
      /** The version now served. */
      version: string;
      /** The version served before. */
      previous: string;
      /** Nothing changed (same policy version, same domain tools): nothing was swapped. */
      unchanged?: boolean;
      /** What the new version does not get until a restart. */
      warnings: string[];
    }
  | {
      ok: false;
      code: 'RELOAD_REFUSED';
      message: string;
      /** The problems found (`ormai check` findings, datamodel gaps), one a line. */
      findings: string[];
      hints: string[];
      /** The version still served. */
      version: string;
    };

/** The MCP bridge over a gateway, with one audit record per tool call, its metrics, span and log line. */
export function bridgeOptions(
  gateway: Gateway,
  logger: Logger,
  config: OrmaiConfig,
  audit: AuditLog,
  metrics?: OrmaiMetrics,
): McpBridgeOptions {
  const record = auditToolCall(audit, gateway.policyFor);
  const observe = observeToolCall(metrics);
  const domainTools = config.app.domainTools ?? [];
  // parsed and their names checked now: a bad domain tool stops the start, not a later call
  preparedDomainTools(domainTools);
  return {
    execute: tracedExecute(gateway.execute),
    policyFor: gateway.policyFor,
    schemaFor: gateway.schemaFor,
    domainTools,
    ...(config.naming ? { naming: config.naming } : {}),
    ...(config.mcp?.toolNames ? { toolNames: config.mcp.toolNames } : {}),
    onToolCall: async (event: ToolCallEvent) => {
      try {
        await record(event);
      } catch (error) {
        // refused unrecorded: the caller gets INTERNAL_ERROR, and so does the count
        observe({ ...event, outcome: 'error', errorCode: 'INTERNAL_ERROR' });
        throw error;
      }
      observe(event);
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
