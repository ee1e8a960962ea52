/**
 * One line for anything thrown. Not every library throws an Error: PGlite's file system throws
 * `{ name: 'ErrnoError', errno: 20 }`, which `String()` prints as `[object Object]`.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  if (error && typeof error === 'object') {
    const { name, message, code, errno } = error as Record<string, unknown>;
    if (typeof message === 'string' && message) return message;
    const parts = [name, code, errno === undefined ? undefined : `errno ${String(errno)}`].filter(
      (part) => typeof part === 'string' && part,
    );
    if (parts.length > 0) return parts.join(' ');
    try {
      const json = JSON.stringify(error);
      if (json && json !== '{}') return json;
    } catch {
      // circular
    }
    return error.constructor?.name ?? 'an unknown error';
  }
  return String(error);
}
