import { StartupError } from '../startup-error.js';

/** Request headers a browser client of `/mcp` may send (the CORS preflight allows these). */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'mcp-protocol-version',
  'mcp-session-id',
  'last-event-id',
  'traceparent',
  'tracestate',
];

/** Response headers a browser client may read: the session, the auth challenge, the trace. */
export const CORS_EXPOSE_HEADERS = [
  'mcp-session-id',
  'www-authenticate',
  'x-trace-id',
  'traceparent',
];

/** GET and DELETE are answered (405: stateless) rather than blocked, so clients see why. */
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'DELETE', 'OPTIONS'];

/** Host names that can only be this machine: a page that rebinds its own name to 127.0.0.1 keeps its name. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Which browser origins may call `/mcp` (`mcp.allowedOrigins`). */
export interface OriginPolicy {
  /** Whether a request with this `Origin` header (null: none) may be served. */
  allows(origin: string | null, request: Request): boolean;
}

/**
 * The Origin check the MCP spec asks of Streamable HTTP servers (DNS rebinding): a request without
 * an `Origin` (not from a browser) is served; a browser page is served when its origin is listed,
 * when `'*'` is listed, or when it is the server's own origin on a loopback host. The Host header
 * alone proves nothing: a page that rebinds `evil.example` to 127.0.0.1 sends `Host: evil.example`
 * and `Origin: http://evil.example`, the same origin by the headers, so same-origin counts only for
 * localhost names. An entry that is not an origin fails the start.
 */
export function originPolicy(allowedOrigins: readonly string[] = []): OriginPolicy {
  const anyOrigin = allowedOrigins.includes('*');
  const listed = new Set(allowedOrigins.filter((entry) => entry !== '*').map(normalizeEntry));
  return {
    allows(origin, request) {
      if (origin === null) return true;
      if (anyOrigin) return true;
      const normalized = originOf(origin);
      if (normalized === null) return listed.has(origin);
      if (listed.has(normalized)) return true;
      const own = new URL(request.url);
      return normalized === own.origin && LOOPBACK.has(own.hostname);
    },
  };
}

/** Headers of every answer to an allowed cross-origin request (the preflight adds its own). */
export function corsHeaders(origin: string | null): Record<string, string> {
  if (origin === null) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': CORS_EXPOSE_HEADERS.join(', '),
    vary: 'Origin',
  };
}

/** The answer to `OPTIONS /mcp` from an allowed origin (or from no browser at all). */
export function preflightResponse(origin: string | null): Response {
  return new Response(null, {
    status: 204,
    headers: {
      allow: CORS_ALLOW_METHODS.join(', '),
      ...corsHeaders(origin),
      ...(origin === null
        ? {}
        : {
            'access-control-allow-methods': CORS_ALLOW_METHODS.join(', '),
            'access-control-allow-headers': CORS_ALLOW_HEADERS.join(', '),
            'access-control-max-age': '600',
          }),
    },
  });
}

/** `scheme://host[:port]` of an Origin header, or null when it is none (`null`, garbage). */
function originOf(value: string): string | null {
  try {
    const url = new URL(value);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

function normalizeEntry(entry: string): string {
  // `null` is what sandboxed frames and file:// pages send: listed verbatim when wanted
  if (entry === 'null') return entry;
  const origin = originOf(entry);
  if (origin === null || !/^https?:\/\//.test(origin)) {
    throw new StartupError(
      'MCP_ALLOWED_ORIGINS_INVALID',
      `mcp.allowedOrigins: ${JSON.stringify(entry)} is not an origin`,
      {
        hints: ["write origins as 'https://app.example.com' (scheme, host, port), or '*' for any"],
      },
    );
  }
  return origin;
}
