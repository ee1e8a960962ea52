import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { OrmaiError } from '../errors.js';
import type { Principal } from '../policy/principal.js';

export interface AuthOptions {
  /** HS256 secret. */
  secret: string;
  /** The claim holding the tenant id (default `tenantId`). */
  tenantClaim?: string;
}

export const DEFAULT_TENANT_CLAIM = 'tenantId';

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

// where a token that works comes from: without ORMAI_JWT_SECRET a random secret signs the dev
// tokens printed at start, and no other command can sign one
const TOKEN_HINT =
  "use a dev token printed at start by `ormai serve` (`npm start`); `npm run ormai -- token` makes one only when ORMAI_JWT_SECRET is set to the server's secret";

const unauthenticated = (message: string, hint: string) =>
  new OrmaiError('AUTHENTICATION_REQUIRED', message, { hints: [hint], httpStatus: 401 });

/** The principal of a request's `Authorization: Bearer <JWT>` header; 401 when absent or invalid. */
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

export async function verifyToken(token: string, options: AuthOptions): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, key(options.secret), { algorithms: ['HS256'] });
    return principalFromClaims(payload, options.tenantClaim ?? DEFAULT_TENANT_CLAIM);
  } catch (error) {
    if (error instanceof OrmaiError) throw error;
    if (error instanceof joseErrors.JWTExpired) {
      throw unauthenticated('the token has expired', 'get a new token and retry');
    }
    throw unauthenticated('the token is invalid', `send a token this server signed: ${TOKEN_HINT}`);
  }
}

export function principalFromClaims(
  claims: Record<string, unknown>,
  tenantClaim: string,
): Principal {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') {
    throw unauthenticated('the token has no sub claim', 'issue tokens with a sub (user id) claim');
  }
  const tenant = claims[tenantClaim];
  const roles = claims.roles;
  return {
    sub,
    tenantId: typeof tenant === 'string' || typeof tenant === 'number' ? tenant : null,
    roles: Array.isArray(roles)
      ? roles.filter((role): role is string => typeof role === 'string')
      : [],
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

export async function signToken(input: TokenInput, options: AuthOptions): Promise<string> {
  const claims: Record<string, unknown> = { roles: input.roles ?? [] };
  if (input.tenantId !== undefined && input.tenantId !== null) {
    claims[options.tenantClaim ?? DEFAULT_TENANT_CLAIM] = input.tenantId;
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.sub)
    .setIssuedAt()
    .setExpirationTime(input.expiresIn ?? '12h')
    .sign(key(options.secret));
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
