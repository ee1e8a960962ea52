// Pins `ormai mcp-config` (the real CLI): it lists exactly the tools tools/list gives a token of
// those roles, writes each client's own file format (Claude Desktop, Claude Code, Cursor, VS Code)
// and merges it into the file with a backup, and its stdio server runs this installation by
// absolute path from any directory (never `npx ormai`, which could fetch another package).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { useHttpServer } from './helpers/http.js';
import { useTestApp } from './helpers/runtime.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ormai.js');
const CONFIG = join(ROOT, 'ormai.config.ts');

describe('ormai mcp-config', () => {
  const app = useTestApp('pglite');
  const server = useHttpServer(app, { domainTools: true });
  const work = mkdtempSync(join(tmpdir(), 'ormai-mcp-config-'));
  const cwd = join(work, 'project');
  const home = join(work, 'home');
  mkdirSync(cwd);
  mkdirSync(home);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const mcpConfig = (args: string[], env: Record<string, string> = {}) => {
    const base: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...env };
    for (const name of ['ORMAI_JWT_SECRET', 'DATABASE_URL', 'ORMAI_TOKEN', 'XDG_CONFIG_HOME'])
      if (!env[name]) delete base[name];
    return spawnSync(process.execPath, [BIN, 'mcp-config', '--config', CONFIG, ...args], {
      cwd,
      env: base,
      encoding: 'utf8',
    });
  };
  const printed = (...args: string[]) => {
    const result = mcpConfig(args);
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };

  const listedOverHttp = async (roles: string[], tenantId: number) => {
    const client = new Client({ name: 'mcp-config-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: {
          headers: { authorization: `Bearer ${await app.token({ sub: '1', tenantId, roles })}` },
        },
      }),
    );
    try {
      return (await client.listTools()).tools.map((tool) => tool.name);
    } finally {
      await client.close();
    }
  };

  it.each([['support'], ['agent'], ['sales,support']])(
    '--roles %s lists the tools tools/list gives such a token over HTTP, for any tenant',
    async (roles) => {
      const result = printed('--roles', roles);
      const names = result.tools.map((tool: { name: string }) => tool.name);
      for (const tenantId of [1, 2]) {
        expect(names).toEqual(await listedOverHttp(roles.split(','), tenantId));
      }
      const hint = `npx ormai token --sub 1 --tenant 1 --roles ${roles}`;
      expect(result.mcpServers['ormai-stdio'].env.ORMAI_TOKEN).toContain(hint);
      expect(result.mcpServers['ormai-http'].headers.Authorization).toContain(hint);
    },
  );

  it('support gets its write tools too (agent does not)', () => {
    const names = (roles: string) =>
      printed('--roles', roles).tools.map((t: { name: string }) => t.name);
    expect(names('support')).toEqual(
      expect.arrayContaining(['db_update', 'db_delete', 'db_approval_status']),
    );
    expect(names('agent')).not.toContain('db_update');
  });

  it('the stdio server runs this installation by absolute path, in the directory it was asked from', () => {
    const stdio = printed('--roles', 'agent').mcpServers['ormai-stdio'];
    expect(stdio.command).toBe(process.execPath);
    const [bin, ...rest] = stdio.args as string[];
    expect(isAbsolute(bin!)).toBe(true);
    expect(existsSync(bin!)).toBe(true);
    // --cwd: clients start servers where they like (Claude Desktop in /), and ignore a cwd key
    expect(rest).toEqual(['mcp', '--config', CONFIG, '--cwd', cwd]);
    expect(stdio.cwd).toBe(cwd);
    expect(JSON.stringify(stdio)).not.toMatch(/npx ormai mcp|"npx"/);
  });

  it('a role the policy does not name is one line naming the roles it has', () => {
    const result = mcpConfig(['--roles', 'agnet']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'ormai: --roles: agnet is not a role of this policy (admin, support, sales, agent)\n',
    );
  });

  it.each([
    ['claude-desktop', 'mcpServers', undefined, '<A JWT for ormai'],
    ['claude-code', 'mcpServers', 'stdio', `\${ORMAI_TOKEN}`],
    ['cursor', 'mcpServers', undefined, `\${env:ORMAI_TOKEN}`],
    ['vscode', 'servers', 'stdio', `\${input:ormai-token}`],
  ])(
    '--client %s: its key (%s), type and way to the token, for stdio',
    (client, key, type, token) => {
      const result = mcpConfig(['--client', client]);
      expect(result.status, result.stderr).toBe(0);
      const block = JSON.parse(result.stdout);
      expect(Object.keys(block)).toEqual(client === 'vscode' ? ['servers', 'inputs'] : [key]);
      const entry = block[key]['ormai-stdio'];
      expect(entry.type).toBe(type);
      expect(entry.command).toBe(process.execPath);
      expect(entry.args.slice(1)).toEqual(['mcp', '--config', CONFIG, '--cwd', cwd]);
      expect(entry.env.ORMAI_TOKEN.startsWith(token)).toBe(true);
      // the notes (file, tools) go to stderr: stdout is the JSON alone
      const path = {
        'claude-desktop': join(home, '.config', 'Claude', 'claude_desktop_config.json'),
        'claude-code': join(cwd, '.mcp.json'),
        cursor: join(cwd, '.cursor', 'mcp.json'),
        vscode: join(cwd, '.vscode', 'mcp.json'),
      }[client]!;
      expect(result.stderr).toContain(`ormai: for ${path}\n`);
      expect(result.stderr).toContain('6 tools for agent: db_describe_schema, db_get, db_query');
      if (client === 'vscode') {
        expect(block.inputs.map((input: { id: string }) => input.id)).toEqual([
          'ormai-token',
          'ormai-jwt-secret',
        ]);
        expect(block.inputs.every((input: { password: boolean }) => input.password)).toBe(true);
      }
    },
  );

  it('--transport http: a URL entry, except in Claude Desktop, whose file takes local servers only', () => {
    const url = 'http://127.0.0.1:4999/mcp';
    const http = (client: string) =>
      printed('--client', client, '--transport', 'http', '--http', url);
    expect(http('claude-code').mcpServers['ormai-http']).toEqual({
      type: 'http',
      url,
      headers: { Authorization: `Bearer \${ORMAI_TOKEN}` },
    });
    expect(http('cursor').mcpServers['ormai-http']).toEqual({
      url,
      headers: { Authorization: `Bearer \${env:ORMAI_TOKEN}` },
    });
    expect(http('vscode').servers['ormai-http']).toEqual({
      type: 'http',
      url,
      headers: { Authorization: `Bearer \${input:ormai-token}` },
    });
    const desktop = http('claude-desktop').mcpServers['ormai-http'];
    expect(desktop.command).toBe(process.execPath);
    expect(desktop.args.slice(1)).toEqual(['mcp', '--url', url]);
  });

  it('--install merges into the file: the other servers, inputs and settings stay; a backup first', () => {
    const path = join(cwd, '.vscode', 'mcp.json');
    mkdirSync(dirname(path), { recursive: true });
    const original = `${JSON.stringify(
      {
        servers: { github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/' } },
        inputs: [{ type: 'promptString', id: 'gh-token', description: 'GitHub', password: true }],
      },
      null,
      2,
    )}\n`;
    writeFileSync(path, original);
    const result = mcpConfig(['--client', 'vscode', '--install']);
    expect(result.status, result.stderr).toBe(0);
    const written = JSON.parse(readFileSync(path, 'utf8'));
    expect(Object.keys(written.servers)).toEqual(['github', 'ormai-stdio']);
    expect(written.servers.github).toEqual({
      type: 'http',
      url: 'https://api.githubcopilot.com/mcp/',
    });
    expect(written.inputs.map((input: { id: string }) => input.id)).toEqual([
      'gh-token',
      'ormai-token',
      'ormai-jwt-secret',
    ]);
    const backups = readdirSync(dirname(path)).filter((name) =>
      name.startsWith('mcp.json.backup-'),
    );
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dirname(path), backups[0]!), 'utf8')).toBe(original);
    expect(result.stdout).toContain(`merged ormai-stdio into ${path} (backup: ${path}.backup-`);

    // again: nothing to change, nothing written, no second backup
    const again = mcpConfig(['--client', 'vscode', '--install']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing written');
    expect(readdirSync(dirname(path)).filter((name) => name.includes('backup'))).toHaveLength(1);
  });

  it('--install leaves a file it cannot read as plain JSON alone, and says why', () => {
    const path = join(cwd, '.mcp.json');
    const original = '{\n  // my servers\n  "mcpServers": {}\n}\n';
    writeFileSync(path, original);
    const result = mcpConfig(['--client', 'claude-code', '--install']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^ormai: .*\.mcp\.json is not plain JSON .*nothing written/);
    expect(readFileSync(path, 'utf8')).toBe(original);
    expect(readdirSync(cwd).filter((name) => name.includes('backup'))).toEqual([]);
  });

  it("Claude Desktop's installed stdio entry serves the agent's tools from another directory", async () => {
    const secret = 'mcp-config-secret-0123456789abcdef';
    const token = spawnSync(
      process.execPath,
      [BIN, 'token', '--sub', '1', '--tenant', '2', '--roles', 'agent'],
      { env: { ...process.env, ORMAI_JWT_SECRET: secret }, encoding: 'utf8' },
    ).stdout.trim();
    const installed = mcpConfig(['--client', 'claude-desktop', '--install'], {
      ORMAI_JWT_SECRET: secret,
      ORMAI_TOKEN: token,
    });
    expect(installed.status, installed.stderr).toBe(0);
    const file = join(home, '.config', 'Claude', 'claude_desktop_config.json');
    const entry = JSON.parse(readFileSync(file, 'utf8')).mcpServers['ormai-stdio'];
    expect(entry.env).toEqual({ ORMAI_TOKEN: token, ORMAI_JWT_SECRET: secret });

    // started as a client does: the entry's command, arguments and env, from elsewhere
    const elsewhere = mkdtempSync(join(work, 'elsewhere-'));
    const client = new Client({ name: 'claude-desktop-like', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        env: { ...entry.env, PATH: process.env.PATH ?? '' },
        cwd: elsewhere,
        stderr: 'ignore',
      }),
    );
    let counted: unknown;
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(
        await listedOverHttp(['agent'], 2),
      );
      const result = await client.callTool({
        name: 'db_aggregate',
        arguments: { model: 'Customer', operation: 'count' },
      });
      counted = (result.structuredContent as { value: number }).value;
    } finally {
      await client.close();
    }
    // the embedded database went where mcp-config was run, not where the client started it
    expect(readdirSync(elsewhere)).toEqual([]);
    const db = await openDatabase({ kind: 'pglite', dataDir: join(cwd, '.ormai', 'pgdata') });
    try {
      const [row] = await db.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM "Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL',
      );
      expect(counted).toBe(row!.n);
      expect(row!.n).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  }, 240_000);

  it("Claude Desktop's HTTP entry forwards to the server through `ormai mcp --url`", async () => {
    const entry = printed(
      '--client',
      'claude-desktop',
      '--transport',
      'http',
      '--http',
      `${server.url}/mcp`,
    ).mcpServers['ormai-http'];
    const token = await app.token({ sub: '1', tenantId: 3, roles: ['agent'] });
    const client = new Client({ name: 'claude-desktop-like', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        env: { ORMAI_TOKEN: token, PATH: process.env.PATH ?? '' },
        cwd: mkdtempSync(join(work, 'http-')),
        stderr: 'ignore',
      }),
    );
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(
        await listedOverHttp(['agent'], 3),
      );
      const result = await client.callTool({
        name: 'db_aggregate',
        arguments: { model: 'Order', operation: 'count' },
      });
      const [row] = await app.sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 3 AND "deletedAt" IS NULL',
      );
      expect((result.structuredContent as { value: number }).value).toBe(row!.n);
    } finally {
      await client.close();
    }
  });
});
