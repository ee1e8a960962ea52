import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { OrmaiError } from '../errors.js';
import type { Principal } from '../policy/principal.js';
import type { Runtime } from '../runtime.js';
import { buildSchema } from '../schema/build-schema.js';
import type { OrmaiContext } from '../schema/context.js';
import type { NamingOptions } from '../schema/naming.js';
import { principalFromAuthorization } from './auth.js';
import { internalCauseOf, maskError, withContractExtensions } from './errors.js';
import type { Logger } from './logger.js';
import { traceIdFrom } from './trace.js';

export interface GatewayOptions {
  runtime: Runtime;
  jwtSecret: string;
  tenantClaim?: string;
  /** Replaces JWT auth; null means unauthenticated (401). */
  resolvePrincipal?: (request: Request) => Promise<Principal | null> | Principal | null;
  /** Signs cursors; defaults to a key derived from the JWT secret. */
  cursorSecret?: string;
  naming?: NamingOptions;
  logger: Logger;
}

export interface Gateway {
  schema: GraphQLSchema;
  yoga: YogaServerInstance<Record<string, unknown>, OrmaiContext>;
  /** In-process requests, as a browser or curl would send them. */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The principal of a request, or a thrown AUTHENTICATION_REQUIRED error. */
  authenticate(request: Request): Promise<Principal>;
}

const DEFAULT_QUERY = `# Paste a dev token printed by \`npm start\` into Headers below:
#   { "Authorization": "Bearer <token>" }
# Every row you can reach belongs to the token's tenant.
query RecentOrders {
  orders(first: 5, orderBy: [{ createdAt: DESC }]) {
    totalCount
    nodes {
      id
      status
      totalCents
      customer { name }
      items { quantity product { name } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/** The GraphQL endpoint: auth, trace ids, error shape and GraphiQL around the built schema. */
export function createGateway(options: GatewayOptions): Gateway {
  const { runtime, logger } = options;
  const schema = buildSchema({
    datamodel: runtime.app.datamodel,
    policy: runtime.policy,
    cursorSecret: options.cursorSecret ?? options.jwtSecret,
    ...(options.naming ? { naming: options.naming } : {}),
  });
  const traceIds = new WeakMap<Request, string>();
  const traceOf = (request: Request) => {
    let id = traceIds.get(request);
    if (!id) {
      id = traceIdFrom(request.headers.get('traceparent'));
      traceIds.set(request, id);
    }
    return id;
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
      return principal;
    }
    return principalFromAuthorization(request.headers.get('authorization'), {
      secret: options.jwtSecret,
      ...(options.tenantClaim ? { tenantClaim: options.tenantClaim } : {}),
    });
  };

  const contractErrors: Plugin = {
    onRequest({ request }) {
      traceOf(request);
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

  const yoga = createYoga<Record<string, unknown>, OrmaiContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    renderGraphiQL,
    graphiql: {
      title: `ormai · ${runtime.app.name}`,
      defaultQuery: DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: 'Bearer <paste a dev token here>' }, null, 2),
    },
    maskedErrors: { maskError },
    logging: {
      // yoga reports every GraphQL error it returns; the unexpected ones are logged above
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.debug(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.debug(args.map(String).join(' ')),
    },
    context: async ({ request }) => ({
      principal: await authenticate(request),
      prisma: runtime.prisma,
      traceId: traceOf(request),
    }),
    plugins: [contractErrors],
  });

  return {
    schema,
    yoga,
    fetch: (input, init) => Promise.resolve(yoga.fetch(input as never, init ?? {})),
    authenticate,
  };
}
