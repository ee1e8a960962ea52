// CPU time of the PostgreSQL server on this machine (every process named `postgres`: backends,
// the WAL writer, the checkpointer, autovacuum, and the backends that have ended), read from
// /proc: what a request costs the database next to what it costs the server that sent it.
// Undefined where /proc is not Linux's.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: Linux reports utime and stime in these ticks (100 on every mainstream build). */
const TICKS_PER_SECOND = 100;

export function postgresCpuMicros(): number | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // the process ended between the listing and the read
    }
    // `pid (comm) state ppid …`: comm may hold spaces, so the fields are counted after its `)`
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    const fields = stat.slice(close + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after state; cutime and cstime
    // (16, 17) are the CPU of reaped children: a backend whose connection a pool closed leaves the
    // listing, and its CPU would leave the sum (a negative figure) if the postmaster's did not keep it
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return (ticks / TICKS_PER_SECOND) * 1_000_000;
}
