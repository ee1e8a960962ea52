import { writeFileSync } from 'node:fs';
import { type AuditRecord, sanitizeInputs } from '../audit/record.js';
import { JsonlAuditSink, SqlAuditSink } from '../audit/sinks.js';
import type { OrmaiConfig } from '../config.js';
import { type RecordedCall, recordedCallFrom } from '../replay/recorded-call.js';
import { openRuntime, runtimeOptionsFromConfig } from '../runtime.js';
import { DEFAULT_AUDIT_JSONL } from '../server/audit-setup.js';
import { StartupError } from '../startup-error.js';

export interface RecordOptions {
  out: string;
  /** Only the last N calls. */
  limit?: number;
  /** Only calls at or after this instant. */
  since?: Date;
  /** Read this JSONL audit file instead of the configured sink. */
  jsonl?: string;
}

/** The recorded calls among audit records, oldest first, and how many were left out, by reason. */
export async function callsOf(
  records: AsyncIterable<AuditRecord>,
  options: Pick<RecordOptions, 'limit' | 'since'> = {},
): Promise<{ calls: RecordedCall[]; skipped: Map<string, number> }> {
  const calls: RecordedCall[] = [];
  const skipped = new Map<string, number>();
  const since = options.since?.getTime();
  for await (const record of records) {
    if (since !== undefined && new Date(record.ts).getTime() < since) continue;
    const call = recordedCallFrom(record);
    if ('skip' in call) {
      skipped.set(call.skip, (skipped.get(call.skip) ?? 0) + 1);
      continue;
    }
    // secrets were redacted when the call was recorded; again here, for records of older versions
    calls.push({ ...call, inputs: sanitizeInputs(call.inputs) as RecordedCall['inputs'] });
    // the last N: older ones are dropped now and then, so a long log is not held whole
    if (options.limit !== undefined && calls.length >= 2 * options.limit)
      calls.splice(0, calls.length - options.limit);
  }
  return {
    calls: options.limit !== undefined ? calls.slice(-options.limit) : calls,
    skipped,
  };
}

/**
 * `ormai record`: the calls of the audit log (the table, or the JSONL file when that is the only
 * sink, or `--jsonl`) as JSONL, one recorded call per line. Returns the lines to print.
 */
export async function recordCalls(config: OrmaiConfig, options: RecordOptions): Promise<string[]> {
  const sinks = config.audit?.sinks ?? ['sql', 'jsonl'];
  const jsonl =
    options.jsonl ??
    (sinks.includes('sql') ? undefined : (config.audit?.jsonlPath ?? DEFAULT_AUDIT_JSONL));
  if (!jsonl && !sinks.includes('sql')) {
    throw new StartupError('AUDIT_SINK_MISSING', 'the config records no audit log to read', {
      hints: ["set audit.sinks to ['sql'] or ['jsonl'], or pass --jsonl FILE"],
    });
  }
  let found: Awaited<ReturnType<typeof callsOf>>;
  let source: string;
  if (jsonl) {
    source = `the file ${jsonl}`;
    found = await callsOf(new JsonlAuditSink(jsonl).read(), options);
  } else {
    source = 'the table ormai_audit_log';
    const runtime = await openRuntime(config.app, {
      ...runtimeOptionsFromConfig(config),
      seedIfEmpty: false,
    });
    try {
      found = await callsOf(new SqlAuditSink(runtime.db.sql, runtime.tables).read(), options);
    } finally {
      await runtime.close();
    }
  }
  writeFileSync(options.out, found.calls.map((call) => `${JSON.stringify(call)}\n`).join(''));
  const lines = [`recorded ${found.calls.length} call(s) from ${source} to ${options.out}`];
  for (const [reason, count] of [...found.skipped].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`  left out ${count}: ${reason}`);
  return lines;
}

/** `--since`: an ISO-8601 instant. */
export function sinceFrom(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new StartupError('INVALID_ARGUMENT', `--since ${value} is not a date`, {
      hints: ['pass an ISO-8601 instant, e.g. 2026-12-03T09:00:00Z'],
    });
  }
  return date;
}

/** `--limit`: a positive whole number. */
export function limitFrom(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1) {
    throw new StartupError('INVALID_ARGUMENT', `--limit ${value} is not a positive whole number`, {
      hints: ['pass how many of the latest calls to record, e.g. --limit 500'],
    });
  }
  return limit;
}
