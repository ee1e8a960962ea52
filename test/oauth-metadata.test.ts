// Pins `/mcp` as an OAuth 2.1 protected resource (RFC 9728): the metadata document at the
// well-known path and its `/mcp`-suffixed form, the `WWW-Authenticate` challenge of every 401 on
// /graphql and /mcp pointing at it, the base URL rules (publicUrl, trustProxy), and the MCP SDK's
// own client discovery reading them.
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
  selectResourceURL,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { describe, expect, it } from 'vitest';
import { baseUrlOf, protectedResourceMetadata, wwwAuthenticate } from '../src/server/oauth.js';
import { graphqlRequest, type OrmaiHandle, toolCallRequest, useOrmai } from './helpers/ormai.js';

const ORDERS = '{ orders(first: 1) { nodes { id } } }';

/** The fetch an MCP client would use, answered by ormai in process. */
const fetchOf =
  (h: OrmaiHandle) =>
  (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    h.ormai.fetch(new Request(input, init));

/** POST /graphql and POST /mcp with these headers: the two 401s. */
async function refusals(h: OrmaiHandle, authorization?: string) {
  const headers: Record<string, string> = authorization ? { authorization } : {};
  const graphql = await h.ormai.fetch(graphqlRequest(undefined, ORDERS, headers));
  const mcpRequest = toolCallRequest('x', 'db_query', { model: 'Order' });
  mcpRequest.headers.delete('authorization');
  if (authorization) mcpRequest.headers.set('authorization', authorization);
  const mcp = await h.ormai.fetch(mcpRequest);
  return [graphql, mcp];
}

describe('OAuth protected-resource metadata, on the request origin', () => {
  const h = useOrmai('pglite', {
    auth: {
      jwks: {
        url: 'https://idp.example.com/.well-known/jwks.json',
        issuer: 'https://idp.example.com/',
      },
      scopesSupported: ['ormai:read'],
    },
  });

  it('is served at the well-known path and its /mcp form, readable from any page', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const response = await h.ormai.fetch(new Request(`http://127.0.0.1:4000${path}`));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(await response.json()).toEqual({
        resource: 'http://127.0.0.1:4000/mcp',
        authorization_servers: ['https://idp.example.com/'],
        bearer_methods_supported: ['header'],
        scopes_supported: ['ormai:read'],
        resource_name: 'ormai (saas)',
      });
    }
    const preflight = await h.ormai.fetch(
      new Request('http://127.0.0.1:4000/.well-known/oauth-protected-resource', {
        method: 'OPTIONS',
        headers: { origin: 'https://inspector.example', 'access-control-request-method': 'GET' },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('mcp-protocol-version');
    const post = await h.ormai.fetch(
      new Request('http://127.0.0.1:4000/.well-known/oauth-protected-resource', { method: 'POST' }),
    );
    expect(post.status).toBe(405);
  });

  it('every 401 on /graphql and /mcp names it; error="invalid_token" when a token was sent', async () => {
    const challenge =
      'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"';
    for (const response of await refusals(h)) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(challenge);
    }
    for (const authorization of ['Bearer not-a-token', 'Bearer <token>', 'Basic dXNlcjpwYXNz']) {
      for (const response of await refusals(h, authorization)) {
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe(
          `${challenge}, error="invalid_token"`,
        );
      }
    }
  });

  it('the MCP SDK client finds the metadata from a 401 and from the server URL', async () => {
    const [, unauthorized] = await refusals(h);
    const { resourceMetadataUrl, error } = extractWWWAuthenticateParams(unauthorized!);
    expect(resourceMetadataUrl?.href).toBe('http://127.0.0.1/.well-known/oauth-protected-resource');
    expect(error).toBeUndefined();
    const fromHeader = await discoverOAuthProtectedResourceMetadata(
      'http://127.0.0.1/mcp',
      { resourceMetadataUrl: resourceMetadataUrl! },
      fetchOf(h),
    );
    // without the header the client tries the /mcp-suffixed path first
    const fromPath = await discoverOAuthProtectedResourceMetadata(
      'http://127.0.0.1/mcp',
      undefined,
      fetchOf(h),
    );
    for (const metadata of [fromHeader, fromPath]) {
      expect(metadata.resource).toBe('http://127.0.0.1/mcp');
      expect(metadata.authorization_servers).toEqual(['https://idp.example.com/']);
      // the resource the client will ask its authorization server for
      expect((await selectResourceURL('http://127.0.0.1/mcp', {} as never, metadata))?.href).toBe(
        'http://127.0.0.1/mcp',
      );
    }
  });
});

describe('OAuth protected-resource metadata behind a public URL', () => {
  const h = useOrmai('pglite', {
    server: { publicUrl: 'https://ormai.example.com/', paths: { mcp: '/agents/mcp' } },
    auth: { authorizationServers: ['https://login.example.com/'] },
  });

  it('names the public URL, whatever the request origin says', async () => {
    const response = await h.ormai.fetch(
      new Request('http://10.0.0.7:4000/.well-known/oauth-protected-resource/agents/mcp', {
        headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
      }),
    );
    expect(await response.json()).toEqual({
      resource: 'https://ormai.example.com/agents/mcp',
      authorization_servers: ['https://login.example.com/'],
      bearer_methods_supported: ['header'],
      resource_name: 'ormai (saas)',
    });
    const [graphql] = await refusals(h);
    expect(graphql!.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="https://ormai.example.com/.well-known/oauth-protected-resource"',
    );
  });
});

describe('the base URL', () => {
  const request = new Request('http://10.0.0.7:4000/mcp', {
    headers: {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com, proxy.internal',
    },
  });

  it('is the request origin; forwarded headers count only with trustProxy', () => {
    expect(baseUrlOf(request)).toBe('http://10.0.0.7:4000');
    expect(baseUrlOf(request, { trustProxy: true })).toBe('https://api.example.com');
    expect(baseUrlOf(request, { publicUrl: 'https://ormai.example.com/', trustProxy: true })).toBe(
      'https://ormai.example.com',
    );
    expect(wwwAuthenticate(request, { trustProxy: true }, 'invalid_token')).toBe(
      'Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource", error="invalid_token"',
    );
    // a metadata document without an authorization server leaves the field out
    expect(protectedResourceMetadata(request)).toEqual({
      resource: 'http://10.0.0.7:4000/mcp',
      bearer_methods_supported: ['header'],
    });
  });
});
