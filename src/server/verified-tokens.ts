import type { Principal } from '../policy/principal.js';

// Verifying a JWT (parsing, an HMAC or a public-key signature, the claim checks) was the largest
// fixed cost of a small request; a client sends the same token on every request.
export const VERIFIED_TOKENS_MAX_ENTRIES = 1_000;
/** How long a verified token is served without being verified again. */
export const VERIFIED_TOKENS_MAX_AGE_MS = 5 * 60_000;

interface Entry {
  principal: Principal;
  /** Epoch ms: the token's nbf and exp (jose checked both when it verified), and our own bound. */
  notBefore: number;
  expires: number;
}

/**
 * The principals of tokens verified lately, by the exact token string: a token that differs in one
 * character (a forged signature, an edited claim) is a miss and goes to full verification. Failures
 * are never kept, so a token refused once is checked again each time.
 */
export interface VerifiedTokens {
  /** The principal of a token verified within its bounds, or undefined (verify it). */
  get(token: string): Principal | undefined;
  /**
   * Keeps a token jose accepted, served from its `nbf` until its `exp` (without the JWKS clock
   * tolerance: a token within it is verified each time) and at most `maxAgeMs` from now. A token
   * verified against a JWKS passes the key set's cache age when that is shorter, so a token whose
   * key the identity provider withdrew is served at most that long after a fresh verification
   * would refuse it: jose itself trusts fetched keys that long.
   */
  remember(token: string, principal: Principal, claims: TokenTimes, maxAgeMs?: number): void;
}

export interface TokenTimes {
  nbf?: unknown;
  exp?: unknown;
}

export function createVerifiedTokens(
  maxEntries = VERIFIED_TOKENS_MAX_ENTRIES,
  maxAgeMs = VERIFIED_TOKENS_MAX_AGE_MS,
): VerifiedTokens {
  // a Map iterates in insertion order: a hit moves its entry last, the first one is the eldest
  const entries = new Map<string, Entry>();
  return {
    get(token) {
      const entry = entries.get(token);
      if (!entry) return undefined;
      // the clock is read on every hit: a token expires in the cache as it would when verified
      const now = Date.now();
      if (now >= entry.expires || now < entry.notBefore) {
        if (now >= entry.expires) entries.delete(token);
        return undefined;
      }
      entries.delete(token);
      entries.set(token, entry);
      return entry.principal;
    },
    remember(token, principal, claims, ageMs = maxAgeMs) {
      const now = Date.now();
      let expires = now + Math.min(ageMs, maxAgeMs);
      if (typeof claims.exp === 'number') expires = Math.min(expires, claims.exp * 1000);
      const notBefore = typeof claims.nbf === 'number' ? claims.nbf * 1000 : 0;
      entries.delete(token);
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      // one principal object serves many requests: frozen, so no request can change another's
      Object.freeze(principal.roles);
      Object.freeze(principal.claims);
      entries.set(token, { principal: Object.freeze(principal), notBefore, expires });
    },
  };
}

// one cache per auth configuration (secret, issuer, audience, key set, claim paths): tokens verified
// under one are never served under another
const caches = new WeakMap<object, VerifiedTokens>();

/** The verified-token cache of one AuthOptions object. */
export function verifiedTokensOf(options: object): VerifiedTokens {
  let cache = caches.get(options);
  if (!cache) {
    cache = createVerifiedTokens();
    caches.set(options, cache);
  }
  return cache;
}
