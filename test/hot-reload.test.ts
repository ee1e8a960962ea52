// Pins hot reload: Ormai.reload swaps a checked policy in at once (the next request gets the new
// rule, the audit names the new version) and keeps the old one on any failure; the real
// `ormai serve --watch` under concurrent GraphQL and MCP load changes rule with no failed request,
// refuses a broken policy and keeps serving, and reloads on SIGHUP.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import type { AuditRecord } from '../src/audit/record.js';
import type { Policy } from '../src/policy/types.js';
import { loadFreshConfig } from '../src/server/hot-reload.js';
import { ROOT, type ServeProcess, spawnServe } from './helpers/cli.js';
import { toolCallRequest, useOrmai } from './helpers/ormai.js';

/** The example's policy, with the agent's customer names masked when `maskName`. */
function agentPolicy(maskName: boolean): Policy {
  return {
    ...saasPolicy,
    roles: {
      ...saasPolicy.roles,
      agent: {
        models: {
          ...saasPolicy.roles!.agent!.models,
          Customer: {
            fields: {
              deny: ['ssn'],
              mask: { email: true, phone: true, ...(maskName ? { name: true } : {}) },
            },
          },
        },
      },
    },
  };
}

const CUSTOMERS = '{ customers(first: 3, orderBy: { id: ASC }) { nodes { id name } } }';
const isMasked = (name: string) => /^\S\*+\S$/.test(name);

describe('Ormai.reload in process', () => {
  const handle = useOrmai('pglite');
  const names = async () => {
    const response = await handle.ormai.fetch(
      new Request('http://ormai.test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await handle.token({ roles: ['agent'] })}`,
        },
        body: JSON.stringify({ query: CUSTOMERS }),
      }),
    );
    const body = (await response.json()) as {
      data?: { customers: { nodes: { id: number; name: string }[] } };
    };
    if (!body.data) throw new Error(JSON.stringify(body));
    return body.data.customers.nodes;
  };
  /** The names as the table holds them, for the same rows. */
  const raw = async (rows: { id: number }[]) => {
    const stored = await handle.sql<{ id: number; name: string }>(
      'SELECT id, name FROM "Customer" WHERE id = ANY($1::int[])',
      [rows.map((row) => row.id)],
    );
    return rows.map((row) => stored.find((found) => Number(found.id) === row.id)?.name);
  };

  it('swaps a new policy in: the next request gets the new rule, the audit its version', async () => {
    const before = handle.ormai.policyVersion;
    const served = await names();
    expect(served.map((row) => row.name)).toEqual(await raw(served));
    const result = await handle.ormai.reload({
      policy: agentPolicy(true),
      datamodel: saasApp.datamodel,
      domainTools: saasApp.domainTools,
    });
    expect(result).toMatchObject({ ok: true, previous: before, warnings: [] });
    const after = handle.ormai.policyVersion;
    expect(after).not.toBe(before);
    expect(result.ok && result.version).toBe(after);
    expect(handle.ormai.runtime.policy.version).toBe(after);
    // the role sets served before were built again before the swap
    expect(handle.ormai.gateway.schemaCacheSize).toBeGreaterThanOrEqual(1);
    const rows = await names();
    const masked = rows.map((row) => row.name);
    const plain = await raw(rows);
    expect(masked).toHaveLength(plain.length);
    masked.forEach((name, i) => {
      expect(isMasked(name), name).toBe(true);
      expect(name).not.toBe(plain[i]);
    });
    const tool = await handle.ormai.fetch(
      toolCallRequest(await handle.token({ roles: ['agent'] }), 'db_query', {
        model: 'Customer',
        select: ['id', 'name'],
        take: 2,
      }),
    );
    expect(tool.status).toBe(200);
    await handle.ormai.audit.flush();
    const versions = await handle.sql<{ surface: string; policy_version: string }>(
      `SELECT surface, policy_version FROM ${handle.ormai.runtime.tables.auditLog} ORDER BY id`,
    );
    expect(versions.map((row) => `${row.surface} ${row.policy_version}`)).toEqual([
      `graphql ${before}`,
      `graphql ${after}`,
      `mcp ${after}`,
    ]);
  });

  it('the same policy again: nothing is swapped', async () => {
    const yoga = handle.ormai.gateway.yoga;
    const result = await handle.ormai.reload({
      policy: agentPolicy(true),
      datamodel: saasApp.datamodel,
      domainTools: saasApp.domainTools,
    });
    expect(result).toMatchObject({ ok: true, unchanged: true });
    expect(handle.ormai.gateway.yoga).toBe(yoga);
  });

  it('keeps the old version on an invalid policy, a failing check, or a datamodel the client lacks', async () => {
    const serving = handle.ormai.policyVersion;
    const invalid = agentPolicy(true);
    (
      invalid.roles!.agent!.models!.Customer!.fields as { mask: Record<string, boolean> }
    ).mask.nmae = true;
    const refusedInvalid = await handle.ormai.reload({
      policy: invalid,
      datamodel: saasApp.datamodel,
    });
    expect(refusedInvalid).toMatchObject({ ok: false, code: 'RELOAD_REFUSED', version: serving });
    expect(!refusedInvalid.ok && refusedInvalid.findings.join('\n')).toMatch(
      /nmae.*did you mean name/,
    );

    // writes that wait for an approval no role may give fail `ormai check`
    const noApprover = agentPolicy(true);
    noApprover.writes = { ...noApprover.writes, approvers: [] };
    const refusedCheck = await handle.ormai.reload({
      policy: noApprover,
      datamodel: saasApp.datamodel,
    });
    expect(refusedCheck).toMatchObject({ ok: false, version: serving });
    expect(!refusedCheck.ok && refusedCheck.message).toMatch(/fails ormai check/);
    expect(!refusedCheck.ok && refusedCheck.findings.join('\n')).toMatch(
      /no role of the policy may approve/,
    );

    const datamodel = structuredClone(saasApp.datamodel);
    const customer = datamodel.datamodel.models.Customer!;
    (customer.fields as unknown[]).push({
      ...customer.fields.find((field) => field.name === 'name')!,
      name: 'nickname',
    });
    const refusedModel = await handle.ormai.reload({ policy: agentPolicy(false), datamodel });
    expect(refusedModel).toMatchObject({ ok: false, version: serving });
    expect(!refusedModel.ok && refusedModel.findings).toContain('field Customer.nickname is new');

    expect(handle.ormai.policyVersion).toBe(serving);
    expect((await names()).every((row) => isMasked(row.name))).toBe(true);
  });
});

describe('loadFreshConfig', () => {
  it('reads the config and the files it imports as they are now, and names them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ormai-fresh-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const config = join(dir, 'ormai.config.ts');
    writeFileSync(
      config,
      `import { saasApp } from ${JSON.stringify(pathToFileURL(join(ROOT, 'examples/saas/app.ts')).href)};
import { maxTake } from './limits.ts';
export default { app: { ...saasApp, policy: { ...saasApp.policy, budgets: { maxTake } } }, server: { port: 1 } };
`,
    );
    writeFileSync(join(dir, 'limits.ts'), 'export const maxTake: number = 7;\n');
    const first = await loadFreshConfig(config);
    expect(first.app.policy.budgets?.maxTake).toBe(7);
    expect(first.files).toEqual(expect.arrayContaining([config, join(dir, 'limits.ts')]));
    expect(first.files.some((file) => file.includes('node_modules'))).toBe(false);
    expect(first.settings).toEqual({ server: { port: 1 } });

    writeFileSync(join(dir, 'limits.ts'), 'export const maxTake: number = 9;\n');
    expect((await loadFreshConfig(config)).app.policy.budgets?.maxTake).toBe(9);

    writeFileSync(join(dir, 'limits.ts'), 'export const maxTake: number = ;\n');
    await expect(loadFreshConfig(config)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('limits.ts'),
    });
  }, 60_000);
});

interface Sample {
  surface: 'graphql' | 'mcp';
  trace: string;
  started: number;
  ok: boolean;
  detail: string;
  names: string[];
}

describe('ormai serve --watch under load', () => {
  let dir: string;
  let server: ServeProcess;
  let url: string;
  let agentToken: string;
  const policyFile = () => join(dir, 'policy.ts');
  const writePolicy = (body: string) => writeFileSync(policyFile(), body);
  const policySource = (
    maskName: boolean | 'broken',
  ) => `import { saasPolicy } from ${JSON.stringify(
    pathToFileURL(join(ROOT, 'examples/saas/policy.ts')).href,
  )};
export const policy = {
  ...saasPolicy,
  roles: {
    ...saasPolicy.roles,
    agent: {
      models: {
        ...saasPolicy.roles.agent.models,
        Customer: { fields: { deny: ['ssn'], mask: { email: true, phone: true${
          maskName === 'broken' ? ', nmae: true' : maskName ? ', name: true' : ''
        } } } },
      },
    },
  },
};
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ormai-reload-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      join(dir, 'ormai.config.ts'),
      `import { saasApp } from ${JSON.stringify(pathToFileURL(join(ROOT, 'examples/saas/app.ts')).href)};
import { policy } from './policy.ts';
export default { app: { ...saasApp, policy }, database: { applyMigrations: true } };
`,
    );
    writePolicy(policySource(false));
    mkdirSync(join(dir, '.ormai'), { recursive: true });
    server = spawnServe(dir, ['--config', join(dir, 'ormai.config.ts'), '--watch']);
    await server.waitFor(/watching \d+ file\(s\) for changes/, 180_000);
    url = /GraphQL \+ GraphiQL\s+(\S+)/.exec(server.stdout())![1]!.replace(/\/graphql$/, '');
    agentToken = /tenant 1 agent\s+sub \d+\s+(\S+)/.exec(server.stdout())![1]!;
  }, 200_000);

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  /** One request, GraphQL or an MCP tool call, under a trace id of its own. */
  const request = async (surface: 'graphql' | 'mcp'): Promise<Sample> => {
    const trace = randomBytes(16).toString('hex');
    const started = performance.now();
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${agentToken}`,
      traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01`,
    };
    try {
      if (surface === 'graphql') {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query: CUSTOMERS }),
        });
        const body = (await response.json()) as any;
        return {
          surface,
          trace,
          started,
          ok: response.status === 200 && !body.errors,
          detail: JSON.stringify(body).slice(0, 300),
          names: body.data?.customers?.nodes?.map((node: { name: string }) => node.name) ?? [],
        };
      }
      const response = await fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { ...headers, accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'db_query',
            arguments: {
              model: 'Customer',
              select: ['id', 'name'],
              take: 3,
              order_by: [{ field: 'id', direction: 'asc' }],
            },
          },
        }),
      });
      const body = (await response.json()) as any;
      const result = body.result;
      return {
        surface,
        trace,
        started,
        ok: response.status === 200 && !!result && result.isError !== true,
        detail: JSON.stringify(body).slice(0, 300),
        names: result?.structuredContent?.data?.map((row: { name: string }) => row.name) ?? [],
      };
    } catch (error) {
      return { surface, trace, started, ok: false, detail: String(error), names: [] };
    }
  };

  it('changes rule under load with no failed request, refuses a broken policy, reloads on SIGHUP', async () => {
    const samples: Sample[] = [];
    let loading = true;
    const workers = Array.from({ length: 6 }, async (_, worker) => {
      for (let n = 0; loading; n++)
        samples.push(await request((worker + n) % 3 === 0 ? 'mcp' : 'graphql'));
    });
    const lines = (pattern: RegExp, text: () => string) =>
      text()
        .split('\n')
        .filter((line) => pattern.test(line)).length;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await pause(1500);
      const changedAt = performance.now();
      writePolicy(policySource(true));
      const [, previous, next] = await server.waitFor(
        /reloaded \(policy\.ts\): policy (\w+) → (\w+)/,
        60_000,
      );
      // the swap happened before the line was printed: every request started from now on is new
      const seen = performance.now();
      await pause(1500);
      writePolicy(policySource('broken'));
      for (let waited = 0; lines(/reload refused/, server.stderr) === 0; waited += 20) {
        if (waited > 60_000) throw new Error(`no refusal:\n${server.stderr()}`);
        await pause(20);
      }
      await pause(1500);
      loading = false;
      await Promise.all(workers);

      const failed = samples.filter((sample) => !sample.ok);
      expect(failed.map((sample) => sample.detail)).toEqual([]);
      expect(samples.length).toBeGreaterThan(60);
      expect(new Set(samples.map((sample) => sample.surface))).toEqual(new Set(['graphql', 'mcp']));
      const before = samples.filter((sample) => sample.started < changedAt);
      const after = samples.filter((sample) => sample.started > seen);
      expect(before.length).toBeGreaterThan(5);
      expect(after.length).toBeGreaterThan(5);
      for (const sample of before) expect(sample.names.some(isMasked), sample.detail).toBe(false);
      for (const sample of after) {
        expect(sample.names.length, sample.detail).toBeGreaterThan(0);
        expect(sample.names.every(isMasked), sample.detail).toBe(true);
      }
      expect(server.stderr()).toMatch(
        new RegExp(`reload refused, still serving policy ${next}: the policy fails ormai check`),
      );
      expect(server.stderr()).toMatch(/nmae; did you mean name/);

      // SIGHUP reads the files again: still broken, refused again, still serving
      const refusals = lines(/reload refused/, server.stderr);
      server.child.kill('SIGHUP');
      for (let waited = 0; lines(/reload refused/, server.stderr) === refusals; waited += 20) {
        if (waited > 60_000) throw new Error(`SIGHUP did not reload:\n${server.stderr()}`);
        await pause(20);
      }
      const still = await request('graphql');
      expect(still.ok, still.detail).toBe(true);
      expect(still.names.every(isMasked)).toBe(true);

      // the audit names the version each request ran under
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
      const records = readFileSync(join(dir, '.ormai', 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditRecord);
      const versionOf = new Map(records.map((record) => [record.trace_id, record.policy_version]));
      for (const sample of before) expect(versionOf.get(sample.trace)).toBe(previous);
      for (const sample of after) expect(versionOf.get(sample.trace)).toBe(next);
    } finally {
      loading = false;
      await Promise.all(workers);
    }
  }, 240_000);
});
