// Pins `ormai policy diff`: per role, what changes between two policies once compiled (fields,
// rows, scope, budgets, writes) and, with recorded calls, which calls change when run under both.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import { formatSimulation } from '../src/cli/policy-diff.js';
import { openDatabase } from '../src/db/database.js';
import { compilePolicy, type PolicyEngine } from '../src/policy/compile-policy.js';
import { diffPolicies, type PolicyChange } from '../src/policy/diff-policy.js';
import type { Policy } from '../src/policy/types.js';
import { CONFIG, ROOT, runCli } from './helpers/cli.js';
import { createTestDatabase, DATABASE_KINDS } from './helpers/runtime.js';

const engine = (policy: Policy): PolicyEngine => {
  const compiled = compilePolicy(policy, saasApp.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.value;
};

/** Each role's changes as `subject old → new effect` lines, sorted. */
const changesOf = (before: Policy, after: Policy) =>
  Object.fromEntries(
    diffPolicies(engine(before), engine(after)).roles.map((role) => [
      role.role,
      role.changes.map(line).sort(),
    ]),
  );
const line = (change: PolicyChange) =>
  `${change.subject}: ${JSON.stringify(change.old)} → ${JSON.stringify(change.new)} ${change.effect}`;

const copy = (): Policy => structuredClone(saasPolicy);

describe('the static diff, on what each role gets once compiled', () => {
  it('finds nothing between a policy and the same rules written differently', () => {
    const same = copy();
    // keys in another order, an empty overlay, a rule the defaults already give
    same.roles = Object.fromEntries(Object.entries(same.roles!).reverse());
    same.roles.admin = { models: {} };
    same.profile = 'prod';
    same.models!.Customer = { softDeleteField: 'deletedAt' };
    const diff = diffPolicies(engine(saasPolicy), engine(same));
    expect(diff.totals).toEqual({ widens: 0, narrows: 0, changes: 0 });
    expect(diff.roles.map((role) => [role.role, role.status])).toEqual([
      ['admin', 'unchanged'],
      ['agent', 'unchanged'],
      ['sales', 'unchanged'],
      ['support', 'unchanged'],
    ]);
  });

  it('lists fields, rows, budgets and writes per role with what they widen or narrow', () => {
    const after = copy();
    after.roles!.agent!.models!.Customer = {
      fields: { deny: ['ssn', 'phone'], mask: { email: true } },
    };
    after.roles!.agent!.models!.Order = { rowFilter: { status: 'shipped' } };
    delete after.roles!.sales!.models!.Order;
    after.roles!.support!.models!.Customer = { fields: { hash: ['ssn'] } };
    after.budgets = { ...after.budgets, maxTake: 50 };
    after.writes!.models!.Order!.support!.update = { fields: ['status'] };
    after.writes!.models!.Order!.support!.delete = {};
    expect(changesOf(saasPolicy, after)).toEqual({
      admin: ['budgets.maxTake: 100 → 50 narrows'],
      agent: [
        'Customer.phone: "mask" → "deny" narrows',
        'Order rows: null → {"status":"shipped"} narrows',
        'budgets.maxTake: 100 → 50 narrows',
      ],
      sales: [
        'Order rows: {"salesRepId":"$principal.sub"} → null widens',
        'budgets.maxTake: 100 → 50 narrows',
      ],
      support: [
        'Customer.ssn: "mask ****{last4}" → "hash" narrows',
        'budgets.maxTake: 100 → 50 narrows',
        'writes.Order.delete.requireApproval: true → false widens',
        'writes.Order.update.fields: ["status","notes"] → ["status"] narrows',
      ],
    });
  });

  it('sees what a policy-wide rule does to every role, as compiled (globs, global models, soft delete)', () => {
    const after = copy();
    after.denyFields = ['*phone*'];
    after.models = {
      ...after.models,
      Product: { global: true },
      Order: { softDeleteField: false },
    };
    const changes = changesOf(saasPolicy, after);
    expect(changes.admin).toEqual([
      'Customer.phone: "allow" → "deny" narrows',
      'Order soft delete: "deletedAt" → null widens',
      'Product tenant: "by tenantId" → "global" widens',
    ]);
    // the agent had the phone masked, support plain: each sees it go from what it had
    expect(changes.agent).toContain('Customer.phone: "mask" → "deny" narrows');
    expect(changes.support).toContain('Customer.phone: "allow" → "deny" narrows');
    // sales does not read Product.costCents either way: only the scope changes there
    expect(changes.sales).toContain('Product tenant: "by tenantId" → "global" widens');
  });

  it('compares a role one policy lacks with reading nothing', () => {
    const after = copy();
    delete after.roles!.sales;
    delete after.writes!.models!.Order!.sales;
    after.roles!.auditor = { models: { User: { hidden: true } } };
    const diff = diffPolicies(engine(saasPolicy), engine(after));
    const auditor = diff.roles.find((role) => role.role === 'auditor')!;
    const sales = diff.roles.find((role) => role.role === 'sales')!;
    expect(auditor.status).toBe('added');
    expect(sales.status).toBe('removed');
    const models = Object.keys(saasApp.datamodel.datamodel.models);
    // every model but User becomes readable to the auditor, every model the rep read is gone
    expect(
      auditor.changes.filter((c) => c.kind === 'model').map((c) => [c.subject, c.old, c.effect]),
    ).toEqual(models.filter((m) => m !== 'User').map((m) => [m, 'hidden', 'widens']));
    expect(
      sales.changes.filter((c) => c.kind === 'model').map((c) => [c.subject, c.new, c.effect]),
    ).toEqual(models.map((m) => [m, 'hidden', 'narrows']));
    expect(sales.changes.find((c) => c.subject === 'User')!.old).toMatchObject({
      email: 'hash',
      name: 'allow',
    });
  });
});

const temp = mkdtempSync(join(tmpdir(), 'ormai-policy-diff-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The example's policy file with each `[from, to]` replaced (each must be found). */
function editedPolicy(name: string, edits: [string, string][]): string {
  let text = readFileSync(join(ROOT, 'examples/saas/policy.ts'), 'utf8');
  for (const [from, to] of edits) {
    expect(text, `the example policy no longer says ${from}`).toContain(from);
    text = text.replace(from, to);
  }
  const file = join(temp, name);
  writeFileSync(file, text);
  return file;
}

const EDITS: [string, string][] = [
  [
    "Customer: { fields: { deny: ['ssn'], mask: { email: true, phone: true } } },",
    "Customer: { fields: { deny: ['ssn', 'phone'], mask: { email: true } } }, Order: { rowFilter: { status: 'shipped' } },",
  ],
  ["Order: { ownershipField: 'salesRepId' },", ''],
  ["update: { fields: ['status', 'notes'] },", "update: { fields: ['status'] },"],
];

/** Raw SQL on the CLI's database (PostgreSQL at `url`, else the embedded one of `cwd`): order counts of tenant 1, and the rows the writes name. */
async function readOrders(cwd: string, url: string | undefined) {
  const db = url
    ? await openDatabase({ kind: 'postgres', url, poolSize: 1 })
    : await openDatabase({ kind: 'pglite', dataDir: join(cwd, '.ormai', 'pgdata') });
  try {
    const count = async (where: string) =>
      (
        await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Order" WHERE ${where}`)
      )[0]!.n;
    const live = '"tenantId" = 1 AND "deletedAt" IS NULL';
    return {
      truth: {
        orders: await count(live),
        shipped: await count(`${live} AND status = 'shipped'`),
        repOrders: await count(`${live} AND "salesRepId" = 6`),
      },
      rows: await db.sql.query(
        'SELECT id, status, notes, "updatedAt"::text AS "updatedAt" FROM "Order" WHERE id IN (1, 2, 3) ORDER BY id',
      ),
    };
  } finally {
    await db.close();
  }
}

describe('ormai policy diff (the real CLI on the example)', () => {
  it('prints the diff per role, or JSON with --json, and exits 0; a bad file exits 1 with a message', () => {
    const cwd = mkdtempSync(join(temp, 'static-'));
    const before = editedPolicy('old.ts', []);
    const after = editedPolicy('new.ts', EDITS);
    const text = runCli(cwd, ['policy', 'diff', before, after, '--config', CONFIG]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/role agent: 2 change\(s\) \(2 narrows\)/);
    expect(text.stdout).toMatch(/ {2}Customer\.phone\s+mask → deny {2}\[narrows\]/);
    expect(text.stdout).toMatch(
      / {2}Order rows\s+every row in scope → where status = shipped {2}\[narrows\]/,
    );
    expect(text.stdout).toMatch(
      /role sales: 1 change\(s\) \(1 widens\)\n {2}Order rows\s+where salesRepId = \$principal\.sub → every row in scope {2}\[widens\]/,
    );
    expect(text.stdout).toMatch(
      / {2}writes\.Order\.update\.fields\s+status, notes → status {2}\[narrows\]/,
    );
    expect(text.stdout).toContain('role admin: unchanged');

    const json = runCli(cwd, ['policy', 'diff', before, after, '--config', CONFIG, '--json']);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.totals).toEqual({ widens: 1, narrows: 3, changes: 0 });
    expect(report.old.version).toMatch(/^[0-9a-f]{16}$/);
    expect(report.new.version).not.toBe(report.old.version);
    expect(report.roles.find((r: { role: string }) => r.role === 'sales').changes).toEqual([
      {
        kind: 'rows',
        subject: 'Order rows',
        old: { salesRepId: '$principal.sub' },
        new: null,
        effect: 'widens',
      },
    ]);

    // the same policy exported by name only is found; one naming an unknown field is refused
    const named = join(temp, 'named.ts');
    writeFileSync(
      named,
      'export const policy = { profile: "prod", models: { Tenant: { tenantField: "id" } } };\n',
    );
    const bad = editedPolicy('bad.ts', [["deny: ['costCents']", "deny: ['costCent']"]]);
    const same = runCli(cwd, ['policy', 'diff', named, named, '--config', CONFIG]);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toContain('no role reads or writes anything differently');
    const refused = runCli(cwd, ['policy', 'diff', before, bad, '--config', CONFIG]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('bad.ts: the policy is invalid');
    expect(refused.stderr).toContain('unknown field costCent; did you mean costCents?');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);
});

describe.each(DATABASE_KINDS)(
  'ormai policy diff --calls on %s (the real CLI on the example)',
  (kind) => {
    let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    afterAll(async () => {
      await database?.drop();
    });

    it('runs recorded reads under both policies on the database and judges writes without running them', async () => {
      const cwd = mkdtempSync(join(temp, `calls-${kind}-`));
      if (kind === 'postgres') database = await createTestDatabase(process.env.TEST_DATABASE_URL!);
      const url = database?.url;
      const env = url ? { env: { DATABASE_URL: url } } : {};
      const seeded = runCli(cwd, ['seed', '--config', CONFIG], env);
      expect(seeded.status, seeded.stderr).toBe(0);
      const untouched = (await readOrders(cwd, url)).rows;
      const before = editedPolicy('old.ts', []);
      const after = editedPolicy('new.ts', EDITS);
      const principal = (sub: string, tenantId: number, role: string) => ({
        sub,
        tenantId,
        roles: [role],
      });
      const recorded = (
        id: number,
        surface: string,
        operation: string,
        who: object,
        inputs: object,
      ) =>
        JSON.stringify({
          v: 1,
          id,
          ts: '2026-12-03T20:00:00.000Z',
          surface,
          operation,
          principal: who,
          inputs,
          outcome: 'ok',
          error_code: null,
          row_count: null,
          result_digest: null,
          policy_version: null,
        });
      const graphql = (query: string, variables: object | null = null) => ({
        query,
        variables,
        operationName: null,
      });
      const calls = join(cwd, 'calls.jsonl');
      writeFileSync(
        calls,
        [
          // the agent counts the tenant's orders: all of them before, the shipped ones after
          recorded(1, 'mcp', 'db_aggregate', principal('1', 1, 'agent'), {
            model: 'Order',
            operation: 'count',
          }),
          // the agent reads phones, now denied
          recorded(2, 'mcp', 'db_query', principal('1', 1, 'agent'), {
            model: 'Customer',
            select: ['id', 'phone'],
            take: 5,
          }),
          // a sales rep lists orders: their own before, the tenant's after
          recorded(
            3,
            'graphql',
            'query orders',
            principal('6', 1, 'sales'),
            graphql('{ orders(first: 100) { nodes { id } } }'),
          ),
          // unchanged: an admin reading customers
          recorded(
            4,
            'graphql',
            'query customers',
            principal('11', 2, 'admin'),
            graphql('{ customers(first: 3) { nodes { id name phone } } }'),
          ),
          // writes: notes may no longer be written; the status still may
          recorded(5, 'mcp', 'db_update', principal('3', 1, 'support'), {
            model: 'Order',
            id: 1,
            data: { notes: 'written by the simulation' },
            reason: 'a test',
          }),
          recorded(
            6,
            'graphql',
            'mutation updateOrder',
            principal('3', 1, 'support'),
            graphql(
              'mutation($id: Int!) { updateOrder(id: $id, data: { status: "shipped", notes: "written by the simulation" }, reason: "a test") { id } }',
              { id: 2 },
            ),
          ),
          recorded(7, 'mcp', 'db_update', principal('3', 1, 'support'), {
            model: 'Order',
            id: 3,
            data: { status: 'delivered' },
            reason: 'a test',
          }),
        ].join('\n'),
      );
      const run = runCli(
        cwd,
        ['policy', 'diff', before, after, '--config', CONFIG, '--calls', calls, '--json'],
        env,
      );
      expect(run.status, run.stderr).toBe(0);
      const { simulation } = JSON.parse(run.stdout);

      const { truth, rows } = await readOrders(cwd, url);
      expect(truth.shipped).toBeGreaterThan(0);
      expect(truth.shipped).toBeLessThan(truth.orders);
      expect(truth.repOrders).toBeLessThan(100);

      expect(simulation).toMatchObject({ calls: 7, run: 4, judged: 3, unchanged: 2 });
      const changed = Object.fromEntries(
        simulation.changed.map((call: { id: number }) => [call.id, call]),
      );
      expect(Object.keys(changed)).toEqual(['1', '2', '3', '5', '6']);
      expect([changed[1].old.row_count, changed[1].new.row_count]).toEqual([
        truth.orders,
        truth.shipped,
      ]);
      expect(changed[1].fields.changed).toEqual(['row_count', 'value']);
      expect(changed[2].new).toMatchObject({ outcome: 'error', error_code: 'FIELD_NOT_ALLOWED' });
      expect(changed[2].old.outcome).toBe('ok');
      expect([changed[3].old.row_count, changed[3].new.row_count]).toEqual([
        truth.repOrders,
        Math.min(100, truth.orders),
      ]);
      expect(changed[5]).toMatchObject({
        mode: 'judged',
        old: { outcome: 'ok' },
        new: {
          outcome: 'error',
          error_code: 'FIELD_NOT_ALLOWED',
          error_message: 'Order.notes may not be written',
        },
      });
      // GraphQL: notes is no longer in the role's update input, so the document does not validate
      expect(changed[6]).toMatchObject({
        mode: 'judged',
        old: { outcome: 'ok' },
        new: { outcome: 'error', error_code: 'VALIDATION_ERROR' },
      });
      expect(changed[6].new.error_message).toContain('unknown field "notes"');
      // judged, never run: the rows the writes name are as the seed left them
      expect(rows).toEqual(untouched);

      // the text the command prints without --json
      const text = formatSimulation(simulation, calls).join('\n');
      expect(text).toContain(
        `simulation of 7 recorded call(s) from ${calls}: 4 read(s) run under both policies, 3 write(s) judged without running\n  5 would change, 2 unchanged`,
      );
      expect(text).toContain(
        `  call 3 (graphql query orders, roles sales, tenant 1, sub 6):\n    rows: ${truth.repOrders} → ${Math.min(100, truth.orders)}\n`,
      );
      expect(text).toContain(
        '  call 5 (mcp db_update, roles support, tenant 1, sub 3, write, not run):\n    outcome: ok → error FIELD_NOT_ALLOWED (Order.notes may not be written)',
      );
    }, 300_000);
  },
);
