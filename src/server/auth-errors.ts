import { OrmaiError } from '../errors.js';

/** The caller's credentials are missing or not accepted: HTTP 401, AUTHENTICATION_REQUIRED. */
export const unauthenticated = (message: string, hint: string) =>
  new OrmaiError('AUTHENTICATION_REQUIRED', message, { hints: [hint], httpStatus: 401 });

/**
 * The identity provider's keys cannot be fetched: the server's problem, not the caller's token.
 * HTTP 503, retryable, the cause for the log only (INTERNAL_ERROR leaks no internals).
 */
export const identityProviderUnavailable = () =>
  new OrmaiError(
    'INTERNAL_ERROR',
    "the identity provider's signing keys cannot be fetched right now, so no token can be verified",
    {
      retryable: true,
      hints: ['retry in a few seconds; the same token works once the keys can be fetched'],
      httpStatus: 503,
      httpHeaders: { 'retry-after': '5' },
    },
  );
