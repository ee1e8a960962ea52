import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** The 32-hex trace id of a W3C `traceparent` header, or a new one. */
export function traceIdFrom(traceparent: string | null | undefined): string {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  const id = match?.[1];
  return id && !/^0+$/.test(id) ? id : randomBytes(16).toString('hex');
}
