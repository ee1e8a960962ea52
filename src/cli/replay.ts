import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { OrmaiConfig } from '../config.js';
import { parseRecordedCalls } from '../replay/recorded-call.js';
import { replayCalls, reportJson, reportLines } from '../replay/replay.js';
import { openReplaySession } from '../replay/replay-session.js';
import { StartupError } from '../startup-error.js';
import { findLeaks } from '../testing/leaks.js';

export interface ReplayCommandOptions {
  /** Where the JSON report goes. */
  report?: string;
  /** A PostgreSQL URL to replay against instead of the configured database. */
  against?: string;
  log?: (line: string) => void;
}

/**
 * `ormai replay FILE`: each recorded call run again (writes rolled back), compared with its record
 * and checked for leaks. Returns the lines to print and whether nothing differed or leaked.
 */
export async function replayFile(
  config: OrmaiConfig,
  file: string,
  options: ReplayCommandOptions = {},
): Promise<{ ok: boolean; lines: string[] }> {
  if (!existsSync(file)) {
    throw new StartupError('RECORDED_CALLS_MISSING', `${file} does not exist`, {
      hints: ['write it with `ormai record --out FILE`'],
    });
  }
  const calls = parseRecordedCalls(readFileSync(file, 'utf8'), file);
  if (calls.length === 0) {
    throw new StartupError('RECORDED_CALLS_MISSING', `${file} holds no recorded calls`, {
      hints: ['record some with `ormai record --out FILE` once the server has served calls'],
    });
  }
  if (options.against && !/^postgres(ql)?:\/\//.test(options.against)) {
    throw new StartupError(
      'INVALID_ARGUMENT',
      `--against ${options.against} is no PostgreSQL URL`,
      {
        hints: ['pass postgres://user:password@host:5432/database, or --config FILE'],
      },
    );
  }
  const session = await openReplaySession(config, {
    ...(options.against ? { databaseUrl: options.against } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    const report = await replayCalls(session.ormai, calls, {
      findLeaks,
      afterCall: session.afterCall,
    });
    if (options.report) writeFileSync(options.report, reportJson(report));
    const lines = reportLines(report);
    if (options.report) lines.push(`report: ${options.report}`);
    return { ok: report.ok, lines };
  } finally {
    await session.close();
  }
}
