import { GraphQLError, Kind, parse, visit } from 'graphql';
import { NOT_RECORDED_MESSAGE } from '../audit/audit-log.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { type ErrorCode, OrmaiError } from '../errors.js';
import { budgetError } from '../schema/budget-rules.js';

const INTERNAL = Symbol('ormai.internal-cause');

type MaskedError = GraphQLError & { [INTERNAL]?: unknown };

/** The database cannot be reached right now: retryable, HTTP 503 (as when the audit log cannot be written). */
function databaseUnavailableError(): OrmaiError {
  return new OrmaiError('INTERNAL_ERROR', 'the database is unavailable right now', {
    retryable: true,
    hints: ['retry in a few seconds'],
    httpStatus: 503,
  });
}

/** The audit log is too far behind to take the call's record: refused unrecorded, HTTP 503. */
export function auditNotRecordedError(): OrmaiError {
  return new OrmaiError('INTERNAL_ERROR', NOT_RECORDED_MESSAGE, {
    retryable: true,
    hints: ['retry in a few seconds'],
    httpStatus: 503,
  });
}

/** The audit log cannot write the call's record now: it is refused (fail closed), retryable, HTTP 503. */
export function auditUnavailableError(): OrmaiError {
  return new OrmaiError(
    'INTERNAL_ERROR',
    'the audit log cannot be written right now, so nothing is served',
    { retryable: true, hints: ['retry in a few seconds'], httpStatus: 503 },
  );
}

export interface MaskErrorOptions {
  /** The database's statement timeout, named in the error when a statement hits it. */
  statementTimeoutMs: number;
}

/**
 * yoga's maskError: our own errors and GraphQL's request errors (syntax, validation, coercion) go to
 * the client; a statement the database cancelled for its timeout is a budget error; anything else
 * becomes INTERNAL_ERROR, its cause kept aside for the log only.
 */
export const maskErrorWith = (options: MaskErrorOptions) => (error: unknown) =>
  maskError(error, options);

export function maskError(error: unknown, options?: MaskErrorOptions): Error {
  if (options && isStatementTimeout(error)) {
    return located(
      error,
      budgetError('statement_timeout', options.statementTimeoutMs, options.statementTimeoutMs + 1),
    );
  }
  const ormai = findOrmaiError(error);
  if (ormai) {
    return located(error, ormai);
  }
  // the database is down or restarting: not the caller's fault, and the same call works once it
  // is back (the pool reconnects by itself); still INTERNAL_ERROR, the cause for the log only
  if (isDatabaseUnavailable(error)) {
    const unavailable: MaskedError = located(error, databaseUnavailableError());
    unavailable[INTERNAL] = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    return unavailable;
  }
  // GraphQL's own request errors (syntax, validation, variable coercion) are the caller's to fix
  if (
    error instanceof GraphQLError &&
    (!error.originalError || error.originalError instanceof GraphQLError)
  ) {
    return error;
  }
  const masked: MaskedError = new OrmaiError('INTERNAL_ERROR', 'internal error', {
    hints: ['retry later; report the trace id if it persists'],
  });
  masked[INTERNAL] = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  return masked;
}

/** Keeps where it happened (locations, path) from the located error around ours. */
function located(error: unknown, ormai: OrmaiError): GraphQLError {
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

/** PostgreSQL cancelled a statement for statement_timeout (SQLSTATE 57014), somewhere in the chain. */
export function isStatementTimeout(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    const candidate = current as {
      code?: unknown;
      message?: unknown;
      originalError?: unknown;
      cause?: unknown;
    };
    if (candidate.code === '57014' || /statement timeout/i.test(String(candidate.message ?? '')))
      return true;
    current = candidate.originalError ?? candidate.cause;
  }
  return false;
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
  // a role without writes has no Mutation type at all
  if (
    /^Schema is not configured to execute mutation operation|^The mutation operation is not supported by the schema/.test(
      error.message,
    )
  ) {
    extensions.code = 'WRITE_DISABLED';
    extensions.retryable = false;
    extensions.retryHints = [
      'writes are off for your roles: the policy grants none (describeSchema lists what you can do)',
    ];
  }
  // a field the caller's schema lacks (denied, or not there at all) is named as not allowed
  const unknownField =
    /^Cannot query field "([^"]+)" on type "([^"]+)"/.exec(error.message) ??
    /^Field "([^"]+)" is not defined by type "([^"]+)"/.exec(error.message) ??
    swap(
      /^Expected value of type "([^"]+)" not to include unknown field "([^"]+)"/.exec(
        error.message,
      ),
    ) ??
    /^Value "([^"]+)" does not exist in "([^"]+)" enum/.exec(error.message);
  const ours = typeof extensions.code === 'string' && isContractCode(extensions.code);
  if (unknownField && !ours) {
    extensions.code = 'FIELD_NOT_ALLOWED';
    extensions.retryable = true;
    extensions.retryHints = [
      `${unknownField[2]} has no field ${unknownField[1]} you can use; describeSchema lists what your roles can read`,
    ];
    extensions.details = { field: unknownField[1], type: unknownField[2] };
  }
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
  if (normalized.code === 'VALIDATION_ERROR') {
    const details =
      normalized.details && typeof normalized.details === 'object'
        ? (normalized.details as Record<string, unknown>)
        : undefined;
    if (details?.field === undefined) {
      // a wrong enum value (src/schema/enums.ts) names its enum; the field is found here
      const field = invalidValueField(error, details?.enum !== undefined);
      if (field) normalized.details = { ...details, field };
    }
  }
  return new GraphQLError(error.message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    ...(error.path ? { path: error.path } : {}),
    extensions: normalized,
  });
}

/** Names in an input path that are no field of a model: operators, combinators, relation filters. */
const NOT_A_FIELD = new Set([
  'equals',
  'not',
  'in',
  'notIn',
  'lt',
  'lte',
  'gt',
  'gte',
  'contains',
  'startsWith',
  'endsWith',
  'isNull',
  'AND',
  'OR',
  'NOT',
  'some',
  'every',
  'none',
  'is',
]);

/**
 * The input field a wrong-typed value was given for: from the variable path GraphQL names
 * (`has invalid value at .where.status.equals`, or graphql 16's `got invalid value … at "data.status"`),
 * or, for a literal, from the fields and arguments around the value the error points at. The
 * innermost name that is a field, not an operator (`status`, not `equals`).
 */
function invalidValueField(error: GraphQLError, anyMessage = false): string | null {
  const variable =
    /^Variable "\$(\w+)" has invalid value(?: at ((?:\.[^.\s:[\]]+|\[\d+\])+))?:/.exec(
      error.message,
    );
  const path = variable
    ? [variable[1]!, ...(variable[2] ?? '').split(/[.[\]]/)]
    : /got invalid value .* at "([^"]+)"/.exec(error.message)?.[1]?.split('.');
  if (path) return fieldIn(path);
  const start = error.nodes?.[0]?.loc?.start;
  if (
    start === undefined ||
    !error.source ||
    (!anyMessage && !/cannot represent|Expected value of type/.test(error.message))
  )
    return null;
  const names: string[] = [];
  try {
    visit(parse(error.source), {
      enter(node) {
        const loc =
          (node.kind === Kind.OBJECT_FIELD || node.kind === Kind.ARGUMENT) && node.value.loc;
        if (loc && loc.start <= start && start < loc.end) names.push(node.name.value);
      },
    });
  } catch {
    return null;
  }
  return fieldIn(names);
}

function fieldIn(path: string[]): string | null {
  const names = path.filter((part) => part !== '' && !/^\d+$/.test(part));
  return [...names].reverse().find((name) => !NOT_A_FIELD.has(name)) ?? names.at(-1) ?? null;
}

/** [match, a, b] → [match, b, a] */
function swap(match: RegExpExecArray | null): [string, string, string] | null {
  return match ? [match[0], match[2]!, match[1]!] : null;
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
  'APPROVAL_SELF_DENIED',
  'MAX_AFFECTED_ROWS_EXCEEDED',
  'RATE_LIMITED',
  'TOOL_NOT_FOUND',
  'INTERNAL_ERROR',
]);

function isContractCode(code: string): code is ErrorCode {
  return CODES.has(code as ErrorCode);
}
