import { GraphQLError } from 'graphql';
import { type ErrorCode, OrmaiError } from '../errors.js';

const INTERNAL = Symbol('ormai.internal-cause');

type MaskedError = GraphQLError & { [INTERNAL]?: unknown };

/**
 * yoga's maskError: our own errors and GraphQL's request errors (syntax, validation, coercion) go to
 * the client; anything else becomes INTERNAL_ERROR, its cause kept aside for the log only.
 */
export function maskError(error: unknown): Error {
  const ormai = findOrmaiError(error);
  if (ormai) {
    // keep where it happened (locations, path) from the located error around ours
    return error instanceof GraphQLError && error !== ormai
      ? new GraphQLError(ormai.message, {
          ...(error.nodes ? { nodes: error.nodes } : {}),
          ...(error.source ? { source: error.source } : {}),
          ...(error.positions ? { positions: error.positions } : {}),
          ...(error.path ? { path: error.path } : {}),
          extensions: ormai.extensions,
        })
      : ormai;
  }
  if (error instanceof GraphQLError && !error.originalError) return error;
  const masked: MaskedError = new OrmaiError('INTERNAL_ERROR', 'internal error', {
    hints: ['retry later; report the trace id if it persists'],
  });
  masked[INTERNAL] = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  return masked;
}

/** The cause behind a masked INTERNAL_ERROR, for the log. */
export function internalCauseOf(error: unknown): unknown {
  return (error as MaskedError | null)?.[INTERNAL];
}

function findOrmaiError(error: unknown): OrmaiError | null {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof OrmaiError) return current;
    current = current instanceof GraphQLError ? current.originalError : (current as Error).cause;
  }
  return null;
}

/**
 * Every error leaves with the same extensions (CONTRACT §4): code, retryable, retryHints, traceId.
 * GraphQL's own request errors (a syntax error, an unknown field) are VALIDATION_ERROR.
 */
export function withContractExtensions(error: GraphQLError, traceId: string): GraphQLError {
  const extensions = { ...error.extensions };
  const code = typeof extensions.code === 'string' ? extensions.code : undefined;
  const known = code && isContractCode(code);
  const normalized: Record<string, unknown> = {
    ...extensions,
    code: known ? code : 'VALIDATION_ERROR',
    retryable: typeof extensions.retryable === 'boolean' ? extensions.retryable : !known,
    retryHints: Array.isArray(extensions.retryHints)
      ? extensions.retryHints
      : ['check the operation against the schema (GraphiQL lists every field and argument)'],
    traceId,
  };
  return new GraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: normalized,
  });
}

const CODES = new Set<ErrorCode>([
  'AUTHENTICATION_REQUIRED',
  'MODEL_NOT_ALLOWED',
  'FIELD_NOT_ALLOWED',
  'RELATION_NOT_ALLOWED',
  'TENANT_SCOPE_REQUIRED',
  'TENANT_SCOPE_VIOLATION',
  'QUERY_TOO_BROAD',
  'QUERY_BUDGET_EXCEEDED',
  'VALIDATION_ERROR',
  'NOT_FOUND',
  'WRITE_DISABLED',
  'WRITE_APPROVAL_REQUIRED',
  'MAX_AFFECTED_ROWS_EXCEEDED',
  'TOOL_NOT_FOUND',
  'INTERNAL_ERROR',
]);

function isContractCode(code: string): code is ErrorCode {
  return CODES.has(code as ErrorCode);
}
