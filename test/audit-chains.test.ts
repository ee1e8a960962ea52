// The audit table's chains, one per writer: two sinks on one table (two replicas) append without
// a lock or a read of the table, one INSERT per batch, and `audit verify` still names an edited,
// deleted, reordered or moved record on either chain. A batch whose INSERT fails after it
// committed (the connection lost) is not written twice; write transactions of two processes do not
// wait for each other; a rolled-back write leaves its chain whole.
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/audit-log.js';
import type { AuditEntry, AuditRecord } from '../src/audit/record.js';
import { verifyChain } from '../src/audit/record.js';
import { SqlAuditSink, writeChained } from '../src/audit/sinks.js';
import { verifyAudit } from '../src/cli/audit.js';
import type { SqlDriver } from '../src/db/database.js';
import { auditEntry } from './helpers/audit.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

const entry = (trace: string): AuditEntry =>
  auditEntry({
    trace_id: trace,
    operation: 'query orders',
    model: 'Order',
    inputs: { variables: { first: 1 } },
    decisions: { roles: ['agent'] },
    row_count: 1,
    duration_ms: 1.5,
  });

/** The driver with every statement it is given counted (and, when set, an INSERT failed). */
function counting(sql: SqlDriver) {
  const statements: string[] = [];
  const state = { failInsert: undefined as 'before' | 'after' | undefined };
  const driver: SqlDriver = {
    exec: (text) => sql.exec(text),
    async query(text, params) {
      statements.push(text);
      const insert = text.startsWith('INSERT');
      if (insert && state.failInsert === 'before') throw new Error('connection lost');
      const rows = await sql.query(text, params);
      // committed, but the answer never arrived
      if (insert && state.failInsert === 'after') throw new Error('connection lost');
      return rows as never;
    },
    transaction: (fn) => sql.transaction(fn),
  };
  return { driver, statements, state };
}

describe.each(DATABASE_KINDS)('audit chains, one per writer (%s)', (kind) => {
  const app = useTestApp(kind);
  const table = () => app.runtime.tables.auditLog;
  const rows = async () => {
    const all: AuditRecord[] = [];
    for await (const record of new SqlAuditSink(app.runtime.db.sql, app.runtime.tables).read())
      all.push(record);
    return all;
  };

  it('two writers append to chains of their own: one INSERT per batch, no lock, no lookup', async () => {
    const a = counting(app.runtime.db.sql);
    const b = counting(app.runtime.db.sql);
    const sinkA = new SqlAuditSink(a.driver, app.runtime.tables);
    const sinkB = new SqlAuditSink(b.driver, app.runtime.tables);
    expect(sinkA.chainId).not.toBe(sinkB.chainId);
    const logA = new AuditLog({ sinks: [sinkA] });
    const logB = new AuditLog({ sinks: [sinkB] });
    // interleaved: ids of the two chains alternate in the table
    for (let i = 0; i < 10; i++) {
      await Promise.all([logA.record(entry(`a${i}`)), logB.record(entry(`b${i}`))]);
    }
    for (const { statements } of [a, b]) {
      expect(statements).toHaveLength(10);
      expect(statements.every((text) => text.startsWith('INSERT'))).toBe(true);
    }
    // a batch of records queued together is one statement
    await Promise.all(Array.from({ length: 20 }, (_, i) => logA.record(entry(`a-many${i}`))));
    expect(a.statements).toHaveLength(11);

    const records = await rows();
    expect(records).toHaveLength(40);
    expect(new Set(records.map((r) => r.chain_id))).toEqual(
      new Set([sinkA.chainId, sinkB.chainId]),
    );
    expect(verifyChain(records)).toEqual({ ok: true, checked: 40, chains: 2 });
    expect((await verifyAudit(app.runtime)).lines).toEqual([
      'ok: 40 record(s) in the table ormai_audit_log, each of its 2 hash chains is intact',
    ]);
    await Promise.all([logA.close(), logB.close()]);
  });

  it('verify names an edited, deleted, reordered or moved record on either chain', async () => {
    const records = await rows();
    const [chainA, chainB] = [...new Set(records.map((r) => r.chain_id))];
    const ofA = records.filter((r) => r.chain_id === chainA);
    const ofB = records.filter((r) => r.chain_id === chainB);
    const broken = async () => (await verifyAudit(app.runtime)).lines[0];

    // edited, on chain B
    await app.sql(`UPDATE ${table()} SET row_count = 7 WHERE id = $1`, [ofB[4]!.id]);
    expect(await broken()).toBe(
      `broken: record ${ofB[4]!.id} in the table ormai_audit_log: hash does not match its content: the record was changed`,
    );
    await app.sql(`UPDATE ${table()} SET row_count = 1 WHERE id = $1`, [ofB[4]!.id]);
    expect((await verifyAudit(app.runtime)).ok).toBe(true);

    // reordered, on chain A: two records swap places (their ids)
    const swap = async () => {
      await app.sql(`UPDATE ${table()} SET id = -1 WHERE id = $1`, [ofA[2]!.id]);
      await app.sql(`UPDATE ${table()} SET id = $1 WHERE id = $2`, [ofA[2]!.id, ofA[3]!.id]);
      await app.sql(`UPDATE ${table()} SET id = $1 WHERE id = -1`, [ofA[3]!.id]);
    };
    await swap();
    expect(await broken()).toMatch(
      new RegExp(`^broken: record ${ofA[2]!.id} .*a record before it is missing or was changed$`),
    );
    await swap();
    expect((await verifyAudit(app.runtime)).ok).toBe(true);

    // moved to the other chain
    await app.sql(`UPDATE ${table()} SET chain_id = $1 WHERE id = $2`, [chainB, ofA[5]!.id]);
    expect(await broken()).toMatch(new RegExp(`^broken: record ${ofA[5]!.id} `));
    await app.sql(`UPDATE ${table()} SET chain_id = $1 WHERE id = $2`, [chainA, ofA[5]!.id]);

    // deleted, on chain A: the next record of chain A names the gap
    await app.sql(`DELETE FROM ${table()} WHERE id = $1`, [ofA[6]!.id]);
    expect(await broken()).toMatch(
      new RegExp(`^broken: record ${ofA[7]!.id} .*a record before it is missing or was changed$`),
    );
  });

  it('a batch that committed though its INSERT failed is not written again; one that did not is', async () => {
    await app.sql(`DELETE FROM ${table()}`);
    const { driver, statements, state } = counting(app.runtime.db.sql);
    const sink = new SqlAuditSink(driver, app.runtime.tables);
    const [first, second, third, fourth] = ['first', 'second', 'third', 'fourth'].map(entry);
    await sink.write([first!]);

    // committed, unanswered: given again with the next one, only it is reported written
    state.failInsert = 'after';
    await expect(sink.write([second!])).rejects.toThrow('connection lost');
    state.failInsert = undefined;
    expect((await sink.write([second!, third!])).map((r) => r.trace_id)).toEqual(['second']);
    expect((await sink.write([third!])).map((r) => r.trace_id)).toEqual(['third']);

    // not committed: written on the retry, after the head read back
    state.failInsert = 'before';
    await expect(sink.write([fourth!])).rejects.toThrow('connection lost');
    state.failInsert = undefined;
    await sink.write([fourth!]);

    // the log keeps what a sink did not report written, and writes it next
    const failures: unknown[] = [];
    const log = new AuditLog({
      sinks: [sink],
      onError: (_sink, error) => {
        failures.push(error);
        state.failInsert = undefined;
      },
    });
    state.failInsert = 'after';
    await log.record(entry('fifth'));
    expect(failures).toHaveLength(1);
    await log.close();

    const records = await rows();
    expect(records.map((r) => r.trace_id)).toEqual(['first', 'second', 'third', 'fourth', 'fifth']);
    expect(verifyChain(records)).toEqual({ ok: true, checked: 5, chains: 1 });
    // the head was read back after each failure only (an index lookup), never per batch
    expect(statements.filter((text) => text.startsWith('SELECT'))).toHaveLength(3);
  });

  it('a rolled-back write leaves its chain whole; the next write links to the record before', async () => {
    await app.sql(`DELETE FROM ${table()}`);
    const sql = app.runtime.db.sql;
    const tables = app.runtime.tables;
    const [first] = await sql.transaction((tx) => writeChained(tx, [entry('w1')], tables));
    await expect(
      sql.transaction(async (tx) => {
        await writeChained(tx, [entry('rolled-back')], tables);
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    const [third] = await sql.transaction((tx) => writeChained(tx, [entry('w3')], tables));
    expect(third!.prev_hash).toBe(first!.hash);
    const sink = new SqlAuditSink(sql, tables);
    expect(await sink.contains(first!)).toBe(true);
    expect(await sink.contains({ ...first!, hash: third!.hash })).toBe(false);
    const records = await rows();
    expect(records.map((r) => r.trace_id)).toEqual(['w1', 'w3']);
    expect(verifyChain(records).ok).toBe(true);
  });

  it.runIf(kind === 'postgres')(
    "one process's open write transaction does not hold another's chain",
    async () => {
      const sql = app.runtime.db.sql;
      const tables = app.runtime.tables;
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let appended!: () => void;
      const holding = new Promise<void>((resolve) => {
        appended = resolve;
      });
      const replicaA = sql.transaction(async (tx) => {
        await writeChained(tx, [entry('replica-a')], tables, 'replica-a:tx');
        appended();
        await held;
      });
      await holding;
      // replica B's write commits while replica A's transaction still holds A's chain
      const [written] = await sql.transaction((tx) =>
        writeChained(tx, [entry('replica-b')], tables, 'replica-b:tx'),
      );
      expect(written!.chain_id).toBe('replica-b:tx');
      // this process's own next write waits for its turn on the same chain
      let secondDone = false;
      const second = sql
        .transaction((tx) => writeChained(tx, [entry('replica-a-2')], tables, 'replica-a:tx'))
        .then(() => {
          secondDone = true;
        });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(secondDone).toBe(false);
      release();
      await Promise.all([replicaA, second]);
      const records = await rows();
      const ofA = records.filter((r) => r.chain_id === 'replica-a:tx');
      expect(ofA.map((r) => r.trace_id)).toEqual(['replica-a', 'replica-a-2']);
      expect(verifyChain(records).ok).toBe(true);
    },
  );
});
