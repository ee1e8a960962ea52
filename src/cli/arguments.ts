/** A port from `--port`, `PORT` or `server.port`: a whole number from 0 to 65535 (0: any free port). */
export function portFrom(value: unknown, source: string): number {
  const port =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value.trim())
        ? Number(value)
        : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `${source} must be a whole number from 0 to 65535 (got ${JSON.stringify(value)})`,
    );
  }
  return port;
}

// the spans jose's setExpirationTime takes, without signs or "ago": a token expires in the future
const DURATION =
  /^\d+ ?(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)$/i;

/** `--expires`: a span such as 30m, 12h or 7d. */
export function durationFrom(value: string): string {
  if (!DURATION.test(value.trim())) {
    throw new Error(
      `--expires takes a duration like 30m, 12h or 7d (got ${JSON.stringify(value)})`,
    );
  }
  return value.trim();
}

/** Why `serve` could not listen, as the fix: another port or host. */
export function listenFailure(error: unknown, port: number, host: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new Error(`port ${port} is in use (another ormai serve?): pass --port or set PORT`);
  }
  if (code === 'EACCES') {
    return new Error(
      `port ${port} needs privileges this process does not have: pass --port (above 1023) or set PORT`,
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new Error(
      `cannot listen on ${host}: it is not an address of this machine; pass --host or set HOST (default 127.0.0.1)`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
