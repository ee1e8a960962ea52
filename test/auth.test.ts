// Pins authentication and the error shape: 401 with AUTHENTICATION_REQUIRED for a missing, forged or
// expired token, TENANT_SCOPE_REQUIRED without a tenant, trace ids from traceparent, no internals.
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS, JWT_SECRET, useTestApp } from './helpers/runtime.js';

const Q = '{ orders(first: 1) { nodes { id } } }';

describe.each(DATABASE_KINDS)('auth on %s', (kind) => {
  const app = useTestApp(kind);

  const sign = (
    claims: Record<string, unknown>,
    secret = JWT_SECRET,
    exp: number | string = '1h',
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));

  it.each([
    ['no token', null],
    ['a malformed token', 'not.a.jwt'],
    ['a bad signature', 'BAD_SIGNATURE'],
    ['an expired token', 'EXPIRED'],
    ['alg none', 'ALG_NONE'],
  ])('%s → HTTP 401 AUTHENTICATION_REQUIRED', async (_name, kindOfToken) => {
    let token: string | null = kindOfToken;
    if (kindOfToken === 'BAD_SIGNATURE')
      token = await sign({ tenantId: 1, roles: ['admin'] }, 'other-secret');
    if (kindOfToken === 'EXPIRED')
      token = await sign({ tenantId: 1 }, JWT_SECRET, Math.floor(Date.now() / 1000) - 60);
    if (kindOfToken === 'ALG_NONE') {
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      token = `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: '1', tenantId: 1, roles: ['admin'] })}.`;
    }
    const { status, body, headers } = await app.graphql(token, Q);
    expect(status).toBe(401);
    expect(body.data ?? undefined).toBeUndefined();
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'AUTHENTICATION_REQUIRED',
      retryable: false,
    });
    expect(body.errors?.[0]?.extensions.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(headers.get('x-trace-id')).toBe(body.errors?.[0]?.extensions.traceId);
  });

  it('a token without a tenant → TENANT_SCOPE_REQUIRED, and no rows', async () => {
    const token = await sign({ roles: ['admin'] });
    const { body } = await app.graphql(token, Q);
    // orders is non-null, so the error nulls the whole data
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'TENANT_SCOPE_REQUIRED' });
  });

  it('a valid token reads its tenant; the trace id comes from traceparent', async () => {
    const token = await sign({ tenantId: 2, roles: ['admin'] });
    const response = await app.gateway.fetch('http://ormai.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
      body: JSON.stringify({ query: '{ orders(first: 3) { nodes { tenantId } } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trace-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const body = await response.json();
    expect(body.data.orders.nodes).toEqual([{ tenantId: 2 }, { tenantId: 2 }, { tenantId: 2 }]);
  });

  it('errors carry code, retryable, retryHints and traceId; syntax errors are VALIDATION_ERROR', async () => {
    const { body } = await app.graphql({ tenantId: 1 }, '{ orders { nodes { id } }');
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_ERROR',
      retryable: true,
      retryHints: expect.any(Array),
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('an unexpected failure is INTERNAL_ERROR with no internals in the response', async () => {
    await app.sql('ALTER TABLE "Product" RENAME COLUMN "sku" TO "sku_renamed"');
    try {
      const { body } = await app.graphql(
        { tenantId: 1 },
        '{ products(first: 1) { nodes { sku } } }',
      );
      expect(body.errors?.[0]?.extensions.code).toBe('INTERNAL_ERROR');
      expect(body.errors?.[0]?.message).toBe('internal error');
      const text = JSON.stringify(body);
      expect(text).not.toMatch(/sku_renamed|prisma|stack|at \w+ \(/i);
    } finally {
      await app.sql('ALTER TABLE "Product" RENAME COLUMN "sku_renamed" TO "sku"');
    }
  });

  it('denied fields are absent from the schema: passwordHash and apiKey', async () => {
    const { body } = await app.graphql(
      { tenantId: 1 },
      '{ __type(name: "User") { fields { name } } w: __type(name: "UserWhereInput") { inputFields { name } } }',
    );
    const fields = body.data.__type.fields.map((field: { name: string }) => field.name);
    const filters = body.data.w.inputFields.map((field: { name: string }) => field.name);
    expect(fields).toContain('email');
    for (const denied of ['passwordHash', 'apiKey']) {
      expect(fields).not.toContain(denied);
      expect(filters).not.toContain(denied);
    }
  });
});
