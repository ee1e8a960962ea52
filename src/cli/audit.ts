import { type AuditRecord, verifyChain } from '../audit/record.js';
import { JsonlAuditSink, SqlAuditSink } from '../audit/sinks.js';
import type { Runtime } from '../runtime.js';

async function collect(records: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

/**
 * `ormai audit verify`: walks the table's chains (one per process that wrote, each on its own) or
 * a JSONL file's chain, and names the first broken link.
 */
export async function verifyAudit(
  runtime: Runtime | undefined,
  jsonl?: string,
): Promise<{ ok: boolean; lines: string[] }> {
  const source = jsonl ? `the file ${jsonl}` : 'the table ormai_audit_log';
  if (!jsonl && !runtime) throw new Error('verifying the table needs the database');
  const records = await collect(
    jsonl
      ? new JsonlAuditSink(jsonl).read()
      : new SqlAuditSink(runtime!.db.sql, runtime!.tables).read(),
  );
  const result = verifyChain(records);
  return result.ok
    ? {
        ok: true,
        lines: [
          result.chains > 1
            ? `ok: ${result.checked} record(s) in ${source}, each of its ${result.chains} hash chains is intact`
            : `ok: ${result.checked} record(s) in ${source}, the hash chain is intact`,
        ],
      }
    : {
        ok: false,
        lines: [
          `broken: record ${result.broken!.id} in ${source}: ${result.broken!.reason}`,
          `(${result.checked} record(s) before it verified)`,
        ],
      };
}

/** One readable line per record. */
export function formatRecord(record: AuditRecord): string {
  const who = record.principal_sub
    ? `sub ${record.principal_sub}@${record.tenant_id ?? '-'} [${record.roles.join(',')}]`
    : 'anonymous';
  const outcome = record.outcome === 'ok' ? 'ok' : `error ${record.error_code}`;
  const rows = record.row_count === null ? '' : ` rows=${record.row_count}`;
  const policy = record.policy_version ? ` policy=${record.policy_version}` : '';
  return `${record.id} ${record.ts} ${record.trace_id} ${record.surface} ${record.operation} ${who} ${outcome}${rows} ${record.duration_ms}ms${policy}`;
}

/** `ormai audit tail`: the last records, filtered; with follow, new ones as they arrive. */
export async function tailAudit(
  runtime: Runtime,
  options: { tenant?: string; trace?: string; limit: number; follow?: boolean },
  print: (line: string) => void,
): Promise<void> {
  const sink = new SqlAuditSink(runtime.db.sql, runtime.tables);
  const filter = {
    ...(options.tenant ? { tenantId: options.tenant } : {}),
    ...(options.trace ? { traceId: options.trace } : {}),
  };
  const records = await collect(sink.read(filter));
  for (const record of records.slice(-options.limit)) print(formatRecord(record));
  let last = Number(records.at(-1)?.id ?? 0);
  while (options.follow) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for await (const record of sink.read({ ...filter, afterId: last })) {
      print(formatRecord(record));
      last = Number(record.id);
    }
  }
}
