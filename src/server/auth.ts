import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { OrmaiConfig } from '../config.js';
import { OrmaiError } from '../errors.js';
import type { Principal } from '../policy/principal.js';
import { type ApiKeyStore, isApiKey } from './api-keys.js';
import { identityProviderUnavailable, unauthenticated } from './auth-errors.js';
import {
  type ClaimPath,
  type ClaimPaths,
  DEFAULT_CLAIM_PATHS,
  parseClaimPath,
  readClaim,
  rolesFrom,
  writeClaim,
} from './claim-paths.js';
import { type JwksOptions, JwksUnavailableError, type JwksVerifier } from './jwks.js';
import { verifiedTokensOf } from './verified-tokens.js';

export interface AuthOptions {
  /** HS256 secret. */
  secret: string;
  /** The claim holding the tenant id (default `tenantId`); `claims.tenant` takes precedence. */
  tenantClaim?: string | undefined;
  /** Where sub, tenant and roles are in a token's claims (dotted paths; see claim-paths.ts). */
  claims?: ClaimPaths | undefined;
  /** The `iss` every JWT must carry (HS256 ones too); unchecked when unset. */
  issuer?: string | undefined;
  /** An `aud` every JWT must carry (one of a list); unchecked when unset. */
  audience?: string | string[] | undefined;
  /** Verifies tokens not signed with an HS* algorithm against an identity provider's key set. */
  jwks?: JwksVerifier | undefined;
  /** Resolves `ormai_sk_…` API keys; without it they are refused. */
  apiKeys?: Pick<ApiKeyStore, 'principalOf'> | undefined;
}

export const DEFAULT_TENANT_CLAIM = DEFAULT_CLAIM_PATHS.tenant;

/**
 * The JWT secret: `ORMAI_JWT_SECRET`, else (outside production) a random one for this process, so
 * dev tokens printed at start-up work until the next restart.
 */
export function resolveJwtSecret(env: NodeJS.ProcessEnv = process.env): {
  secret: string;
  generated: boolean;
} {
  if (env.ORMAI_JWT_SECRET) return { secret: env.ORMAI_JWT_SECRET, generated: false };
  if (env.NODE_ENV === 'production') {
    throw new Error('ORMAI_JWT_SECRET is required when NODE_ENV=production');
  }
  return { secret: randomBytes(32).toString('hex'), generated: true };
}

/** What `auth` and the env say about identity, checked at start (the JWKS verifier is built from it). */
export interface IdentitySettings {
  tenantClaim?: string | undefined;
  claims?: ClaimPaths | undefined;
  issuer?: string | undefined;
  audience?: string | string[] | undefined;
  /** Present when a JWKS URL is configured (`auth.jwks.url` or `ORMAI_JWKS_URL`). */
  jwks?: JwksOptions | undefined;
}

/**
 * `auth` of the config with `ORMAI_JWKS_URL`, `ORMAI_JWT_ISSUER` and `ORMAI_JWT_AUDIENCE` (comma
 * separated) over it. Claim paths are parsed now, so a bad one stops the start.
 */
export function identitySettings(
  auth: OrmaiConfig['auth'],
  env: NodeJS.ProcessEnv = process.env,
): IdentitySettings {
  const url = env.ORMAI_JWKS_URL || auth?.jwks?.url;
  const issuer = env.ORMAI_JWT_ISSUER || auth?.jwks?.issuer;
  const audiences = env.ORMAI_JWT_AUDIENCE
    ? env.ORMAI_JWT_AUDIENCE.split(',')
        .map((value) => value.trim())
        .filter(Boolean)
    : auth?.jwks?.audience;
  const audience =
    Array.isArray(audiences) && audiences.length === 1 ? audiences[0] : audiences || undefined;
  for (const path of Object.values(auth?.claims ?? {})) if (path) parseClaimPath(path);
  return {
    tenantClaim: auth?.tenantClaim,
    claims: auth?.claims,
    issuer,
    audience,
    jwks: url ? { ...auth?.jwks, url, issuer, audience } : undefined,
  };
}

// A key made once per secret: handing jose the raw bytes makes it import them again on every
// sign and verify, which was a large share of a small request's CPU time.
const keys = new Map<string, KeyObject>();
const key = (secret: string): KeyObject => {
  let found = keys.get(secret);
  if (!found) {
    if (keys.size >= 64) keys.clear();
    found = createSecretKey(new TextEncoder().encode(secret));
    keys.set(secret, found);
  }
  return found;
};

// parsed once per path text: the same few paths serve every request
const paths = new Map<string, ClaimPath>();
const pathOf = (source: string): ClaimPath => {
  let found = paths.get(source);
  if (!found) {
    if (paths.size >= 256) paths.clear();
    found = parseClaimPath(source);
    paths.set(source, found);
  }
  return found;
};

type ClaimMapping = Pick<AuthOptions, 'claims' | 'tenantClaim'>;

const claimPathsOf = (mapping: ClaimMapping) => ({
  sub: pathOf(mapping.claims?.sub ?? DEFAULT_CLAIM_PATHS.sub),
  tenant: pathOf(mapping.claims?.tenant ?? mapping.tenantClaim ?? DEFAULT_CLAIM_PATHS.tenant),
  roles: pathOf(mapping.claims?.roles ?? DEFAULT_CLAIM_PATHS.roles),
});

// where a token that works comes from: without ORMAI_JWT_SECRET a random secret signs the dev
// tokens printed at start, and no other command can sign one
const TOKEN_HINT =
  "use a dev token printed at start by `ormai serve` (`npm start`); `npm run ormai -- token` makes one only when ORMAI_JWT_SECRET is set to the server's secret";

/** The principal of a request's `Authorization: Bearer <token>` header; 401 when absent or invalid. */
export async function principalFromAuthorization(
  header: string | null | undefined,
  options: AuthOptions,
): Promise<Principal> {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    throw unauthenticated(
      header && /^Bearer\s+<[^>]*>\s*$/i.test(header)
        ? 'the Authorization header holds a placeholder, not a token'
        : 'a bearer token is required',
      `send the header Authorization: Bearer <token>; ${TOKEN_HINT}`,
    );
  }
  return verifyToken(match[1]!, options);
}

/**
 * A bearer token's principal: an `ormai_sk_…` API key is looked up; a JWT signed with an HS*
 * algorithm is verified with the secret, any other against the JWKS when one is configured.
 */
export async function verifyToken(token: string, options: AuthOptions): Promise<Principal> {
  if (isApiKey(token)) {
    if (!options.apiKeys) {
      throw unauthenticated(
        'API keys are not accepted by this server',
        'send a JWT, or turn API keys on (auth.apiKeys)',
      );
    }
    // never cached: a revoked key is refused on the next request
    return options.apiKeys.principalOf(token);
  }
  const verified = verifiedTokensOf(options);
  const known = verified.get(token);
  if (known) return known;
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw unauthenticated('the token is invalid', `send a token this server signed: ${TOKEN_HINT}`);
  }
  const jwks = options.jwks;
  const viaSecret = !jwks || (typeof header.alg === 'string' && header.alg.startsWith('HS'));
  const expected = {
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  try {
    const payload = viaSecret
      ? (await jwtVerify(token, key(options.secret), { algorithms: ['HS256'], ...expected }))
          .payload
      : await jwks.verify(token, expected);
    const principal = principalFromClaims(payload, options);
    verified.remember(token, principal, payload, viaSecret ? undefined : jwks.cacheMaxAgeMs);
    return principal;
  } catch (error) {
    throw tokenError(error, header, options, viaSecret);
  }
}

const listed = (values: string | readonly string[]) =>
  (Array.isArray(values) ? values : [values]).join(', ');

/** jose's verdict on a token as a 401 saying what is wrong and how to get a token that works. */
function tokenError(
  error: unknown,
  header: { alg?: unknown; kid?: unknown },
  options: AuthOptions,
  viaSecret: boolean,
): OrmaiError {
  if (error instanceof OrmaiError) return error;
  if (error instanceof JwksUnavailableError) return identityProviderUnavailable();
  const retry = viaSecret ? TOKEN_HINT : 'get a new token from your identity provider';
  if (error instanceof joseErrors.JWTExpired) {
    return unauthenticated('the token has expired', 'get a new token and retry');
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const value = JSON.stringify((error.payload as Record<string, unknown>)[error.claim]);
    if (error.claim === 'iss') {
      return unauthenticated(
        error.reason === 'missing'
          ? 'the token has no iss (issuer) claim'
          : `the token's issuer (iss) is ${value}, not ${options.issuer}`,
        `use a token issued by ${options.issuer}`,
      );
    }
    if (error.claim === 'aud') {
      return unauthenticated(
        error.reason === 'missing'
          ? 'the token has no aud (audience) claim'
          : `the token's audience (aud) is ${value}, not ${listed(options.audience ?? [])}`,
        `ask for a token whose audience is ${listed(options.audience ?? [])}`,
      );
    }
    if (error.claim === 'nbf') {
      return unauthenticated(
        'the token is not valid yet (nbf)',
        'check the clocks of the token issuer and of this server',
      );
    }
    return unauthenticated(`the token's ${error.claim} claim is not valid`, retry);
  }
  const alg = typeof header.alg === 'string' ? header.alg : '(none)';
  if (
    error instanceof joseErrors.JOSEAlgNotAllowed ||
    error instanceof joseErrors.JOSENotSupported
  ) {
    return options.jwks
      ? unauthenticated(
          `the token is signed with ${alg}; this server accepts ${listed(options.jwks.algorithms)} (identity provider) and HS256 (ORMAI_JWT_SECRET)`,
          'list the algorithm in auth.jwks.algorithms if your identity provider signs with it',
        )
      : unauthenticated(
          `the token is signed with ${alg}; this server verifies HS256 tokens signed with ORMAI_JWT_SECRET`,
          "set ORMAI_JWKS_URL (auth.jwks.url) to your identity provider's JWKS to accept its tokens",
        );
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    return unauthenticated(
      kid
        ? `no key of the identity provider's key set has the token's kid ${JSON.stringify(kid)}`
        : "the token names no kid and no key of the identity provider's key set fits it",
      `the token comes from another issuer than ${options.jwks?.url}, or from a key no longer published: ${retry}`,
    );
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed && !viaSecret) {
    return unauthenticated(
      "the token's signature does not verify with the identity provider's key",
      retry,
    );
  }
  return unauthenticated('the token is invalid', `send a token this server accepts: ${retry}`);
}

/**
 * The principal in a token's claims, at the configured paths (`auth.claims`; a string is the
 * tenant claim, as before claim paths). `sub` is a string (a mapped user-id claim may be a
 * number); roles as rolesFrom says.
 */
export function principalFromClaims(
  claims: Record<string, unknown>,
  mapping: string | ClaimMapping = {},
): Principal {
  const at = claimPathsOf(typeof mapping === 'string' ? { tenantClaim: mapping } : mapping);
  const sub = readClaim(claims, at.sub);
  // JWT's own sub is a string (RFC 7519); a claim the config maps to the user id (an identity
  // provider's numeric user_id) may be a number
  const numberAllowed = at.sub.source !== 'sub';
  if (!((typeof sub === 'string' && sub !== '') || (numberAllowed && typeof sub === 'number'))) {
    throw unauthenticated(
      typeof sub === 'number'
        ? "the token's sub claim is a number; JWT requires a string"
        : `the token has no ${at.sub.source} claim`,
      at.sub.source === 'sub'
        ? 'issue tokens with a sub (user id) claim'
        : `issue tokens with a ${at.sub.source} claim, or point auth.claims.sub at the user id`,
    );
  }
  const tenant = readClaim(claims, at.tenant);
  return {
    sub: String(sub),
    tenantId: typeof tenant === 'string' || typeof tenant === 'number' ? tenant : null,
    roles: rolesFrom(readClaim(claims, at.roles)),
    claims,
  };
}

export interface TokenInput {
  sub: string;
  tenantId?: string | number | null;
  roles?: string[];
  /** A span such as `12h` or `7d`, or an epoch second; default 12h. */
  expiresIn?: string | number;
}

/** Options to sign tokens this server accepts: the secret, the claim paths, issuer and audience. */
export type SigningOptions = Pick<
  AuthOptions,
  'secret' | 'tenantClaim' | 'claims' | 'issuer' | 'audience'
>;

/** The signing options of a secret and the identity settings: tokens the verifier will accept. */
export const signingOptions = (secret: string, identity: IdentitySettings): SigningOptions => ({
  secret,
  tenantClaim: identity.tenantClaim,
  claims: identity.claims,
  issuer: identity.issuer,
  audience: identity.audience,
});

/** An HS256 token whose claims sit where the verifier reads them (claim paths, issuer, audience). */
export async function signToken(input: TokenInput, options: SigningOptions): Promise<string> {
  const at = claimPathsOf(options);
  const claims: Record<string, unknown> = {};
  writeClaim(claims, at.roles, input.roles ?? []);
  if (input.tenantId !== undefined && input.tenantId !== null) {
    writeClaim(claims, at.tenant, input.tenantId);
  }
  if (at.sub.source !== 'sub') writeClaim(claims, at.sub, input.sub);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.sub)
    .setIssuedAt()
    .setExpirationTime(input.expiresIn ?? '12h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(key(options.secret));
}

/**
 * Refuses a principal none of whose roles the policy names. Such a principal could read nothing,
 * and every query would fail field by field ("Cannot query field …") as if the schema were broken;
 * the token is what is wrong, so the refusal is AUTHENTICATION_REQUIRED (401) at authentication,
 * the same answer on /graphql and /mcp, naming the roles that would work. A policy without roles
 * accepts any principal; a token with one known role and others (an identity provider's) is kept.
 */
export function requireKnownRole(
  principal: Principal,
  policyRoles: readonly string[],
  from: 'token' | 'principal' = 'token',
): Principal {
  if (policyRoles.length === 0 || principal.roles.some((role) => policyRoles.includes(role))) {
    return principal;
  }
  const roles = policyRoles.join(', ');
  throw unauthenticated(
    principal.roles.length === 0
      ? `the ${from} has no roles; this policy's roles are ${roles}`
      : `the ${from}'s roles (${principal.roles.join(', ')}) are not roles of this policy (${roles})`,
    `use a token with one of the roles ${roles}, e.g. \`npm run ormai -- token --sub <id> --tenant <id> --roles ${policyRoles[0]}\``,
  );
}
