// Run as a child process by reliability.test.ts: PostgreSQL terminates a pool connection while it
// idles, then one checked out inside a transaction; the process must live on and the pool reconnect.
// Prints `ok` and exits 0, or dies of the unhandled 'error' event.
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';

const url = process.argv[2]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const db = await openDatabase({ kind: 'postgres', url, poolSize: 2 });
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const terminate = async (pid: number) => {
  const { rows } = await admin.query('SELECT pg_terminate_backend($1) AS done', [pid]);
  if (rows[0].done !== true) throw new Error(`backend ${pid} was not terminated`);
  await sleep(300);
};

const [idle] = await db.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
await terminate(idle!.pid);
const failed = await db.sql
  .transaction(async (tx) => {
    const [own] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(own!.pid);
    await tx.query('SELECT 1');
  })
  .then(
    () => false,
    () => true,
  );
if (!failed) throw new Error('a statement on a terminated connection succeeded');
const [again] = await db.sql.query<{ one: number }>('SELECT 1 AS one');
await admin.end();
await db.close();
console.log(again?.one === 1 ? 'ok' : 'the pool did not reconnect');
