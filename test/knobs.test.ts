// Pins issue 12's knobs: budgets apply per role set, hashes are an HMAC keyed by ORMAI_HASH_KEY
// (required in production), Json fields mask and hash whole, approvers and audit readers are only
// the roles the policy names, and ormai's own GraphQL names yield to a model of the same name.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { helpdeskApp } from '../examples/helpdesk/app.js';
import { helpdeskPolicy } from '../examples/helpdesk/policy.js';
import { saasApp } from '../examples/saas/app.js';
import { saasPolicy } from '../examples/saas/policy.js';
import { resolveHashKey } from '../src/config.js';
import { checkPolicy } from '../src/policy/check-policy.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { Datamodel } from '../src/policy/datamodel.js';
import { DEV_HASH_KEY } from '../src/policy/defaults.js';
import { canonicalJson, hashValue, maskValue } from '../src/policy/redaction.js';
import type { Policy } from '../src/policy/types.js';
import { runtimeOptionsFromConfig } from '../src/runtime.js';
import { buildSchema } from '../src/schema/build-schema.js';
import { createOrmai } from '../src/server/create-ormai.js';
import { StartupError } from '../src/startup-error.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const roles = saasPolicy.roles!;

/** agent has tight GraphQL budgets, support roomy ones; admin keeps the policy's. */
const tightAgentPolicy: Policy = {
  ...saasPolicy,
  roles: {
    ...roles,
    agent: {
      ...roles.agent,
      budgets: { maxDepth: 3, maxAliases: 1, maxDirectives: 0, maxTokens: 40 },
    },
    support: { ...roles.support, budgets: { maxDepth: 8 } },
  },
};

describe.each(DATABASE_KINDS)('budgets per role set on %s', (kind) => {
  const app = useTestApp(kind, { policy: tightAgentPolicy });
  const agent = { tenantId: 1, roles: ['agent'] };
  const support = { tenantId: 1, roles: ['support'] };

  const refusal = async (principal: object, text: string, budget: string) => {
    app.statements.length = 0;
    const { body } = await app.graphql(principal, text);
    expect(app.statements, 'no SQL runs for a refused request').toEqual([]);
    return body.errors?.find((error) => error.extensions.details?.budget === budget)?.extensions;
  };

  it('depth: role A (maxDepth 3) is refused at depth 4, role B (maxDepth 8) is not', async () => {
    const depth4 = '{ orders(first: 2) { nodes { customer { id } } } }';
    expect(await refusal(agent, depth4, 'max_depth')).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budget: 'max_depth', limit: 3, requested: 4 },
    });
    const data = await query(app, support, depth4);
    expect(data.orders.nodes).toHaveLength(2);
    // depth 9 is over support's own limit, though under admin's 10
    const depth9 =
      '{ orders(first: 1) { nodes { customer { orders(first: 1) { customer { orders(first: 1) { customer { tenant { id } } } } } } } } }';
    expect(await refusal(support, depth9, 'max_depth')).toMatchObject({
      details: { limit: 8, requested: 9 },
    });
  });

  it('aliases, directives and tokens are the role set’s too', async () => {
    const aliases = '{ a: describeSchema b: describeSchema }';
    expect(await refusal(agent, aliases, 'max_aliases')).toMatchObject({
      details: { limit: 1, requested: 2 },
    });
    expect((await app.graphql(support, aliases)).body.errors).toBeUndefined();

    const directive = '{ describeSchema @include(if: true) }';
    expect(await refusal(agent, directive, 'max_directives')).toMatchObject({
      details: { limit: 0, requested: 1 },
    });
    expect((await app.graphql(support, directive)).body.errors).toBeUndefined();

    // 2 braces + 45 fields: over agent's 40 tokens, far under support's 2000
    const tokens = `{ ${Array.from({ length: 45 }, () => '__typename').join(' ')} }`;
    expect(await refusal(agent, tokens, 'max_tokens')).toMatchObject({
      details: { limit: 40, requested: 47 },
    });
    expect((await app.graphql(support, tokens)).body.errors).toBeUndefined();
  });

  it('a principal holding both roles gets the more generous value of each', async () => {
    const data = await query(
      app,
      { tenantId: 1, roles: ['agent', 'support'] },
      '{ a: orders(first: 1) { nodes { customer { id } } } b: describeSchema }',
    );
    expect(data.a.nodes).toHaveLength(1);
  });
});

/** agent's statements must finish in 300 ms; every other role keeps the policy's 2000 ms. */
const slowAgentPolicy: Policy = {
  ...saasPolicy,
  roles: { ...roles, agent: { ...roles.agent, budgets: { statementTimeoutMs: 300 } } },
};

describe.each(DATABASE_KINDS)('statement timeout per role set on %s', (kind) => {
  const app = useTestApp(kind, { policy: slowAgentPolicy });

  it('a role set below the connection’s timeout reads under its own, with the same rows', async () => {
    const text = '{ products(first: 5) { nodes { id sku } } }';
    app.statements.length = 0;
    const asAgent = await query(app, { tenantId: 1, roles: ['agent'] }, text);
    expect(app.statements).toContain('SET LOCAL statement_timeout = 300');
    app.statements.length = 0;
    const asSupport = await query(app, { tenantId: 1, roles: ['support'] }, text);
    expect(app.statements.some((sql) => sql.includes('statement_timeout'))).toBe(false);
    expect(asAgent.products.nodes).toEqual(asSupport.products.nodes);
    const [truth] = await app.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Product" WHERE "tenantId" = 1',
    );
    expect(asAgent.products.nodes).toHaveLength(Math.min(5, truth!.n));
  });

  // PGlite runs without timers and cannot cancel a statement: the cancelling is PostgreSQL's
  if (kind === 'postgres')
    it('PostgreSQL cancels role A’s slow read at 300 ms; role B’s same read finishes', async () => {
      // every statement on Product now takes 600 ms (the sleep runs once per statement)
      await app.sql('ALTER TABLE "Product" RENAME TO "ProductData"');
      await app.sql(
        'CREATE VIEW "Product" AS SELECT * FROM "ProductData" WHERE (SELECT pg_sleep(0.6)) IS NOT NULL',
      );
      try {
        const text = '{ products(first: 5) { nodes { id } } }';
        const { body } = await app.graphql({ tenantId: 1, roles: ['agent'] }, text);
        expect(body.errors?.[0]?.extensions).toMatchObject({
          code: 'QUERY_BUDGET_EXCEEDED',
          details: { budget: 'statement_timeout', limit: 300 },
        });
        const data = await query(app, { tenantId: 1, roles: ['support'] }, text);
        expect(data.products.nodes).toHaveLength(5);
      } finally {
        await app.sql('DROP VIEW "Product"');
        await app.sql('ALTER TABLE "ProductData" RENAME TO "Product"');
      }
    });
});

describe('the hash key', () => {
  it('hash is HMAC-SHA256 keyed by the key; Json hashes its canonical JSON', () => {
    const key = 'a'.repeat(64);
    const hmac = (text: string) => createHmac('sha256', key).update(text).digest('hex');
    expect(hashValue('ann@example.com', key)).toBe(hmac('ann@example.com'));
    expect(hashValue({ b: [1, { d: 2, c: 3 }], a: 'x' }, key)).toBe(
      hmac('{"a":"x","b":[1,{"c":3,"d":2}]}'),
    );
    // the same document in another key order is the same digest
    expect(hashValue({ a: 'x', b: [1, { c: 3, d: 2 }] }, key)).toBe(
      hashValue({ b: [1, { d: 2, c: 3 }], a: 'x' }, key),
    );
    expect(canonicalJson([{ z: null, y: true }])).toBe('[{"y":true,"z":null}]');
  });

  it('a masked Json object or array is ****, never [object Object] or its keys', () => {
    expect(maskValue({ ssn: '123-45-6789' })).toBe('****');
    expect(maskValue([1, 2, 3])).toBe('****');
    expect(maskValue({ ssn: '123-45-6789' }, '****{last4}')).toBe('****');
  });

  it('production refuses to start without ORMAI_HASH_KEY, in one line naming it', () => {
    const refuse = (policy: object) => {
      try {
        resolveHashKey({ app: { ...saasApp, policy } }, { NODE_ENV: 'production' });
      } catch (error) {
        return error as StartupError;
      }
      throw new Error('no refusal');
    };
    const error = refuse(saasPolicy);
    expect(error).toBeInstanceOf(StartupError);
    expect(error.code).toBe('HASH_KEY_REQUIRED');
    expect(error.message).toContain('ORMAI_HASH_KEY');
    expect(error.message).toContain('openssl rand -hex 32');
    expect(error.message).not.toContain('\n');
    // a deprecated policy.hashSalt is no production key, and the error says so
    expect(refuse({ ...saasPolicy, hashSalt: 'pepper' }).message).toContain(
      'policy.hashSalt is deprecated',
    );
  });

  it('ORMAI_HASH_KEY wins over the config; dev warns and falls back', () => {
    const config = { app: saasApp, redaction: { hashKey: 'from-config' } };
    expect(resolveHashKey(config, { NODE_ENV: 'production', ORMAI_HASH_KEY: 'env' })).toEqual({
      key: 'env',
    });
    expect(resolveHashKey(config, { NODE_ENV: 'production' })).toEqual({ key: 'from-config' });
    expect(runtimeOptionsFromConfig(config, { ORMAI_HASH_KEY: 'env' }).hashKey).toBe('env');
    const dev = resolveHashKey({ app: saasApp }, {});
    expect(dev.key).toBeUndefined();
    expect(dev.warning).toContain('ORMAI_HASH_KEY is unset');
    expect(
      resolveHashKey({ app: { ...saasApp, policy: { ...saasPolicy, hashSalt: 'p' } } }, {}).warning,
    ).toContain('policy.hashSalt is deprecated');
    const engine = compilePolicy(saasPolicy, saasApp.datamodel);
    if (!engine.ok) throw new Error(engine.message);
    expect(engine.value.forRoles(['sales']).hashKey).toBe(DEV_HASH_KEY);
  });

  it('createOrmai refuses before opening any database under NODE_ENV=production', async () => {
    await expect(
      createOrmai(
        { app: saasApp, database: { dataDir: '/nonexistent/ormai-never-opened' } },
        { env: { NODE_ENV: 'production', ORMAI_JWT_SECRET: 'x'.repeat(32) } },
      ),
    ).rejects.toMatchObject({ code: 'HASH_KEY_REQUIRED' });
  });
});

describe.each(DATABASE_KINDS)('hashed values follow the key on %s', (kind) => {
  // the deprecated salt still keys the HMAC outside production (as ORMAI_HASH_KEY would)
  const app = useTestApp(kind, { policy: { ...saasPolicy, hashSalt: 'k-1' } });

  it('sales sees User.email as HMAC(key, email), compared with the database', async () => {
    const users = await app.sql<{ id: number; email: string }>(
      'SELECT id, email FROM "User" WHERE "tenantId" = 1',
    );
    const data = await query(
      app,
      { sub: '6', tenantId: 1, roles: ['sales'] },
      '{ users(first: 50) { nodes { id email } } }',
    );
    expect(data.users.nodes).toHaveLength(users.length);
    for (const user of data.users.nodes) {
      const email = users.find((row) => Number(row.id) === user.id)!.email;
      expect(user.email).toBe(createHmac('sha256', 'k-1').update(email).digest('hex'));
      expect(user.email).not.toBe(hashValue(email, DEV_HASH_KEY));
    }
  });
});

const jsonPolicy: Policy = {
  ...helpdeskPolicy,
  roles: {
    ...helpdeskPolicy.roles,
    agent: {
      models: {
        ...helpdeskPolicy.roles!.agent!.models,
        Ticket: {
          fields: { deny: ['attachmentChecksum', 'internalNotes'], mask: { metadata: true } },
        },
      },
    },
    admin: { models: { Ticket: { fields: { hash: ['metadata'] } } } },
  },
};

describe.each(DATABASE_KINDS)('Json fields masked and hashed on %s', (kind) => {
  const app = useTestApp(kind, { app: helpdeskApp, policy: jsonPolicy });

  const truth = async (org: string) => {
    const rows = await app.sql<{ id: number; metadata: unknown }>(
      'SELECT id, metadata FROM tickets WHERE org_id = $1 AND deleted_at IS NULL',
      [org],
    );
    return new Map(rows.map((row) => [Number(row.id), row.metadata]));
  };
  const org = helpdeskApp.devPrincipals![0]!.tenantId as string;

  it('mask: every Json value is ****; hash: HMAC of its canonical JSON', async () => {
    const rows = await truth(org);
    expect([...rows.values()].some((value) => Object.keys(value as object).length > 0)).toBe(true);
    const text = '{ tickets(first: 100) { nodes { id metadata } } }';
    const masked = await query(app, { tenantId: org, roles: ['agent'] }, text);
    expect(masked.tickets.nodes.length).toBe(Math.min(100, rows.size));
    for (const ticket of masked.tickets.nodes) expect(ticket.metadata).toBe('****');

    const { hashKey } = app.runtime.policy.forRoles(['admin']);
    const hashed = await query(app, { tenantId: org, roles: ['admin'] }, text);
    for (const ticket of hashed.tickets.nodes) {
      const raw = rows.get(ticket.id);
      expect(ticket.metadata).toBe(
        createHmac('sha256', hashKey).update(canonicalJson(raw)).digest('hex'),
      );
    }
  });
});

describe('approvers and audit readers are named, never implied', () => {
  const engineOf = (policy: Policy) => {
    const compiled = compilePolicy(policy, saasApp.datamodel);
    if (!compiled.ok) throw new Error(compiled.message);
    return compiled.value;
  };
  const { approvers: _, ...writesWithoutApprovers } = saasPolicy.writes!;
  const { audit: __, ...withoutReaders } = saasPolicy;

  it('without writes.approvers admin approves nothing, and ormai check says why', () => {
    const engine = engineOf({ ...saasPolicy, writes: writesWithoutApprovers });
    expect(engine.forRoles(['admin']).canApprove).toBe(false);
    expect(engineOf(saasPolicy).forRoles(['admin']).canApprove).toBe(true);
    const finding = checkPolicy(engine).find((f) => f.path === 'writes.approvers');
    expect(finding).toMatchObject({ severity: 'error', role: '*' });
    expect(finding!.message).toContain('Order.support.delete');
    expect(checkPolicy(engineOf(saasPolicy)).filter((f) => f.path === 'writes.approvers')).toEqual(
      [],
    );
  });

  it('without audit.readers nobody reads the audit log: a warning', () => {
    const engine = engineOf(withoutReaders as Policy);
    expect(engine.forRoles(['admin']).auditReadable).toBe(false);
    expect(engineOf(saasPolicy).forRoles(['admin']).auditReadable).toBe(true);
    expect(checkPolicy(engine).find((f) => f.path === 'audit.readers')).toMatchObject({
      severity: 'warning',
    });
    const typo = engineOf({ ...saasPolicy, audit: { readers: ['admn'] } });
    expect(checkPolicy(typo).filter((f) => f.path === 'audit.readers')).toHaveLength(2);
  });
});

describe.each(DATABASE_KINDS)('audit readers on %s', (kind) => {
  const { audit: _, ...withoutReaders } = saasPolicy;
  const named = useTestApp(kind, { audit: true });
  const unnamed = useTestApp(kind, { policy: withoutReaders as Policy, audit: true });

  it('admin reads auditRecords only where the policy names it a reader', async () => {
    const text = '{ auditRecords(first: 1) { nodes { id } } }';
    expect(
      (await named.graphql({ tenantId: 1, roles: ['admin'] }, text)).body.errors,
    ).toBeUndefined();
    const { body } = await unnamed.graphql({ tenantId: 1, roles: ['admin'] }, text);
    expect(body.errors?.[0]?.message).toContain('auditRecords');
    expect(body.data ?? undefined).toBeUndefined();
  });
});

describe('ormai’s own GraphQL names and a model of the same name', () => {
  const withModels = (...names: string[]) => {
    const datamodel = structuredClone(saasApp.datamodel) as Datamodel & {
      datamodel: { models: Record<string, any> };
    };
    for (const name of names) {
      datamodel.datamodel.models[name] = {
        fields: [
          {
            name: 'id',
            type: 'Int',
            kind: 'scalar',
            isRequired: true,
            isList: false,
            isId: true,
            isUnique: false,
          },
          {
            name: 'tenantId',
            type: 'Int',
            kind: 'scalar',
            isRequired: true,
            isList: false,
            isId: false,
            isUnique: false,
          },
        ],
        primaryKey: null,
        uniqueIndexes: [],
      };
    }
    return datamodel;
  };
  const build = (datamodel: Datamodel, naming?: object) => {
    const compiled = compilePolicy(saasPolicy, datamodel);
    if (!compiled.ok) throw new Error(compiled.message);
    return buildSchema({
      datamodel,
      policy: compiled.value.forRoles(['admin']),
      cursorSecret: 'x',
      ...(naming ? { naming } : {}),
    });
  };

  it('a model named AuditRecord or SortOrder is refused with both names and the fix', () => {
    const datamodel = withModels('AuditRecord', 'SortOrder');
    let error: StartupError | undefined;
    try {
      build(datamodel);
    } catch (caught) {
      error = caught as StartupError;
    }
    expect(error).toBeInstanceOf(StartupError);
    expect(error!.code).toBe('GRAPHQL_NAME_COLLISION');
    expect(error!.message).toContain(
      "the datamodel's AuditRecord and ormai's own type AuditRecord",
    );
    expect(error!.message).toContain('SortOrder');
    expect(error!.hints.join(' ')).toContain('naming.typePrefix');
  });

  it('with naming.typePrefix (and a plural for the clashing root field) both coexist', () => {
    const schema = build(withModels('AuditRecord', 'SortOrder'), {
      typePrefix: 'Ormai',
      plural: (single: string) => (single === 'auditRecord' ? 'auditRecordRows' : `${single}s`),
    });
    for (const name of [
      'AuditRecord',
      'SortOrder',
      'OrmaiAuditRecord',
      'OrmaiSortOrder',
      'OrmaiPageInfo',
    ])
      expect(schema.getType(name), name).toBeDefined();
    expect(schema.getType('PageInfo')).toBeUndefined();
    const query = schema.getQueryType()!.getFields();
    expect(String(query.auditRecords!.type)).toBe('OrmaiAuditRecordConnection!');
    expect(String(query.auditRecordRows!.type)).toBe('AuditRecordConnection!');
    expect(String(query.sortOrders!.type)).toBe('SortOrderConnection!');
  });
});
