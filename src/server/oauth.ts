import type { OrmaiConfig } from '../config.js';
import { OrmaiError } from '../errors.js';
import { StartupError } from '../startup-error.js';

/**
 * `/mcp` as an OAuth 2.1 protected resource (RFC 9728): the metadata document MCP clients read to
 * find the authorization server, and the `WWW-Authenticate` challenge of every 401 that points at it.
 */
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

export interface ProtectedResourceOptions {
  /** The URL clients reach ormai at (`server.publicUrl`); else the request's own origin. */
  publicUrl?: string | undefined;
  /** Take the origin from `X-Forwarded-Proto` and `X-Forwarded-Host` (`server.trustProxy`). */
  trustProxy?: boolean | undefined;
  /** Where MCP is served (default `/mcp`): the protected resource. */
  mcpPath?: string | undefined;
  /** Issuers of the tokens ormai accepts (`auth.authorizationServers`, else the JWT issuer). */
  authorizationServers?: readonly string[] | undefined;
  /** Scopes a client may ask its authorization server for (`auth.scopesSupported`). */
  scopesSupported?: readonly string[] | undefined;
  /** A human-readable name of the resource. */
  resourceName?: string | undefined;
}

/** The metadata of a config: `server.publicUrl` (checked now), the issuer as authorization server. */
export function protectedResourceFromConfig(
  config: Pick<OrmaiConfig, 'app' | 'server' | 'auth'>,
  issuer: string | undefined,
  mcpPath: string,
): ProtectedResourceOptions {
  const publicUrl = config.server?.publicUrl;
  if (publicUrl !== undefined && !/^https?:\/\/[^/\s"]+(\/[^\s"]*)?$/.test(publicUrl)) {
    throw new StartupError(
      'CONFIG_INVALID',
      `server.publicUrl ${JSON.stringify(publicUrl)} is not an http(s) URL`,
      {
        hints: ['set it to the URL clients reach ormai at, e.g. https://ormai.example.com'],
      },
    );
  }
  return {
    publicUrl,
    trustProxy: config.server?.trustProxy,
    mcpPath,
    authorizationServers: config.auth?.authorizationServers ?? (issuer ? [issuer] : []),
    scopesSupported: config.auth?.scopesSupported,
    resourceName: `ormai (${config.app.name})`,
  };
}

const firstOf = (header: string | null) => header?.split(',')[0]?.trim() || undefined;

/**
 * Where clients reach this server: `publicUrl`, else the request's origin. Forwarded headers are
 * anyone's to send, so they count only behind a proxy that sets them (`trustProxy`).
 */
export function baseUrlOf(request: Request, options: ProtectedResourceOptions = {}): string {
  if (options.publicUrl) return options.publicUrl.replace(/\/+$/, '');
  const url = new URL(request.url);
  if (options.trustProxy) {
    const proto = firstOf(request.headers.get('x-forwarded-proto'));
    const host = firstOf(request.headers.get('x-forwarded-host'));
    const scheme = proto === 'http' || proto === 'https' ? proto : url.protocol.slice(0, -1);
    try {
      return new URL(`${scheme}://${host ?? url.host}`).origin;
    } catch {
      // a malformed forwarded host: the request's own origin
    }
  }
  return url.origin;
}

/** The URL of the metadata document, as the challenge names it. */
export const resourceMetadataUrl = (request: Request, options: ProtectedResourceOptions = {}) =>
  `${baseUrlOf(request, options)}${PROTECTED_RESOURCE_PATH}`;

/**
 * The `WWW-Authenticate` value of a 401: where the metadata is, and `error="invalid_token"` when
 * the request carried credentials that were refused (RFC 6750 §3.1).
 */
export function wwwAuthenticate(
  request: Request,
  options: ProtectedResourceOptions = {},
  error?: 'invalid_token',
): string {
  const parts = [`resource_metadata="${resourceMetadataUrl(request, options)}"`];
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** The RFC 9728 document: fields without a value are left out. */
export function protectedResourceMetadata(
  request: Request,
  options: ProtectedResourceOptions = {},
): Record<string, unknown> {
  const servers = options.authorizationServers?.filter(Boolean) ?? [];
  return {
    resource: `${baseUrlOf(request, options)}${options.mcpPath ?? '/mcp'}`,
    ...(servers.length > 0 ? { authorization_servers: servers } : {}),
    bearer_methods_supported: ['header'],
    ...(options.scopesSupported?.length ? { scopes_supported: options.scopesSupported } : {}),
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
  };
}

/** A public document: any page may read it (a browser-based MCP client discovers auth with it). */
const METADATA_CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'mcp-protocol-version',
};

/**
 * Serves the metadata at `/.well-known/oauth-protected-resource` and at its path-suffixed form
 * (`/.well-known/oauth-protected-resource/mcp`), which MCP clients try first.
 */
export function protectedResourcePaths(options: ProtectedResourceOptions = {}): string[] {
  return [PROTECTED_RESOURCE_PATH, `${PROTECTED_RESOURCE_PATH}${options.mcpPath ?? '/mcp'}`];
}

export function createProtectedResourceHandler(options: ProtectedResourceOptions = {}) {
  return async (request: Request): Promise<Response> => {
    if (request.method === 'OPTIONS')
      return new Response(null, { status: 204, headers: METADATA_CORS });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return Response.json(
        { error: 'method_not_allowed', error_description: 'GET the metadata' },
        { status: 405, headers: { allow: 'GET, HEAD, OPTIONS', ...METADATA_CORS } },
      );
    }
    return Response.json(protectedResourceMetadata(request, options), {
      headers: { 'cache-control': 'public, max-age=3600', ...METADATA_CORS },
    });
  };
}

/**
 * An AUTHENTICATION_REQUIRED error of a request, with the challenge its 401 carries (on GraphQL
 * through the error's HTTP headers). Other errors (a 503 while keys cannot be fetched) pass as they are.
 */
export function withChallenge(
  error: unknown,
  request: Request,
  options: ProtectedResourceOptions = {},
): unknown {
  if (!(error instanceof OrmaiError) || error.code !== 'AUTHENTICATION_REQUIRED') return error;
  const http = error.extensions.http as { status?: number } | undefined;
  return new OrmaiError(error.code, error.message, {
    hints: error.hints,
    retryable: error.retryable,
    ...(error.details ? { details: error.details } : {}),
    httpStatus: http?.status ?? 401,
    httpHeaders: {
      'www-authenticate': wwwAuthenticate(
        request,
        options,
        request.headers.has('authorization') ? 'invalid_token' : undefined,
      ),
    },
  });
}

/**
 * The status and headers of an authentication refusal (`/mcp`): those the error carries (see
 * withChallenge), else 401 with a bare `Bearer` challenge.
 */
export function refusalInitOf(error: unknown): { status: number; headers: Record<string, string> } {
  const http = (
    error as { extensions?: { http?: { status?: number; headers?: Record<string, string> } } }
  ).extensions?.http;
  const status = http?.status ?? 401;
  return {
    status,
    headers: { ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}), ...http?.headers },
  };
}
