// Pins the pure policy core: compilation against the datamodel, default deny globs, row scope and
// principal coercion. No database.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { DEFAULT_DENY_GLOBS } from '../src/policy/defaults.js';
import { matchesAnyGlob, toSnakeCase } from '../src/policy/globs.js';
import { coerceToFieldType, rowScope } from '../src/policy/row-scope.js';
import { readPrismaSchema } from '../src/prisma/read-schema.js';

const principal = (tenantId: string | number | null) => ({
  sub: '7',
  tenantId,
  roles: ['agent'],
  claims: {},
});

describe('compilePolicy', () => {
  it('compiles the example: every model tenant-scoped, Tenant by id, secrets denied', () => {
    const result = compilePolicy(saasApp.policy, saasApp.datamodel);
    if (!result.ok) throw new Error(result.message);
    const models = result.value.forRoles(['admin']).models;
    expect([...models.keys()]).toEqual([
      'Tenant',
      'User',
      'Customer',
      'Product',
      'Order',
      'OrderItem',
    ]);
    expect(models.get('Tenant')!.tenantField?.name).toBe('id');
    expect(models.get('Order')!.tenantField?.name).toBe('tenantId');
    expect(models.get('Order')!.softDeleteField).toBe('deletedAt');
    expect(models.get('Product')!.softDeleteField).toBeNull();
    expect([...models.get('User')!.fields.keys()]).not.toContain('passwordHash');
    expect([...models.get('User')!.fields.keys()]).not.toContain('apiKey');
    expect(models.get('Order')!.relations.get('customer')).toMatchObject({
      target: 'Customer',
      list: false,
      join: { localField: 'customerId', targetField: 'id' },
    });
    expect(models.get('Customer')!.relations.get('orders')).toMatchObject({
      target: 'Order',
      list: true,
    });
    expect(result.value.forRoles(['admin']).budgets).toMatchObject({
      defaultTake: 25,
      maxTake: 100,
      maxIncludeDepth: 2,
      maxSelectedFields: 40,
      statementTimeoutMs: 2000,
    });
  });

  it('lists every problem with its path and a suggestion', () => {
    const result = compilePolicy(
      { models: { Ordr: {}, Order: { tenantField: 'tenantld' }, Tenant: {} }, bogus: 1 },
      saasApp.datamodel,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('INVALID_POLICY');
    expect(result.hints.join('\n')).toContain('Unrecognized key');
    const fixed = compilePolicy(
      { models: { Ordr: {}, Order: { tenantField: 'tenantld' }, Tenant: {} } },
      saasApp.datamodel,
    );
    expect(fixed.ok).toBe(false);
    if (fixed.ok) return;
    expect(fixed.hints).toEqual([
      'models.Ordr: unknown model Ordr; did you mean Order?',
      'models.Order.tenantField: unknown field tenantld; did you mean tenantId?',
    ]);
  });

  it('a global model has no tenant scope; a hidden model is left out', () => {
    const result = compilePolicy(
      { models: { Tenant: { global: true }, User: { hidden: true } } },
      saasApp.datamodel,
    );
    if (!result.ok) throw new Error(result.message);
    const models = result.value.forRoles([]).models;
    expect(models.get('Tenant')!.tenantField).toBeNull();
    expect(models.get('Tenant')!.global).toBe(true);
    expect(models.has('User')).toBe(false);
    expect(models.get('Order')!.relations.has('salesRep')).toBe(false);
  });
});

describe('deny globs', () => {
  it.each([
    ['passwordHash', true],
    ['apiKey', true],
    ['api_key', true],
    ['APIKey', true],
    ['refreshToken', true],
    ['clientSecret', true],
    ['privateKey', true],
    ['email', false],
    ['tokenizerName', true],
    ['name', false],
  ])('%s denied: %s', (name, denied) => {
    expect(
      matchesAnyGlob(name, [
        '*password*',
        '*secret*',
        '*token*',
        '*api_key*',
        '*apikey*',
        '*private_key*',
      ]),
    ).toBe(denied);
  });

  it.each([
    ['accessCode', true],
    ['twoFactorBackupCodes', true],
    ['recoveryCodes', true],
    ['twoFactorSecret', true],
    ['otpCode', true],
    ['emailOtp', true],
    ['totpKey', true],
    ['otpauthUrl', true],
    ['passphrase', true],
    ['credentials', true],
    ['signingKey', true],
    ['encryption_key', true],
    ['postalCode', false],
    ['countryCode', false],
    ['code', false],
    ['footprint', false],
    ['options', false],
    ['twoFactorEnabled', false],
    ['sessionId', false],
    ['creditCents', false],
    ['accessLevel', false],
  ])('the default globs deny %s: %s', (name, denied) => {
    expect(matchesAnyGlob(name, DEFAULT_DENY_GLOBS)).toBe(denied);
  });

  it("a policy's denyFields adds to the defaults; keepDefaultDenyFields: false drops them", () => {
    const userFields = (policy: object) => {
      const result = compilePolicy(policy, saasApp.datamodel);
      if (!result.ok) throw new Error(result.message);
      return [...result.value.forRoles([]).models.get('User')!.fields.keys()];
    };
    const added = userFields({ denyFields: ['role'] });
    expect(added).not.toContain('role');
    expect(added).not.toContain('passwordHash');
    expect(added).not.toContain('apiKey');
    const replaced = userFields({ denyFields: ['role'], keepDefaultDenyFields: false });
    expect(replaced).not.toContain('role');
    expect(replaced).toContain('passwordHash');
    expect(replaced).toContain('apiKey');
  });

  it('snake-cases camelCase', () => {
    expect(toSnakeCase('passwordHash')).toBe('password_hash');
    expect(toSnakeCase('APIKey')).toBe('api_key');
  });
});

describe('row scope', () => {
  const compiled = compilePolicy(saasApp.policy, saasApp.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  const order = compiled.value.forRoles(['admin']).models.get('Order')!;
  const product = compiled.value.forRoles(['admin']).models.get('Product')!;
  const dm = saasApp.datamodel;

  it('is the tenant, coerced to the field type, and not soft-deleted', () => {
    expect(rowScope(order, principal('2'), dm)).toEqual({
      ok: true,
      value: { tenantId: 2, deletedAt: null },
    });
    expect(rowScope(product, principal(3), dm)).toEqual({ ok: true, value: { tenantId: 3 } });
  });

  it('fails with TENANT_SCOPE_REQUIRED without a usable tenant', () => {
    for (const tenant of [null, '', 'acme']) {
      const result = rowScope(order, principal(tenant), dm);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.code).toBe('TENANT_SCOPE_REQUIRED');
    }
  });

  it('coerces principal values to field types', () => {
    expect(coerceToFieldType('Int', '42')).toBe(42);
    expect(coerceToFieldType('Int', '4.2')).toBeUndefined();
    expect(coerceToFieldType('String', 42)).toBe('42');
    expect(coerceToFieldType('BigInt', '9007199254740993')).toBe(9007199254740993n);
  });
});

describe('field names given as column names', () => {
  // an app that maps every field to a snake_case column, as Prisma apps on older databases do
  const dir = mkdtempSync(join(tmpdir(), 'ormai-policy-'));
  writeFileSync(
    join(dir, 'schema.prisma'),
    `datasource db {
  provider = "postgresql"
}
model Team {
  id       Int       @id
  name     String
  projects Project[]
}
model Project {
  id        Int       @id
  code      String    @map("access_code")
  teamId    Int       @map("team_id")
  ownerId   Int       @map("owner_id")
  title     String
  deletedAt DateTime? @map("deleted_at")
  team      Team      @relation(fields: [teamId], references: [id])
  @@map("projects")
}
`,
  );
  const datamodel = readPrismaSchema(join(dir, 'schema.prisma'));
  const problems = (policy: object) => {
    const result = compilePolicy(policy, datamodel);
    return result.ok ? [] : result.hints;
  };

  it('names the Prisma field when the policy names its column', () => {
    expect(
      problems({
        models: {
          Team: { tenantField: 'id' },
          Project: {
            tenantField: 'team_id',
            softDeleteField: 'deleted_at',
            ownershipField: 'owner_id',
            fields: { mask: { owner_id: true } },
            rowFilter: { team_id: 1 },
          },
        },
        views: [{ name: 'ProjectCard', model: 'Project', fields: ['id', 'owner_id'] }],
      }),
    ).toEqual([
      'models.Project.fields.mask: unknown field owner_id (the column of ownerId: name the Prisma field)',
      'models.Project.ownershipField: unknown field owner_id (the column of ownerId: name the Prisma field)',
      'models.Project.rowFilter: unknown field team_id (the column of teamId: name the Prisma field)',
      'models.Project.tenantField: unknown field team_id (the column of teamId: name the Prisma field)',
      'models.Project.softDeleteField: unknown DateTime field deleted_at (the column of deletedAt: name the Prisma field)',
      'views[0] ProjectCard.fields: unknown field owner_id (the column of ownerId: name the Prisma field)',
    ]);
  });

  it('the deny globs match column names too', () => {
    const result = compilePolicy({ models: { Team: { tenantField: 'id' } } }, datamodel);
    if (!result.ok) throw new Error(result.message);
    const fields = [...result.value.forRoles([]).models.get('Project')!.fields.keys()];
    expect(fields).not.toContain('code');
    expect(fields).toContain('title');
  });

  it('suggests the closest field, matching column names too', () => {
    expect(problems({ models: { Project: { fields: { allow: ['team_idd', 'titel'] } } } })).toEqual(
      [
        'models.Project.fields.allow: unknown field team_idd; did you mean teamId?',
        'models.Project.fields.allow: unknown field titel; did you mean title?',
      ],
    );
  });

  it('a policy-wide tenantField no model has is one error, not a model-by-model check failure', () => {
    expect(problems({ tenantField: 'team_id', models: { Team: { tenantField: 'id' } } })).toEqual([
      'tenantField: no model would be tenant-scoped: unknown field team_id (the column of teamId: name the Prisma field)',
    ]);
    const saas = compilePolicy({ tenantField: 'tenantld' }, saasApp.datamodel);
    expect(saas.ok ? [] : saas.hints).toEqual([
      'tenantField: no model would be tenant-scoped: unknown field tenantld; did you mean tenantId?',
    ]);
    expect(problems({ tenantField: 'teamId', softDeleteField: 'deleted_at' })).toEqual([
      'softDeleteField: no row would count as deleted: unknown DateTime field deleted_at (the column of deletedAt: name the Prisma field)',
    ]);
  });
});
