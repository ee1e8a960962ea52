// Pins `ormai generate view` and `ormai generate tool` (the real CLI): the files they write are
// served as declared (the view in GraphQL, the tool over MCP) and their types hold the real
// answers (tsc, with negative controls); a field or query a role may not read is refused, naming
// the role and the field.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import type { DomainTool, OrmaiApp } from '../src/app.js';
import { GenerateError, generateTool, generateView } from '../src/cli/generate.js';
import type { Policy } from '../src/policy/types.js';
import { CONFIG, runCli } from './helpers/cli.js';
import { useHttpServer } from './helpers/http.js';
import { useTestApp } from './helpers/runtime.js';

const ROOT = resolve(import.meta.dirname, '..');
const TOOL_QUERY = `query OrdersByStatus($status: String!, $first: Int = 5) {
  orders(where: { status: { equals: $status } }, orderBy: [{ id: ASC }], first: $first) {
    nodes { id status totalCents createdAt notes customer { name email } }
    totalCount
  }
}`;

describe('ormai generate', () => {
  const out = mkdtempSync(join(tmpdir(), 'ormai-generate-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  // filled in by the first beforeAll, read by useTestApp's (hooks run in the order registered)
  const policy: Policy = { ...saasPolicy, views: [...(saasPolicy.views ?? [])] };
  const domainTools: DomainTool[] = [...(saasApp.domainTools ?? [])];
  const served: OrmaiApp = { ...saasApp, domainTools };

  beforeAll(async () => {
    const view = runCli(out, [
      'generate',
      'view',
      'Customer',
      '--config',
      CONFIG,
      '--name',
      'CustomerContact',
      '--fields',
      'id,name,email,tier',
      '--count',
      'orderCount=orders',
      '--sum',
      'lifetimeCents=orders.totalCents',
      '--roles',
      'support,agent',
    ]);
    expect(view.status, view.stderr).toBe(0);
    expect(view.stdout).toContain('wrote customer-contact.view.ts');
    const tool = runCli(out, [
      'generate',
      'tool',
      'orders.by_status',
      '--config',
      CONFIG,
      '--query',
      TOOL_QUERY,
      '--description',
      'Orders of one status, oldest first.',
    ]);
    expect(tool.status, tool.stderr).toBe(0);
    policy.views!.push((await import(join(out, 'customer-contact.view.ts'))).customerContactView);
    domainTools.push((await import(join(out, 'orders-by-status.tool.ts'))).ordersByStatusTool);
  }, 120_000);

  const app = useTestApp('pglite', { app: served, policy });
  const server = useHttpServer(app, { domainTools: true });

  it('the view file declares the view for the roles named, with each field commented as they read it', () => {
    const text = readFileSync(join(out, 'customer-contact.view.ts'), 'utf8');
    expect(text).toContain("import type { ViewPolicy } from 'ormai';");
    expect(text).toContain("roles: ['support', 'agent'],");
    expect(text).toMatch(/ {2}\/\*\* masked for agent \*\/\n {2}email: string;/);
    expect(text).toContain('  orderCount: number;\n  lifetimeCents: number;\n}');
  });

  it("the view is served as declared: support reads its tenant's rows, the counts as SQL has them", async () => {
    const { body } = await app.graphql(
      { sub: '3', tenantId: 1, roles: ['support'] },
      '{ customerContacts(first: 5, orderBy: [{ id: ASC }]) { nodes { id name email tier orderCount lifetimeCents } } }',
    );
    expect(body.errors).toBeUndefined();
    const rows = body.data.customerContacts.nodes as { id: number; orderCount: number }[];
    expect(rows).toHaveLength(5);
    const expected = await app.sql<{ id: number; n: number }>(
      `SELECT c.id, (SELECT count(*)::int FROM "Order" o WHERE o."customerId" = c.id AND o."deletedAt" IS NULL) AS n
         FROM "Customer" c WHERE c."tenantId" = 1 AND c."deletedAt" IS NULL ORDER BY c.id LIMIT 5`,
    );
    expect(rows.map((row) => [row.id, row.orderCount])).toEqual(expected.map((r) => [r.id, r.n]));
    // sales is not among the view's roles
    const sales = await app.graphql(
      { sub: '6', tenantId: 1, roles: ['sales'] },
      '{ customerContacts { nodes { id } } }',
    );
    expect(sales.body.errors?.[0]?.message).toMatch(/Cannot query field "customerContacts"/);
  });

  it('the types hold the real answers (tsc), and refuse wrong ones', async () => {
    const agentRows = (
      await app.graphql(
        { sub: '1', tenantId: 2, roles: ['agent'] },
        '{ customerContacts(first: 3) { nodes { id name email tier orderCount lifetimeCents } } }',
      )
    ).body.data.customerContacts.nodes;
    expect(agentRows[0].email).toContain('***');
    const client = new Client({ name: 'generate-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: {
          headers: {
            authorization: `Bearer ${await app.token({ sub: '1', tenantId: 1, roles: ['agent'] })}`,
          },
        },
      }),
    );
    let result: unknown;
    try {
      const called = await client.callTool({
        name: 'orders_by_status',
        arguments: { status: 'shipped', first: 3 },
      });
      expect(called.isError).toBeFalsy();
      result = called.structuredContent;
    } finally {
      await client.close();
    }
    const [shipped] = await app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL AND status = 'shipped'`,
    );
    expect((result as { orders: { totalCount: number } }).orders.totalCount).toBe(shipped!.n);

    writeFileSync(
      join(out, 'check.ts'),
      [
        "import type { CustomerContactRow } from './customer-contact.view.js';",
        "import type { OrdersByStatusResult, OrdersByStatusVariables } from './orders-by-status.tool.js';",
        `export const rows: CustomerContactRow[] = ${JSON.stringify(agentRows)};`,
        `export const result: OrdersByStatusResult = ${JSON.stringify(result)};`,
        "export const variables: OrdersByStatusVariables = { status: 'shipped' };",
        // negative controls: the types are not `any`
        '// @ts-expect-error email is a string',
        'export const wrongType: CustomerContactRow = { ...rows[0]!, email: 1 };',
        '// @ts-expect-error a field the view does not have',
        'export const extra: CustomerContactRow = { ...rows[0]!, ssn: "x" };',
        '// @ts-expect-error status is required',
        'export const noStatus: OrdersByStatusVariables = {};',
        '// @ts-expect-error nodes hold no phone',
        'export const phone: string = result.orders.nodes[0]!.customer!.phone;',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
          // `ormai` as a user's project resolves it: here, this repository's source
          paths: { ormai: [join(ROOT, 'src', 'index.ts')] },
        },
        files: ['check.ts'],
      }),
    );
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(out, 'tsconfig.json')],
      { encoding: 'utf8', timeout: 180_000 },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 240_000);

  it('--dry-run prints the file and writes nothing; a changed file is kept without --force', () => {
    const dir = mkdtempSync(join(out, 'dry-'));
    const args = [
      'generate',
      'tool',
      'orders.by_status',
      '--config',
      CONFIG,
      '--query',
      TOOL_QUERY,
    ];
    const dry = runCli(dir, [...args, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^\/\/ orders-by-status\.tool\.ts \(dry run: nothing written\)\n/);
    expect(dry.stdout).toContain(
      'export interface OrdersByStatusVariables {\n  status: string;\n  first?: number | null;\n}',
    );
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, 'orders-by-status.tool.ts'), '// mine\n');
    const kept = runCli(dir, args);
    expect(kept.status).toBe(1);
    expect(kept.stdout).toContain('exists and differs');
    expect(readFileSync(join(dir, 'orders-by-status.tool.ts'), 'utf8')).toBe('// mine\n');
  });

  it('a field a role may not read is refused by the real CLI, naming the role and the field', () => {
    const refused = runCli(out, [
      'generate',
      'view',
      'Customer',
      '--config',
      CONFIG,
      '--name',
      'CustomerPrivate',
      '--fields',
      'id,ssn',
      '--roles',
      'admin,agent',
      '--dry-run',
    ]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(
      'ormai: generate view CustomerPrivate: role agent reads Customer but not Customer.ssn\n' +
        '  hint: drop ssn from --fields, or pass --roles without agent (the view is then served to the roles named only)\n',
    );
  });

  it('roles that read a field differently (a number, its hash) get one shape each', () => {
    const sales = saasPolicy.roles!.sales!;
    const hashed: Policy = {
      ...saasPolicy,
      roles: {
        ...saasPolicy.roles,
        sales: { models: { ...sales.models, Order: { fields: { hash: ['totalCents'] } } } },
      },
    };
    const config = { app: { ...saasApp, policy: hashed } };
    const view = generateView(config, {
      model: 'Order',
      name: 'OrderLine',
      fields: ['id', 'totalCents'],
      roles: ['admin', 'sales'],
    });
    expect(view.text).toContain(
      'export type OrderLineRow =\n  // as admin read it\n  | {\n      id: number;\n      totalCents: number;\n    }\n' +
        '  // as sales read it\n  | {\n      id: number;\n      totalCents: string;\n    };\n',
    );
    const tool = generateTool(config, {
      name: 'orders.totals',
      query: '{ orders { nodes { totalCents } } }',
      roles: ['admin', 'sales'],
    });
    expect(tool.text).toMatch(
      /\/\/ as admin read it\n {2}\| \{[^|]*totalCents: number;[^|]*\/\/ as sales read it\n {2}\| \{[^|]*totalCents: string;/,
    );
  });

  it('refusals name the role and what it cannot read (in-process)', () => {
    const config = { app: saasApp };
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(GenerateError);
        return error as GenerateError;
      }
      throw new Error('not refused');
    };
    // without --roles every role that reads Customer is checked: sales may not read ssn either
    expect(
      refusal(() =>
        generateView(config, { model: 'Customer', name: 'CustomerPrivate', fields: ['id', 'ssn'] }),
      ).message,
    ).toMatch(/^generate view CustomerPrivate: role sales reads Customer but not Customer\.ssn/);
    expect(
      refusal(() =>
        generateView(config, { model: 'Product', name: 'Margins', fields: ['id', 'costCents'] }),
      ).code,
    ).toBe('FIELD_NOT_READABLE');
    expect(
      refusal(() => generateView(config, { model: 'Customer', name: 'X', fields: ['nme'] }))
        .message,
    ).toMatch(/Customer has no field nme\n {2}hint: its fields are id, tenantId, name,/);
    const users = refusal(() =>
      generateTool(config, { name: 'users.list', query: '{ users { nodes { id } } }' }),
    );
    expect(users.message).toMatch(
      /role agent's schema refuses the query: Cannot query field "users"/,
    );
    expect(users.hints).toEqual([
      'it validates for admin, support, sales: pass --roles admin,support,sales if only they should get it',
    ]);
    expect(
      refusal(() =>
        generateTool(config, {
          name: 'customers.ssn',
          query: '{ customers { nodes { id ssn } } }',
          roles: ['admin', 'agent'],
        }),
      ).message,
    ).toMatch(/role agent's schema refuses the query: Cannot query field "ssn" on type "Customer"/);
    expect(
      refusal(() =>
        generateTool(config, {
          name: 'orders.cancel',
          query: 'mutation { updateOrder(id: 1, data: {}, reason: "x") { id } }',
        }),
      ).message,
    ).toMatch(/must hold exactly one query/);
    expect(
      refusal(() => generateTool(config, { name: 'db_query', query: '{ orders { totalCount } }' }))
        .code,
    ).toBe('TOOL_NAME_INVALID');
  });
});
