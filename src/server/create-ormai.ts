import type { AuditLog } from '../audit/audit-log.js';
import { type OrmaiConfig, type OrmaiPaths, resolveHashKey } from '../config.js';
import type { RawSqlClient } from '../db/database.js';
import {
  createMcpHttpHandler,
  type McpBridgeOptions,
  type ToolCallEvent,
} from '../mcp-bridge/index.js';
import { openRuntime, type Runtime, runtimeOptionsFromConfig } from '../runtime.js';
import type { PrismaClientLike } from '../schema/context.js';
import { auditToolCall, createAuditLog } from './audit-setup.js';
import { resolveJwtSecret, signToken } from './auth.js';
import { createGateway, type Gateway } from './gateway.js';
import { toNodeHandler } from './http-server.js';
import { createLogger, type Logger } from './logger.js';
import { createRouter, DEFAULT_PATHS, type FetchHandler } from './router.js';

export interface CreateOrmaiOptions {
  /**
   * Your app's PrismaClient: ormai runs every query through it (its connections, its pool) and
   * opens none of its own. Without it ormai opens `database.url` (or the embedded database) and
   * builds a client with `app.createPrismaClient`.
   */
  prisma?: PrismaClientLike & RawSqlClient;
  /** A pino logger (default: pino at `LOG_LEVEL`, or `info`). */
  logger?: Logger;
  /** Environment read for `DATABASE_URL`, `ORMAI_JWT_SECRET`, `ORMAI_HASH_KEY` (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Runtime messages (first-run seeding of an example). */
  log?: (line: string) => void;
}

/** ormai mounted in a server: Web-standard handlers, plus what the CLI and tests need to see. */
export interface Ormai {
  /** Every endpoint by path (GraphQL, MCP, health): `fetch(request) → response`. */
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
  // refused before the database is opened: production needs a hash key of its own
  const hashKey = resolveHashKey(config, env);
  const runtime = await openRuntime(config.app, {
    ...runtimeOptionsFromConfig(config, env),
    hashKey: hashKey.key,
    ...(options.prisma ? { prisma: options.prisma } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  // warned once the database is open, so a start that fails prints only its reason
  if (hashKey.warning) logger.warn(hashKey.warning);
  const paths = { ...DEFAULT_PATHS, ...config.server?.paths };
  const audit = createAuditLog(config, runtime, logger);
  const gateway = createGateway({
    runtime,
    jwtSecret: jwt.secret,
    logger,
    audit,
    graphqlPath: paths.graphql,
    ...(config.auth?.tenantClaim ? { tenantClaim: config.auth.tenantClaim } : {}),
    ...(config.auth?.resolvePrincipal ? { resolvePrincipal: config.auth.resolvePrincipal } : {}),
    ...(config.naming ? { naming: config.naming } : {}),
    ...(config.writes?.approvalGate ? { approvalGate: config.writes.approvalGate } : {}),
  });
  const mcp = createMcpHttpHandler({
    ...bridgeOptions(gateway, logger, config, audit),
    authenticate: gateway.authenticate,
  });
  const fetch = createRouter({ gateway, runtime, logger, audit, mcp, paths });
  const graphql: FetchHandler = async (request) => gateway.yoga.fetch(request, {});
  return {
    fetch,
    graphql,
    mcp,
    nodeHandler: toNodeHandler(fetch),
    paths,
    gateway,
    runtime,
    audit,
    jwt,
    signToken: (principal) => signToken(principal, { secret: jwt.secret }),
    async close() {
      try {
        await audit.close();
      } catch (error) {
        logger.error({ err: error }, 'audit records left unwritten at shutdown');
      }
      await runtime.close();
    },
  };
}

/** The MCP bridge over a gateway, with one audit record per tool call and a log line. */
export function bridgeOptions(
  gateway: Gateway,
  logger: Logger,
  config: OrmaiConfig,
  audit: AuditLog,
): McpBridgeOptions {
  const record = auditToolCall(audit, gateway.policyFor);
  return {
    execute: gateway.execute,
    policyFor: gateway.policyFor,
    schemaFor: gateway.schemaFor,
    domainTools: config.app.domainTools ?? [],
    ...(config.naming ? { naming: config.naming } : {}),
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
