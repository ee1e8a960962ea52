// Load over loopback HTTP with autocannon, from the bench process (the servers run in their own
// processes, so the load generator never shares an event loop with the server under test).
// autocannon's own histogram rounds to whole milliseconds, too coarse at concurrency 1, so the
// latency of every 2xx response (hrtime, in ms) is kept and the percentiles are computed here.
import autocannon, { type Result } from 'autocannon';
import { postgresCpuMicros } from './postgres-cpu.js';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  connections: number;
  seconds: number;
  /** 2xx responses per second over the measured run. */
  rps: number;
  responses: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  /** CPU time of the server process per response (user + system), when it reports it. */
  serverCpuMs?: number;
  /** CPU time of the PostgreSQL server per response (every `postgres` process, from /proc). */
  databaseCpuMs?: number;
}

function run(url: string, spec: RequestSpec, connections: number, seconds: number) {
  const latencies: number[] = [];
  let started = 0;
  return new Promise<{ latencies: number[]; elapsed: number; result: Result }>(
    (resolve, reject) => {
      started = performance.now();
      const instance = autocannon(
        {
          url: `${url}${spec.path}`,
          connections,
          duration: seconds,
          method: spec.method,
          headers: spec.headers,
          ...(spec.body !== undefined ? { body: spec.body } : {}),
          pipelining: 1,
          timeout: 10,
        },
        (error, result) => {
          if (error) reject(error);
          else resolve({ latencies, elapsed: (performance.now() - started) / 1000, result });
        },
      );
      instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      });
    },
  );
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

function summarize(
  connections: number,
  latencies: number[],
  elapsed: number,
  { errors, non2xx, timeouts }: { errors: number; non2xx: number; timeouts: number },
): LoadResult {
  const sorted = latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    connections,
    seconds: round(elapsed),
    rps: round(sorted.length / elapsed),
    responses: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    mean: round(sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length)),
    errors,
    non2xx,
    timeouts,
  };
}

export async function measureLoad(
  url: string,
  spec: RequestSpec,
  options: { connections: number; seconds: number; warmupSeconds: number },
): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await run(url, spec, options.connections, options.warmupSeconds);
  const { latencies, elapsed, result } = await run(url, spec, options.connections, options.seconds);
  return summarize(options.connections, latencies, elapsed, result);
}

/**
 * Several endpoints measured in turns: each gets `seconds` in slices of about `sliceSeconds`,
 * round-robin (the order rotating every round), so a burst of load from elsewhere on a shared
 * machine falls on all of them alike rather than on whichever ran at that moment.
 */
export async function measureInterleaved(
  targets: { url: string; spec: RequestSpec; cpuMicros?: () => Promise<number> }[],
  options: { connections: number; seconds: number; warmupSeconds: number; sliceSeconds: number },
): Promise<LoadResult[]> {
  for (const target of targets) {
    if (options.warmupSeconds > 0)
      await run(target.url, target.spec, options.connections, options.warmupSeconds);
  }
  const rounds = Math.max(1, Math.round(options.seconds / options.sliceSeconds));
  const slice = options.seconds / rounds;
  const acc = targets.map(() => ({
    latencies: [] as number[],
    elapsed: 0,
    errors: 0,
    non2xx: 0,
    timeouts: 0,
    cpuMicros: 0,
    databaseMicros: 0 as number | undefined,
  }));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (round + k) % targets.length;
      const cpuBefore = await targets[i]!.cpuMicros?.();
      const databaseBefore = postgresCpuMicros();
      const { latencies, elapsed, result } = await run(
        targets[i]!.url,
        targets[i]!.spec,
        options.connections,
        slice,
      );
      const into = acc[i]!;
      const databaseAfter = postgresCpuMicros();
      into.databaseMicros =
        into.databaseMicros === undefined ||
        databaseBefore === undefined ||
        databaseAfter === undefined
          ? undefined
          : into.databaseMicros + databaseAfter - databaseBefore;
      const cpuAfter = await targets[i]!.cpuMicros?.();
      if (cpuBefore !== undefined && cpuAfter !== undefined) into.cpuMicros += cpuAfter - cpuBefore;
      for (const ms of latencies) into.latencies.push(ms);
      into.elapsed += elapsed;
      into.errors += result.errors;
      into.non2xx += result.non2xx;
      into.timeouts += result.timeouts;
    }
  }
  return acc.map((a, i) => {
    const result = summarize(options.connections, a.latencies, a.elapsed, a);
    if (targets[i]!.cpuMicros && result.responses > 0)
      result.serverCpuMs = Math.round((a.cpuMicros / 1000 / result.responses) * 1000) / 1000;
    if (a.databaseMicros !== undefined && result.responses > 0)
      result.databaseCpuMs = Math.round((a.databaseMicros / 1000 / result.responses) * 1000) / 1000;
    return result;
  });
}
