/**
 * A configuration, policy or datamodel problem found while ormai starts: the server does not
 * start. Its message is one line naming what is wrong and how to fix it (the CLI prints it as is);
 * `code` and `hints` say the same for programs embedding ormai.
 */
export class StartupError extends Error {
  readonly code: string;
  readonly hints: string[];
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: { hints?: string[]; details?: Record<string, unknown> } = {},
  ) {
    const hints = options.hints ?? [];
    super(hints.length > 0 ? `${message}: ${hints.join('; ')}` : message);
    this.name = 'StartupError';
    this.code = code;
    this.hints = hints;
    this.details = options.details;
  }
}
