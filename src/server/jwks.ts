import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { StartupError } from '../startup-error.js';

/** An identity provider's JSON Web Key Set (`auth.jwks`; `ORMAI_JWKS_URL` overrides the URL). */
export interface JwksOptions {
  /** The key set's URL, e.g. `https://tenant.auth0.com/.well-known/jwks.json`. */
  url: string;
  /** The `iss` tokens must carry (`ORMAI_JWT_ISSUER` overrides); unchecked when unset. */
  issuer?: string;
  /** An `aud` tokens must carry, one of a list (`ORMAI_JWT_AUDIENCE` overrides); unchecked when unset. */
  audience?: string | string[];
  /** Signature algorithms accepted (default RS256, ES256, EdDSA). */
  algorithms?: string[];
  /** After a fetch, how long a token with an unknown `kid` waits before the set is fetched again (default 30 s). */
  cooldownMs?: number;
  /** How long fetched keys are used before the set is fetched again (default 10 min). */
  cacheMaxAgeMs?: number;
  /** How long a fetch may take (default 5 s). */
  timeoutMs?: number;
}

export const DEFAULT_JWKS_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
export const DEFAULT_JWKS_CACHE_MAX_AGE_MS = 600_000;
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
/** The identity provider's clock and ours may differ by this much (`exp`, `nbf`, `iat`). */
export const JWKS_CLOCK_TOLERANCE_SECONDS = 30;
// after a failed fetch, requests fail at once for this long instead of each waiting on a provider
// that is down (jose would start a new fetch for every request)
const FAILED_FETCH_BACKOFF_MS = 5_000;

/** The key set could not be fetched or read: the server's problem, never the caller's. */
export class JwksUnavailableError extends Error {
  constructor(url: URL, cause: unknown) {
    super(`the JWKS at ${url.href} cannot be fetched: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
    this.name = 'JwksUnavailableError';
  }
}

export interface JwksVerifier {
  readonly url: string;
  readonly algorithms: readonly string[];
  /**
   * How long fetched keys are used before the set is fetched again; a token verified with them is
   * kept in the verified-token cache no longer (verified-tokens.ts).
   */
  readonly cacheMaxAgeMs?: number;
  /** The verified claims; jose's errors for a bad token, JwksUnavailableError when keys cannot be had. */
  verify(
    token: string,
    expected: { issuer?: string | undefined; audience?: string | string[] | undefined },
  ): Promise<JWTPayload>;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** The URL checked at start: HTTPS, or HTTP to this machine only (a test's or a sidecar's key set). */
function jwksUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StartupError('CONFIG_INVALID', `auth.jwks.url ${JSON.stringify(url)} is not a URL`, {
      hints: ['set it (or ORMAI_JWKS_URL) to your identity provider’s JWKS URL'],
    });
  }
  if (
    parsed.protocol === 'https:' ||
    (parsed.protocol === 'http:' && LOOPBACK.test(parsed.hostname))
  )
    return parsed;
  throw new StartupError(
    'CONFIG_INVALID',
    `auth.jwks.url ${parsed.href} must use https (http only to localhost): keys fetched in the clear can be swapped`,
    { hints: ['use the https URL of the identity provider’s JWKS'] },
  );
}

/**
 * Verifies tokens against a remote key set. jose caches the keys, fetches them again after
 * `cacheMaxAgeMs`, and on a `kid` it does not know (a rotated key) at most once per `cooldownMs`.
 */
export function createJwksVerifier(
  options: JwksOptions,
  hooks: { onUnavailable?(error: JwksUnavailableError): void } = {},
): JwksVerifier {
  const url = jwksUrl(options.url);
  const algorithms = options.algorithms?.length ? options.algorithms : [...DEFAULT_JWKS_ALGORITHMS];
  const cacheMaxAgeMs = options.cacheMaxAgeMs ?? DEFAULT_JWKS_CACHE_MAX_AGE_MS;
  const keys = createRemoteJWKSet(url, {
    cooldownDuration: options.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS,
    cacheMaxAge: cacheMaxAgeMs,
    timeoutDuration: options.timeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS,
  });
  let failed: { at: number; error: unknown } | undefined;
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (failed && !keys.fresh && Date.now() - failed.at < FAILED_FETCH_BACKOFF_MS) {
      throw new JwksUnavailableError(url, failed.error);
    }
    try {
      return await keys(header, token);
    } catch (error) {
      // the token's own problems; anything else is the fetch or the set itself
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      failed = { at: Date.now(), error };
      const unavailable = new JwksUnavailableError(url, error);
      hooks.onUnavailable?.(unavailable);
      throw unavailable;
    }
  };

  return {
    url: url.href,
    algorithms,
    cacheMaxAgeMs,
    async verify(token, expected) {
      const verifyOptions = {
        algorithms,
        clockTolerance: JWKS_CLOCK_TOLERANCE_SECONDS,
        ...(expected.issuer ? { issuer: expected.issuer } : {}),
        ...(expected.audience ? { audience: expected.audience } : {}),
      };
      try {
        return (await jwtVerify(token, getKey, verifyOptions)).payload;
      } catch (error) {
        if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
        // several keys match the token's kid and alg (a provider mid-rotation): one that verifies will do
        for await (const key of error as unknown as AsyncIterable<CryptoKey>) {
          try {
            return (await jwtVerify(token, key, verifyOptions)).payload;
          } catch (inner) {
            if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
          }
        }
        throw new errors.JWSSignatureVerificationFailed();
      }
    },
  };
}
