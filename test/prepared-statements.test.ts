// Pins the prepared statements ormai's PostgreSQL pool names for Prisma: a statement text is named
// the second time it is sent and keeps its name, only so many texts are named, and a URL with
// `pgbouncer=true` (transaction pooling) prepares nothing. The server side runs when
// TEST_DATABASE_URL is set: what a connection holds is read from pg_prepared_statements.
import { afterEach, describe, expect, it } from 'vitest';
import { PrismaClient } from '../examples/saas/generated/prisma/client.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { preparesStatements, statementNames } from '../src/db/statement-names.js';

describe('statement names', () => {
  it('names a text on its second sending, keeps its name, and names no more than the limit', () => {
    const name = statementNames(2);
    const a = { sql: 'SELECT 1' };
    const b = { sql: 'SELECT 2' };
    const c = { sql: 'SELECT 3' };
    expect(name(a)).toBeUndefined();
    const first = name(a);
    expect(first).toMatch(/^ormai_/);
    expect(name(a)).toBe(first);
    expect(name(b)).toBeUndefined();
    const second = name(b);
    expect(second).toMatch(/^ormai_/);
    expect(second).not.toBe(first);
    // the limit is reached: a third text is sent unnamed however often
    for (let i = 0; i < 3; i++) expect(name(c)).toBeUndefined();
    expect(name(a)).toBe(first);
  });

  it('prepares nothing behind PgBouncer in transaction mode', () => {
    expect(preparesStatements(new URL('postgresql://u@h:6432/db?pgbouncer=true'))).toBe(false);
    expect(preparesStatements(new URL('postgresql://u@h:5432/db'))).toBe(true);
    expect(preparesStatements(new URL('postgresql://u@h:5432/db?schema=app'))).toBe(true);
  });
});

const URL_ = process.env.TEST_DATABASE_URL;

describe.runIf(URL_)('prepared statements on PostgreSQL', () => {
  let db: Database | undefined;
  let prisma: { $queryRawUnsafe(sql: string, ...values: unknown[]): Promise<unknown> } | undefined;
  afterEach(async () => {
    await (prisma as { $disconnect?: () => Promise<void> } | undefined)?.$disconnect?.();
    await db?.close();
  });

  // one connection, so Prisma's statements and the check run on the same session
  const open = async (url: string) => {
    db = await openDatabase({ kind: 'postgres', url, poolSize: 1 });
    prisma = new PrismaClient({ adapter: db.adapter as never }) as never;
    const sent = async () => prisma!.$queryRawUnsafe('SELECT $1::int + 1 AS n', 41);
    const prepared = () =>
      db!.sql.query<{ name: string; statement: string }>(
        "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'ormai\\_%'",
      );
    return { sent, prepared };
  };

  it('a statement sent again is prepared once on the connection and answers the same', async () => {
    const { sent, prepared } = await open(URL_!);
    const answers = [await sent(), await sent(), await sent()];
    expect(answers).toEqual([[{ n: 42 }], [{ n: 42 }], [{ n: 42 }]]);
    const statements = await prepared();
    expect(statements).toHaveLength(1);
    expect(statements[0]!.statement).toContain('$1::int + 1');
  });

  it('with pgbouncer=true in the URL nothing is prepared', async () => {
    const url = new URL(URL_!);
    url.searchParams.set('pgbouncer', 'true');
    const { sent, prepared } = await open(url.toString());
    for (let i = 0; i < 3; i++) expect(await sent()).toEqual([{ n: 42 }]);
    expect(await prepared()).toEqual([]);
  });
});
