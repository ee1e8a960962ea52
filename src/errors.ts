import { GraphQLError } from 'graphql';
import type { Failure } from './policy/result.js';

/** Every code a client can see (CONTRACT §6). */
export type ErrorCode =
  | 'AUTHENTICATION_REQUIRED'
  | 'MODEL_NOT_ALLOWED'
  | 'FIELD_NOT_ALLOWED'
  | 'RELATION_NOT_ALLOWED'
  | 'TENANT_SCOPE_REQUIRED'
  | 'TENANT_SCOPE_VIOLATION'
  | 'QUERY_TOO_BROAD'
  | 'QUERY_BUDGET_EXCEEDED'
  | 'VALIDATION_ERROR'
  | 'NOT_FOUND'
  | 'WRITE_DISABLED'
  | 'WRITE_APPROVAL_REQUIRED'
  | 'APPROVAL_SELF_DENIED'
  | 'MAX_AFFECTED_ROWS_EXCEEDED'
  | 'RATE_LIMITED'
  | 'TOOL_NOT_FOUND'
  | 'INTERNAL_ERROR';

export interface OrmaiErrorOptions {
  retryable?: boolean;
  hints?: string[];
  details?: Record<string, unknown>;
  /** The HTTP status when this error ends a request before execution (auth). */
  httpStatus?: number;
  /** Headers of that response (`Retry-After` of RATE_LIMITED). */
  httpHeaders?: Record<string, string>;
  cause?: unknown;
}

/** The one error family: a GraphQL error whose extensions carry what a caller needs to recover. */
export class OrmaiError extends GraphQLError {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hints: string[];
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: OrmaiErrorOptions = {}) {
    const { retryable = false, hints = [], details, httpStatus, httpHeaders } = options;
    super(message, {
      extensions: {
        code,
        retryable,
        retryHints: hints,
        ...(details ? { details } : {}),
        ...(httpStatus
          ? { http: { status: httpStatus, ...(httpHeaders ? { headers: httpHeaders } : {}) } }
          : {}),
      },
      ...(options.cause instanceof Error ? { originalError: options.cause } : {}),
    });
    this.name = 'OrmaiError';
    this.code = code;
    this.retryable = retryable;
    this.hints = hints;
    this.details = details;
  }
}

/** Turns a pure policy failure into the error thrown at request time. */
export function fromFailure(failure: Failure, options: OrmaiErrorOptions = {}): OrmaiError {
  return new OrmaiError(failure.code as ErrorCode, failure.message, {
    hints: failure.hints,
    ...(failure.details ? { details: failure.details } : {}),
    ...options,
  });
}

/** Unwraps a policy result at request time: the value, or the failure thrown as an OrmaiError. */
export function unwrap<T>(result: { ok: true; value: T } | Failure): T {
  if (result.ok) return result.value;
  throw fromFailure(result);
}

export const validationError = (message: string, field: string, hints: string[] = []) =>
  new OrmaiError('VALIDATION_ERROR', message, { retryable: true, hints, details: { field } });
