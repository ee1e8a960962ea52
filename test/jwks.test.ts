// Pins identity-provider tokens: RS256, ES256 and EdDSA tokens from a JWKS this test serves work on
// /graphql and /mcp (in process and through the real `ormai serve`), a rotated key is fetched, bad
// tokens are refused saying why (expired, issuer, audience, unknown kid, algorithm, signature), a
// provider that is down is a retryable 503, and claim paths read namespaced and nested claims.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalFromClaims } from '../src/server/auth.js';
import { parseClaimPath, readClaim, rolesFrom, writeClaim } from '../src/server/claim-paths.js';
import { serve } from './helpers/cli.js';
import {
  type TestIdentityProvider,
  type TestKey,
  useIdentityProvider,
} from './helpers/identity-provider.js';
import {
  fetchAnswer,
  graphqlRequest,
  ORMAI_SECRET,
  type OrmaiHandle,
  toolCallRequest,
  useOrmai,
} from './helpers/ormai.js';

const ORDERS = '{ orders(first: 5) { nodes { tenantId } } }';

/** The customers of a tenant as the database counts them (what a scoped count must equal). */
const customersOf = async (h: OrmaiHandle, tenant: number) =>
  (
    await h.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Customer" WHERE "tenantId" = $1 AND "deletedAt" IS NULL',
      [tenant],
    )
  )[0]!.n;

async function graphql(h: OrmaiHandle, token: string | undefined, query = ORDERS) {
  return fetchAnswer(h, graphqlRequest(token, query));
}

async function countCustomers(h: OrmaiHandle, token: string) {
  return fetchAnswer(
    h,
    toolCallRequest(token, 'db_aggregate', { model: 'Customer', operation: 'count' }),
  );
}

/** The jwks block of a config, its URL and issuer filled in once the provider listens. */
function jwksOf(idp: TestIdentityProvider) {
  const jwks = { url: '', issuer: '', audience: idp.audience, cooldownMs: 0 };
  beforeAll(() => {
    jwks.url = idp.url;
    jwks.issuer = idp.issuer;
  });
  return jwks;
}

describe('tokens of an identity provider (JWKS)', () => {
  const idp = useIdentityProvider();
  const h = useOrmai('pglite', { auth: { jwks: jwksOf(idp) } });
  let rs: TestKey;
  let es: TestKey;
  let ed: TestKey;
  beforeAll(async () => {
    rs = await idp.newKey('RS256');
    es = await idp.newKey('ES256');
    ed = await idp.newKey('EdDSA');
  });

  it.each(['RS256', 'ES256', 'EdDSA'])(
    'a %s token works on /graphql and /mcp, scoped to its tenant',
    async (alg) => {
      const key = { RS256: rs, ES256: es, EdDSA: ed }[alg]!;
      const admin = await idp.sign(key, { sub: 'idp-user-1', tenantId: 2, roles: ['admin'] });
      const { status, body } = await graphql(h, admin);
      expect(status).toBe(200);
      expect(body.data.orders.nodes.length).toBeGreaterThan(0);
      expect(
        body.data.orders.nodes.every((node: { tenantId: number }) => node.tenantId === 2),
      ).toBe(true);

      const agent = await idp.sign(key, { sub: 'idp-agent-1', tenantId: 3, roles: ['agent'] });
      const mcp = await countCustomers(h, agent);
      expect(mcp.status).toBe(200);
      expect(mcp.body.result.isError).toBeFalsy();
      expect(mcp.body.result.structuredContent.value).toBe(await customersOf(h, 3));
    },
  );

  it('a key published after the first fetch (rotation) is fetched and works', async () => {
    await graphql(h, await idp.sign(rs, { sub: '1', tenantId: 1, roles: ['admin'] }));
    const before = idp.fetches;
    const rotated = await idp.newKey('RS256');
    const { status, body } = await graphql(
      h,
      await idp.sign(rotated, { sub: '1', tenantId: 1, roles: ['admin'] }),
    );
    expect(status).toBe(200);
    expect(body.data.orders.nodes[0].tenantId).toBe(1);
    expect(idp.fetches).toBe(before + 1);
    // the old key still works, from the keys already fetched
    expect(
      (await graphql(h, await idp.sign(rs, { sub: '1', tenantId: 1, roles: ['admin'] }))).status,
    ).toBe(200);
    expect(idp.fetches).toBe(before + 1);
  });

  it('HS256 tokens signed with ORMAI_JWT_SECRET keep working beside the JWKS, with the same issuer and audience', async () => {
    const token = await h.ormai.signToken({ sub: '9', tenantId: 1, roles: ['admin'] });
    expect((await graphql(h, token)).status).toBe(200);
    // the issuer is checked on HS256 tokens too: one without it is refused
    const bare = await new SignJWT({ tenantId: 1, roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('9')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(ORMAI_SECRET));
    const refused = await graphql(h, bare);
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].message).toBe('the token has no iss (issuer) claim');
  });

  const claims = { sub: '1', tenantId: 1, roles: ['admin'] };
  it.each([
    [
      'expired',
      async () => idp.sign(rs, claims, { expiresIn: Math.floor(Date.now() / 1000) - 120 }),
      /^the token has expired$/,
    ],
    [
      'from another issuer',
      async () => idp.sign(rs, claims, { issuer: 'https://evil.example/' }),
      /issuer \(iss\) is "https:\/\/evil.example\/", not http:\/\/127/,
    ],
    [
      'without an issuer',
      async () => idp.sign(rs, claims, { issuer: null }),
      /has no iss \(issuer\) claim/,
    ],
    [
      'for another audience',
      async () => idp.sign(rs, claims, { audience: 'https://other.example' }),
      /audience \(aud\) is "https:\/\/other.example", not https:\/\/ormai.test\/api/,
    ],
    [
      'signed by a key the provider does not publish',
      async () => idp.sign(await idp.newKey('RS256', false), claims),
      /no key of the identity provider's key set has the token's kid "test-key-\d+-RS256"/,
    ],
    [
      'naming a published kid but signed by another key',
      async () => idp.sign(await idp.newKey('RS256', false), claims, { kid: rs.kid }),
      /signature does not verify/,
    ],
    [
      'signed with an algorithm not accepted (PS256)',
      async () => idp.sign(await idp.newKey('PS256'), claims),
      /signed with PS256; this server accepts RS256, ES256, EdDSA/,
    ],
    [
      'without a sub',
      async () => idp.sign(rs, { tenantId: 1, roles: ['admin'] }),
      /^the token has no sub claim$/,
    ],
  ])(
    'a token %s → 401 AUTHENTICATION_REQUIRED saying so, on both endpoints',
    async (_name, make, message) => {
      const token = await make();
      const { status, body } = await graphql(h, token);
      expect(status).toBe(401);
      expect(body.errors[0].extensions).toMatchObject({
        code: 'AUTHENTICATION_REQUIRED',
        retryable: false,
      });
      expect(body.errors[0].message).toMatch(message);
      expect(body.errors[0].extensions.retryHints.length).toBeGreaterThan(0);
      const mcp = await countCustomers(h, token);
      expect(mcp.status).toBe(401);
      expect(mcp.body.error.message).toMatch(message);
    },
  );

  it('a provider that is down is a retryable 503 without internals; keys already fetched keep working', async () => {
    const fresh = await idp.newKey('ES256');
    idp.failing = true;
    try {
      const token = await idp.sign(fresh, claims);
      const { status, body, headers } = await graphql(h, token);
      expect(status).toBe(503);
      expect(headers.get('retry-after')).toBe('5');
      expect(body.errors[0].extensions).toMatchObject({ code: 'INTERNAL_ERROR', retryable: true });
      expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|jwks\.json|500|provider down/);
      expect(headers.get('www-authenticate')).toBeNull();
      const mcp = await countCustomers(h, token);
      expect(mcp.status).toBe(503);
      expect(JSON.stringify(mcp.body)).not.toMatch(/127\.0\.0\.1|jwks\.json|provider down/);
      // a token whose key is cached needs no fetch
      expect((await graphql(h, await idp.sign(rs, claims))).status).toBe(200);
    } finally {
      idp.failing = false;
    }
  });
});

describe('claim paths', () => {
  it('parses dotted paths and bracketed keys', () => {
    expect(parseClaimPath('realm_access.roles').segments.map((s) => s.key)).toEqual([
      'realm_access',
      'roles',
    ]);
    expect(parseClaimPath("['https://example.com/app'].tenant").segments).toEqual([
      { key: 'https://example.com/app', quoted: true },
      { key: 'tenant', quoted: false },
    ]);
    expect(parseClaimPath('org["id"]').segments.map((s) => s.key)).toEqual(['org', 'id']);
    for (const bad of ['', 'a..b', 'a.', "['x'", '[x]', "['x']y"]) {
      expect(() => parseClaimPath(bad)).toThrow(/the claim path/);
    }
  });

  it('finds a key holding dots whole, nested keys by dots, bracketed keys as one', () => {
    const claims = {
      'https://example.com/roles': ['admin'],
      'https://example.com/app': { tenant: 7 },
      realm_access: { roles: ['support'] },
      org: { id: 'acme' },
      'a.b': { c: 1 },
    };
    expect(readClaim(claims, parseClaimPath('https://example.com/roles'))).toEqual(['admin']);
    expect(readClaim(claims, parseClaimPath('https://example.com/app.tenant'))).toBe(7);
    expect(readClaim(claims, parseClaimPath("['https://example.com/app'].tenant"))).toBe(7);
    expect(readClaim(claims, parseClaimPath('realm_access.roles'))).toEqual(['support']);
    expect(readClaim(claims, parseClaimPath('org.id'))).toBe('acme');
    expect(readClaim(claims, parseClaimPath('a.b.c'))).toBe(1);
    expect(readClaim(claims, parseClaimPath("['a'].b.c"))).toBeUndefined();
    expect(readClaim(claims, parseClaimPath('org.id.more'))).toBeUndefined();
  });

  it('reads roles from an array, a space or comma separated string, or a role map', () => {
    expect(rolesFrom(['a', 3, 'b', ''])).toEqual(['a', 'b']);
    expect(rolesFrom('agent support')).toEqual(['agent', 'support']);
    expect(rolesFrom('agent, support')).toEqual(['agent', 'support']);
    expect(rolesFrom({ admin: { '123': 'acme.example' }, agent: {} })).toEqual(['admin', 'agent']);
    expect(rolesFrom({ roles: ['x'] })).toEqual([]);
    expect(rolesFrom(7)).toEqual([]);
  });

  it('writes where it reads (the tokens ormai signs itself)', () => {
    for (const path of [
      'realm_access.roles',
      'https://example.com/roles',
      "['https://x.io/app'].tenant",
      'org.id',
    ]) {
      const claims: Record<string, unknown> = {};
      writeClaim(claims, parseClaimPath(path), 'value');
      expect(readClaim(claims, parseClaimPath(path))).toBe('value');
    }
    const keycloak: Record<string, unknown> = {};
    writeClaim(keycloak, parseClaimPath('realm_access.roles'), ['admin']);
    expect(keycloak).toEqual({ realm_access: { roles: ['admin'] } });
    const namespaced: Record<string, unknown> = {};
    writeClaim(namespaced, parseClaimPath('https://example.com/roles'), ['admin']);
    expect(namespaced).toEqual({ 'https://example.com/roles': ['admin'] });
  });

  it('maps a principal; a mapped number user id becomes a string; tenantClaim still names the tenant', () => {
    const principal = principalFromClaims(
      {
        uid: 42,
        'https://example.com/tenant': 2,
        realm_access: { roles: ['agent', 'offline_access'] },
      },
      { claims: { sub: 'uid', tenant: 'https://example.com/tenant', roles: 'realm_access.roles' } },
    );
    expect(principal).toMatchObject({ sub: '42', tenantId: 2, roles: ['agent', 'offline_access'] });
    expect(principalFromClaims({ sub: '1', org: 5, roles: 'admin' }, 'org')).toMatchObject({
      tenantId: 5,
      roles: ['admin'],
    });
    expect(() => principalFromClaims({ roles: [] }, { claims: { sub: 'uid' } })).toThrow(
      'the token has no uid claim',
    );
    // JWT's own sub must be a string (RFC 7519); only a mapped user-id claim may be a number
    expect(() => principalFromClaims({ sub: 1, roles: ['admin'] })).toThrow(
      "the token's sub claim is a number",
    );
  });
});

describe('claim paths on identity-provider tokens (Keycloak-like roles, a namespaced tenant)', () => {
  const idp = useIdentityProvider();
  const h = useOrmai('pglite', {
    auth: {
      jwks: jwksOf(idp),
      claims: {
        sub: 'preferred_username',
        tenant: 'https://ormai.test/tenant',
        roles: 'realm_access.roles',
      },
    },
  });

  it('reads the principal where the claims say, on both endpoints', async () => {
    const key = await idp.newKey('RS256');
    const token = await idp.sign(key, {
      sub: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      preferred_username: 'svc-reporting',
      'https://ormai.test/tenant': 2,
      realm_access: { roles: ['agent', 'offline_access', 'uma_authorization'] },
      roles: ['admin'],
    });
    const mcp = await countCustomers(h, token);
    expect(mcp.status).toBe(200);
    expect(mcp.body.result.structuredContent.value).toBe(await customersOf(h, 2));
    // the top-level roles claim is not read: the agent cannot see User, the admin could
    const { body } = await graphql(h, token, '{ users(first: 1) { nodes { id } } }');
    expect(body.errors[0].message).toMatch(/users/);
    // dev tokens ormai signs put the claims where they are read
    const dev = await h.ormai.signToken({ sub: '5', tenantId: 3, roles: ['admin'] });
    const mine = await graphql(h, dev);
    expect(mine.status).toBe(200);
    expect(mine.body.data.orders.nodes[0].tenantId).toBe(3);
  });

  it('a token without the mapped sub is refused naming the claim', async () => {
    const key = await idp.newKey('ES256');
    const { status, body } = await graphql(
      h,
      await idp.sign(key, {
        sub: 'x',
        'https://ormai.test/tenant': 2,
        realm_access: { roles: ['agent'] },
      }),
    );
    expect(status).toBe(401);
    expect(body.errors[0].message).toBe('the token has no preferred_username claim');
  });
});

describe('a token of a local JWKS through the real `ormai serve`', () => {
  const idp = useIdentityProvider();
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-jwks-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('works on /graphql and /mcp; a bad one is 401 with the challenge; the metadata names the issuer', async () => {
    const key = await idp.newKey('ES256');
    // the server reads its identity provider from the environment, as a deployment would
    const saved = { ...process.env };
    Object.assign(process.env, {
      ORMAI_JWKS_URL: idp.url,
      ORMAI_JWT_ISSUER: idp.issuer,
      ORMAI_JWT_AUDIENCE: idp.audience,
    });
    let served: Awaited<ReturnType<typeof serve>>;
    try {
      served = await serve(cwd);
    } finally {
      for (const name of ['ORMAI_JWKS_URL', 'ORMAI_JWT_ISSUER', 'ORMAI_JWT_AUDIENCE']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
    try {
      const base = new URL(served.url).origin;
      const token = await idp.sign(key, { sub: 'agent-7', tenantId: 2, roles: ['admin'] });
      const body = await served.graphql(token, ORDERS);
      expect(body.errors).toBeUndefined();
      expect(
        body.data.orders.nodes.every((node: { tenantId: number }) => node.tenantId === 2),
      ).toBe(true);

      const mcp = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'db_query', arguments: { model: 'Order', take: 3 } },
        }),
      });
      expect(mcp.status).toBe(200);
      const rows = ((await mcp.json()) as any).result.structuredContent.data;
      expect(rows.length).toBe(3);
      expect(rows.every((row: { tenantId: number }) => row.tenantId === 2)).toBe(true);

      const wrong = await idp.sign(
        key,
        { sub: 'agent-7', tenantId: 2, roles: ['admin'] },
        { audience: 'https://elsewhere' },
      );
      for (const [path, message] of [
        ['/graphql', { query: ORDERS }],
        ['/mcp', { jsonrpc: '2.0', id: 1, method: 'tools/list' }],
      ] as const) {
        const refused = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${wrong}`,
          },
          body: JSON.stringify(message),
        });
        expect(refused.status).toBe(401);
        expect(refused.headers.get('www-authenticate')).toBe(
          `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource", error="invalid_token"`,
        );
        const refusal = (await refused.json()) as any;
        expect(refusal.errors?.[0].message ?? refusal.error.message).toMatch(
          /audience \(aud\) is "https:\/\/elsewhere"/,
        );
      }

      const metadata = await (
        await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)
      ).json();
      expect(metadata).toEqual({
        resource: `${base}/mcp`,
        authorization_servers: [idp.issuer],
        bearer_methods_supported: ['header'],
        resource_name: 'ormai (saas)',
      });
    } finally {
      expect(await served.stop()).toBe(0);
    }
  }, 300_000);
});
