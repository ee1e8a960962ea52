// An identity provider of the test's own: a JWKS served over node:http on a free port, keys made
// with jose, and tokens signed by them. Keys can be published later (rotation) or never (unknown
// kid), and the key set can be made to fail (the provider is down).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll } from 'vitest';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: Record<string, unknown>;
}

export interface TokenOptions {
  /** Default: the provider's issuer; null leaves `iss` out. */
  issuer?: string | null;
  /** Default: the provider's audience; null leaves `aud` out. */
  audience?: string | string[] | null;
  /** A span (`1h`) or an epoch second; default 1h. */
  expiresIn?: string | number;
  /** Sign with this key but name another kid in the header. */
  kid?: string;
}

export interface TestIdentityProvider {
  /** The JWKS URL. */
  url: string;
  issuer: string;
  audience: string;
  /** How many times the key set was fetched. */
  fetches: number;
  /** While true, the key set answers 500. */
  failing: boolean;
  /** A new key pair; published in the key set unless `publish` is false. */
  newKey(alg: 'RS256' | 'ES256' | 'EdDSA' | 'PS256', publish?: boolean): Promise<TestKey>;
  publish(key: TestKey): void;
  sign(key: TestKey, claims: JWTPayload, options?: TokenOptions): Promise<string>;
}

let kids = 0;

/** Registers beforeAll/afterAll for a provider; its fields are filled in beforeAll. */
export function useIdentityProvider(audience = 'https://ormai.test/api'): TestIdentityProvider {
  const published: Record<string, unknown>[] = [];
  let server: Server | undefined;
  const provider: TestIdentityProvider = {
    url: '',
    issuer: '',
    audience,
    fetches: 0,
    failing: false,
    async newKey(alg, publish = true) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const kid = `test-key-${++kids}-${alg}`;
      const key: TestKey = {
        kid,
        alg,
        privateKey,
        publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
      };
      if (publish) provider.publish(key);
      return key;
    },
    publish(key) {
      published.push(key.publicJwk);
    },
    async sign(key, claims, options = {}) {
      let jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '1h');
      const issuer = options.issuer === undefined ? provider.issuer : options.issuer;
      const aud = options.audience === undefined ? provider.audience : options.audience;
      if (issuer !== null) jwt = jwt.setIssuer(issuer);
      if (aud !== null) jwt = jwt.setAudience(aud);
      return jwt.sign(key.privateKey);
    },
  };
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url !== '/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      provider.fetches++;
      if (provider.failing) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end('provider down');
        return;
      }
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    provider.issuer = `http://127.0.0.1:${port}/`;
    provider.url = `http://127.0.0.1:${port}/jwks.json`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });
  return provider;
}
