import { type AuditEntry, asJsonEntry } from './record.js';
import type { AuditSink } from './sinks.js';

export interface AuditLogOptions {
  sinks: AuditSink[];
  /** Records waiting per sink at most; past it, calls are refused rather than records dropped. */
  maxQueue?: number;
  batchSize?: number;
  /**
   * How long a record may wait for others to share its batch (default 100 ms; 0 with
   * `durableReads`, whose callers wait for the write). A full batch is written at once, and
   * `flush` writes at once.
   */
  batchDelayMs?: number;
  /** Refuse reads too while a sink cannot be written (default true); writes are always refused. */
  failClosedReads?: boolean;
  /** `acceptCall` waits until the record is written (see the config's `audit.durableReads`). */
  durableReads?: boolean;
  /** Told about sink failures and recoveries. */
  onError?: (sink: string, error: unknown) => void;
  onRecover?: (sink: string) => void;
}

export class AuditUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditUnavailableError';
  }
}

/** Said to a caller refused without a record (an audit queue is full after a long outage). */
export const NOT_RECORDED_MESSAGE =
  'the audit log is too far behind to record this call, so it was not served';

/** A sink's queue is full: the call cannot be recorded at all, so it is refused unrecorded. */
export class AuditQueueFullError extends AuditUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'AuditQueueFullError';
  }
}

/**
 * A read's record waits this long at most for others to share its batch. Each write has a cost of
 * its own (a statement, a commit's WAL flush, an append) that mostly does not show as CPU of either
 * process: Q1 with the audit log on served 0.80× the requests of audit off at 20 ms, 0.95× at 100
 * (bench/README.md, "audit log cost").
 */
const DEFAULT_BATCH_DELAY_MS = 100;

interface SinkQueue {
  sink: AuditSink;
  pending: AuditEntry[];
  healthy: boolean;
  lastError?: unknown;
  retryDelay: number;
  timer?: NodeJS.Timeout;
  draining?: Promise<void>;
}

/**
 * The audit log's front door: records are accepted into a bounded queue per sink and written in
 * batches in the background, so a read never waits on the audit write. A sink that fails keeps its
 * records and retries with backoff; meanwhile the log reports itself unavailable and callers refuse
 * requests (fail closed) instead of serving them unrecorded. Nothing accepted is dropped.
 */
export class AuditLog {
  readonly #queues: SinkQueue[];
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #batchDelayMs: number;
  readonly #failClosedReads: boolean;
  /** Records a caller waits for (`record`): how many sinks have yet to write each. */
  readonly #waiting = new Map<AuditEntry, { remaining: number; written: () => void }>();
  #closed = false;
  #refusedUnrecorded = 0;

  constructor(private readonly options: AuditLogOptions) {
    this.#queues = options.sinks.map((sink) => ({
      sink,
      pending: [],
      healthy: true,
      retryDelay: 100,
    }));
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#batchSize = options.batchSize ?? 200;
    this.#batchDelayMs =
      options.batchDelayMs ?? (options.durableReads ? 0 : DEFAULT_BATCH_DELAY_MS);
    this.#failClosedReads = options.failClosedReads ?? true;
  }

  /** Records refused because a queue was full: each one a call refused without a record. */
  get refusedUnrecorded(): number {
    return this.#refusedUnrecorded;
  }

  get sinks(): AuditSink[] {
    return this.#queues.map((queue) => queue.sink);
  }

  /** Whether a call of this kind may be served now. */
  available(kind: 'read' | 'write' = 'read'): boolean {
    if (kind === 'read' && !this.#failClosedReads) return true;
    return this.#queues.every((queue) => queue.healthy && queue.pending.length < this.#maxQueue);
  }

  /** Takes a record; it is written shortly. Throws only when the queue is full. */
  accept(given: AuditEntry, options: { except?: string | undefined } = {}): void {
    this.#enqueue(given, options.except);
  }

  /**
   * Takes the record of a call about to be answered: with `durableReads`, a promise to await
   * before answering (`record`); otherwise the record is queued and nothing is returned.
   */
  acceptCall(given: AuditEntry): Promise<void> | undefined {
    if (this.options.durableReads) return this.record(given);
    this.#enqueue(given);
    return undefined;
  }

  /**
   * Takes a record and resolves once every sink has written it: a caller that answers only then
   * never acknowledges a call whose record a crash could lose. Rejects with AuditUnavailableError
   * when that takes longer than `timeoutMs` (the record stays queued and is written later).
   */
  record(given: AuditEntry, options: { timeoutMs?: number } = {}): Promise<void> {
    const { entry, queues } = this.#enqueue(given);
    if (queues === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(entry);
        reject(new AuditUnavailableError('the audit record was not written in time'));
      }, options.timeoutMs ?? 5000);
      timer.unref();
      this.#waiting.set(entry, {
        remaining: queues,
        written: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #enqueue(given: AuditEntry, except?: string): { entry: AuditEntry; queues: number } {
    if (this.#closed) throw new AuditUnavailableError('the audit log is closed');
    // a value JSON cannot hold (a bigint) would fail its sink on every retry: made JSON first
    const entry = asJsonEntry(given);
    const queues = this.#queues.filter((queue) => queue.sink.name !== except);
    const full = queues.find((queue) => queue.pending.length >= this.#maxQueue);
    if (full) {
      this.#refusedUnrecorded += 1;
      throw new AuditQueueFullError(
        `the audit queue of ${full.sink.name} is full (${this.#maxQueue} records waiting)`,
      );
    }
    for (const queue of queues) {
      queue.pending.push(entry);
      this.#schedule(queue);
    }
    return { entry, queues: queues.length };
  }

  #written(batch: AuditEntry[]) {
    if (this.#waiting.size === 0) return;
    for (const entry of batch) {
      const waiter = this.#waiting.get(entry);
      if (!waiter) continue;
      waiter.remaining -= 1;
      if (waiter.remaining === 0) {
        this.#waiting.delete(entry);
        waiter.written();
      }
    }
  }

  stats() {
    return this.#queues.map((queue) => ({
      sink: queue.sink.name,
      pending: queue.pending.length,
      healthy: queue.healthy,
      lastError: queue.lastError
        ? String((queue.lastError as Error).message ?? queue.lastError)
        : undefined,
    }));
  }

  /** Waits until every queue is written, retrying failed sinks, for at most `timeoutMs`. */
  async flush(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // records waiting for their batch delay are written now
      for (const queue of this.#queues) {
        if (queue.healthy && !queue.draining && queue.pending.length > 0) this.#drain(queue);
      }
      await Promise.all(this.#queues.map((queue) => queue.draining));
      const waiting = this.#queues.filter((queue) => queue.pending.length > 0);
      if (waiting.length === 0) return;
      const overdue = Date.now() > deadline;
      // records accepted meanwhile, or left by a partial write: written at once
      if (!overdue && waiting.every((queue) => queue.healthy)) continue;
      if (overdue) {
        throw new AuditUnavailableError(
          `audit records could not be written: ${waiting.map((q) => `${q.sink.name} ${q.pending.length}`).join(', ')} waiting (${String(
            (waiting[0]!.lastError as Error | undefined)?.message ?? 'no error',
          )})`,
        );
      }
      // a failed sink is tried again now, not after its backoff
      for (const queue of waiting) if (!queue.draining) this.#drain(queue);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Flushes what is queued (reporting what cannot be written) and closes the sinks. */
  async close(timeoutMs = 10_000): Promise<void> {
    try {
      await this.flush(timeoutMs);
    } finally {
      this.#closed = true;
      for (const queue of this.#queues) clearTimeout(queue.timer);
      await Promise.all(this.#queues.map((queue) => queue.sink.close?.()));
    }
  }

  /**
   * Starts the queue's next write: at once when a batch is full or nothing should wait, else after
   * the batch delay, so the records of requests that follow share the write: one statement, one
   * commit, one append for all of them instead of one each (most of a read's audit cost).
   */
  #schedule(queue: SinkQueue) {
    // a write under way schedules the next when it ends; a failed sink retries on its own timer
    if (!queue.healthy || queue.draining) return;
    if (this.#batchDelayMs === 0 || queue.pending.length >= this.#batchSize) {
      this.#drain(queue);
    } else if (!queue.timer) {
      queue.timer = setTimeout(() => this.#drain(queue), this.#batchDelayMs);
    }
  }

  #drain(queue: SinkQueue) {
    clearTimeout(queue.timer);
    queue.timer = undefined;
    queue.draining = (async () => {
      // a microtask later, so records accepted in the same tick share a batch
      await Promise.resolve();
      // full batches go at once; a partial one waits for the next turn (#schedule)
      while (queue.pending.length > 0) {
        const batch = queue.pending.slice(0, this.#batchSize);
        let written: number;
        try {
          written = (await queue.sink.write(batch)).length;
        } catch (error) {
          queue.lastError = error;
          if (queue.healthy) this.options.onError?.(queue.sink.name, error);
          queue.healthy = false;
          queue.timer = setTimeout(() => this.#drain(queue), queue.retryDelay);
          queue.timer.unref();
          queue.retryDelay = Math.min(queue.retryDelay * 2, 2000);
          return;
        }
        // a sink may store the first records only: the rest stay queued for its next write
        queue.pending.splice(0, written);
        this.#written(batch.slice(0, written));
        if (!queue.healthy) this.options.onRecover?.(queue.sink.name);
        queue.healthy = true;
        queue.retryDelay = 100;
        if (this.#batchDelayMs > 0 && queue.pending.length < this.#batchSize) break;
      }
    })().finally(() => {
      queue.draining = undefined;
      // records accepted while this write was under way
      if (queue.pending.length > 0) this.#schedule(queue);
    });
  }
}
