import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON lines on stderr, so stdout stays for what a command prints (URLs, tokens). */
export function createLogger(level = process.env.ORMAI_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'ormai', level }, pino.destination(2));
}
