// Pins `ormai mcp-config` (the real CLI): it lists exactly the tools tools/list gives a token of
// those roles over HTTP, hints a token for those roles, and its stdio server runs this installation
// by absolute path (never `npx ormai`, which could fetch another package from the registry).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { useHttpServer } from './helpers/http.js';
import { useTestApp } from './helpers/runtime.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ormai.js');
const CONFIG = join(ROOT, 'ormai.config.ts');

describe('ormai mcp-config', () => {
  const app = useTestApp('pglite');
  const server = useHttpServer(app, { domainTools: true });
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-mcp-config-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  const mcpConfig = (...args: string[]) => {
    const env = { ...process.env };
    delete env.ORMAI_JWT_SECRET;
    delete env.DATABASE_URL;
    return spawnSync(process.execPath, [BIN, 'mcp-config', '--config', CONFIG, ...args], {
      cwd,
      env,
      encoding: 'utf8',
    });
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
      const result = mcpConfig('--roles', roles);
      expect(result.status, result.stderr).toBe(0);
      const printed = JSON.parse(result.stdout);
      const names = printed.tools.map((tool: { name: string }) => tool.name);
      for (const tenantId of [1, 2]) {
        expect(names).toEqual(await listedOverHttp(roles.split(','), tenantId));
      }
      const hint = `npx ormai token --sub 1 --tenant 1 --roles ${roles}`;
      expect(printed.mcpServers['ormai-stdio'].env.ORMAI_TOKEN).toContain(hint);
      expect(printed.mcpServers['ormai-http'].headers.Authorization).toContain(hint);
    },
  );

  it('support gets its write tools too (agent does not)', () => {
    const names = (roles: string) =>
      JSON.parse(mcpConfig('--roles', roles).stdout).tools.map((t: { name: string }) => t.name);
    expect(names('support')).toEqual(
      expect.arrayContaining(['db_update', 'db_delete', 'db_approval_status']),
    );
    expect(names('agent')).not.toContain('db_update');
  });

  it('the stdio server runs this installation by absolute path, in the directory it was asked from', () => {
    const stdio = JSON.parse(mcpConfig('--roles', 'agent').stdout).mcpServers['ormai-stdio'];
    expect(stdio.command).toBe(process.execPath);
    const [bin, ...rest] = stdio.args as string[];
    expect(isAbsolute(bin!)).toBe(true);
    expect(existsSync(bin!)).toBe(true);
    expect(rest).toEqual(['mcp', '--config', CONFIG]);
    expect(stdio.cwd).toBe(cwd);
    expect(JSON.stringify(stdio)).not.toMatch(/npx ormai mcp|"npx"/);
  });

  it('a role the policy does not name is one line naming the roles it has', () => {
    const result = mcpConfig('--roles', 'agnet');
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'ormai: --roles: agnet is not a role of this policy (admin, support, sales, agent)\n',
    );
  });
});
