// `ormai serve` as a child process (its memory is measured apart from the load generator's), on the
// reliability config, logging to a file in its working directory.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ormai.js');
export const RELIABILITY_CONFIG = join(import.meta.dirname, 'ormai.reliability.config.ts');
const MEMORY_PROBE = join(import.meta.dirname, 'memory-probe.cjs');

/** What the server's heap holds after a full garbage collection, in MB. */
export interface LiveMemory {
  heapUsedMb: number;
  externalMb: number;
  /** the process's RSS right after that collection */
  rssMb: number;
}

export interface ServerProcess {
  /** http://127.0.0.1:<port> */
  base: string;
  pid: number;
  child: ChildProcess;
  /** The process's resident set size in MB (VmRSS of /proc/<pid>/status). */
  rssMb(): number;
  /** Runs a full garbage collection in the server (memory-probe.cjs) and reads what is left. */
  liveMemory(): Promise<LiveMemory>;
  /** The server's log (pino JSON lines on stderr). */
  log(): string;
  stop(): Promise<number | null>;
}

/**
 * The CLI the suite spawns: the compiled one (dist/, as users get it), or with
 * RELIABILITY_FROM_SOURCE=1 src/cli/main.ts through tsx (a check without a fresh build).
 */
export const CLI =
  process.env.RELIABILITY_FROM_SOURCE === '1'
    ? ['--import', import.meta.resolve('tsx'), join(ROOT, 'src', 'cli', 'main.ts')]
    : [BIN];

export async function startServer(options: {
  cwd: string;
  env: Record<string, string>;
  /** The config file (default: the reliability config). */
  config?: string;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  delete env.DATABASE_URL;
  Object.assign(env, options.env);
  const probeFile = join(options.cwd, 'memory.json');
  env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require "${MEMORY_PROBE}"`.trim();
  env.ORMAI_MEMORY_PROBE_FILE = probeFile;
  const logPath = join(options.cwd, 'server.log');
  const logFd = openSync(logPath, 'w');
  const child = spawn(
    process.execPath,
    [...CLI, 'serve', '--config', options.config ?? RELIABILITY_CONFIG, '--port', '0'],
    { cwd: options.cwd, env, stdio: ['ignore', 'pipe', logFd] },
  );
  closeSync(logFd);
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  const log = () => readFileSync(logPath, 'utf8');
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  while (!/In GraphiQL/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`ormai serve did not start:\n${output}\n${log().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const graphql = /GraphQL \+ GraphiQL\s+(\S+)/.exec(output)![1]!;
  return {
    base: graphql.replace(/\/graphql$/, ''),
    pid: child.pid!,
    child,
    rssMb: () => rssMb(child.pid!),
    async liveMemory() {
      const asked = Date.now();
      child.kill('SIGUSR2');
      for (const deadline = asked + 15_000; Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 100));
        let probe: { at: number; heapUsed: number; external: number; rss: number };
        try {
          probe = JSON.parse(readFileSync(probeFile, 'utf8'));
        } catch {
          continue;
        }
        if (probe.at < asked) continue;
        const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
        return {
          heapUsedMb: mb(probe.heapUsed),
          externalMb: mb(probe.external),
          rssMb: mb(probe.rss),
        };
      }
      throw new Error('the server did not answer the memory probe');
    },
    log,
    stop: async () => {
      // exited, or killed by a signal (exitCode stays null then): nothing to wait for
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for process ${pid}`);
  return Math.round((kb / 1024) * 10) / 10;
}
