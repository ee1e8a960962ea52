// Pins `ormai init`: the tenant field, scopeThrough, flags, secrets and masks as enforced, the files.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { afterAll, describe, expect, it } from 'vitest';
import { runChecks } from '../src/cli/check.js';
import { CONFIG_FILE, POLICY_FILE, runInit } from '../src/cli/init.js';
import { compilePolicy, type PolicyEngine } from '../src/policy/compile-policy.js';
import { type InitPolicy, type InitPolicyOptions, initPolicy } from '../src/policy/init-policy.js';
import { readPrismaSchema } from '../src/prisma/read-schema.js';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test/fixtures/init');
const SCHEMAS = {
  analytics: 'analytics/prisma/schema.prisma',
  esign: 'esign/prisma/schema.prisma',
  classic: 'classic/db/schema.prisma',
} as const;
type Fixture = keyof typeof SCHEMAS;

const temp = mkdtempSync(join(tmpdir(), 'ormai-init-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
let projects = 0;

/** A copy of a fixture app, where init may write; `ormai` resolves to this repository's source. */
function project(fixture: Fixture): string {
  const dir = join(temp, `${fixture}-${++projects}`);
  cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  const ormai = join(dir, 'node_modules/ormai');
  mkdirSync(ormai, { recursive: true });
  writeFileSync(
    join(ormai, 'package.json'),
    JSON.stringify({ name: 'ormai', type: 'module', exports: './index.ts' }),
  );
  writeFileSync(
    join(ormai, 'index.ts'),
    `export { definePolicy } from ${JSON.stringify(join(ROOT, 'src/policy/types.ts'))};\n`,
  );
  return dir;
}

function init(cwd: string, options: { tenantField?: string; force?: boolean } = {}) {
  const lines: string[] = [];
  const code = runInit({ cwd, ...options, print: (line = '') => lines.push(line) });
  return { code, output: lines.join('\n') };
}

function plan(fixture: Fixture, options: InitPolicyOptions = {}): InitPolicy {
  const result = initPolicy(readPrismaSchema(join(FIXTURES, SCHEMAS[fixture])), options);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

/** The policy as ormai will enforce it. */
function compile(fixture: Fixture, value: InitPolicy): PolicyEngine {
  const compiled = compilePolicy(value.policy, readPrismaSchema(join(FIXTURES, SCHEMAS[fixture])));
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.value;
}

/** What Biome makes of a file (format, lint fixes, import order), with the project's config. */
function biome(name: string, text: string): string {
  const run = spawnSync(
    join(ROOT, 'node_modules/.bin/biome'),
    ['check', '--write', `--stdin-file-path=${name}`],
    { cwd: ROOT, input: text, encoding: 'utf8' },
  );
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe('the tenant field', () => {
  it('is the candidate on the most models, and the model it points at is the tenant', () => {
    const analytics = plan('analytics');
    expect(analytics.tenantField).toBe('teamId');
    expect(analytics.tenantModel).toBe('Team');
    expect(analytics.policy.models?.Team).toEqual({ tenantField: 'id' });
    expect(analytics.policy.models?.TeamUser).toEqual({});
    expect(analytics.scopes.get('Website')).toEqual({
      kind: 'tenant-field',
      field: 'teamId',
      optional: true,
    });
    // teamId on five models beats organisationId on two
    expect(plan('esign').tenantField).toBe('teamId');
    expect(plan('classic').tenantField).toBe('tenantId');
  });

  it('may be given as the column name from @map', () => {
    expect(plan('analytics', { tenantField: 'team_id' }).tenantField).toBe('teamId');
  });

  it('answers a typo with did you mean, from the field or its column', () => {
    const schema = readPrismaSchema(join(FIXTURES, SCHEMAS.analytics));
    const typo = initPolicy(schema, { tenantField: 'teem' });
    expect(typo.ok).toBe(false);
    expect(!typo.ok && typo.message).toBe(
      '--tenant-field teem: no model has a field or column named teem; did you mean teamId?',
    );
    const column = initPolicy(schema, { tenantField: 'team_idd' });
    expect(!column.ok && column.message).toMatch(/did you mean teamId\?$/);

    const cli = init(project('analytics'), { tenantField: 'teem' });
    expect(cli.code).toBe(1);
    expect(cli.output).toContain('did you mean teamId?');
  });

  it('another candidate moves the tenant: teams are then scoped through their organisation', () => {
    const value = plan('esign', { tenantField: 'organisationId' });
    expect(value.tenantModel).toBe('Organisation');
    expect(value.policy.models?.Organisation).toEqual({ tenantField: 'id' });
    expect(value.policy.models?.Team).toEqual({});
    expect(value.policy.models?.Document).toEqual({ scopeThrough: 'team' });
    expect(value.policy.models?.Recipient).toEqual({ scopeThrough: 'document' });
    const datamodel = readPrismaSchema(join(FIXTURES, SCHEMAS.esign));
    const report = runChecks({ name: 'esign', datamodel, policy: value.policy });
    expect(report.ok, report.lines.join('\n')).toBe(true);
  });
});

describe('models without the tenant field', () => {
  it('reach the tenant through a required to-one parent, the nearest one', () => {
    const models = plan('analytics').policy.models!;
    expect(models.WebsiteEvent).toEqual({ scopeThrough: 'website' });
    expect(models.Session).toEqual({ scopeThrough: 'website' });
    // Report also requires a User, who belongs to no tenant; its Website does
    expect(models.Report).toEqual({ scopeThrough: 'website' });
    // two steps: event data → website event → website
    expect(models.EventData).toEqual({ scopeThrough: 'websiteEvent' });
    expect(plan('esign').policy.models?.Field).toEqual({ scopeThrough: 'document' });
  });

  it('with no way to a tenant are written global, with a TODO, and listed', () => {
    const dir = project('analytics');
    const { code, output } = init(dir);
    expect(code).toBe(0);
    const value = plan('analytics');
    const flagged = [...value.scopes].filter(([, scope]) => scope.kind === 'unscoped');
    expect(flagged.map(([name]) => name)).toEqual(['User', 'GeoCountry']);
    expect(value.policy.models?.User).toEqual({ global: true });
    expect(output).toMatch(/^ {2}FLAGGED {9}User, GeoCountry: no way to a tenant found/m);
    expect(readFileSync(join(dir, POLICY_FILE), 'utf8')).toContain(
      '    // TODO: ormai could not find how GeoCountry belongs to a tenant; global means every tenant reads every row; agent does not see it.\n    GeoCountry: { global: true },',
    );
  });

  it('pass ormai check as written', () => {
    const { output } = init(project('esign'));
    expect(output).toContain('ormai check:\n  ok: 2 role(s) checked (admin, agent), 0 warning(s)');
  });
});

describe('fields', () => {
  it('secrets are readable by no role, as compilePolicy enforces the policy', () => {
    const cases: [Fixture, string[]][] = [
      ['analytics', ['User.passwordHash', 'User.twoFactorBackupCodes', 'Team.accessCode']],
      [
        'esign',
        [
          'User.password',
          'User.twoFactorSecret',
          'User.twoFactorBackupCodes',
          'Document.accessCode',
          'Recipient.token',
          'Webhook.secret',
          'Webhook.signingSalt',
          'ApiToken.token',
        ],
      ],
      ['classic', ['User.pinHash']],
    ];
    for (const [fixture, secrets] of cases) {
      const value = plan(fixture);
      const engine = compile(fixture, value);
      expect(value.denied).toEqual(expect.arrayContaining(secrets));
      for (const role of ['admin', 'agent']) {
        const models = engine.forRoles([role]).models;
        for (const secret of value.denied) {
          const [model, field] = secret.split('.') as [string, string];
          // a model hidden from the role has no fields to read at all
          expect(models.get(model)?.fields.has(field) ?? false, `${role} reads ${secret}`).toBe(
            false,
          );
        }
      }
    }
  });

  it('lists the secret fields it found, not relations named like them (Team.apiTokens)', () => {
    expect([...plan('analytics').denied].sort()).toEqual([
      'Team.accessCode',
      'User.passwordHash',
      'User.twoFactorBackupCodes',
    ]);
    expect(plan('esign').denied).not.toContain('Team.apiTokens');
  });

  it('adds denyFields only for secrets the default globs miss', () => {
    expect(plan('analytics').policy.denyFields).toBeUndefined();
    // a salt, and a field whose column the defaults would catch (@map("pin_hash")) but not its name
    expect(plan('esign').policy.denyFields).toEqual(['signingSalt']);
    expect(plan('classic').policy.denyFields).toEqual(['pinHash']);
  });

  it('personal data is masked for agent, plain for admin', () => {
    const value = plan('analytics');
    const engine = compile('analytics', value);
    // billing is masked by its column, billing_phone; emailVerified is about an email, not one.
    // User is flagged (no way to a tenant): hidden from agent altogether, so nothing to mask there
    const personal = ['Session.ipAddress', 'Team.billing'];
    expect(engine.forRoles(['agent']).models.has('User')).toBe(false);
    expect(
      engine.forRoles(['admin']).models.get('User')?.fields.get('email')?.redaction,
    ).toBeNull();
    expect([...value.masked].sort()).toEqual([...personal].sort());
    for (const path of personal) {
      const [model, field] = path.split('.') as [string, string];
      expect(engine.forRoles(['agent']).models.get(model)?.fields.get(field)?.redaction).toEqual({
        kind: 'mask',
      });
      expect(engine.forRoles(['admin']).models.get(model)?.fields.get(field)?.redaction).toBeNull();
    }
    expect(value.policy.roles?.admin).toEqual({});
    // approvers and audit readers are named in the file: the policy implies none
    expect(value.policy.writes).toEqual({ enabled: false, approvers: ['admin'] });
    expect(value.policy.audit).toEqual({ readers: ['admin'] });
    expect(plan('classic').masked).toEqual(['User.email', 'User.phone']);
  });
});

describe('the written files', () => {
  it.each(Object.keys(SCHEMAS) as Fixture[])(
    '%s: the policy file loads as the object that was checked; Biome leaves both as written',
    async (fixture) => {
      const dir = project(fixture);
      expect(init(dir).code).toBe(0);
      const policyText = readFileSync(join(dir, POLICY_FILE), 'utf8');
      const configText = readFileSync(join(dir, CONFIG_FILE), 'utf8');
      // a project without "type": "module" loads it as CommonJS: default is then module.exports
      const loaded = (await tsImport(join(dir, POLICY_FILE), import.meta.url)) as {
        default: { __esModule?: boolean; default?: unknown };
      };
      const policy = loaded.default.__esModule ? loaded.default.default : loaded.default;
      expect(policy).toEqual(plan(fixture).policy);
      expect(biome(POLICY_FILE, policyText)).toBe(policyText);
      expect(biome(CONFIG_FILE, configText)).toBe(configText);
    },
  );

  it('the config imports the client the generator emits', () => {
    const config = (fixture: Fixture) => {
      const dir = project(fixture);
      init(dir);
      return readFileSync(join(dir, CONFIG_FILE), 'utf8');
    };
    const analytics = config('analytics');
    expect(analytics).toContain("import { PrismaClient } from './src/generated/prisma/client.js';");
    expect(analytics).toContain(
      "datamodel: readPrismaSchema(new URL('./prisma/schema.prisma', import.meta.url)),",
    );
    expect(config('esign')).toContain(
      "import { PrismaClient } from './generated/client/client.js';",
    );
    const classic = config('classic');
    expect(classic).toContain("import { PrismaClient } from '@prisma/client';");
    expect(classic).toContain("name: 'classic-app',");
    expect(classic).toContain(
      "datamodel: readPrismaSchema(new URL('./db/schema.prisma', import.meta.url)),",
    );
  });

  it('without a client generator, the config says what to add', () => {
    const dir = project('classic');
    const schema = join(dir, 'db/schema.prisma');
    writeFileSync(schema, readFileSync(schema, 'utf8').replace(/generator client \{[^}]*\}/, ''));
    const { code, output } = init(dir);
    expect(code).toBe(0);
    expect(output).toMatch(
      /^ {2}PrismaClient {4}no prisma-client or prisma-client-js generator found/m,
    );
    const text = readFileSync(join(dir, CONFIG_FILE), 'utf8');
    expect(text).toContain(
      '// TODO: ormai init found no prisma-client or prisma-client-js generator',
    );
    expect(text).not.toContain('import { PrismaClient }');
    expect(biome(CONFIG_FILE, text)).toBe(text);
  });
});

describe('finding the schema', () => {
  it("reads prisma.config.ts's schema, and names what it looked at when there is none", () => {
    const dir = project('classic');
    cpSync(join(dir, 'db/schema.prisma'), join(dir, 'schema/app.prisma'), { recursive: true });
    rmSync(join(dir, 'package.json'));
    writeFileSync(
      join(dir, 'prisma.config.ts'),
      "import { defineConfig } from 'prisma/config';\n\nexport default defineConfig({ schema: 'schema/app.prisma' });\n",
    );
    expect(init(dir).output).toMatch(/^ormai init: schema\/app\.prisma, 3 models$/m);

    const empty = join(temp, 'empty');
    mkdirSync(empty);
    expect(() => init(empty)).toThrow(
      'no Prisma schema found (looked at prisma/schema.prisma, prisma/schema, schema.prisma); pass --schema <file>',
    );
  });
});

describe('running init again', () => {
  it('leaves files alone: unchanged ones are up to date, edited ones wait for --force', () => {
    const dir = project('analytics');
    expect(init(dir).code).toBe(0);
    const again = init(dir);
    expect(again.code).toBe(0);
    expect(again.output).toContain(`${CONFIG_FILE} is up to date`);
    expect(again.output).toContain(`${POLICY_FILE} is up to date`);

    const policyPath = join(dir, POLICY_FILE);
    const written = readFileSync(policyPath, 'utf8');
    const edited = written.replace('agent: {\n', 'agent: {\n      budgets: { maxTake: 10 },\n');
    writeFileSync(policyPath, edited);
    const refused = init(dir);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(`${POLICY_FILE} exists and differs from what init writes now`);
    expect(refused.output).toContain('npx ormai init --force');
    expect(readFileSync(policyPath, 'utf8')).toBe(edited);

    const forced = init(dir, { force: true });
    expect(forced.code).toBe(0);
    expect(forced.output).toContain(`overwrote ${POLICY_FILE}`);
    expect(readFileSync(policyPath, 'utf8')).toBe(written);
  });
});

describe('npx ormai init', () => {
  it('runs in the project folder, exits 0 and prints the next three commands', () => {
    const dir = project('analytics');
    const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'ormai.js'), 'init', '--yes'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`wrote ${CONFIG_FILE}\nwrote ${POLICY_FILE}`);
    expect(run.stdout).toContain('ok: 2 role(s) checked (admin, agent), 0 warning(s)');
    expect(run.stdout).toContain('1. DATABASE_URL=postgresql://… npx ormai migrate');
    expect(run.stdout).toContain(
      '2. DATABASE_URL=postgresql://… ORMAI_JWT_SECRET=… npx ormai serve',
    );
    expect(run.stdout).toContain(
      '3. ORMAI_JWT_SECRET=… npx ormai token --sub 1 --tenant <a Team id> --roles agent',
    );
  });
});
