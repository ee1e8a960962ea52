// The servers under test, each in a child process with an IPC channel: it reports its URL once
// listening and, when asked, how many statements it has sent to PostgreSQL.
import { type ChildProcess, fork } from 'node:child_process';

export interface ServerProcess {
  name: string;
  url: string;
  /** Statements sent to PostgreSQL so far (and, for PostGraphile, how many were session ones). */
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
  /** Starts the V8 CPU profiler in the server (TypeScript servers only). */
  startProfile(): Promise<void>;
  /** Stops it and writes the .cpuprofile to `file`. */
  stopProfile(file: string): Promise<void>;
  /** The last lines the process wrote on stderr. */
  log(): string;
}

export interface ServerStats {
  statements: number;
  /** Statements with `COUNT(` and advisory lock requests (TypeScript servers only). */
  countQueries?: number;
  advisoryLocks?: number;
  session?: number;
  cpuMicros: number;
}

export interface StartOptions {
  script: string;
  env: Record<string, string>;
  /** tsx for TypeScript servers. */
  typescript?: boolean;
  execArgv?: string[];
  cwd?: string;
}

export async function startServer(name: string, options: StartOptions): Promise<ServerProcess> {
  const child: ChildProcess = fork(options.script, [], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    execArgv: [...(options.typescript ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within 120 s\n${stderr}`)),
      120_000,
    );
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message?.type === 'ready' && message.url) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready\n${stderr}`));
    });
  });

  const ask = <T>(request: Record<string, unknown>, answer: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not answer ${request.type}`)),
        30_000,
      );
      const onMessage = (message: T & { type?: string }) => {
        if (message?.type !== answer) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
      child.send(request);
    });

  return {
    name,
    url,
    stats: async () => {
      const message = await ask<Partial<ServerStats>>({ type: 'stats' }, 'stats');
      return {
        statements: message.statements ?? 0,
        cpuMicros: message.cpuMicros ?? 0,
        ...(message.countQueries !== undefined ? { countQueries: message.countQueries } : {}),
        ...(message.advisoryLocks !== undefined ? { advisoryLocks: message.advisoryLocks } : {}),
        ...(message.session !== undefined ? { session: message.session } : {}),
      };
    },
    startProfile: async () => {
      await ask({ type: 'profile-start' }, 'profile-started');
    },
    stopProfile: async (file) => {
      await ask({ type: 'profile-stop', file }, 'profile-stopped');
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    log: () => stderr,
  };
}
