// What the bench's server processes share: they count the statements they send to PostgreSQL
// (every pg client query, whoever sends it) and talk to the bench over IPC.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/database.js';

export const BENCH_TENANT_ID = 1;

export interface StatementCounts {
  statements: number;
  /** Of those, the ones that count rows (`COUNT(`): db.query should send none unless asked. */
  countQueries: number;
  /** Of those, advisory lock requests (the audit chain's serialisation). */
  advisoryLocks: number;
}

/** Counts every statement sent through node-postgres in this process (a counter, never a timer). */
export function countStatements(): StatementCounts {
  const counts = { statements: 0, countQueries: 0, advisoryLocks: 0 };
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  (pg.Client.prototype as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
    counts.statements++;
    const [first] = args;
    const text =
      typeof first === 'string' ? first : ((first as { text?: unknown } | null)?.text ?? '');
    if (typeof text === 'string') {
      if (/\bCOUNT\s*\(/i.test(text)) counts.countQueries++;
      if (/pg_advisory/i.test(text)) counts.advisoryLocks++;
    }
    return query.apply(this, args);
  };
  return counts;
}

/** Tells the bench where the server listens and answers its questions until it is told to stop. */
export function serveBench(url: string, counts: StatementCounts, stop: () => Promise<void>) {
  // the V8 CPU profiler (what node --cpu-prof runs), started and stopped around a load, so the
  // profile holds the requests and not the start-up
  let profiler: Session | undefined;
  process.on('message', (message: { type?: string; file?: string }) => {
    if (message?.type === 'stats') {
      const cpu = process.cpuUsage();
      process.send?.({ type: 'stats', ...counts, cpuMicros: cpu.user + cpu.system });
    }
    if (message?.type === 'profile-start') {
      void (async () => {
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
        await profiler.post('Profiler.start');
        process.send?.({ type: 'profile-started' });
      })();
    }
    if (message?.type === 'profile-stop' && profiler && message.file) {
      const session = profiler;
      const file = message.file;
      void (async () => {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(file, JSON.stringify(profile));
        session.disconnect();
        process.send?.({ type: 'profile-stopped', file });
      })();
    }
  });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await stop().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('disconnect', () => void shutdown());
  process.send?.({ type: 'ready', url });
}

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/**
 * What a baseline server (hand-written, no-policy) starts with, as ormai starts: its statements
 * counted, the HS256 key made once (src/server/auth.ts), and the pool ormai opens with the
 * statement timeout of its prod budget.
 */
export async function openBaseline(): Promise<{
  counts: StatementCounts;
  key: KeyObject;
  db: Database;
}> {
  const counts = countStatements();
  const key = createSecretKey(new TextEncoder().encode(requireEnv('BENCH_JWT_SECRET')));
  const db = await openDatabase({
    kind: 'postgres',
    url: requireEnv('DATABASE_URL'),
    statementTimeoutMs: 2000,
  });
  return { counts, key, db };
}
