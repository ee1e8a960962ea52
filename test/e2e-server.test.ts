// Pins the README path end to end: the real `ormai` command serves the example on a fresh embedded
// database, prints working dev tokens, answers /healthz, serves GraphiQL, and stops on SIGTERM.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ormai.js');
const CONFIG = join(ROOT, 'ormai.config.ts');

function cleanEnv(extra: Record<string, string> = {}) {
  const env = { ...process.env, ...extra };
  delete env.DATABASE_URL;
  if (!extra.ORMAI_JWT_SECRET) delete env.ORMAI_JWT_SECRET;
  return env;
}

describe('ormai serve (real process, fresh embedded database)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-e2e-'));
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  /** Starts `ormai serve` in cwd and waits for its banner. */
  async function serve() {
    const started = spawn(process.execPath, [BIN, 'serve', '--config', CONFIG, '--port', '0'], {
      cwd,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let text = '';
    started.stdout!.on('data', (chunk) => {
      text += chunk;
    });
    const stderr: string[] = [];
    started.stderr!.on('data', (chunk) => stderr.push(String(chunk)));
    const deadline = Date.now() + 90_000;
    while (!/In GraphiQL/.test(text)) {
      if (Date.now() > deadline || started.exitCode !== null) {
        throw new Error(`server did not start:\n${text}\n${stderr.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /GraphQL \+ GraphiQL\s+(\S+)/.exec(text)![1]!;
    const tokenOf = (tenant: number, role: string) =>
      new RegExp(`tenant ${tenant} ${role}\\s+sub \\d+\\s+(\\S+)`).exec(text)![1]!;
    const stop = async () => {
      const exited = new Promise<number | null>((r) => started.once('exit', (code) => r(code)));
      started.kill('SIGTERM');
      return exited;
    };
    return { output: text, url, tokenOf, stop };
  }

  it('serves tenant-scoped data to a printed token, then shuts down cleanly', async () => {
    const { output, url, tokenOf, stop } = await serve();
    expect(output).toContain('seed: Order 3000/3000');

    const health = await fetch(url.replace('/graphql', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', database: 'pglite' });

    const ask = (token: string | null) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query: '{ orders(first: 100) { totalCount nodes { tenantId } } }' }),
      });
    for (const tenant of [1, 2]) {
      const response = await ask(tokenOf(tenant, 'admin'));
      expect(response.status).toBe(200);
      expect(response.headers.get('x-trace-id')).toMatch(/^[0-9a-f]{32}$/);
      const body = await response.json();
      expect(body.data.orders.totalCount).toBeGreaterThan(900);
      expect(new Set(body.data.orders.nodes.map((n: { tenantId: number }) => n.tenantId))).toEqual(
        new Set([tenant]),
      );
    }
    expect((await ask(null)).status).toBe(401);

    const page = await fetch(url, { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('<title>ormai · saas</title>');
    // GraphiQL is bundled: the page loads no script or stylesheet from another host
    expect(html).not.toMatch(/<script[^>]+src="https?:\/\//);
    expect(html).not.toMatch(/<link[^>]+href="https?:\/\//);

    expect(await stop()).toBe(0);
  }, 150_000);

  it('`ormai audit verify` and `tail` read what the server recorded, in the table and the JSONL file', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args, '--config', CONFIG], {
        cwd,
        env: cleanEnv(),
        encoding: 'utf8',
      });
    const verify = run(['audit', 'verify']);
    expect(verify.status).toBe(0);
    // two tenant queries and the refused anonymous one, at least (GraphiQL's page is not an operation)
    const count = Number(/ok: (\d+) record\(s\) in the table/.exec(verify.stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(3);
    const jsonl = run(['audit', 'verify', '--jsonl', join(cwd, '.ormai', 'audit.jsonl')]);
    expect(jsonl.stdout).toContain(`ok: ${count} record(s) in the file`);
    const tail = run(['audit', 'tail', '-n', '3']);
    expect(tail.status).toBe(0);
    expect(tail.stdout).toMatch(/graphql unknown anonymous error AUTHENTICATION_REQUIRED/);
    expect(tail.stdout).toMatch(/graphql query orders sub 11@2 \[admin\] ok rows=100/);
  }, 60_000);

  it('support asks to delete an order over HTTP; an admin approves it from `ormai approvals`; it runs once', async () => {
    const { url, tokenOf, stop } = await serve();
    const post = async (token: string, query: string, at = url) =>
      (
        await fetch(at, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query }),
        })
      ).json();
    const support = tokenOf(1, 'support');
    const listed = await post(
      support,
      '{ orders(first: 1, orderBy: { id: DESC }) { nodes { id status } } }',
    );
    const order = listed.data.orders.nodes[0];
    const changed = await post(
      support,
      `mutation { updateOrder(id: ${order.id}, data: { notes: "called the customer" }, reason: "e2e") { id notes } }`,
    );
    expect(changed.data.updateOrder).toEqual({ id: order.id, notes: 'called the customer' });
    const asked = await post(
      support,
      `mutation { deleteOrder(id: ${order.id}, reason: "customer cancelled") { success } }`,
    );
    expect(asked.errors[0].extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
    const approvalId: string = asked.errors[0].extensions.details.approval_id;
    // the embedded database has one writer: the CLI opens it once the server is gone
    expect(await stop()).toBe(0);

    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args, '--config', CONFIG], {
        cwd,
        env: cleanEnv(),
        encoding: 'utf8',
      });
    const list = run(['approvals', 'list', '--tenant', '1', '--status', 'pending']);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`${approvalId} pending  delete Order`);
    expect(list.stdout).toContain('customer cancelled');
    const approve = run(['approvals', 'approve', approvalId, '--tenant', '1', '--sub', '1']);
    expect(approve.status, approve.stderr).toBe(0);
    expect(JSON.parse(approve.stdout)).toMatchObject({
      id: approvalId,
      status: 'approved',
      result: { found: true, softDeleted: true },
    });
    const twice = run(['approvals', 'approve', approvalId, '--tenant', '1', '--sub', '1']);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toContain('VALIDATION_ERROR');
    // another tenant's approver cannot see it
    const foreign = run(['approvals', 'approve', approvalId, '--tenant', '2', '--sub', '11']);
    expect(foreign.stderr).toContain('NOT_FOUND');
    // the audit log names who decided: the --sub given, as the approver role the CLI acted as
    const recorded = readFileSync(join(cwd, '.ormai', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((record) => record.approval_id === approvalId);
    const byOperation = (operation: string) => recorded.filter((r) => r.operation === operation);
    expect(byOperation('approve ormai_approval_request')).toEqual([
      expect.objectContaining({
        surface: 'graphql',
        principal_sub: '1',
        tenant_id: '1',
        roles: ['admin'],
        outcome: 'ok',
        decisions: expect.objectContaining({ decision: 'approve' }),
      }),
    ]);
    const [executed, ...rerun] = byOperation('approved delete Order');
    expect(rerun).toEqual([]);
    expect(executed).toMatchObject({ roles: ['support'], reason: 'customer cancelled' });
    expect(executed.decisions.approvedBy).toEqual({ sub: '1', tenantId: 1, roles: ['admin'] });
    expect(byOperation('mutation approveRequest')).toEqual([
      expect.objectContaining({
        principal_sub: '1',
        roles: ['admin'],
        error_code: 'VALIDATION_ERROR',
      }),
      expect.objectContaining({ principal_sub: '11', tenant_id: '2', error_code: 'NOT_FOUND' }),
    ]);

    // the order has left every read; the audit chain holds the update and the approved delete
    const again = await serve();
    const gone = await post(
      again.tokenOf(1, 'admin'),
      `{ order(id: ${order.id}) { id } }`,
      again.url,
    );
    expect(gone.data.order).toBeNull();
    expect(await again.stop()).toBe(0);
    const tail = run(['audit', 'tail', '-n', '20']);
    expect(tail.stdout).toMatch(/graphql mutation updateOrder sub \d+@1 \[support\] ok/);
    expect(run(['audit', 'verify']).status).toBe(0);
  }, 240_000);

  it('`ormai seed` reuses the database and `--reset` reloads the same data', () => {
    const first = spawnSync(process.execPath, [BIN, 'seed', '--config', CONFIG], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('already seeded');
    const reset = spawnSync(process.execPath, [BIN, 'seed', '--reset', '--config', CONFIG], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(reset.status).toBe(0);
    expect(reset.stdout).toContain(
      'seeded: {"tenants":3,"users":30,"customers":600,"products":150,"orders":3000',
    );
  }, 120_000);

  it('`ormai token` signs with ORMAI_JWT_SECRET and refuses without it', async () => {
    const ok = spawnSync(
      process.execPath,
      [BIN, 'token', '--sub', '7', '--tenant', '1', '--roles', 'agent,support'],
      { cwd, env: cleanEnv({ ORMAI_JWT_SECRET: 'cli-secret' }), encoding: 'utf8' },
    );
    expect(ok.status).toBe(0);
    const { jwtVerify } = await import('jose');
    const { payload } = await jwtVerify(ok.stdout.trim(), new TextEncoder().encode('cli-secret'));
    expect(payload).toMatchObject({ sub: '7', tenantId: 1, roles: ['agent', 'support'] });
    const refused = spawnSync(process.execPath, [BIN, 'token', '--sub', '7'], {
      cwd,
      env: cleanEnv(),
      encoding: 'utf8',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('ORMAI_JWT_SECRET');
  });
});
