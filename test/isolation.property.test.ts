// Property, on every example app: for random principals (3 tenants × every role) and random
// filters, orders, page sizes and nesting, no response holds a row outside what SQL says the
// principal may see, a denied field, or the raw value of a masked or hashed field. Each app's
// roles, selections and truth are in test/apps/.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashValue } from '../src/policy/redaction.js';
import { APP_SPECS } from './apps/index.js';
import type { AppSpec } from './apps/spec.js';
import { DATABASE_KINDS, useTestApp } from './helpers/runtime.js';

describe.each(
  DATABASE_KINDS.flatMap((kind) => APP_SPECS.map((spec) => [spec.app.name, kind, spec] as const)),
)('isolation property: %s on %s', (_name, kind, spec: AppSpec) => {
  const app = useTestApp(kind, { app: spec.app });
  const property = spec.property;
  let truth: unknown;

  beforeAll(async () => {
    truth = await property.load(app.sql);
  });

  const requestArb = fc.record({
    tenantId: fc.constantFrom(...spec.tenants),
    role: fc.constantFrom(...property.roles),
    subIndex: fc.nat({ max: 9 }),
    where: property.where,
    orderBy: property.orderBy,
    first: fc.integer({ min: 1, max: 40 }),
    nestedFirst: fc.integer({ min: 1, max: 5 }),
    denied: fc.boolean(),
  });

  it('never returns a row, field or raw value the principal may not see', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const subs = property.subs(truth, request.tenantId, request.role);
        const sub = subs[request.subIndex % subs.length]!;
        const principal = { sub, tenantId: request.tenantId, roles: [request.role] };
        const denied = property.denied[request.role] ?? [];
        const deniedSelection = request.denied
          ? denied[request.subIndex % denied.length]
          : undefined;
        const text = `query($where: ${property.whereType}, $orderBy: [${property.orderByType}!], $first: Int, $nestedFirst: Int) {
          ${property.field}(where: $where, orderBy: $orderBy, first: $first) {
            nodes { ${deniedSelection ?? property.selection(request.role)} } } }`;
        const { body } = await app.graphql(principal, text, {
          where: request.where,
          orderBy: request.orderBy,
          first: request.first,
          nestedFirst: request.nestedFirst,
        });

        if (deniedSelection) {
          expect(body.errors?.[0]?.extensions.code, deniedSelection).toBe('FIELD_NOT_ALLOWED');
          expect(body.data ?? undefined).toBeUndefined();
          return;
        }
        expect(body.errors).toBeUndefined();
        const nodes = body.data[property.field].nodes;
        expect(nodes.length).toBeLessThanOrEqual(request.first);
        for (const node of nodes) {
          property.check(node, { ...principal, role: request.role }, truth, request.nestedFirst);
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) },
    );
  });

  it('hashed values are the keyed digest, never the raw value', async () => {
    const hashed = spec.hashed;
    // one key for every role set: the deployment's (here the dev key, as ORMAI_HASH_KEY is unset)
    const { hashKey } = app.runtime.policy.forRoles([]);
    const rows = await app.sql<Record<string, unknown>>(hashed.sql, hashed.params);
    const { body } = await app.graphql(hashed.principal, hashed.query);
    expect(body.errors).toBeUndefined();
    expect(body.data.result.nodes).toEqual(
      rows.map((row) => ({
        id: typeof body.data.result.nodes[0]?.id === 'number' ? Number(row.id) : row.id,
        [hashed.field]: hashValue(row[hashed.field], hashKey),
      })),
    );
  });
});
