const EXPECTED = 'postgresql://user:password@host:5432/database';

/** The URL as a message may show it: no password. */
function shown(url: string): string {
  return url.replace(/:[^:@/]+@/, ':***@');
}

/**
 * A PostgreSQL URL, checked before any connection is tried: pg reads anything as a connection
 * string (`not-a-url` becomes host `base`; `mysql://` talks PostgreSQL to a MySQL server), so a
 * wrong URL would fail far from its cause. `name` is where the URL came from, for the message.
 */
export function parseDatabaseUrl(url: string, name = 'DATABASE_URL'): URL {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url.trim())?.[1]?.toLowerCase();
  if (scheme && scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new Error(
      `${name}: ${scheme}:// is not supported yet; ormai serves PostgreSQL (postgresql://…) or the embedded database (leave ${name} unset)`,
    );
  }
  let parsed: URL | undefined;
  try {
    parsed = scheme ? new URL(url.trim()) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed) {
    throw new Error(`${name} is not a PostgreSQL URL (${shown(url)}): expected ${EXPECTED}`);
  }
  return parsed;
}

/**
 * The first connection's failure at start-up, as one line naming the server and what to check.
 * Other errors pass unchanged. (At request time the same failures are retryable 503s instead.)
 */
export function connectFailure(error: unknown, url: URL, name = 'DATABASE_URL'): unknown {
  const host = url.searchParams.get('host') || decodeURIComponent(url.hostname) || 'localhost';
  const at = host.startsWith('/') ? host : `${host}:${url.port || 5432}`;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const user = decodeURIComponent(url.username) || '(default user)';
  const database = decodeURIComponent(url.pathname.slice(1)) || user;
  switch (code) {
    case 'ECONNREFUSED':
      return new Error(
        `cannot reach PostgreSQL at ${at} (connection refused): is it running? check ${name}`,
        { cause: error },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Error(
        `cannot reach PostgreSQL at ${at} (no such host): check the host in ${name}`,
        { cause: error },
      );
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new Error(
        `cannot reach PostgreSQL at ${at} (${code === 'ETIMEDOUT' ? 'timed out' : 'unreachable'}): is it running and reachable from here? check ${name}`,
        { cause: error },
      );
    case '28P01':
    case '28000':
      return new Error(
        `PostgreSQL at ${at} refused user ${user} (${String(message)}): check the user and password in ${name}`,
        { cause: error },
      );
    case '3D000':
      return new Error(
        `PostgreSQL at ${at} has no database ${database}: create it (createdb ${database}) or fix ${name}`,
        { cause: error },
      );
    default:
      return error;
  }
}
