// Pins how the audit log batches the records of reads: records accepted within the batch delay
// share one sink write (one INSERT, one append), a full batch is written without waiting, `flush`
// writes what waits at once, and with `durableReads` nothing waits for company.
import { describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../src/audit/audit-log.js';
import type { AuditEntry } from '../src/audit/record.js';
import { MemoryAuditSink } from '../src/audit/sinks.js';
import { auditEntry } from './helpers/audit.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory sink that remembers the size of each write. */
class CountingSink extends MemoryAuditSink {
  readonly writes: number[] = [];
  override async write(entries: AuditEntry[]) {
    this.writes.push(entries.length);
    return super.write(entries);
  }
}

describe('audit batching', () => {
  it('records accepted within the delay share one write', async () => {
    const sink = new CountingSink();
    const audit = new AuditLog({ sinks: [sink], batchDelayMs: 50 });
    for (let i = 0; i < 5; i++) {
      audit.acceptCall(auditEntry({ trace_id: `t${i}` }));
      await sleep(2);
    }
    expect(sink.writes).toEqual([]);
    await sleep(120);
    expect(sink.writes).toEqual([5]);
    expect(sink.records.map((record) => record.trace_id)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    await audit.close();
  });

  it('writes a full batch without waiting for the delay', async () => {
    const sink = new CountingSink();
    const audit = new AuditLog({ sinks: [sink], batchDelayMs: 60_000, batchSize: 3 });
    for (let i = 0; i < 7; i++) audit.acceptCall(auditEntry({ trace_id: `t${i}` }));
    await sleep(20);
    // two full batches went at once; the seventh record waits for company (or a flush)
    expect(sink.writes).toEqual([3, 3]);
    await audit.flush(1000);
    expect(sink.writes).toEqual([3, 3, 1]);
    await audit.close();
  });

  it('flush writes waiting records at once, not after the delay', async () => {
    const sink = new CountingSink();
    const audit = new AuditLog({ sinks: [sink], batchDelayMs: 60_000 });
    audit.acceptCall(auditEntry());
    audit.acceptCall(auditEntry());
    const started = performance.now();
    await audit.flush(1000);
    expect(performance.now() - started).toBeLessThan(500);
    expect(sink.writes).toEqual([2]);
    await audit.close();
  });

  it('waits 100 ms by default, and not at all with durableReads', async () => {
    vi.useFakeTimers();
    try {
      const batched = new CountingSink();
      const background = new AuditLog({ sinks: [batched] });
      background.acceptCall(auditEntry());
      await vi.advanceTimersByTimeAsync(99);
      expect(batched.writes).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(batched.writes).toEqual([1]);

      const durable = new CountingSink();
      const audit = new AuditLog({ sinks: [durable], durableReads: true });
      let answered = false;
      void audit.acceptCall(auditEntry())?.then(() => {
        answered = true;
      });
      // no clock time passes: the read is written and answered on its own
      await vi.advanceTimersByTimeAsync(0);
      expect(durable.writes).toEqual([1]);
      expect(answered).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
