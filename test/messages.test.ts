// Pins the messages of common mistakes: the real CLI exits 1 with one line naming the problem and
// the fix (database URL, unreachable server, duration, port, port in use before the database is
// opened), and a token whose roles the policy does not name is refused on /graphql and /mcp alike.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpHttpHandler } from '../src/mcp-bridge/index.js';
import { CONFIG, runCliAsync } from './helpers/cli.js';
import { useTestApp } from './helpers/runtime.js';

/** Runs the real CLI in a fresh directory; resolves with its exit code and output. */
async function ormai(args: string[], env: Record<string, string> = {}, cwd = freshDir()) {
  const { status, stdout, stderr } = await runCliAsync(cwd, args, { env, timeoutMs: 60_000 });
  return { code: status, stdout, stderr, cwd };
}

const dirs: string[] = [];
function freshDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ormai-messages-'));
  dirs.push(dir);
  return dir;
}

/** A port nothing listens on: bound, then released. */
async function closedPort() {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

describe('the CLI names the mistake and the fix in one line (real process)', () => {
  let busy: Server;
  let busyPort: number;

  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    busyPort = (busy.address() as { port: number }).port;
  });

  afterAll(() => {
    busy.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const serve = (env: Record<string, string>, extra: string[] = ['--port', '0']) =>
    ormai(['serve', '--config', CONFIG, ...extra], env);

  it('DATABASE_URL that is no URL', async () => {
    const result = await serve({ DATABASE_URL: 'not-a-url' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'ormai: DATABASE_URL is not a PostgreSQL URL (not-a-url): expected postgresql://user:password@host:5432/database\n',
    );
  });

  it('DATABASE_URL of another database', async () => {
    const result = await serve({ DATABASE_URL: 'mysql://root:secret@127.0.0.1:3306/shop' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'ormai: DATABASE_URL: mysql:// is not supported yet; ormai serves PostgreSQL (postgresql://…) or the embedded database (leave DATABASE_URL unset)\n',
    );
  });

  it('a PostgreSQL that is not running', async () => {
    const port = await closedPort();
    const result = await serve({ DATABASE_URL: `postgresql://u:p@127.0.0.1:${port}/app` });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ormai: cannot reach PostgreSQL at 127.0.0.1:${port} (connection refused): is it running? check DATABASE_URL\n`,
    );
  });

  it('token --expires that is no duration', async () => {
    const result = await ormai(['token', '--sub', '1', '--expires', 'soon'], {
      ORMAI_JWT_SECRET: 'a-secret-for-this-test',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'ormai: --expires takes a duration like 30m, 12h or 7d (got "soon")\n',
    );
    const fine = await ormai(['token', '--sub', '1', '--expires', '30m'], {
      ORMAI_JWT_SECRET: 'a-secret-for-this-test',
    });
    expect(fine.code).toBe(0);
    expect(fine.stdout).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('a port that is no number: PORT, --port and server.port', async () => {
    const env = await serve({ PORT: 'abc' }, []);
    expect(env.code).toBe(1);
    expect(env.stderr).toBe('ormai: PORT must be a whole number from 0 to 65535 (got "abc")\n');

    const flag = await serve({}, ['--port', '70000']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toBe(
      'ormai: --port must be a whole number from 0 to 65535 (got "70000")\n',
    );

    const dir = freshDir();
    // .mts: an ES module outside any package.json that says so
    const config = join(dir, 'ormai.config.mts');
    writeFileSync(
      config,
      `import base from ${JSON.stringify(CONFIG)};\nexport default { ...base, server: { ...base.server, port: 'abc' } };\n`,
    );
    const file = await ormai(['serve', '--config', config], {}, dir);
    expect(file.code).toBe(1);
    expect(file.stderr).toBe(
      'ormai: server.port must be a whole number from 0 to 65535 (got "abc")\n',
    );
    // nothing was listened on, nothing opened
    expect(file.stdout).toBe('');
    expect(existsSync(join(dir, 'abc'))).toBe(false);
    expect(existsSync(join(dir, '.ormai'))).toBe(false);
  });

  it('a port in use fails before the embedded database is opened or created', async () => {
    const result = await serve({}, ['--port', String(busyPort)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ormai: port ${busyPort} is in use (another ormai serve?): pass --port or set PORT\n`,
    );
    expect(result.stdout).not.toMatch(/opening/);
    expect(existsSync(join(result.cwd, '.ormai'))).toBe(false);
  });
});

describe('a token for roles the policy does not name', () => {
  const app = useTestApp('pglite');
  const MESSAGE =
    "the token's roles (intern) are not roles of this policy (admin, support, sales, agent)";

  it('is refused on /graphql: 401 AUTHENTICATION_REQUIRED naming the roles that would work', async () => {
    const { status, body } = await app.graphql(
      { tenantId: 1, roles: ['intern'] },
      '{ customers { totalCount } }',
    );
    expect(status).toBe(401);
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.message).toBe(MESSAGE);
    expect(body.errors![0]!.extensions.code).toBe('AUTHENTICATION_REQUIRED');
    expect(body.errors![0]!.extensions.retryHints).toEqual([
      'use a token with one of the roles admin, support, sales, agent, e.g. `npm run ormai -- token --sub <id> --tenant <id> --roles admin`',
    ]);

    const none = await app.graphql({ tenantId: 1, roles: [] }, '{ customers { totalCount } }');
    expect(none.status).toBe(401);
    expect(none.body.errors![0]!.message).toBe(
      "the token has no roles; this policy's roles are admin, support, sales, agent",
    );
    // one role it names is enough: other roles (an identity provider's) are ignored
    const mixed = await app.graphql(
      { tenantId: 1, roles: ['intern', 'agent'] },
      '{ customers { totalCount } }',
    );
    expect(mixed.status).toBe(200);
    expect(mixed.body.data.customers.totalCount).toBeGreaterThan(0);
  });

  it('is refused on /mcp with the same message', async () => {
    const mcp = createMcpHttpHandler({
      execute: app.gateway.execute,
      policyFor: app.gateway.policyFor,
      authenticate: app.gateway.authenticate,
    });
    const response = await mcp(
      new Request('http://ormai.test/mcp', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await app.token({ tenantId: 1, roles: ['intern'] })}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      }),
    );
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.error.code).toBe('AUTHENTICATION_REQUIRED');
    expect(body.error.message).toBe(MESSAGE);
  });
});
