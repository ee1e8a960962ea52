// Pins the exit status of every `ormai` command, run as a user runs it (bin/ormai.js over dist/):
// 0 when it did what it was asked, 1 when it did not, whatever the database did on closing.
//
// | command              | 0 when                                  | 1 when                                          | asserted in
// |----------------------|-----------------------------------------|-------------------------------------------------|--------------------------------------
// | --help               | always                                  |                                                 | here
// | (unknown command)    |                                         | always                                          | here
// | serve                | stopped by SIGTERM                      | bad --port; database in use; damaged database;  | here; embedded-lock; first-start;
// |                      |                                         | a policy that fails check                       | e2e-server; check
// | mcp                  | the client closed stdin                 | no ORMAI_TOKEN; database in use                 | here; embedded-lock
// | migrate              | tables created or up to date            | database unreachable                            | here
// | seed                 | seeded, already seeded, --reset         | database in use; damaged without --reset        | here; first-start; e2e-server
// | check                | the policy passes                       | a finding of severity error                     | check ('the CLI exits 1 …')
// | explain              | printed                                 | the config cannot be loaded                     | here
// | mcp-config           | printed; installed (or up to date)      | the config cannot be loaded; a file not JSON    | here; mcp-config
// | generate view, tool  | printed (--dry-run), written, unchanged | a field or query a role cannot read             | here; generate
// | policy diff          | printed (changes or none)               | a policy file missing or not a policy           | here; policy-diff
// | record               | written                                 | a bad --since                                   | here; replay
// | replay               | every call as recorded, no violation    | a difference or violation; a missing file       | here; replay
// | approvals list       | listed (also: none)                     | no --tenant; database in use                    | here; embedded-lock
// | approvals approve    | approved                                | unknown or already decided request              | here; e2e-server
// | approvals reject     | rejected                                | unknown request                                 | here
// | audit verify         | chain intact (table, JSONL)             | a record changed, in the table or the JSONL     | here; e2e-server
// | audit tail           | printed                                 | database in use                                 | here
// | token                | signed                                  | no ORMAI_JWT_SECRET; a bad --expires            | e2e-server; here
// | init                 | written (or up to date) and checked     | no Prisma schema; files differ without --force  | init; here
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { lockEmbeddedDatabase } from '../src/db/embedded-lock.js';
import { CONFIG, runCli, runCliAsync } from './helpers/cli.js';

const POLICY = join(import.meta.dirname, '..', 'examples', 'saas', 'policy.ts');

const temp = mkdtempSync(join(tmpdir(), 'ormai-exit-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('commands that open no database', () => {
  it('exit 0 on success and 1 on failure', async () => {
    const cwd = mkdtempSync(join(temp, 'plain-'));
    const secret = { ORMAI_JWT_SECRET: 'exit-code-secret' };
    const config = ['--config', CONFIG];
    const cases: [args: string[], status: number, env?: Record<string, string>][] = [
      [['--help'], 0],
      [['no-such-command'], 1],
      [['serve', '--config', CONFIG, '--port', 'abc'], 1],
      [['mcp', '--config', CONFIG], 1],
      [['explain', '--config', CONFIG], 0],
      [['explain', '--config', 'missing.config.ts'], 1],
      [['mcp-config', '--config', CONFIG], 0],
      [['mcp-config', '--config', 'missing.config.ts'], 1],
      [
        ['generate', 'tool', 't', '--query', '{ orders { totalCount } }', '--dry-run', ...config],
        0,
      ],
      [['generate', 'view', 'Customer', '--name', 'V', '--fields', 'ssn', ...config], 1],
      [['policy', 'diff', POLICY, POLICY, ...config], 0],
      [['policy', 'diff', 'missing.ts', POLICY, ...config], 1],
      [['record', '--out', 'calls.jsonl', '--since', 'not-a-date', ...config], 1],
      [['replay', 'missing.jsonl', ...config], 1],
      [['token', '--sub', '1', '--tenant', '2'], 0, secret],
      [['token', '--sub', '1', '--expires', 'soon'], 1, secret],
      // an empty folder has no Prisma schema to start from
      [['init', '--yes'], 1],
      [
        ['migrate', '--config', CONFIG],
        1,
        { DATABASE_URL: 'postgresql://ormai@127.0.0.1:1/unreachable' },
      ],
    ];
    const runs = await Promise.all(
      cases.map(([args, , env]) => runCliAsync(cwd, args, env ? { env } : {})),
    );
    const statuses = runs.map((run, i) => [cases[i]![0].join(' '), run.status]);
    expect(statuses).toEqual(cases.map(([args, status]) => [args.join(' '), status]));
    for (const [i, run] of runs.entries()) {
      if (run.status === 1) expect(run.stderr, cases[i]![0].join(' ')).toMatch(/\S/);
    }
    expect(runs[6]!.stdout).toContain('mcpServers');
  }, 300_000);
});

describe('commands on the embedded database', () => {
  const cwd = mkdtempSync(join(temp, 'embedded-'));
  const dataDir = join(cwd, '.ormai', 'pgdata');
  const jsonl = join(cwd, '.ormai', 'audit.jsonl');
  const run = (args: string[]) => runCli(cwd, [...args, '--config', CONFIG]);
  const expectStatus = (args: string[], status: number) => {
    const result = run(args);
    expect(result.status, `ormai ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(
      status,
    );
    return result;
  };

  it('seed, migrate, approvals, audit tail and stdio mcp exit 0 on success and 1 on failure', () => {
    expect(expectStatus(['seed'], 0).stdout).toContain('seeded: {"tenants":3');
    expect(expectStatus(['seed'], 0).stdout).toContain('already seeded');
    expect(expectStatus(['migrate'], 0).stdout).toContain('up to date');
    expect(expectStatus(['approvals', 'list', '--tenant', '1'], 0).stdout).toBe('no requests\n');
    expect(expectStatus(['approvals', 'approve', 'nope', '--tenant', '1'], 1).stderr).toContain(
      'NOT_FOUND',
    );
    expectStatus(['approvals', 'reject', 'nope', '--tenant', '1'], 1);
    expectStatus(['approvals', 'list'], 1);
    expect(expectStatus(['audit', 'tail'], 0).stdout).toMatch(/query approvalRequests/);
    // a client that connects and leaves at once
    const mcp = runCli(
      cwd,
      ['mcp', '--dev-principal', 'sub=1,tenant=1,roles=agent', '--config', CONFIG],
      {
        input: '',
      },
    );
    expect(mcp.status, mcp.stderr).toBe(0);
  }, 300_000);

  it('audit verify exits 1 on a record changed in the table, and in the JSONL file', async () => {
    expect(expectStatus(['audit', 'verify'], 0).stdout).toMatch(/^ok: [1-9]\d* record\(s\)/);
    expect(expectStatus(['audit', 'verify', '--jsonl', jsonl], 0).stdout).toMatch(/^ok: /);

    const db = await openDatabase({ kind: 'pglite', dataDir });
    let id: string;
    try {
      const [first] = await db.sql.query<{ id: string }>(
        'SELECT id::text AS id FROM ormai.ormai_audit_log ORDER BY id LIMIT 1',
      );
      id = first!.id;
      await db.sql.query(
        'UPDATE ormai.ormai_audit_log SET row_count = coalesce(row_count, 0) + 1 WHERE id = $1',
        [id],
      );
    } finally {
      await db.close();
    }
    expect(expectStatus(['audit', 'verify'], 1).stdout).toContain(
      `broken: record ${id} in the table ormai_audit_log: hash does not match its content: the record was changed`,
    );

    const lines = readFileSync(jsonl, 'utf8').split('\n');
    const record = JSON.parse(lines[0]!);
    lines[0] = JSON.stringify({ ...record, tenant_id: '2' });
    writeFileSync(jsonl, lines.join('\n'));
    expect(expectStatus(['audit', 'verify', '--jsonl', jsonl], 1).stdout).toContain(
      `broken: record ${record.id} in the file ${jsonl}`,
    );
  }, 300_000);

  it('seed and audit tail exit 1 while another process holds the database', async () => {
    const lock = await lockEmbeddedDatabase(dataDir);
    try {
      for (const args of [['seed'], ['audit', 'tail']]) {
        expect(expectStatus(args, 1).stderr).toMatch(
          new RegExp(
            `^ormai: the embedded database \\.ormai/pgdata is in use by \`.+\` \\(pid ${process.pid}, since `,
          ),
        );
      }
    } finally {
      lock.release();
    }
  }, 120_000);
});
