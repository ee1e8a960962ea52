import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';

/** Who holds the embedded database, as its lock file names it. */
export interface EmbeddedLockHolder {
  pid: number;
  host: string;
  /** The command, short: `ormai serve`, `node server.js`. */
  command: string;
  /** The whole command line. */
  argv: string[];
  /** When it took the lock (ISO 8601). */
  since: string;
  /** The process's start in clock ticks after boot (Linux), which tells a reused pid. */
  startTicks?: number;
  /** Tells this lock from an earlier one naming the same pid. */
  token: string;
}

/** Another process has the embedded database open: PGlite is one writer, a second would lose data. */
export class EmbeddedDatabaseInUseError extends Error {
  readonly code = 'EMBEDDED_DATABASE_IN_USE';

  constructor(
    readonly dataDir: string,
    readonly holder: EmbeddedLockHolder,
    readonly lockFile: string,
  ) {
    const here = holder.host === hostname();
    super(
      `the embedded database ${displayPath(dataDir)} is in use by ${describeHolder(holder)}: ` +
        `${here ? 'stop it' : `stop it (if it no longer runs there, delete ${displayPath(lockFile)})`}, ` +
        'or point DATABASE_URL at PostgreSQL',
    );
    this.name = 'EmbeddedDatabaseInUseError';
  }
}

export interface EmbeddedLock {
  /** The lock file, beside the data directory. */
  readonly path: string;
  /** Removes the lock file (when it is still this process's); safe to call twice. */
  release(): void;
}

export interface EmbeddedLockOptions {
  /** Where a stale lock taken over is reported (default stderr). */
  log?: ((line: string) => void) | undefined;
}

/** The lock file of a data directory: beside it, so the directory itself can be replaced whole. */
export const lockFileOf = (dataDir: string) => `${resolve(dataDir)}.lock`;

// the locks this process holds, by file: released at exit and on a signal nobody else handles
const held = new Map<string, { token: string; release: () => void }>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Takes the embedded database in `dataDir` for this process: a lock file created atomically that
 * names the pid, host, command and start time. A lock whose process has ended on this host is taken
 * over (with a log line); a live one throws EmbeddedDatabaseInUseError naming its holder.
 */
export async function lockEmbeddedDatabase(
  dataDir: string,
  options: EmbeddedLockOptions = {},
): Promise<EmbeddedLock> {
  const log = options.log ?? ((line: string) => process.stderr.write(`ormai: ${line}\n`));
  const path = lockFileOf(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  const mine = holderOfThisProcess();
  const content = `${JSON.stringify(mine, null, 2)}\n`;
  for (let attempt = 0; !createExclusive(path, content); attempt++) {
    const found = await readLock(path);
    if (!found) continue; // released in between
    const { holder } = found;
    if (holder && liveness(holder) !== 'ended') {
      throw new EmbeddedDatabaseInUseError(dataDir, holder, path);
    }
    if (attempt >= 10) {
      throw new Error(
        `cannot take over the lock ${displayPath(path)}: delete it if no process uses ${displayPath(dataDir)}`,
      );
    }
    if (attempt === 0) {
      log(
        holder
          ? `the embedded database ${displayPath(dataDir)} was left locked by ${describeHolder(holder)}, which has ended: taking it over`
          : `the lock ${displayPath(path)} is unreadable: taking it over`,
      );
    }
    await removeStale(path, found.text);
  }

  const release = () => {
    if (!held.delete(path)) return;
    if (held.size === 0) removeProcessHooks();
    try {
      // a lock taken over by another process (this one was presumed dead) is theirs now
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  if (held.size === 0) addProcessHooks();
  held.set(path, { token: mine.token, release });
  return { path, release };
}

/** The process holding the embedded database in `dataDir` when it runs on this host; else undefined. */
export async function runningHolderOf(dataDir: string): Promise<EmbeddedLockHolder | undefined> {
  const holder = (await readLock(lockFileOf(dataDir)))?.holder;
  return holder && liveness(holder) === 'running' ? holder : undefined;
}

/** "`ormai serve` (pid 1234, since 2026-12-03 08:30:12 UTC)", with the host when it is another. */
function describeHolder(holder: EmbeddedLockHolder): string {
  const host = holder.host === hostname() ? '' : ` on ${holder.host}`;
  const since = holder.since.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  return `\`${holder.command}\` (pid ${holder.pid}${host}, since ${since})`;
}

function holderOfThisProcess(): EmbeddedLockHolder {
  const startTicks = startTicksOf(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    command: shortCommand(process.argv),
    argv: process.argv,
    since: new Date().toISOString(),
    ...(startTicks === undefined ? {} : { startTicks }),
    token: randomBytes(8).toString('hex'),
  };
}

/** `ormai serve`, `ormai approvals list`, or `node server.js`: what a user recognises in `ps`. */
export function shortCommand(argv: readonly string[]): string {
  const script = argv[1] ?? '';
  if (/(^|[\\/])ormai(\.[cm]?js)?$|[\\/]cli[\\/]main\.[cm]?[jt]s$/.test(script)) {
    const words: string[] = [];
    for (const arg of argv.slice(2)) {
      if (arg.startsWith('-') || words.length === 2) break;
      words.push(arg);
    }
    return ['ormai', ...words].join(' ');
  }
  return [basename(argv[0] ?? 'node'), script && displayPath(script)].filter(Boolean).join(' ');
}

/** Creates the file only if it does not exist (O_CREAT | O_EXCL): one process of many wins. */
function createExclusive(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The lock's holder; a file still empty after a second is from a process that died writing it. */
async function readLock(
  path: string,
): Promise<{ text: string; holder: EmbeddedLockHolder | undefined } | undefined> {
  for (let wait = 0; ; wait++) {
    const text = readText(path);
    if (text === undefined) return undefined;
    try {
      const holder = JSON.parse(text) as EmbeddedLockHolder;
      if (Number.isInteger(holder.pid) && typeof holder.host === 'string') return { text, holder };
    } catch {
      // being written
    }
    if (wait === 20) return { text, holder: undefined };
    await sleep(50);
  }
}

/** Whether the holder still runs: `unknown` on another host, where this one cannot look. */
function liveness(holder: EmbeddedLockHolder): 'running' | 'ended' | 'unknown' {
  if (holder.host !== hostname()) return 'unknown';
  // this very process: a lock it holds, or one left by an earlier process with the same pid (pid 1
  // in a container restarted)
  if (holder.pid === process.pid) {
    return [...held.values()].some((lock) => lock.token === holder.token) ? 'running' : 'ended';
  }
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'ended';
  }
  const ticks = startTicksOf(holder.pid);
  // the pid is alive but started at another time: reused by an unrelated process
  return holder.startTicks !== undefined && ticks !== undefined && ticks !== holder.startTicks
    ? 'ended'
    : 'running';
}

/** Field 22 of /proc/<pid>/stat (Linux); undefined elsewhere. */
function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Deletes a stale lock, unless another process took it over since it was read: a short-lived guard
 * file makes the read-compare-delete one step among the processes starting at the same time.
 */
async function removeStale(path: string, staleText: string): Promise<void> {
  const guard = `${path}.takeover`;
  if (!createExclusive(guard, String(process.pid))) {
    // another process is taking it over; a guard left by a crash is old
    if (Date.now() - (statMtime(guard) ?? Date.now()) > 10_000) rmSync(guard, { force: true });
    else await sleep(100);
    return;
  }
  try {
    if (readText(path) === staleText) unlinkSync(path);
  } finally {
    rmSync(guard, { force: true });
  }
}

function statMtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function releaseAll() {
  for (const lock of [...held.values()]) lock.release();
}

// A signal nobody else handles ends the process without its 'exit' event: release, then let it
// end as it would have. With another listener (`ormai serve`'s), shutdown goes through close().
function onSignal(signal: NodeJS.Signals) {
  if (process.listenerCount(signal) > 1) return;
  releaseAll();
  process.kill(process.pid, signal);
}

function addProcessHooks() {
  process.on('exit', releaseAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function removeProcessHooks() {
  process.removeListener('exit', releaseAll);
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

/** A path as the user typed it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
  const full = resolve(path);
  const inside = relative(process.cwd(), full);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : full;
}
