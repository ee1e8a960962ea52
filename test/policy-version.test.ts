// Pins the policy version (a hash of the validated policy and the datamodel) and the audit record's
// policy_version and result_digest: what they cover, that every surface fills them, and that records
// written before them (no such columns or keys) still verify in the table and in a JSONL file.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import {
  type AuditEntry,
  type AuditRecord,
  digestMatches,
  GENESIS_HASH,
  JsonlAuditSink,
  resultDigest,
  verifyChain,
  writeChained,
} from '../src/audit/index.js';
import { verifyAudit } from '../src/cli/audit.js';
import { canonicalJson } from '../src/json-value.js';
import { compilePolicy, type PolicyEngine } from '../src/policy/compile-policy.js';
import type { Policy } from '../src/policy/types.js';
import { auditEntry } from './helpers/audit.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

const engineOf = (policy: unknown, datamodel = saasApp.datamodel): PolicyEngine => {
  const compiled = compilePolicy(policy, datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  return compiled.value;
};

/** The same object with its keys in reverse order at every level. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, inner]) => [key, reversedKeys(inner)]),
  );
}

/** canonicalJson as it was written before it used the native serialiser: the reference. */
function referenceCanonical(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonical(v)}`).join(',')}}`;
}

describe('policy version', () => {
  const base = engineOf(saasApp.policy);

  it('is 16 hex digits, on the engine and on every role set it compiles', () => {
    expect(base.version).toMatch(/^[0-9a-f]{16}$/);
    for (const roles of [[], ['agent'], ['admin', 'agent'], base.declaredRoles]) {
      expect(base.forRoles(roles).version).toBe(base.version);
    }
  });

  it('is the same for the same policy written in another key order, and for a second compile', () => {
    expect(engineOf(reversedKeys(saasApp.policy)).version).toBe(base.version);
    expect(engineOf(structuredClone(saasApp.policy)).version).toBe(base.version);
  });

  it('changes with any rule of the policy and with the datamodel', () => {
    const policy = structuredClone(saasApp.policy) as Policy;
    const [role] = Object.keys(policy.roles ?? {});
    policy.roles![role!]!.budgets = { ...policy.roles![role!]!.budgets, maxTake: 7 };
    expect(engineOf(policy).version).not.toBe(base.version);
    expect(engineOf({ ...saasApp.policy, profile: 'dev' }).version).not.toBe(base.version);

    const datamodel = structuredClone(saasApp.datamodel);
    const [model] = Object.values(datamodel.datamodel.models);
    model!.dbName = 'renamed_table';
    expect(engineOf(saasApp.policy, datamodel).version).not.toBe(base.version);
  });

  it('does not depend on the hash key (a secret is no part of a published version)', () => {
    const keyed = compilePolicy(saasApp.policy, saasApp.datamodel, { hashKey: 'k'.repeat(32) });
    expect(keyed.ok && keyed.value.version).toBe(base.version);
  });
});

describe('canonicalJson, resultDigest and digestMatches', () => {
  it('writes what the reference does for any JSON-like value, integer-like keys included', () => {
    const jsonish = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double(),
        fc.string(),
        fc.bigInt(),
        fc.date({ noInvalidDate: true }),
        fc.array(tie('value')),
        fc.dictionary(fc.oneof(fc.string(), fc.nat().map(String)), tie('value')),
      ),
    })).value;
    fc.assert(
      fc.property(jsonish, (value) => {
        expect(canonicalJson(value)).toBe(referenceCanonical(value));
      }),
      { numRuns: 3000 },
    );
    expect(canonicalJson({ b: 1, a: { '10': 1, '9': 2, '': 3 }, c: undefined })).toBe(
      '{"a":{"":3,"10":1,"9":2},"b":1}',
    );
  });

  it('digests the JSON as the answer carries it, and differently for any change', () => {
    const data = {
      orders: { nodes: [{ id: 1, total: '3.50' }], pageInfo: { hasNextPage: false } },
    };
    const digest = resultDigest(data);
    expect(digest).toBe(createHash('sha256').update(JSON.stringify(data)).digest('hex'));
    // an operation answers with its keys in its selection's order: another order is another answer
    expect(resultDigest(reversedKeys(data))).not.toBe(digest);
    expect(
      resultDigest({ ...data, orders: { ...data.orders, nodes: [{ id: 1, total: '3.51' }] } }),
    ).not.toBe(digest);
    expect(resultDigest(null)).toBe(resultDigest(undefined));
    // a value JSON.stringify refuses is digested by its canonical JSON, not thrown
    expect(resultDigest({ n: 10n })).toBe(createHash('sha256').update('{"n":"10"}').digest('hex'));
  });

  it('matches a recorded digest as this version or an earlier one (canonical JSON) wrote it', () => {
    const data = { orders: { nodes: [{ total: '3.50', id: 1 }] } };
    const earlier = createHash('sha256').update(canonicalJson(data)).digest('hex');
    expect(earlier).not.toBe(resultDigest(data));
    expect(digestMatches(resultDigest(data), data)).toBe(true);
    expect(digestMatches(earlier, data)).toBe(true);
    const changed = { orders: { nodes: [{ total: '3.51', id: 1 }] } };
    expect(digestMatches(resultDigest(data), changed)).toBe(false);
    expect(digestMatches(earlier, changed)).toBe(false);
  });
});

/** A record hashed the way records were before policy_version and result_digest existed. */
function oldStyleRecord(previous: string, fields: Partial<AuditEntry>): AuditRecord {
  const {
    policy_version: _version,
    result_digest: _digest,
    ...entry
  } = auditEntry({ ts: new Date().toISOString(), ...fields });
  const hash = createHash('sha256')
    .update(previous)
    .update(referenceCanonical(entry))
    .digest('hex');
  return { ...entry, prev_hash: previous, hash } as AuditRecord;
}

describe('records written before the columns existed', () => {
  it('still verify in a JSONL file, followed by new records on the same chain', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ormai-version-')), 'audit.jsonl');
    const first = oldStyleRecord(GENESIS_HASH, { operation: 'query old,one' });
    const second = oldStyleRecord(first.hash, { operation: 'query old,two' });
    for (const [i, record] of [first, second].entries()) {
      appendFileSync(path, `${JSON.stringify({ id: i + 1, ...record })}\n`);
    }
    const sink = new JsonlAuditSink(path);
    await sink.write([
      auditEntry({ policy_version: 'abcdef0123456789', result_digest: 'f'.repeat(64) }),
    ]);
    const records: AuditRecord[] = [];
    for await (const record of sink.read()) records.push(record);
    expect(records.map((record) => record.policy_version ?? null)).toEqual([
      null,
      null,
      'abcdef0123456789',
    ]);
    expect(await verifyAudit(undefined, path)).toMatchObject({ ok: true });

    // and the new columns are covered by the hash: an edited version breaks the chain
    const lines = records.map((record) => JSON.stringify(record));
    lines[2] = lines[2]!.replace('abcdef0123456789', 'abcdef0123456788');
    const edited = join(mkdtempSync(join(tmpdir(), 'ormai-version-')), 'audit.jsonl');
    appendFileSync(edited, `${lines.join('\n')}\n`);
    const result = await verifyAudit(undefined, edited);
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toContain('record 3');
  });
});

describe.each(DATABASE_KINDS)('audit records name the version and digest on %s', (kind) => {
  const app = useTestApp(kind, { audit: true });

  const tableRecords = async () => {
    const records: AuditRecord[] = [];
    for await (const record of app.audit!.sql.read()) records.push(record);
    return records;
  };

  it('GraphQL: the served version, and the digest of the response data (null data when refused)', async () => {
    const version = app.runtime.policy.version;
    const ok = await app.graphql({ roles: ['agent'] }, '{ __typename }');
    const refused = await app.graphql(null, '{ __typename }');
    expect(ok.status).toBe(200);
    expect(refused.status).toBe(401);
    await app.audit!.log.flush();
    const raw = await app.sql<{ policy_version: string | null; result_digest: string | null }>(
      `SELECT policy_version, result_digest FROM ${app.runtime.tables.auditLog} ORDER BY id DESC LIMIT 2`,
    );
    expect(raw).toEqual([
      { policy_version: version, result_digest: resultDigest(null) },
      { policy_version: version, result_digest: resultDigest(ok.body.data) },
    ]);
    expect(app.audit!.memory.records.at(-1)).toMatchObject({ policy_version: version });
    expect(verifyChain(await tableRecords())).toMatchObject({ ok: true });
  });

  it('GraphQL: a read of data alone is serialised once: the body is its JSON, the digest that JSON’s', async () => {
    const document =
      '{ orders(first: 20) { nodes { id status customer { name } items { quantity product { name } } } } }';
    const principal = { tenantId: 2, roles: ['agent'] };
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${await app.token(principal)}`,
    };
    const response = await app.gateway.fetch('http://test/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: document }),
    });
    const body = await response.text();
    const data = JSON.parse(body).data;
    expect(data.orders.nodes).toHaveLength(20);
    // exactly what JSON.stringify writes of the result, as yoga's own serialisation would
    expect(body).toBe(JSON.stringify({ data }));
    await app.audit!.log.flush();
    const [record] = await app.sql<{ result_digest: string; row_count: number }>(
      `SELECT result_digest, row_count FROM ${app.runtime.tables.auditLog} ORDER BY id DESC LIMIT 1`,
    );
    expect(record!.result_digest).toBe(resultDigest(data));
    expect(record!.result_digest).toBe(
      createHash('sha256').update(body.slice('{"data":'.length, -1)).digest('hex'),
    );
  });

  it('MCP: the digest of the tool result structuredContent; an error result has none', async () => {
    const mcp = await connectMcp(app, { roles: ['agent'] });
    try {
      const before = app.audit!.memory.records.length;
      const described = await mcp.call('db_describe_schema', {});
      const denied = await mcp.call('db_query', { model: 'NoSuchModel' });
      expect(described.isError).toBe(false);
      expect(denied.isError).toBe(true);
      await app.audit!.log.flush();
      const written = app.audit!.memory.records.slice(before);
      expect(
        written.map((record) => [record.surface, record.outcome, record.result_digest]),
      ).toEqual([
        ['mcp', 'ok', resultDigest(described.structured)],
        ['mcp', 'error', null],
      ]);
      expect(written.every((record) => record.policy_version === app.runtime.policy.version)).toBe(
        true,
      );
    } finally {
      await mcp.close();
    }
  });

  it('a table row written before the columns (NULL in both) verifies with new rows after it', async () => {
    const chain = `old-writer-${randomBytes(4).toString('hex')}`;
    const old = oldStyleRecord(GENESIS_HASH, { operation: 'query before,columns' });
    const columns = Object.keys(old).filter((column) => column !== 'id');
    const json = new Set(['roles', 'inputs', 'decisions', 'before', 'after']);
    await app.sql(
      `INSERT INTO ${app.runtime.tables.auditLog} (${[...columns, 'chain_id'].join(', ')}) VALUES (${[
        ...columns,
        'chain_id',
      ]
        .map((column, i) => `$${i + 1}${json.has(column) ? '::jsonb' : ''}`)
        .join(', ')})`,
      [
        ...columns.map((column) => {
          const value = (old as unknown as Record<string, unknown>)[column];
          return json.has(column) ? (value === null ? null : JSON.stringify(value)) : value;
        }),
        chain,
      ],
    );
    const [stored] = await app.sql<{ policy_version: unknown; result_digest: unknown }>(
      `SELECT policy_version, result_digest FROM ${app.runtime.tables.auditLog} WHERE chain_id = $1`,
      [chain],
    );
    expect(stored).toEqual({ policy_version: null, result_digest: null });
    // a new record continues that chain (the sink writes on a chain of its own; the CLI reads all)
    await app.runtime.db.sql.transaction((tx) =>
      writeChained(
        tx,
        [auditEntry({ policy_version: app.runtime.policy.version })],
        app.runtime.tables,
        chain,
      ),
    );
    const records = (await tableRecords()).filter((record) => record.chain_id === chain);
    expect(records.map((record) => record.policy_version)).toEqual([
      null,
      app.runtime.policy.version,
    ]);
    expect(await verifyAudit(app.runtime)).toMatchObject({ ok: true });
  });
});
