import type { GraphQLError, GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { AuditLog } from '../audit/audit-log.js';
import { entryFor } from '../audit/entries.js';
import type { AuditEntry, AuditRecord } from '../audit/record.js';
import { SqlAuditSink, writeChained } from '../audit/sinks.js';
import { scopedPrismaClient } from '../data-access/index.js';
import type { RawReader } from '../db/direct-reads.js';
import { OrmaiError } from '../errors.js';
import { observabilityPlugin } from '../observability/graphql-plugin.js';
import type { OrmaiMetrics } from '../observability/metrics.js';
import { requestTraceId } from '../observability/tracing.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import type { Runtime } from '../runtime.js';
import type { ApprovalGate } from '../schema/approval-gate.js';
import { budgetRule, documentBudgetRule } from '../schema/budget-rules.js';
import { buildSchema } from '../schema/build-schema.js';
import type {
  AuditReader,
  OrmaiContext,
  TransactionSql,
  WriteAuditFacts,
} from '../schema/context.js';
import { assertNoNameCollisions, type NamingOptions, namesServedBy } from '../schema/naming.js';
import { rootFieldModels } from '../schema/root-fields.js';
import { auditPlugin } from './audit-plugin.js';
import { type AuthOptions, principalFromAuthorization, requireKnownRole } from './auth.js';
import { bodyLimitPlugin } from './body-limit-plugin.js';
import { compiledReadPlugin } from './compiled-read-plugin.js';
import { dataScopePlugin } from './data-scope-plugin.js';
import {
  auditUnavailableError,
  internalCauseOf,
  maskErrorWith,
  withContractExtensions,
} from './errors.js';
import { graphiqlOptions, renderOrmaiGraphiQL } from './graphiql.js';
import { inputLiteralRule, variablesProblem } from './input-guard.js';
import type { Logger } from './logger.js';
import { type ProtectedResourceOptions, withChallenge } from './oauth.js';
import type { RateLimiter } from './rate-limit.js';
import { rateLimitPlugin } from './rate-limit-plugin.js';
import { statementTimeoutClient, statementTimeoutPlugin } from './statement-timeout.js';
import { tokenLimitPlugin } from './token-limit.js';

export interface GatewayOptions {
  runtime: Runtime;
  jwtSecret: string;
  tenantClaim?: string;
  /** JWKS, claim paths, issuer and audience, API keys (`auth`); without them HS256 with jwtSecret. */
  identity?: Omit<AuthOptions, 'secret' | 'tenantClaim'>;
  /** Where the OAuth metadata is, as the WWW-Authenticate challenge of every 401 names it. */
  protectedResource?: ProtectedResourceOptions;
  /** Replaces JWT auth; null means unauthenticated (401). */
  resolvePrincipal?: (request: Request) => Promise<Principal | null> | Principal | null;
  /** Signs cursors; defaults to a key derived from the JWT secret. */
  cursorSecret?: string;
  naming?: NamingOptions;
  logger: Logger;
  /** Records every operation; while it cannot write, requests are refused (fail closed). */
  audit?: AuditLog;
  /** Decides writes the policy gates with requireApproval (default: the persistent queue). */
  approvalGate?: ApprovalGate;
  /** Where GraphQL is served (default `/graphql`). */
  graphqlPath?: string;
  /** Requests and written rows per tenant and principal (`rateLimits`); off when absent. */
  rateLimiter?: RateLimiter;
  /** Counts operations, latencies and budget refusals (`/metrics`). */
  metrics?: OrmaiMetrics;
  /**
   * The statement timeout the connections were opened with (runtime.ts: the widest of the policy
   * served at start); default: the widest of this policy. A reloaded policy keeps the connections.
   */
  connectionTimeoutMs?: number;
  /**
   * Answer a plain query in one SQL statement, without the executor (default true; see
   * schema/compiled-read.ts). Off, every query runs through the resolvers: the same answers.
   */
  compiledReads?: boolean;
}

export interface Gateway {
  /** The schema a principal's roles see (built once per set of roles). */
  schemaFor(principal: Principal): GraphQLSchema;
  /** The policy compiled for a principal's roles. */
  policyFor(principal: Principal): CompiledPolicy;
  yoga: YogaServerInstance<Record<string, unknown>, OrmaiContext>;
  /** In-process requests, as a browser or curl would send them. */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The principal of a request, or a thrown AUTHENTICATION_REQUIRED error. */
  authenticate(request: Request): Promise<Principal>;
  /**
   * Runs one GraphQL operation for an already-authenticated principal through the same pipeline as
   * `/graphql` (parsing, limits, validation, execution, error shape): how the MCP bridge runs tools.
   */
  execute(operation: GatewayOperation): Promise<GatewayResult>;
  /**
   * Schemas cached, one per set of roles the engine keeps compiled (`server.roleSetCacheSize`):
   * the figure `/metrics` reports as `ormai_schema_cache_size`.
   */
  readonly schemaCacheSize: number;
}

export interface GatewayOperation {
  principal: Principal;
  document: string;
  variables?: Record<string, unknown>;
  traceId?: string;
  /** Who asked: the audit records an MCP tool call once, not its GraphQL operation again. */
  surface?: 'graphql' | 'mcp';
  /** The name the audit gives a write made by this operation (the MCP tool's). */
  operation?: string;
}

export interface GatewayResult {
  data?: Record<string, unknown> | null;
  errors?: {
    message: string;
    extensions: Record<string, unknown>;
    path?: readonly (string | number)[];
  }[];
  traceId: string;
  /** Writes recorded in their own transaction (the caller records nothing more for them). */
  writesRecorded: number;
}

/** What a request carries beside the HTTP request when it comes from inside (the MCP bridge). */
interface InternalRequestContext {
  ormaiPrincipal?: Principal;
  ormaiSurface?: 'graphql' | 'mcp';
  ormaiOperation?: string;
  /** The operation itself: read instead of a request body, its result handed back unserialised. */
  ormaiParams?: { query: string; variables?: Record<string, unknown> | undefined };
}

/** The GraphQL endpoint: auth, per-role schemas, budgets, trace ids, error shape and GraphiQL. */
export function createGateway(options: GatewayOptions): Gateway {
  const { runtime, logger } = options;
  const graphqlPath = options.graphqlPath ?? '/graphql';
  const engine = runtime.policy;
  // the most generous budgets of any role: the parse-time token guard, and the
  // connection's statement timeout (runtime.ts); each role set's own budgets are checked per request
  const widest = engine.forRoles(engine.declaredRoles).budgets;
  const connectionTimeoutMs = options.connectionTimeoutMs ?? widest.statementTimeoutMs;
  // a role set's statement timeout is the most generous of its roles': unless a role sets its own
  // (or a reloaded policy lowered them all), every role set runs at the connection's, and no read
  // needs the timeout's client layer
  const roleTimeouts =
    Object.values(engine.policy.roles ?? {}).some(
      (role) => role.budgets?.statementTimeoutMs !== undefined,
    ) || widest.statementTimeoutMs < connectionTimeoutMs;
  // the only client resolvers get: every model operation carries the request's row scope
  const scopedPrisma = scopedPrismaClient(
    roleTimeouts ? statementTimeoutClient(runtime.prisma) : runtime.prisma,
  );
  // a compiled read's one statement: on the driver adapter past Prisma where the runtime has one
  const rawScoped = scopedPrisma as unknown as RawReader;
  const compiledReader = runtime.directReads?.reader(rawScoped) ?? rawScoped;
  // a model named like one of ormai's own types is refused at start, not at its first request
  assertNoNameCollisions(namesServedBy(engine.forRoles(engine.declaredRoles)), options.naming);

  const sqlSink = options.audit?.sinks.find(
    (sink): sink is SqlAuditSink => sink instanceof SqlAuditSink,
  );
  const auditReader: AuditReader | undefined = sqlSink ? (query) => sqlSink.page(query) : undefined;

  // the models behind each root field, once per role set's policy (the audit names them per call)
  const rootModels = new WeakMap<CompiledPolicy, Map<string, string>>();
  const rootFieldModelsOf = (policy: CompiledPolicy) => {
    let models = rootModels.get(policy);
    if (!models) {
      models = rootFieldModels(policy, options.naming);
      rootModels.set(policy, models);
    }
    return models;
  };

  // a write's audit record goes into the table inside the write's transaction; the other sinks get
  // it once the transaction has committed (see the audit plugin)
  const writes = new WeakMap<Request, AuditRecord[]>();
  const writesOf = (request: Request) => {
    let list = writes.get(request);
    if (!list) {
      list = [];
      writes.set(request, list);
    }
    return list;
  };
  const recordWrite = async (
    tx: TransactionSql,
    facts: WriteAuditFacts,
    request: Request,
    surface: 'graphql' | 'mcp',
    operation: string | undefined,
  ) => {
    const entry: AuditEntry = {
      ...entryFor({
        traceId: traceOf(request),
        surface,
        operation: operation ?? facts.operation,
        models: [facts.model],
        principal: facts.principal,
        policy: policyFor(facts.principal),
        inputs: facts.inputs,
        rowCount: null,
        durationMs: 0,
        errorCode: null,
        startedAt: new Date(),
      }),
      reason: facts.reason,
      before: facts.before,
      after: facts.after,
      affected_rows: facts.affectedRows,
      approval_id: facts.approvalId,
    };
    if (facts.decisions) entry.decisions = { ...(entry.decisions as object), ...facts.decisions };
    const [record] = await writeChained(tx, [entry], runtime.tables);
    writesOf(request).push(record!);
  };

  // a schema lives as long as the engine keeps its role set's policy (a bounded LRU: see
  // role-set-cache.ts), or a request in flight still holds it
  const schemas = new WeakMap<CompiledPolicy, GraphQLSchema>();
  const policyFor = (principal: Principal) => engine.forRoles(principal.roles);
  const schemaFor = (principal: Principal) => {
    const policy = policyFor(principal);
    let schema = schemas.get(policy);
    if (!schema) {
      schema = buildSchema({
        datamodel: runtime.app.datamodel,
        policy,
        cursorSecret: options.cursorSecret ?? options.jwtSecret,
        ...(options.naming ? { naming: options.naming } : {}),
      });
      schemas.set(policy, schema);
    }
    return schema;
  };

  const traceIds = new WeakMap<Request, string>();
  const traceOf = (request: Request) => {
    let id = traceIds.get(request);
    if (!id) {
      id = requestTraceId(request);
      traceIds.set(request, id);
    }
    return id;
  };

  const policyRoles = Object.keys(engine.policy.roles ?? {});
  const authOptions: AuthOptions = {
    secret: options.jwtSecret,
    ...(options.tenantClaim ? { tenantClaim: options.tenantClaim } : {}),
    ...options.identity,
  };
  const authenticate = async (request: Request): Promise<Principal> => {
    if (options.resolvePrincipal) {
      const principal = await options.resolvePrincipal(request);
      if (!principal) {
        throw new OrmaiError('AUTHENTICATION_REQUIRED', 'the request is not authenticated', {
          httpStatus: 401,
          hints: ['send the credentials this server expects'],
        });
      }
      return requireKnownRole(principal, policyRoles, 'principal');
    }
    const principal = await principalFromAuthorization(
      request.headers.get('authorization'),
      authOptions,
    );
    return requireKnownRole(principal, policyRoles);
  };
  // the schema and the context both need the principal: authenticate once per request
  const principals = new WeakMap<Request, Promise<Principal>>();
  const principalOf = (request: Request) => {
    let principal = principals.get(request);
    if (!principal) {
      // a 401 names where the OAuth metadata is (WWW-Authenticate), on /graphql and /mcp alike
      principal = authenticate(request).catch((error: unknown) => {
        throw withChallenge(error, request, options.protectedResource);
      });
      principals.set(request, principal);
    }
    return principal;
  };

  const contractErrors: Plugin = {
    onRequest({ request }) {
      traceOf(request);
    },
    onRequestParse({
      request,
      serverContext,
      requestParser,
      setRequestParser,
      endResponse,
      fetchAPI,
    }) {
      const internal = (serverContext as InternalRequestContext).ormaiParams;
      if (internal) {
        setRequestParser(() => internal);
        return;
      }
      // yoga answers an unsupported content-type with an empty 415, and lets a GET's invalid
      // `variables` or `extensions` JSON escape as an unexpected error: both are the caller's to fix
      if (!requestParser) {
        const type = request.headers.get('content-type') ?? '(none)';
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({
              errors: [
                {
                  message: `content-type ${type} is not supported`,
                  extensions: {
                    code: 'VALIDATION_ERROR',
                    retryable: true,
                    retryHints: ['send Content-Type: application/json with {"query": …}'],
                    traceId: traceOf(request),
                  },
                },
              ],
            }),
            {
              status: 415,
              headers: { 'content-type': 'application/json', 'x-trace-id': traceOf(request) },
            },
          ),
        );
        return;
      }
      setRequestParser(async (parsed) => {
        try {
          return await requestParser(parsed);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          throw new OrmaiError('VALIDATION_ERROR', 'variables or extensions are not valid JSON', {
            retryable: true,
            hints: ['send variables and extensions as JSON objects'],
            httpStatus: 400,
          });
        }
      });
    },
    async onParams({ request, params, setResult, context }) {
      // refused before the executor recurses over them; the caller is still authenticated first
      const problem = variablesProblem(params.variables);
      if (!problem) return;
      await principalFor({ ...(context as InternalRequestContext), request });
      setResult({ errors: [problem] });
    },
    onValidate({ addValidationRule }) {
      // both read the budgets of the role set whose schema validates the document
      addValidationRule(documentBudgetRule);
      addValidationRule(budgetRule);
      addValidationRule(inputLiteralRule);
    },
    onResultProcess({ request, result, setResult }) {
      const traceId = traceOf(request);
      const fix = (single: { errors?: readonly GraphQLError[] }) => {
        if (!single.errors?.length) return single;
        for (const error of single.errors) {
          const cause = internalCauseOf(error);
          if (cause)
            logger.error({ traceId, err: cause }, 'unexpected error, masked as INTERNAL_ERROR');
        }
        return {
          ...single,
          errors: single.errors.map((error) => withContractExtensions(error, traceId)),
        };
      };
      if (Array.isArray(result)) setResult(result.map(fix));
      else if (!(Symbol.asyncIterator in (result as object)))
        setResult(fix(result as never) as never);
    },
    onResponse({ request, response }) {
      response.headers.set('x-trace-id', traceOf(request));
    },
  };

  // an operation run from inside gets its result as it left the last hook (error shape, audit
  // refusal and all), not serialised into a response body only to be parsed again
  const results = new WeakMap<Request, GatewayExecutionResult>();
  const internalResults: Plugin = {
    onResultProcess({ request, result, serverContext, setResultProcessor }) {
      if (!(serverContext as InternalRequestContext).ormaiParams || Array.isArray(result)) return;
      results.set(request, result as GatewayExecutionResult);
      setResultProcessor((_, fetchAPI) => new fetchAPI.Response(null, { status: 204 }), '*/*');
    },
  };

  // an internal caller hands over its principal; an HTTP request is authenticated here
  const principalFor = (context: { request: Request } & InternalRequestContext) =>
    context.ormaiPrincipal ? Promise.resolve(context.ormaiPrincipal) : principalOf(context.request);

  const yoga = createYoga<Record<string, unknown>, OrmaiContext>({
    schema: async (context: { request: Request } & InternalRequestContext) =>
      schemaFor(await principalFor(context)),
    graphqlEndpoint: graphqlPath,
    landingPage: false,
    // bodyLimitPlugin below applies the same limit for less (see there)
    maxRequestBodySize: false,
    renderGraphiQL: renderOrmaiGraphiQL,
    graphiql: graphiqlOptions(runtime.app.name),
    maskedErrors: { maskError: maskErrorWith({ statementTimeoutMs: widest.statementTimeoutMs }) },
    logging: {
      // yoga reports every GraphQL error it returns; the unexpected ones are logged above
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.debug(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.debug(args.map(String).join(' ')),
    },
    context: async (context) => {
      const principal = await principalFor(
        context as { request: Request } & InternalRequestContext,
      );
      if (options.audit && !options.audit.available('read')) throw auditUnavailableError();
      const internal = context as { request: Request } & InternalRequestContext;
      return {
        principal,
        prisma: scopedPrisma,
        ormaiTables: runtime.tables,
        traceId: traceOf(context.request),
        policyFor,
        ...(options.approvalGate ? { approvalGate: options.approvalGate } : {}),
        ...(auditReader ? { auditRecords: auditReader } : {}),
        ...(options.audit || options.rateLimiter
          ? {
              recordWrite: async (tx: TransactionSql, facts: WriteAuditFacts) => {
                // counted in the write's transaction: a write that rolls back was never counted
                await options.rateLimiter?.chargeWrite(tx, principal, facts);
                if (!options.audit) return;
                await recordWrite(
                  tx,
                  facts,
                  context.request,
                  internal.ormaiSurface ?? 'graphql',
                  internal.ormaiOperation,
                );
              },
            }
          : {}),
      } satisfies OrmaiContext;
    },
    plugins: [
      // depth, aliases, directives and each role set's tokens are checked at validation
      // (documentBudgetRule); the parse-time guard stops documents over every role's limit
      tokenLimitPlugin(widest.maxTokens),
      contractErrors,
      ...(options.rateLimiter
        ? [
            rateLimitPlugin({
              limiter: options.rateLimiter,
              principalFor: (request, context) => principalFor({ ...context, request }),
            }),
          ]
        : []),
      // before the data scope, which wraps it: its one statement runs in the principal's scope
      ...(options.compiledReads === false
        ? []
        : [
            compiledReadPlugin({
              policyFor,
              connectionTimeoutMs: roleTimeouts ? connectionTimeoutMs : 0,
              reader: compiledReader,
              ...(options.naming ? { naming: options.naming } : {}),
            }),
          ]),
      dataScopePlugin({ datamodel: runtime.app.datamodel, policyFor }),
      ...(roleTimeouts ? [statementTimeoutPlugin({ connectionTimeoutMs, policyFor })] : []),
      ...(options.audit
        ? [
            auditPlugin({
              audit: options.audit,
              traceOf,
              principalOf: (request) => principalOf(request).catch(() => null),
              writesOf,
              policyFor,
              policyVersion: () => engine.version,
              modelsOf: (policy, rootFields) => {
                const models = rootFieldModelsOf(policy);
                return [
                  ...new Set(
                    rootFields.map((field) => models.get(field)).filter((m): m is string => !!m),
                  ),
                ];
              },
            }),
          ]
        : []),
      // last: it counts the result as answered (contract codes set, audit refusals included)
      observabilityPlugin({ metrics: options.metrics }),
      internalResults,
      // after every plugin that picks a request parser, as yoga's own limit runs
      bodyLimitPlugin(),
    ],
  });

  return {
    schemaFor,
    policyFor,
    yoga,
    get schemaCacheSize() {
      let size = 0;
      for (const policy of engine.roleSets.values()) if (schemas.has(policy)) size++;
      return size;
    },
    fetch: (input, init) => Promise.resolve(yoga.fetch(input as never, init ?? {})),
    authenticate: principalOf,
    async execute({ principal, document, variables, traceId, surface = 'mcp', operation }) {
      // the request carries nothing: the operation and its principal come in the server context, and
      // the request is the key of the call's state (trace id, principal, writes) in every hook; it is
      // yoga's Request class, as /graphql's requests are (Node's own makes an AbortSignal and more)
      const request = new yoga.fetchAPI.Request(`http://ormai.internal${graphqlPath}`, {
        method: 'POST',
      }) as Request;
      if (traceId) traceIds.set(request, traceId);
      principals.set(request, Promise.resolve(principal));
      const internal: InternalRequestContext = {
        ormaiPrincipal: principal,
        ormaiSurface: surface,
        // the variables as /graphql would receive them: plain JSON values, none shared with the caller
        ormaiParams: {
          query: document,
          variables: variables === undefined ? undefined : JSON.parse(JSON.stringify(variables)),
        },
        ...(operation ? { ormaiOperation: operation } : {}),
      };
      const response = await yoga.fetch(request as never, internal as never);
      // a response ended before the operation ran (none is expected) still says why
      const result = results.get(request) ?? ((await response.json()) as GatewayExecutionResult);
      return {
        ...(result.data !== undefined ? { data: plain(result.data) } : {}),
        ...(result.errors ? { errors: result.errors.map(asSent) } : {}),
        traceId: traceOf(request),
        writesRecorded: writesOf(request).length,
      };
    },
  };
}

type GatewayExecutionResult = Omit<GatewayResult, 'traceId' | 'writesRecorded'>;

/** An error as `/graphql` sends it: without yoga's internal extensions (the HTTP status). */
function asSent(error: NonNullable<GatewayResult['errors']>[number]) {
  const { http: _http, unexpected: _unexpected, ...extensions } = error.extensions ?? {};
  return {
    message: error.message,
    extensions,
    ...(error.path ? { path: error.path } : {}),
  };
}

/** A result as JSON would give it back: the executor's null-prototype objects as plain ones. */
function plain<T>(value: T): T {
  if (Array.isArray(value)) return value.map(plain) as T;
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = plain((value as Record<string, unknown>)[key]);
  return copy as T;
}
