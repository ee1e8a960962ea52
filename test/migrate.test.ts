// Pins the migration runner: applies Prisma-layout SQL once, records name + checksum, and refuses to
// run when an applied file changed.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/db/database.js';
import { MigrationChecksumError, migrate, readMigrations } from '../src/db/migrate.js';
import { traceIdFrom } from '../src/server/trace.js';

describe('migrate', () => {
  let db: Database;
  const dir = mkdtempSync(join(tmpdir(), 'ormai-migrations-'));
  const write = (name: string, sql: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  };

  beforeAll(async () => {
    db = await openDatabase({ kind: 'pglite' });
  });
  afterAll(() => db.close());

  it('applies new migrations once, in order, and records them', async () => {
    write('20250101000000_a', 'CREATE TABLE a (id int);');
    write('20250102000000_b', 'CREATE TABLE b (id int); INSERT INTO b VALUES (1);');
    expect(await migrate(db.sql, readMigrations(dir))).toEqual({
      applied: ['20250101000000_a', '20250102000000_b'],
      alreadyApplied: [],
    });
    expect(await migrate(db.sql, readMigrations(dir))).toEqual({
      applied: [],
      alreadyApplied: ['20250101000000_a', '20250102000000_b'],
    });
    const rows = await db.sql.query<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM "_ormai_migrations" ORDER BY name',
    );
    expect(rows.map((row) => row.name)).toEqual(['20250101000000_a', '20250102000000_b']);
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(await db.sql.query('SELECT count(*)::int AS n FROM b')).toEqual([{ n: 1 }]);
  });

  it('refuses to run when an applied file changed, and applies nothing', async () => {
    write('20250102000000_b', 'CREATE TABLE b (id int); INSERT INTO b VALUES (2);');
    write('20250103000000_c', 'CREATE TABLE c (id int);');
    await expect(migrate(db.sql, readMigrations(dir))).rejects.toBeInstanceOf(
      MigrationChecksumError,
    );
    expect(await db.sql.query("SELECT to_regclass('c') AS c")).toEqual([{ c: null }]);
  });

  it('rolls a failing migration back', async () => {
    write('20250102000000_b', 'CREATE TABLE b (id int); INSERT INTO b VALUES (1);');
    write('20250103000000_c', 'CREATE TABLE c (id int); SELECT no_such_function();');
    await expect(migrate(db.sql, readMigrations(dir))).rejects.toThrow(/no_such_function/);
    expect(await db.sql.query("SELECT to_regclass('c') AS c")).toEqual([{ c: null }]);
  });
});

describe('traceIdFrom', () => {
  it('takes the trace id of a valid traceparent, else makes one', () => {
    expect(traceIdFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    for (const bad of [
      null,
      '',
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    ]) {
      const id = traceIdFrom(bad);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id).not.toBe('00000000000000000000000000000000');
    }
  });

  it('makes a new id each time, from a UUID’s random bits', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => traceIdFrom(null)));
    expect(ids.size).toBe(5000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  });
});
