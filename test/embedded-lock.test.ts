// Pins one writer on the embedded database: a second serve is refused with the holder named, approvals
// and stdio mcp go through the running server, nothing is lost; a lock whose process has ended is taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import {
  EmbeddedDatabaseInUseError,
  type EmbeddedLockHolder,
  lockEmbeddedDatabase,
  lockFileOf,
  shortCommand,
} from '../src/db/embedded-lock.js';
import {
  BIN,
  CONFIG,
  cleanEnv,
  runCli,
  runCliAsync,
  type ServedCli,
  serve,
} from './helpers/cli.js';

const temp = mkdtempSync(join(tmpdir(), 'ormai-lock-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let dirs = 0;
const freshDataDir = () => join(temp, `unit-${++dirs}`, 'pgdata');

/** A pid that is not running: a process that has just ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function writeLock(dataDir: string, holder: Partial<EmbeddedLockHolder>) {
  writeFileSync(
    lockFileOf(dataDir),
    JSON.stringify({
      pid: deadPid(),
      host: hostname(),
      command: 'ormai serve',
      argv: ['node', 'bin/ormai.js', 'serve'],
      since: '2026-01-02T03:04:05.678Z',
      token: 'earlier',
      ...holder,
    }),
  );
}

describe('the lock file', () => {
  it('is taken once: a second taker is refused with the holder named, until it is released', async () => {
    const dataDir = freshDataDir();
    const lock = await lockEmbeddedDatabase(dataDir);
    const holder = JSON.parse(readFileSync(lock.path, 'utf8')) as EmbeddedLockHolder;
    expect(lock.path).toBe(`${dataDir}.lock`);
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), argv: process.argv });
    expect(Date.now() - Date.parse(holder.since)).toBeLessThan(60_000);

    const refused = await lockEmbeddedDatabase(dataDir).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EmbeddedDatabaseInUseError);
    expect((refused as EmbeddedDatabaseInUseError).code).toBe('EMBEDDED_DATABASE_IN_USE');
    expect((refused as Error).message).toMatch(
      new RegExp(
        `^the embedded database \\S*pgdata is in use by \`[^\`]+\` \\(pid ${process.pid}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\): stop it, or point DATABASE_URL at PostgreSQL$`,
      ),
    );

    lock.release();
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    (await lockEmbeddedDatabase(dataDir)).release();
  });

  it('left by a process that has ended is taken over, with a line saying so', async () => {
    const dataDir = freshDataDir();
    await lockEmbeddedDatabase(dataDir).then((lock) => lock.release()); // makes the folder
    const lines: string[] = [];
    const dead = deadPid();
    writeLock(dataDir, { pid: dead });
    const lock = await lockEmbeddedDatabase(dataDir, { log: (line) => lines.push(line) });
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    expect(lines).toEqual([
      `the embedded database ${dataDir} was left locked by \`ormai serve\` (pid ${dead}, since 2026-01-02 03:04:05 UTC), which has ended: taking it over`,
    ]);
    lock.release();
  });

  it('naming a live pid that started later (a reused pid) or this pid from before (a restarted container) is taken over', async () => {
    const dataDir = freshDataDir();
    await lockEmbeddedDatabase(dataDir).then((lock) => lock.release());
    const log = () => {};
    writeLock(dataDir, { pid: process.pid, token: 'a-process-before-this-one' });
    (await lockEmbeddedDatabase(dataDir, { log })).release();
    if (existsSync(`/proc/${process.ppid}/stat`)) {
      writeLock(dataDir, { pid: process.ppid, startTicks: 1 });
      (await lockEmbeddedDatabase(dataDir, { log })).release();
    }
  });

  it('naming a live process, or one on another host, is refused; an unreadable one is taken over', async () => {
    const dataDir = freshDataDir();
    await lockEmbeddedDatabase(dataDir).then((lock) => lock.release());
    writeLock(dataDir, { pid: process.ppid, command: 'node server.js' });
    await expect(lockEmbeddedDatabase(dataDir)).rejects.toThrow(
      `is in use by \`node server.js\` (pid ${process.ppid}, since 2026-01-02 03:04:05 UTC)`,
    );
    writeLock(dataDir, { host: 'elsewhere', pid: 4242 });
    await expect(lockEmbeddedDatabase(dataDir)).rejects.toThrow(
      `(pid 4242 on elsewhere, since 2026-01-02 03:04:05 UTC): stop it (if it no longer runs there, delete ${dataDir}.lock), or point DATABASE_URL at PostgreSQL`,
    );
    writeFileSync(lockFileOf(dataDir), '');
    const lines: string[] = [];
    (await lockEmbeddedDatabase(dataDir, { log: (line) => lines.push(line) })).release();
    expect(lines).toEqual([`the lock ${dataDir}.lock is unreadable: taking it over`]);
  });

  it('names the ormai command as typed, and any other program by its script', () => {
    expect(
      shortCommand(['/usr/bin/node', '/app/node_modules/.bin/ormai', 'serve', '-p', '1']),
    ).toBe('ormai serve');
    expect(
      shortCommand(['node', '/x/bin/ormai.js', 'approvals', 'approve', 'id-1', '--tenant', '1']),
    ).toBe('ormai approvals approve');
    expect(shortCommand(['node', '/x/src/cli/main.ts', 'mcp', '--dev-principal', 'sub=1'])).toBe(
      'ormai mcp',
    );
    expect(shortCommand(['/usr/bin/node', '/srv/app/server.js'])).toBe('node /srv/app/server.js');
  });

  it('is taken by openDatabase in a data directory and released by close; memory databases take none', async () => {
    const dataDir = freshDataDir();
    const db = await openDatabase({ kind: 'pglite', dataDir });
    expect(existsSync(lockFileOf(dataDir))).toBe(true);
    await expect(openDatabase({ kind: 'pglite', dataDir })).rejects.toThrow(
      EmbeddedDatabaseInUseError,
    );
    await db.close();
    expect(existsSync(lockFileOf(dataDir))).toBe(false);

    const [one, two] = await Promise.all([
      openDatabase({ kind: 'pglite', dataDir: 'memory://' }),
      openDatabase({ kind: 'pglite', dataDir: 'memory://' }),
    ]);
    expect(await one.sql.query('SELECT 1 AS n')).toEqual([{ n: 1 }]);
    await Promise.all([one.close(), two.close()]);
  }, 120_000);
});

describe('a second process beside `ormai serve` (real processes, one embedded database)', () => {
  const cwd = mkdtempSync(join(temp, 'serve-'));
  const run = (args: string[]) => runCli(cwd, [...args, '--config', CONFIG]);
  let first: ServedCli | undefined;
  afterAll(() => {
    first?.child.kill('SIGKILL');
  });

  it('a second serve is refused naming the server; approvals and stdio mcp go through it; nothing is lost', async () => {
    first = await serve(cwd);
    const server = first;
    const serverFile = join(cwd, '.ormai', 'pgdata.server.json');
    expect(statSync(serverFile).mode & 0o777).toBe(0o600);
    const support = server.tokenOf(1, 'support');
    const listed = await server.graphql(
      support,
      '{ orders(first: 1, orderBy: { id: DESC }) { nodes { id } } }',
    );
    const orderId: number = listed.data.orders.nodes[0].id;
    const changed = await server.graphql(
      support,
      `mutation { updateOrder(id: ${orderId}, data: { notes: "written while others knocked" }, reason: "lock test") { id notes } }`,
    );
    expect(changed.data.updateOrder.notes).toBe('written while others knocked');
    const asked = await server.graphql(
      support,
      `mutation { deleteOrder(id: ${orderId}, reason: "customer cancelled") { success } }`,
    );
    expect(asked.errors[0].extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
    const approvalId: string = asked.errors[0].extensions.details.approval_id;

    const approver = ['--tenant', '1', '--sub', '1', '--config', CONFIG];
    const [second, list] = await Promise.all([
      runCliAsync(cwd, ['serve', '--config', CONFIG, '--port', '0']),
      runCliAsync(cwd, ['approvals', 'list', ...approver]),
    ]);
    expect(second.status, second.stderr).toBe(1);
    expect(second.stderr).toContain(
      `ormai: the embedded database .ormai/pgdata is in use by \`ormai serve\` (pid ${server.pid}, since `,
    );
    expect(second.stderr).toContain('): stop it, or point DATABASE_URL at PostgreSQL\n');
    expect(second.stdout).not.toContain('serving');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(`${approvalId} pending  delete Order`);
    expect(list.stdout).toContain('customer cancelled');

    const approve = await runCliAsync(cwd, ['approvals', 'approve', approvalId, ...approver]);
    expect(approve.status, approve.stderr).toBe(0);
    expect(JSON.parse(approve.stdout)).toMatchObject({
      id: approvalId,
      status: 'approved',
      result: { found: true, softDeleted: true },
    });
    const twice = await runCliAsync(cwd, ['approvals', 'approve', approvalId, ...approver]);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/^ormai: VALIDATION_ERROR: /);

    const client = new Client({ name: 'beside-serve', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--dev-principal', 'sub=1,tenant=1,roles=agent', '--config', CONFIG],
        cwd,
        env: cleanEnv() as Record<string, string>,
        stderr: 'ignore',
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('db_query');
      const result = (await client.callTool({
        name: 'db.query',
        arguments: { model: 'Order', select: ['id', 'tenantId'], take: 5 },
      })) as any;
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      expect(result.structuredContent.data).toHaveLength(5);
      expect(new Set(result.structuredContent.data.map((row: any) => row.tenantId))).toEqual(
        new Set([1]),
      );
      const unknown = (await client
        .callTool({ name: 'db.nothing', arguments: {} })
        .catch((error: unknown) => error)) as Error;
      expect(unknown.message).toContain('TOOL_NOT_FOUND');
    } finally {
      await client.close();
    }
    // a dev token printed by the server works as ORMAI_TOKEN (no secret needed here); a bad one fails
    const asToken = new Client({ name: 'beside-serve-token', version: '1' });
    await asToken.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--config', CONFIG],
        cwd,
        env: cleanEnv({ ORMAI_TOKEN: server.tokenOf(2, 'agent') }) as Record<string, string>,
        stderr: 'ignore',
      }),
    );
    try {
      const result = (await asToken.callTool({
        name: 'db.query',
        arguments: { model: 'Order', select: ['tenantId'], take: 3 },
      })) as any;
      expect(result.structuredContent.data).toEqual([
        { tenantId: 2 },
        { tenantId: 2 },
        { tenantId: 2 },
      ]);
    } finally {
      await asToken.close();
    }
    const badToken = await runCliAsync(cwd, ['mcp', '--config', CONFIG], {
      env: { ORMAI_TOKEN: 'not-a-token' },
    });
    expect(badToken.status).toBe(1);
    expect(badToken.stderr).toContain('ormai: the token is invalid');

    // the first server still serves, and has the write and the approved delete
    expect((await fetch(server.url.replace('/graphql', '/healthz'))).status).toBe(200);
    const read = await server.graphql(
      server.tokenOf(1, 'admin'),
      `{ order(id: ${orderId}) { notes } }`,
    );
    expect(read.data.order).toBeNull();
    expect(await server.stop()).toBe(0);
    first = undefined;
    expect(existsSync(join(cwd, '.ormai', 'pgdata.lock'))).toBe(false);
    expect(existsSync(serverFile)).toBe(false);

    // after it stops: every write and its audit record are on disk, the chain intact
    const verify = run(['audit', 'verify']);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^ok: \d+ record\(s\) in the table/);
    const tail = run(['audit', 'tail', '-n', '50']).stdout;
    expect(tail).toMatch(/graphql mutation updateOrder sub \d+@1 \[support\] ok/);
    expect(tail).toMatch(/graphql approve ormai_approval_request sub 1@1 \[admin\] ok/);
    expect(tail).toMatch(/mcp db_query sub 1@1 \[agent\] ok rows=5/);
    const db = await openDatabase({ kind: 'pglite', dataDir: join(cwd, '.ormai', 'pgdata') });
    try {
      expect(
        await db.sql.query(
          'SELECT notes, "deletedAt" IS NOT NULL AS deleted FROM "Order" WHERE id = $1',
          [orderId],
        ),
      ).toEqual([{ notes: 'written while others knocked', deleted: true }]);
      const decided = await db.sql.query(
        'SELECT operation, principal_sub FROM ormai.ormai_audit_log WHERE approval_id = $1 ORDER BY id',
        [approvalId],
      );
      expect(
        decided.filter((row: any) => row.operation === 'approve ormai_approval_request'),
      ).toEqual([{ operation: 'approve ormai_approval_request', principal_sub: '1' }]);
      expect(decided.filter((row: any) => row.operation === 'approved delete Order')).toHaveLength(
        1,
      );
    } finally {
      await db.close();
    }
  }, 300_000);

  it('a lock left by a process that has ended is taken over by the next command', () => {
    const dead = deadPid();
    writeLock(join(cwd, '.ormai', 'pgdata'), { pid: dead });
    const list = run(['approvals', 'list', '--tenant', '1']);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stderr).toContain(
      `ormai: the embedded database .ormai/pgdata was left locked by \`ormai serve\` (pid ${dead}, since 2026-01-02 03:04:05 UTC), which has ended: taking it over`,
    );
    expect(existsSync(join(cwd, '.ormai', 'pgdata.lock'))).toBe(false);
  }, 120_000);
});
