// Pins the crash-safe first start: `ormai serve` interrupted at each stage of creating the embedded
// database leaves none or a whole one, the next start serves; a damaged one gets a way out, never
// `[object Object]`.
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/describe-error.js';
import { CONFIG, runCli, type ServeProcess, serve, spawnServe } from './helpers/cli.js';

describe('describeError', () => {
  it('gives one useful line for anything thrown', () => {
    expect(describeError(new Error('boom'))).toBe('boom');
    // what PGlite's file system throws on a data directory it cannot initialise
    expect(describeError({ name: 'ErrnoError', errno: 20 })).toBe('ErrnoError errno 20');
    expect(describeError({ code: 'EACCES' })).toBe('EACCES');
    expect(describeError({ message: 'from a plain object' })).toBe('from a plain object');
    expect(describeError({ rows: 1 })).toBe('{"rows":1}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeError(circular)).toBe('Object');
    expect(describeError('text')).toBe('text');
    expect(describeError(undefined)).toBe('undefined');
  });
});

describe('the first start of `ormai serve` (real process, fresh embedded database)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-first-start-'));
  const ormaiDir = join(cwd, '.ormai');
  const dataDir = join(ormaiDir, 'pgdata');
  let running: ServeProcess | undefined;
  afterAll(() => {
    running?.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  /** Starts serve, waits for `stage` in its output, sends SIGINT and waits for the end. */
  async function interruptAt(stage: RegExp) {
    running = spawnServe(cwd);
    await running.waitFor(stage);
    running.child.kill('SIGINT');
    const ended = await running.exited;
    const output = running.stdout();
    running = undefined;
    return { ...ended, output };
  }

  it('interrupted while creating, migrating or seeding: no half-made database, then a normal start serves', async () => {
    const stages = [
      /opening the embedded database/,
      /creating the embedded database in \.ormai\/pgdata \(first run\)/,
      /seeding the saas example data \(first run\)/,
      /seed: Customer 600\/600/,
    ];
    for (const stage of stages) {
      const interrupted = await interruptAt(stage);
      // Ctrl-C ends it as Ctrl-C ends any program, and the lock goes with it
      expect(interrupted.signal ?? interrupted.code, interrupted.output).toBeTruthy();
      expect(existsSync(`${dataDir}.lock`)).toBe(false);
      // the data directory appears whole, at the end, or not at all
      if (existsSync(dataDir)) {
        expect(interrupted.output).toContain('seed: OrderItem 8929/8929');
        break;
      }
    }
    if (!existsSync(dataDir)) {
      const leftovers = readdirSync(ormaiDir).filter((name) => name.includes('.creating-'));
      expect(leftovers.length).toBeGreaterThan(0);
    }

    const server = await serve(cwd);
    running = server;
    expect(server.stdout()).not.toContain('[object Object]');
    expect(readdirSync(ormaiDir).filter((name) => name.includes('.creating-'))).toEqual([]);
    const health = await fetch(server.url.replace('/graphql', '/healthz'));
    expect(health.status).toBe(200);
    const body = await server.graphql(
      server.tokenOf(1, 'admin'),
      '{ orders(first: 1) { totalCount } customers(first: 1) { totalCount } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.orders.totalCount).toBeGreaterThan(900);
    expect(body.data.customers.totalCount).toBeGreaterThan(100);
    expect(await server.stop()).toBe(0);
    running = undefined;
  }, 600_000);

  it('a damaged database is named with the way out; `ormai seed --reset` moves it aside and starts anew', () => {
    // what an interrupted initdb of an earlier ormai left: files, but no PG_VERSION
    unlinkSync(join(dataDir, 'PG_VERSION'));
    const refused = runCli(cwd, ['serve', '--config', CONFIG, '--port', '0']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).not.toContain('[object Object]');
    expect(refused.stderr).toBe(
      'ormai: the embedded database .ormai/pgdata cannot be opened (ErrnoError errno 20): it is damaged or a first start was interrupted; start a new one with `ormai seed --reset` (moves it aside to .ormai/pgdata.damaged-…) or delete .ormai/pgdata\n',
    );
    expect(runCli(cwd, ['approvals', 'list', '--tenant', '1', '--config', CONFIG]).status).toBe(1);

    const reset = runCli(cwd, ['seed', '--reset', '--config', CONFIG]);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(
      /the embedded database \.ormai\/pgdata could not be opened \(ErrnoError errno 20\): moved it to \.ormai\/pgdata\.damaged-\S+\n/,
    );
    expect(reset.stdout).toContain('seeded: {"tenants":3');
    expect(readdirSync(ormaiDir).filter((name) => name.includes('.damaged-'))).toHaveLength(1);
    const list = runCli(cwd, ['approvals', 'list', '--tenant', '1', '--config', CONFIG]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toBe('no requests\n');
  }, 300_000);
});
