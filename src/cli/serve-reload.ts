import { relative } from 'node:path';
import type { OrmaiConfig } from '../config.js';
import type { Ormai } from '../server/create-ormai.js';
import {
  changedSettings,
  FileWatcher,
  type FreshConfig,
  loadFreshConfig,
  settingsOf,
} from '../server/hot-reload.js';
import { runChecks } from './check.js';

export interface ServeReloadOptions {
  /** The config file as `serve` was given it. */
  configPath: string;
  /** The config `serve` started with. */
  config: OrmaiConfig;
  ormai: Ormai;
  /** Watch the config and every file it reads or imports; reload on a change. */
  watch: boolean;
  print(line: string): void;
  printError(line: string): void;
}

/**
 * `ormai serve`'s reloads: on SIGHUP, and with `--watch` when a file the config reads changes. A
 * reload reads the config afresh, runs `ormai check` on it and hands it to `Ormai.reload`, which
 * validates it against the database and swaps it in; whatever refuses it, the old version keeps
 * serving and the findings are printed.
 */
export function serveReloads(options: ServeReloadOptions): { close(): void } {
  const { ormai, print, printError } = options;
  const started = settingsOf(options.config as OrmaiConfig & Record<string, unknown>);
  const watcher = options.watch
    ? new FileWatcher((changed) => {
        void reloadSoon(changed.map((file) => relative(process.cwd(), file)).join(', '));
      })
    : undefined;
  let running: Promise<void> | undefined;
  let again: string | undefined;

  const reloadOnce = async (why: string) => {
    const before = ormai.policyVersion;
    let fresh: FreshConfig;
    try {
      fresh = await loadFreshConfig(options.configPath);
    } catch (error) {
      refused(before, (error as Error).message, []);
      return;
    }
    watcher?.watch(fresh.files);
    const app = { ...options.config.app, ...fresh.app };
    const check = runChecks(app);
    if (!check.ok) {
      refused(before, 'the policy fails ormai check', check.lines);
      return;
    }
    const result = await ormai.reload(fresh.app);
    if (!result.ok) {
      refused(result.version, result.message, [
        ...result.findings,
        ...result.hints.map((hint) => `hint: ${hint}`),
      ]);
      return;
    }
    if (why !== 'start') {
      print(
        result.unchanged
          ? `ormai: reload (${why}): no change, policy ${result.version}`
          : `ormai: reloaded (${why}): policy ${result.previous} → ${result.version}`,
      );
    }
    for (const warning of result.warnings) print(`  warning: ${warning}`);
    const restart = changedSettings(started, fresh.settings);
    if (restart.length > 0) {
      print(`  warning: ${restart.join(', ')} changed in the config: that takes a restart`);
    }
  };

  const refused = (version: string, message: string, findings: string[]) => {
    printError(`ormai: reload refused, still serving policy ${version}: ${message}`);
    for (const line of findings) printError(`  ${line}`);
  };

  /** Reloads now, or once more after the reload running now (changes during it are not lost). */
  const reloadSoon = (why: string): Promise<void> => {
    if (running) {
      again = why;
      return running;
    }
    running = (async () => {
      try {
        let next: string | undefined = why;
        while (next) {
          again = undefined;
          await reloadOnce(next);
          next = again;
        }
      } catch (error) {
        printError(`ormai: reload failed, still serving: ${(error as Error).message}`);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const onHangup = () => void reloadSoon('SIGHUP');
  process.on('SIGHUP', onHangup);
  if (watcher) {
    // the first read names the files to watch (and serves them, had one changed meanwhile)
    void reloadSoon('start').then(() =>
      print(
        `ormai: watching ${watcher.files.length} file(s) for changes (policy ${ormai.policyVersion}); SIGHUP reloads too`,
      ),
    );
  }
  return {
    close() {
      process.off('SIGHUP', onHangup);
      watcher?.close();
    },
  };
}
