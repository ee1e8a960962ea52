// Pins the verified-token cache: a hit only within the token's nbf/exp and 5 minutes (or the JWKS key
// cache age), never across auth configurations, never for a failure or a token changed in any way.
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Principal } from '../src/policy/principal.js';
import { type AuthOptions, verifyToken } from '../src/server/auth.js';
import { JwksUnavailableError, type JwksVerifier } from '../src/server/jwks.js';
import {
  createVerifiedTokens,
  VERIFIED_TOKENS_MAX_AGE_MS,
  VERIFIED_TOKENS_MAX_ENTRIES,
} from '../src/server/verified-tokens.js';

const SECRET = 'verified-tokens-secret-0123456789';
const START = Date.UTC(2026, 11, 4, 12, 0, 0);
const seconds = () => Math.floor(Date.now() / 1000);

const sign = (claims: Record<string, unknown>, secret = SECRET, exp = seconds() + 3600) =>
  new SignJWT({ tenantId: 1, roles: ['agent'], ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('1')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));

/** A key set stand-in: accepts any RS256-headed token and returns its payload, counting calls. */
function fakeJwks(cacheMaxAgeMs?: number) {
  const calls = { count: 0, failNext: false };
  const verifier: JwksVerifier = {
    url: 'https://idp.test/jwks.json',
    algorithms: ['RS256'],
    ...(cacheMaxAgeMs === undefined ? {} : { cacheMaxAgeMs }),
    async verify(token) {
      calls.count++;
      if (calls.failNext) {
        calls.failNext = false;
        throw new JwksUnavailableError(new URL(this.url), new Error('down'));
      }
      return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    },
  };
  return { verifier, calls };
}
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const rs256 = (claims: Record<string, unknown>) =>
  `${part({ alg: 'RS256', kid: 'k1' })}.${part({ sub: '7', tenantId: 3, roles: ['agent'], ...claims })}.c2ln`;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('verifyToken with the verified-token cache', () => {
  it('serves a verified token again from the cache, frozen', async () => {
    const options: AuthOptions = { secret: SECRET };
    const token = await sign({});
    const first = await verifyToken(token, options);
    const second = await verifyToken(token, options);
    expect(second).toBe(first);
    expect(second).toMatchObject({ sub: '1', tenantId: 1, roles: ['agent'] });
    expect(Object.isFrozen(second) && Object.isFrozen(second.roles)).toBe(true);
    expect(Object.isFrozen(second.claims)).toBe(true);
  });

  it("honours the token's exp on a hit", async () => {
    const options: AuthOptions = { secret: SECRET };
    const token = await sign({}, SECRET, seconds() + 60);
    const first = await verifyToken(token, options);
    vi.setSystemTime(START + 59_999);
    expect(await verifyToken(token, options)).toBe(first);
    vi.setSystemTime(START + 60_000);
    await expect(verifyToken(token, options)).rejects.toThrow('the token has expired');
  });

  it("serves no hit before the token's nbf (a JWKS accepts it early, within its clock tolerance)", async () => {
    const { verifier, calls } = fakeJwks();
    const options: AuthOptions = { secret: SECRET, jwks: verifier };
    const token = rs256({ nbf: seconds() + 20, exp: seconds() + 3600 });
    await verifyToken(token, options);
    await verifyToken(token, options);
    expect(calls.count).toBe(2);
    // from its nbf on, the token verified earlier is served
    vi.setSystemTime(START + 20_000);
    await verifyToken(token, options);
    await verifyToken(token, options);
    expect(calls.count).toBe(2);
  });

  it('is not shared between auth configurations', async () => {
    const token = await sign({});
    await verifyToken(token, { secret: SECRET });
    await expect(verifyToken(token, { secret: 'another-secret-0123456789abcdef' })).rejects.toThrow(
      'the token is invalid',
    );
    await expect(
      verifyToken(token, { secret: SECRET, issuer: 'https://issuer.test/' }),
    ).rejects.toThrow('the token has no iss (issuer) claim');
  });

  it('never caches a failure', async () => {
    const { verifier, calls } = fakeJwks();
    const options: AuthOptions = { secret: SECRET, jwks: verifier };
    const token = rs256({ exp: seconds() + 3600 });
    calls.failNext = true;
    await expect(verifyToken(token, options)).rejects.toMatchObject({
      extensions: { code: 'INTERNAL_ERROR' },
    });
    const principal = await verifyToken(token, options);
    expect(principal).toMatchObject({ sub: '7', tenantId: 3 });
    expect(calls.count).toBe(2);
    // a token without a sub verifies but yields no principal: refused every time
    const noSub = `${part({ alg: 'RS256' })}.${part({ roles: ['agent'] })}.c2ln`;
    await expect(verifyToken(noSub, options)).rejects.toThrow('the token has no sub claim');
    await expect(verifyToken(noSub, options)).rejects.toThrow('the token has no sub claim');
    expect(calls.count).toBe(4);
  });

  it('verifies a token again 5 minutes after it was verified, even long before its exp', async () => {
    const { verifier, calls } = fakeJwks();
    const options: AuthOptions = { secret: SECRET, jwks: verifier };
    const token = rs256({ exp: seconds() + 86_400 });
    await verifyToken(token, options);
    vi.setSystemTime(START + VERIFIED_TOKENS_MAX_AGE_MS - 1);
    await verifyToken(token, options);
    expect(calls.count).toBe(1);
    vi.setSystemTime(START + VERIFIED_TOKENS_MAX_AGE_MS);
    await verifyToken(token, options);
    expect(calls.count).toBe(2);
  });

  it("keeps a JWKS token no longer than the key set's cache age when that is shorter", async () => {
    const { verifier, calls } = fakeJwks(60_000);
    const options: AuthOptions = { secret: SECRET, jwks: verifier };
    const token = rs256({ exp: seconds() + 86_400 });
    await verifyToken(token, options);
    vi.setSystemTime(START + 59_999);
    await verifyToken(token, options);
    expect(calls.count).toBe(1);
    vi.setSystemTime(START + 60_000);
    await verifyToken(token, options);
    expect(calls.count).toBe(2);
  });

  it('never serves a token changed in its signature or its claims', async () => {
    const options: AuthOptions = { secret: SECRET };
    const token = await sign({});
    await verifyToken(token, options);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    await expect(verifyToken(`${header}.${payload}.${flipped}`, options)).rejects.toThrow(
      'the token is invalid',
    );
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const escalated = part({ ...claims, roles: ['admin'], tenantId: 2 });
    await expect(verifyToken(`${header}.${escalated}.${signature}`, options)).rejects.toThrow(
      'the token is invalid',
    );
  });
});

describe('createVerifiedTokens', () => {
  const principal = (sub: string): Principal => ({ sub, tenantId: 1, roles: [], claims: {} });

  it(`holds at most ${VERIFIED_TOKENS_MAX_ENTRIES} tokens, dropping the least recently used`, () => {
    const cache = createVerifiedTokens();
    for (let i = 0; i < VERIFIED_TOKENS_MAX_ENTRIES; i++)
      cache.remember(`t${i}`, principal(`${i}`), {});
    expect(cache.get('t0')?.sub).toBe('0');
    cache.remember('one more', principal('new'), {});
    expect(cache.get('t0')?.sub).toBe('0');
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.get('t2')?.sub).toBe('2');
    expect(cache.get('one more')?.sub).toBe('new');
  });
});
