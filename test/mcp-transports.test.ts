// Pins the MCP transports end to end: Streamable HTTP at /mcp on the real HTTP server (bearer JWT on
// every request, 401 without), and stdio by spawning `ormai mcp` with ORMAI_TOKEN.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/server/auth.js';
import { useHttpServer } from './helpers/http.js';
import { JWT_SECRET, useTestApp } from './helpers/runtime.js';

const ROOT = resolve(import.meta.dirname, '..');

describe('MCP over Streamable HTTP', () => {
  const app = useTestApp('pglite');
  const server = useHttpServer(app);

  it('serves the tools to a bearer token, scoped to its tenant', async () => {
    const token = await signToken(
      { sub: '11', tenantId: 2, roles: ['agent'] },
      { secret: JWT_SECRET },
    );
    const client = new Client({ name: 'http-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'db_describe_schema',
      'db_get',
      'db_query',
      'db_aggregate',
    ]);
    const result = (await client.callTool({
      name: 'db.aggregate',
      arguments: { model: 'Customer', operation: 'count' },
    })) as any;
    const [row] = await app.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Customer" WHERE "tenantId" = 2 AND "deletedAt" IS NULL',
    );
    expect(result.structuredContent).toEqual({
      value: row!.n,
      operation: 'count',
      field: null,
      row_count: row!.n,
    });
    await client.close();
  });

  it('answers 401 AUTHENTICATION_REQUIRED without a valid token', async () => {
    const forged = await signToken(
      { sub: '1', tenantId: 1, roles: ['admin'] },
      { secret: 'not-the-secret' },
    );
    for (const authorization of [undefined, 'Bearer nonsense', `Bearer ${forged}`]) {
      const response = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe('AUTHENTICATION_REQUIRED');
    }
  });
});

describe('MCP over stdio (ormai mcp)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-mcp-'));
  const env = () => {
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env))
      if (value !== undefined) copy[key] = value;
    delete copy.DATABASE_URL;
    return copy;
  };
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('serves the principal of ORMAI_TOKEN', async () => {
    const token = await signToken(
      { sub: '21', tenantId: 3, roles: ['agent'] },
      { secret: 'stdio-secret' },
    );
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'bin', 'ormai.js'), 'mcp', '--config', join(ROOT, 'ormai.config.ts')],
      cwd,
      env: { ...env(), ORMAI_TOKEN: token, ORMAI_JWT_SECRET: 'stdio-secret' },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'stdio-test', version: '1' });
    await client.connect(transport);
    const result = (await client.callTool({
      name: 'db.query',
      arguments: { model: 'Order', select: ['id', 'tenantId'], take: 50 },
    })) as any;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.data).toHaveLength(50);
    expect(
      new Set(result.structuredContent.data.map((row: { tenantId: number }) => row.tenantId)),
    ).toEqual(new Set([3]));
    await client.close();
  }, 120_000);

  it('refuses to start without a token unless --dev-principal is given', () => {
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'ormai.js'), 'mcp', '--config', join(ROOT, 'ormai.config.ts')],
      {
        cwd,
        env: (() => {
          const e = env();
          delete e.ORMAI_TOKEN;
          return e;
        })(),
        encoding: 'utf8',
        input: '',
      },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('ORMAI_TOKEN');
    expect(run.stdout).toBe('');
  });
});
