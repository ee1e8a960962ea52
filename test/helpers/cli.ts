// The real `ormai` command (bin/ormai.js over dist/, as `npm start` runs it) in a directory of a
// test's own, so that `.ormai/pgdata` and `.ormai/audit.jsonl` are fresh there.
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin', 'ormai.js');
/** The example app on the embedded database (unless DATABASE_URL is set, which cleanEnv removes). */
export const CONFIG = join(ROOT, 'ormai.config.ts');

/** The test's environment without a database URL, JWT secret, port or host, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ['DATABASE_URL', 'ORMAI_JWT_SECRET', 'PORT', 'HOST']) {
    if (!extra[name]) delete env[name];
  }
  return env;
}

/** Runs `ormai <args>` in `cwd` to its end; stdin is closed at once unless `input` is given. */
export function runCli(
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv(options.env),
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 180_000,
  });
}

/**
 * `runCli` without blocking this process: a test talking to a server meanwhile needs its event loop
 * (a keep-alive socket the server closed while the loop was blocked fails the next fetch).
 */
export function runCliAsync(
  cwd: string,
  args: string[],
  /** `timeoutMs`: kill it then (a command that does not fail may serve forever) */
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = options.timeoutMs
    ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
    : undefined;
  return new Promise((done) =>
    child.once('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    }),
  );
}

/** A running `ormai serve`: its output so far, and a way to wait for a line of it. */
export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches; rejects when the process ends first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The exit code (null when a signal ended it) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `ormai serve --port 0` on the example in `cwd` (`env` added to the clean environment). */
export function spawnServe(
  cwd: string,
  args: string[] = [],
  env: Record<string, string> = {},
): ServeProcess {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--config', CONFIG, '--port', '0', ...args],
    {
      cwd,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(pattern, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (ended || Date.now() > deadline) {
          throw new Error(
            `ormai serve ${ended ? 'ended' : 'timed out'} before ${pattern}:\n${stdout}\n${stderr}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** `ormai serve` started and listening: its GraphQL URL and the dev tokens it printed. */
export interface ServedCli extends ServeProcess {
  url: string;
  tokenOf(tenant: number, role: string): string;
  /** POST a GraphQL query with a bearer token. */
  graphql(token: string, query: string): Promise<any>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function serve(cwd: string, env: Record<string, string> = {}): Promise<ServedCli> {
  const started = spawnServe(cwd, [], env);
  await started.waitFor(/In GraphiQL/);
  const url = /GraphQL \+ GraphiQL\s+(\S+)/.exec(started.stdout())![1]!;
  return {
    ...started,
    url,
    tokenOf: (tenant, role) =>
      new RegExp(`tenant ${tenant} ${role}\\s+sub \\d+\\s+(\\S+)`).exec(started.stdout())![1]!,
    graphql: async (token, query) =>
      (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query }),
        })
      ).json(),
    async stop() {
      started.child.kill('SIGTERM');
      return (await started.exited).code;
    },
  };
}
