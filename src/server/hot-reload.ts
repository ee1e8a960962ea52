import { type FSWatcher, watch } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DomainTool, OrmaiApp } from '../app.js';
import type { Datamodel } from '../policy/datamodel.js';
import type { Policy } from '../policy/types.js';
import { StartupError } from '../startup-error.js';

/** What a reload swaps: the parts of the app that are data (the rest of the config needs a restart). */
export interface ReloadableApp {
  policy: Policy;
  datamodel: Datamodel;
  domainTools?: DomainTool[];
}

/** The config as a reload read it: the app's data parts, and what else it names. */
export interface FreshConfig {
  app: ReloadableApp;
  /** The config's other settings as JSON (functions left out): compared to say what needs a restart. */
  settings: unknown;
  /** The project's files the config read or imported (outside node_modules): what `--watch` watches. */
  files: string[];
}

/** How long a reload may take to read the config before it is refused. */
export const RELOAD_LOAD_TIMEOUT_MS = 60_000;

/**
 * The worker that reads the config: a module graph of its own, so every file the config imports
 * (the policy, a generated datamodel) is read as it is now, and nothing of it stays in this
 * process's module cache after the worker ends. It records the files it loads (tsx's onImport)
 * and the files read while the config is evaluated (a schema.prisma), for `--watch`.
 */
const WORKER_SOURCE = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
const files = new Set();
// the project's files only: not node_modules, not ormai's own, not tsx's cache in the temp folder
const ignored = [sep + 'node_modules' + sep, workerData.ormaiDir, join(tmpdir(), 'tsx-')];
const note = (target) => {
  try {
    const text = target instanceof URL ? target.href : target;
    if (typeof text !== 'string' || text.startsWith('node:')) return;
    const path = text.startsWith('file:') ? fileURLToPath(text) : resolve(text);
    if (!ignored.some((part) => path.includes(part)) && fs.existsSync(path)) files.add(path);
  } catch {}
};
const readFileSync = fs.readFileSync;
fs.readFileSync = function (target, ...rest) {
  note(target);
  return readFileSync.call(this, target, ...rest);
};
syncBuiltinESMExports();
const plain = (value) => JSON.parse(JSON.stringify(value ?? null, (key, inner) => typeof inner === 'bigint' ? inner.toString() : inner));
try {
  const { register } = await import(workerData.tsxApi);
  register({ onImport: (url) => note(url) });
  globalThis[Symbol.for('ormai.tsx-registered')] = true;
  const { loadConfig } = await import(workerData.configModule);
  const config = await loadConfig(workerData.configPath);
  const { app, ...settings } = config;
  note(workerData.configPath);
  parentPort.postMessage({
    ok: true,
    app: { policy: app.policy, datamodel: app.datamodel, domainTools: app.domainTools ?? [] },
    settings: plain(settings),
    files: [...files],
  });
} catch (error) {
  parentPort.postMessage({ ok: false, message: String(error && error.message || error) });
}
`;

/**
 * Reads the config at `configPath` afresh, in a worker thread: the policy, the datamodel and the
 * domain tools as the files say now. Throws a StartupError (code CONFIG_INVALID) when the config
 * does not load.
 */
export function loadFreshConfig(
  configPath: string,
  options: { timeoutMs?: number } = {},
): Promise<FreshConfig> {
  const require = createRequire(import.meta.url);
  const here = import.meta.url;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`), {
    workerData: {
      configPath,
      // ormai's own loadConfig (compiled, or the source when ormai runs from it), and the tsx that
      // ormai depends on: a data: module resolves absolute URLs only
      configModule: new URL(here.endsWith('.ts') ? '../config.ts' : '../config.js', here).href,
      ormaiDir: fileURLToPath(new URL('../', here)),
      tsxApi: pathToFileURL(require.resolve('tsx/esm/api')).href,
    },
    stdout: false,
    stderr: false,
  });
  return new Promise<FreshConfig>((resolve, reject) => {
    const refuse = (message: string) =>
      reject(
        new StartupError('CONFIG_INVALID', message, {
          hints: ['fix the config (or the files it imports) and save again, or send SIGHUP'],
        }),
      );
    const timer = setTimeout(() => {
      void worker.terminate();
      refuse(`reading ${configPath} took over ${options.timeoutMs ?? RELOAD_LOAD_TIMEOUT_MS} ms`);
    }, options.timeoutMs ?? RELOAD_LOAD_TIMEOUT_MS);
    worker.once(
      'message',
      (message: ({ ok: true } & FreshConfig) | { ok: false; message: string }) => {
        clearTimeout(timer);
        void worker.terminate();
        if (message.ok)
          resolve({ app: message.app, settings: message.settings, files: message.files });
        else refuse(message.message);
      },
    );
    worker.once('error', (error) => {
      clearTimeout(timer);
      refuse(`cannot load the config ${configPath}: ${error.message}`);
    });
  });
}

/**
 * The models and fields of `next` the Prisma client of this process was not generated with (it was
 * generated with `started`): a query for them would fail, so a reload that needs them is refused
 * until a restart brings the new client. Removing a model or a field is fine.
 */
export function clientGaps(started: Datamodel, next: Datamodel): string[] {
  const gaps: string[] = [];
  for (const [name, model] of Object.entries(next.datamodel.models)) {
    const known = started.datamodel.models[name];
    if (!known) {
      gaps.push(`model ${name} is new`);
      continue;
    }
    const fields = new Map(known.fields.map((field) => [field.name, field]));
    for (const field of model.fields) {
      const before = fields.get(field.name);
      if (!before) gaps.push(`field ${name}.${field.name} is new`);
      else if (
        before.type !== field.type ||
        before.kind !== field.kind ||
        before.isList !== field.isList ||
        (before.dbName ?? null) !== (field.dbName ?? null)
      ) {
        gaps.push(`field ${name}.${field.name} changed its type or column`);
      }
    }
    if ((known.dbName ?? null) !== (model.dbName ?? null)) gaps.push(`model ${name} changed table`);
  }
  return gaps;
}

/** The top-level config keys whose settings differ: they take effect on a restart only. */
export function changedSettings(before: unknown, after: unknown): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((key) => JSON.stringify(a[key] ?? null) !== JSON.stringify(b[key] ?? null))
    .sort();
}

/** The config's settings as a reload compares them (see `FreshConfig.settings`). */
export function settingsOf(config: { app: OrmaiApp } & Record<string, unknown>): unknown {
  const { app: _app, ...settings } = config;
  return JSON.parse(
    JSON.stringify(settings, (_key, value) => (typeof value === 'bigint' ? String(value) : value)),
  );
}

/** How long a burst of saves is waited out before one reload runs. */
export const WATCH_DEBOUNCE_MS = 150;

/**
 * Watches files for changes, through their folders (an editor that saves by renaming a new file
 * over the old one leaves a watch on the file itself watching nothing), and calls `onChange` once
 * per burst of changes.
 */
export class FileWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  #names = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onChange: (changed: string[]) => void,
    private readonly debounceMs = WATCH_DEBOUNCE_MS,
  ) {}

  #changed = new Set<string>();

  /** Watches exactly these files from now on. */
  watch(files: readonly string[]): void {
    const names = new Map<string, Set<string>>();
    for (const file of files) {
      const dir = dirname(file);
      const inDir = names.get(dir) ?? new Set<string>();
      names.set(dir, inDir);
      inDir.add(basename(file));
    }
    this.#names = names;
    for (const [dir, watcher] of this.#watchers) {
      if (!names.has(dir)) {
        watcher.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of names.keys()) {
      if (this.#watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name && this.#names.get(dir)?.has(name.toString()))
            this.#schedule(`${dir}${sep}${name}`);
        });
        watcher.on('error', () => {
          watcher.close();
          this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, watcher);
      } catch {
        // a folder that went away: watched again when a reload names it
      }
    }
  }

  get files(): string[] {
    return [...this.#names].flatMap(([dir, names]) =>
      [...names].map((name) => `${dir}${sep}${name}`),
    );
  }

  #schedule(file: string) {
    this.#changed.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const changed = [...this.#changed];
      this.#changed.clear();
      this.onChange(changed);
    }, this.debounceMs);
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}
