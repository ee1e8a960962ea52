import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { advisoryLockKey, type SqlDriver } from '../db/database.js';
import { type OrmaiTables, ormaiTables } from '../db/ormai-tables.js';
import { type AuditEntry, type AuditRecord, chainHash, GENESIS_HASH } from './record.js';

/** Where records go. A sink chains what it stores: each record's prev_hash is its last hash. */
export interface AuditSink {
  readonly name: string;
  /**
   * Stores entries in order, atomically where it can, and returns the records it stored: all of
   * them, or the first few (the rest are given again). Throws when it cannot; the log then gives
   * the same entries again, first, when it retries.
   */
  write(entries: AuditEntry[]): Promise<AuditRecord[]>;
  /** Every record in order (for verify and tail). */
  read(): AsyncIterable<AuditRecord>;
  close?(): Promise<void>;
}

const COLUMNS = [
  'ts',
  'trace_id',
  'surface',
  'operation',
  'model',
  'principal_sub',
  'tenant_id',
  'roles',
  'inputs',
  'decisions',
  'row_count',
  'affected_rows',
  'duration_ms',
  'outcome',
  'error_code',
  'reason',
  'before',
  'after',
  'approval_id',
  'policy_version',
  'result_digest',
  'prev_hash',
  'hash',
  'chain_id',
] as const;
const JSON_COLUMNS = new Set(['roles', 'inputs', 'decisions', 'before', 'after']);
/** Columns `auditRecords(where)` filters on, by equality. */
const FILTER_COLUMNS = new Set([
  'trace_id',
  'surface',
  'operation',
  'outcome',
  'error_code',
  'principal_sub',
  'model',
]);
/** Rows per INSERT: 24 parameters each, far below PostgreSQL's 65,535 per statement. */
const ROWS_PER_INSERT = 500;

/**
 * This process's chains in the table are named after it: host and pid for an operator reading
 * them, random bits so a restarted process (the same pid in a new container) starts chains of its
 * own instead of continuing a dead one's.
 */
const PROCESS_TAG = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
let sinksMade = 0;

/**
 * The chain of the records written inside write transactions (a write's record commits with the
 * write). This process's writes take turns on it (an advisory lock named after it, held to the
 * commit); another process's writes have a chain of their own and never wait for these.
 */
export const TRANSACTION_CHAIN = `${PROCESS_TAG}:tx`;

/**
 * The table `ormai_audit_log` in the app's database. Each sink appends to a chain of its own
 * (`chain_id`), one batch at a time, so it keeps the chain's head in memory: a batch is a single
 * multi-row INSERT, with no lock and no read of the table, and replicas never take turns.
 */
export class SqlAuditSink implements AuditSink {
  readonly name = 'sql';
  readonly chainId = `${PROCESS_TAG}:${++sinksMade}`;
  #head = GENESIS_HASH;
  /** A batch whose INSERT failed: it may have committed all the same (the connection lost after). */
  #unsure?: AuditRecord[];

  constructor(
    private readonly sql: SqlDriver,
    private readonly tables: OrmaiTables = ormaiTables(),
  ) {}

  async write(entries: AuditEntry[]): Promise<AuditRecord[]> {
    if (this.#unsure) {
      const committed = await this.#settle();
      // the log gives the same entries again first: those that committed are written
      if (committed) return committed;
    }
    const records = chainRecords(this.#head, entries.slice(0, ROWS_PER_INSERT), this.chainId);
    try {
      await insertRecords(this.sql, records, this.tables);
    } catch (error) {
      this.#unsure = records;
      throw error;
    }
    this.#head = records.at(-1)!.hash;
    return records;
  }

  /**
   * After a failed INSERT, the chain's last record (an index lookup) says whether it committed:
   * returns its records when it did, and takes that record as the head either way.
   */
  async #settle(): Promise<AuditRecord[] | undefined> {
    const [last] = await this.sql.query<{ hash: string }>(
      `SELECT hash FROM ${this.tables.auditLog} WHERE chain_id = $1 ORDER BY id DESC LIMIT 1`,
      [this.chainId],
    );
    const attempt = this.#unsure!;
    this.#unsure = undefined;
    this.#head = last?.hash ?? GENESIS_HASH;
    return last?.hash === attempt.at(-1)!.hash ? attempt : undefined;
  }

  /**
   * Whether a record written in a transaction is stored (it is once its transaction committed):
   * found by its id, so the lookup costs the same however long the table grows.
   */
  async contains(record: AuditRecord): Promise<boolean> {
    const rows = await this.sql.query(
      `SELECT 1 AS found FROM ${this.tables.auditLog} WHERE id = $1 AND hash = $2`,
      [record.id, record.hash],
    );
    return rows.length > 0;
  }

  /** One page of a tenant's records, newest first, after the record `beforeId` when given. */
  async page(options: {
    tenantId: string;
    where?: Record<string, string | undefined>;
    first: number;
    beforeId?: number;
  }): Promise<{ records: AuditRecord[]; hasMore: boolean }> {
    const params: unknown[] = [options.tenantId];
    const conditions = ['tenant_id = $1'];
    for (const [column, value] of Object.entries(options.where ?? {})) {
      if (value === undefined || value === null || !FILTER_COLUMNS.has(column)) continue;
      params.push(value);
      conditions.push(`"${column}" = $${params.length}`);
    }
    if (options.beforeId !== undefined) {
      params.push(options.beforeId);
      conditions.push(`id < $${params.length}`);
    }
    params.push(options.first + 1);
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT * FROM ${this.tables.auditLog} WHERE ${conditions.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return {
      records: rows.slice(0, options.first).map(fromRow),
      hasMore: rows.length > options.first,
    };
  }

  async *read(
    options: { tenantId?: string; traceId?: string; afterId?: number } = {},
  ): AsyncIterable<AuditRecord> {
    let after = options.afterId ?? 0;
    for (;;) {
      const rows = await this.sql.query<Record<string, unknown>>(
        `SELECT * FROM ${this.tables.auditLog} WHERE id > $1 ${options.tenantId ? 'AND tenant_id = $3' : ''} ${
          options.traceId ? `AND trace_id = $${options.tenantId ? 4 : 3}` : ''
        } ORDER BY id LIMIT $2`,
        [
          after,
          500,
          ...(options.tenantId ? [options.tenantId] : []),
          ...(options.traceId ? [options.traceId] : []),
        ],
      );
      for (const row of rows) yield fromRow(row);
      if (rows.length < 500) return;
      after = Number(rows.at(-1)!.id);
    }
  }
}

/**
 * How long an append may wait for its turn on the chain, and run (the rest of its transaction: the
 * insert and the commit), before it fails and is retried (a sink) or rolled back (a write).
 */
export const CHAIN_APPEND_TIMEOUT_MS = 15_000;

/**
 * Inserts entries after the last record of `chain` (this process's transaction chain unless
 * named), inside the caller's transaction: the chain is held until that transaction ends.
 */
export async function writeChained(
  tx: Pick<SqlDriver, 'query'>,
  entries: AuditEntry[],
  tables: OrmaiTables,
  chain = TRANSACTION_CHAIN,
): Promise<AuditRecord[]> {
  // This process's writes append to this chain in turn, and a turn lasts until its holder commits
  // (a busy event loop can stretch that). Waiting for it is not the caller's query running long:
  // the role's statement budget (the connection's statement_timeout) would fail the append, and
  // with it the write; the append has a bound of its own.
  await tx.query("SELECT set_config('statement_timeout', $1, true) AS timeout", [
    String(CHAIN_APPEND_TIMEOUT_MS),
  ]);
  await tx.query('SELECT 1 AS locked FROM pg_advisory_xact_lock($1::bigint)', [
    advisoryLockKey(`${tables.auditLog} ${chain}`),
  ]);
  // the head a rolled-back transaction left is the one before it: read under the lock
  const [last] = await tx.query<{ hash: string }>(
    `SELECT hash FROM ${tables.auditLog} WHERE chain_id = $1 ORDER BY id DESC LIMIT 1`,
    [chain],
  );
  const records = chainRecords(last?.hash ?? GENESIS_HASH, entries, chain);
  for (let start = 0; start < records.length; start += ROWS_PER_INSERT) {
    await insertRecords(tx, records.slice(start, start + ROWS_PER_INSERT), tables);
  }
  return records;
}

/** Entries chained after `previous`, on `chain`. */
function chainRecords(previous: string, entries: AuditEntry[], chain: string): AuditRecord[] {
  return entries.map((entry) => {
    const hash = chainHash(previous, entry);
    const record: AuditRecord = { ...entry, prev_hash: previous, hash, chain_id: chain };
    previous = hash;
    return record;
  });
}

/** One INSERT of the records, in chain order; sets their ids. */
async function insertRecords(
  sql: Pick<SqlDriver, 'query'>,
  records: AuditRecord[],
  tables: OrmaiTables,
): Promise<void> {
  const params: unknown[] = [];
  const values = records.map((record) => {
    const cells = COLUMNS.map((column) => {
      const value = record[column];
      params.push(
        // a JSON null is stored as SQL NULL, so `before IS NULL` reads as it should
        JSON_COLUMNS.has(column)
          ? value === undefined || value === null
            ? null
            : JSON.stringify(value)
          : (value ?? null),
      );
      return `$${params.length}${JSON_COLUMNS.has(column) ? '::jsonb' : ''}`;
    });
    return `(${cells.join(', ')})`;
  });
  const inserted = await sql.query<{ id: number | string }>(
    `INSERT INTO ${tables.auditLog} (${COLUMNS.join(', ')}) VALUES ${values.join(', ')} RETURNING id`,
    params,
  );
  inserted.forEach((row, i) => {
    records[i]!.id = Number(row.id);
  });
}

function fromRow(row: Record<string, unknown>): AuditRecord {
  const parse = (value: unknown) =>
    typeof value === 'string' ? JSON.parse(value) : (value ?? null);
  return {
    id: Number(row.id),
    ts: new Date(row.ts as string).toISOString(),
    trace_id: row.trace_id as string,
    surface: row.surface as AuditRecord['surface'],
    operation: row.operation as string,
    model: (row.model as string | null) ?? null,
    principal_sub: (row.principal_sub as string | null) ?? null,
    tenant_id: (row.tenant_id as string | null) ?? null,
    roles: parse(row.roles) ?? [],
    inputs: parse(row.inputs),
    decisions: parse(row.decisions),
    row_count: row.row_count === null ? null : Number(row.row_count),
    affected_rows: row.affected_rows === null ? null : Number(row.affected_rows),
    duration_ms: Number(row.duration_ms),
    outcome: row.outcome as AuditRecord['outcome'],
    error_code: (row.error_code as string | null) ?? null,
    reason: (row.reason as string | null) ?? null,
    before: parse(row.before),
    after: parse(row.after),
    approval_id: (row.approval_id as string | null) ?? null,
    policy_version: (row.policy_version as string | null) ?? null,
    result_digest: (row.result_digest as string | null) ?? null,
    prev_hash: row.prev_hash as string,
    hash: row.hash as string,
    chain_id: (row.chain_id as string | null) ?? null,
  };
}

/** JSON lines, one record per line, rotated to `<file>.1`, `<file>.2`, … past a size. */
export class JsonlAuditSink implements AuditSink {
  readonly name = 'jsonl';
  #last: string;
  #count: number;

  constructor(
    readonly path: string,
    private readonly maxBytes = 50 * 1024 * 1024,
  ) {
    const tail = lastRecord(path);
    this.#last = tail?.hash ?? GENESIS_HASH;
    this.#count = tail ? Number(tail.id) : 0;
  }

  async write(entries: AuditEntry[]): Promise<AuditRecord[]> {
    if (existsSync(this.path) && statSync(this.path).size > this.maxBytes) this.#rotate();
    let previous = this.#last;
    let count = this.#count;
    const records = entries.map((entry) => {
      const hash = chainHash(previous, entry);
      const record: AuditRecord = { id: ++count, ...entry, prev_hash: previous, hash };
      previous = hash;
      return record;
    });
    appendFileSync(this.path, records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    this.#last = previous;
    this.#count = count;
    return records;
  }

  async *read(): AsyncIterable<AuditRecord> {
    const files = rotatedFiles(this.path);
    for (const file of files) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.trim()) yield JSON.parse(line) as AuditRecord;
      }
    }
  }

  #rotate() {
    // the chain continues across files: the next file's first prev_hash is this file's last hash
    const files = rotatedFiles(this.path);
    renameSync(this.path, `${this.path}.${files.length}`);
  }
}

/** `audit.jsonl.1`, `audit.jsonl.2`, …, then `audit.jsonl`: oldest first. */
function rotatedFiles(path: string): string[] {
  const files: string[] = [];
  for (let n = 1; existsSync(`${path}.${n}`); n++) files.push(`${path}.${n}`);
  if (existsSync(path)) files.push(path);
  return files;
}

function lastRecord(path: string): AuditRecord | undefined {
  const files = rotatedFiles(path);
  for (const file of files.reverse()) {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').filter(Boolean);
    if (lines.length > 0) return JSON.parse(lines.at(-1)!) as AuditRecord;
  }
  return undefined;
}

/** Records in memory, for tests. */
export class MemoryAuditSink implements AuditSink {
  readonly name = 'memory';
  readonly records: AuditRecord[] = [];
  /** Set to make writes fail (tests of a sink outage). */
  failing = false;

  async write(entries: AuditEntry[]): Promise<AuditRecord[]> {
    if (this.failing) throw new Error('memory sink is failing on purpose');
    let previous = this.records.at(-1)?.hash ?? GENESIS_HASH;
    const written = entries.map((entry) => {
      const hash = chainHash(previous, entry);
      const record: AuditRecord = {
        id: this.records.length + 1,
        ...entry,
        prev_hash: previous,
        hash,
      };
      this.records.push(record);
      previous = hash;
      return record;
    });
    return written;
  }

  async *read(): AsyncIterable<AuditRecord> {
    yield* this.records;
  }
}
