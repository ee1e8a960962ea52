/** Pure policy functions return this instead of throwing; the edges turn a failure into an error. */
export type Result<T> = { ok: true; value: T } | Failure;

export interface Failure {
  ok: false;
  code: string;
  message: string;
  hints: string[];
  details?: Record<string, unknown>;
}

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = (
  code: string,
  message: string,
  hints: string[] = [],
  details?: Record<string, unknown>,
): Failure => ({ ok: false, code, message, hints, ...(details ? { details } : {}) });
