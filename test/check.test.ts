// Pins `ormai check`: each broken fixture policy produces its finding with a readable path and exit
// code 1; the example passes; a schema that offered a redacted field as a filter would be caught.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpdeskApp } from '../examples/helpdesk/app.js';
import { saasApp } from '../examples/saas/app.js';
import { runChecks } from '../src/cli/check.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { buildSchema } from '../src/schema/build-schema.js';
import { verifySchema } from '../src/schema/verify-schema.js';
import {
  maskedSumPolicy,
  unfilterablePolicy,
  unscopedPolicy,
  writesWithoutReasonPolicy,
} from './fixtures/broken-policies.js';
import {
  helpdeskCommentUnscopedPolicy,
  helpdeskNoTenantFieldPolicy,
} from './fixtures/helpdesk-broken-policies.js';

const ROOT = resolve(import.meta.dirname, '..');
const lines = (policy: unknown) => runChecks({ ...saasApp, policy: policy as never }).lines;

describe('ormai check', () => {
  it('passes the example policy', () => {
    const report = runChecks(saasApp);
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([]);
  });

  it('finds unscoped models and relation walks into them, per role', () => {
    const output = lines(unscopedPolicy);
    expect(output).toContain(
      'error agent: Customer.orders → Order: not scoped: the relation leads from tenant data into rows of every tenant',
    );
    expect(output).toContain(
      'error agent: Order: not scoped: it has no tenant field; name one (tenantField), scope it through a required parent relation (scopeThrough) or mark it global: true',
    );
    expect(output).toContain(
      'error sales: Tenant.products → Product: not scoped: the relation leads from tenant data into rows of every tenant',
    );
    expect(output.at(-1)).toMatch(/^\d+ error\(s\), 0 warning\(s\) in 4 role\(s\)$/);
  });

  it('finds writes without a reason in prod', () => {
    expect(lines(writesWithoutReasonPolicy)).toContain(
      'error support: writes.models.Order.support.update: writable without a reason in the prod profile; remove requireReason: false',
    );
  });

  it('finds a required filter that nothing can satisfy', () => {
    expect(lines(unfilterablePolicy)).toContain(
      'error agent: Tenant: requires a filter but has no field this role can filter on',
    );
  });

  it('warns when a view aggregate is left out for a role', () => {
    const report = runChecks({ ...saasApp, policy: maskedSumPolicy });
    expect(report.ok).toBe(true);
    expect(report.lines).toContain(
      'warn  agent: CustomerSummary.lifetimeCents: left out: it aggregates a relation or a field this role cannot read unredacted',
    );
  });

  it('lists invalid policy paths with suggestions', () => {
    const report = runChecks({
      ...saasApp,
      policy: { roles: { agent: { models: { Custmer: {} } } } } as never,
    });
    expect(report.ok).toBe(false);
    expect(report.lines).toEqual([
      'the policy is invalid:',
      '  roles.agent.models.Custmer: unknown model Custmer; did you mean Customer?',
    ]);
  });

  it('inspects the built schema: a redacted field offered as a filter is an oracle', () => {
    const engine = compilePolicy(saasApp.policy, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    const agent = engine.value.forRoles(['agent']);
    // a schema built as if email were plain, checked against the policy that masks it
    const customer = agent.models.get('Customer')!;
    const plain = {
      ...agent,
      models: new Map(agent.models).set('Customer', {
        ...customer,
        fields: new Map(
          [...customer.fields].map(([name, field]) => [name, { ...field, redaction: null }]),
        ),
      }),
    };
    const leaky = buildSchema({ datamodel: saasApp.datamodel, policy: plain, cursorSecret: 'x' });
    const findings = verifySchema(leaky, agent, saasApp.datamodel, 'agent');
    expect(findings.map((finding) => `${finding.path}: ${finding.message}`)).toEqual(
      expect.arrayContaining([
        'Customer.email: redacted but usable in CustomerWhereInput: a filter oracle',
        'Customer.phone: redacted but usable in CustomerOrderByInput: a filter oracle',
        'Customer.email: redacted but usable in CustomerGroupByField: a filter oracle',
      ]),
    );
  });

  it('the CLI exits 1 with the findings, and 0 on the example; serve refuses a failing policy', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(ROOT, 'bin', 'ormai.js'), ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const broken = run(['check', '--config', 'test/fixtures/unscoped.config.ts']);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain('agent: Customer.orders → Order: not scoped');
    const clean = run(['check']);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain('ok: 4 role(s) checked');
    const serve = run([
      'serve',
      '--config',
      'test/fixtures/writesWithoutReason.config.ts',
      '--port',
      '0',
    ]);
    expect(serve.status).toBe(1);
    expect(serve.stderr).toContain('the policy fails ormai check');
  }, 60_000);
});

describe('ormai check on the helpdesk example', () => {
  const helpdeskLines = (policy: unknown) =>
    runChecks({ ...helpdeskApp, policy: policy as never }).lines;

  it('passes its policy', () => {
    expect(runChecks(helpdeskApp).lines).toEqual([
      'ok: 4 role(s) checked (admin, agent, support, viewer), 0 warning(s)',
    ]);
  });

  it('finds a comment table left unscoped (its tenant column is not orgId) and every way into it', () => {
    const output = helpdeskLines(helpdeskCommentUnscopedPolicy);
    for (const role of ['admin', 'agent', 'support', 'viewer']) {
      expect(output).toContain(
        `error ${role}: Comment: not scoped: it has no tenant field; name one (tenantField), scope it through a required parent relation (scopeThrough) or mark it global: true`,
      );
      expect(output).toContain(
        `error ${role}: Ticket.comments → Comment: not scoped: the relation leads from tenant data into rows of every tenant`,
      );
    }
    expect(output.at(-1)).toBe('12 error(s), 0 warning(s) in 4 role(s)');
  });

  it('refuses a policy that forgot its tenant field, naming the model it leaves unscoped', () => {
    expect(helpdeskLines(helpdeskNoTenantFieldPolicy)).toEqual([
      'the policy is invalid:',
      '  models.Comment.scopeThrough: Ticket is not tenant-scoped (no tenant field), so it cannot scope Comment',
    ]);
  });

  it('the CLI exits 1 on the broken helpdesk config and 0 on the example', () => {
    const run = (config: string) =>
      spawnSync(process.execPath, [join(ROOT, 'bin', 'ormai.js'), 'check', '--config', config], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const broken = run('test/fixtures/helpdesk-unscoped.config.ts');
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain('viewer: Ticket.comments → Comment: not scoped');
    const clean = run('examples/helpdesk/ormai.config.ts');
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain('ok: 4 role(s) checked (admin, agent, support, viewer)');
  }, 60_000);
});

describe('ormai explain', () => {
  it("the example README's table is the policy's", async () => {
    const { readFileSync } = await import('node:fs');
    const { explainPolicy } = await import('../src/policy/explain.js');
    const engine = compilePolicy(saasApp.policy, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    const readme = readFileSync(join(ROOT, 'examples', 'saas', 'README.md'), 'utf8');
    const embedded = /<!-- explain:start -->\n([\s\S]*?)\n<!-- explain:end -->/.exec(readme)?.[1];
    expect(embedded).toBe(explainPolicy(engine.value));
  });

  it("the helpdesk README's table is the policy's", async () => {
    const { readFileSync } = await import('node:fs');
    const { explainPolicy } = await import('../src/policy/explain.js');
    const engine = compilePolicy(helpdeskApp.policy, helpdeskApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    const readme = readFileSync(join(ROOT, 'examples', 'helpdesk', 'README.md'), 'utf8');
    const embedded = /<!-- explain:start -->\n([\s\S]*?)\n<!-- explain:end -->/.exec(readme)?.[1];
    expect(embedded).toBe(explainPolicy(engine.value));
  });
});
