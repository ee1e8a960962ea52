import { randomUUID } from 'node:crypto';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** The 32-hex trace id of a W3C `traceparent` header, or a new one. */
export function traceIdFrom(traceparent: string | null | undefined): string {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  const id = match?.[1];
  return id && !/^0+$/.test(id) ? id : newTraceId();
}

/**
 * A new random trace id. A v4 UUID's hex: 122 random bits, its last seven bytes all random (what
 * W3C's random trace-id flag asks). Node draws UUIDs from a cached entropy pool; `randomBytes(16)`
 * asks the system each time, a twentieth of a small request's CPU.
 */
function newTraceId(): string {
  return randomUUID().replaceAll('-', '');
}
