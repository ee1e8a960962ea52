// Pins isolation and redaction over the MCP bridge against SQL: random principals (3 tenants × 4
// roles) call db.query (random where operators, select, order_by, take, cursor, include), db.get,
// db.aggregate (count/sum/avg/min/max, group_by) and db.describe_schema, some calls carrying a
// mistake or an attack; every result equals what SQL says the principal may see, or is a typed
// tool error the contract names for that mistake.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp, type McpTestClient } from '../helpers/mcp.js';
import { DATABASE_KINDS, useTestApp } from '../helpers/runtime.js';
import { CONTRACT_CODES, internalsIn, leaksIn } from './support/checks.js';
import { difference, prng } from './support/graphql-gen.js';
import {
  conditionsWhere,
  expectedResult,
  McpArbitraries,
  mcpFault,
  mcpFaultArb,
  orderByOf,
  type ToolCall,
} from './support/mcp-gen.js';
import { RUNS, SEED, timeoutFor } from './support/runs.js';
import {
  access,
  type ModelName,
  type Principal,
  ROLES,
  readableModels,
  relationsOf,
  selectableFields,
} from './support/spec.js';
import { addCrossTenantRows, listIds, Truth } from './support/truth.js';

function principalArb(truth: Truth): fc.Arbitrary<Principal> {
  return fc
    .record({ tenantId: fc.constantFrom(1, 2, 3), role: fc.constantFrom(...ROLES), pick: fc.nat() })
    .map(({ tenantId, role, pick }) => {
      const pool = (role === 'sales' ? truth.salesReps : truth.users).get(tenantId)!;
      return { tenantId, role, sub: String(pool[pick % pool.length]) };
    });
}

describe.each(DATABASE_KINDS)('MCP security fuzz on %s', (kind) => {
  const app = useTestApp(kind);
  let truth: Truth;
  const clients = new Map<string, McpTestClient>();

  beforeAll(async () => {
    await addCrossTenantRows(app);
    truth = await Truth.load(app);
  });
  afterAll(async () => {
    for (const client of clients.values()) await client.close();
  });

  const clientFor = async (principal: Principal) => {
    const key = `${principal.tenantId}:${principal.role}:${principal.sub}`;
    let client = clients.get(key);
    if (!client) {
      client = await connectMcp(app, {
        sub: principal.sub,
        tenantId: principal.tenantId,
        roles: [principal.role],
      });
      clients.set(key, client);
    }
    return client;
  };

  it(
    'every tool result is exactly the SQL truth for the principal, or a typed tool error',
    async () => {
      const stats = {
        calls: 0,
        answered: new Map<string, number>(),
        rejected: new Map<string, number>(),
        pagesFollowed: 0,
        cursorAttacks: 0,
      };
      const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
      const arbitraries = new Map<string, McpArbitraries>();
      const arbitrariesFor = (principal: Principal) => {
        const key = `${principal.tenantId}:${principal.role}:${principal.sub}`;
        let found = arbitraries.get(key);
        if (!found) {
          found = new McpArbitraries(truth, principal);
          arbitraries.set(key, found);
        }
        return found;
      };
      const call = async (principal: Principal, tool: string, args: Record<string, unknown>) => {
        stats.calls += 1;
        const client = await clientFor(principal);
        const result = await client.call(tool, args);
        const context = `${principal.role}@${principal.tenantId}/${principal.sub} ${tool} ${JSON.stringify(args).slice(0, 1500)}\n${result.text.slice(0, 1500)}`;
        expect(internalsIn(result.text), context).toBeNull();
        if (result.isError) {
          const error = result.structured?.error;
          expect(CONTRACT_CODES, context).toContain(error?.code);
          expect(error.code, context).not.toBe('INTERNAL_ERROR');
          expect(typeof error.message, context).toBe('string');
          expect(typeof error.retryable, context).toBe('boolean');
          expect(Array.isArray(error.retry_hints), context).toBe(true);
          expect(typeof error.details, context).toBe('object');
        } else {
          expect(leaksIn(JSON.stringify(result.structured), truth, principal), context).toEqual([]);
        }
        return { ...result, context };
      };

      await fc.assert(
        fc.asyncProperty(
          principalArb(truth).chain((principal) =>
            fc.record({
              principal: fc.constant(principal),
              call: arbitrariesFor(principal).call(),
              fault: mcpFaultArb,
              seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
            }),
          ),
          async ({ principal, call: generated, fault, seed }) => {
            const random = prng(seed);
            const planned = fault ? mcpFault(fault, principal, random) : null;
            const request: ToolCall = planned?.call ?? structuredClone(generated);
            const result = await call(principal, request.tool, request.args);

            if (planned) {
              expect(result.isError, `expected ${planned.codes}: ${result.context}`).toBe(true);
              expect(planned.codes, result.context).toContain(result.structured.error.code);
              bump(stats.rejected, result.structured.error.code);
              return;
            }
            expect(result.isError, result.context).toBe(false);
            bump(stats.answered, request.tool);

            if (request.tool === 'db.describe_schema') {
              const models = result.structured.models as Record<string, any>;
              const expectedModels = request.args.model
                ? [request.args.model]
                : readableModels(principal.role);
              expect(Object.keys(models).sort(), result.context).toEqual(
                [...expectedModels].sort(),
              );
              for (const [name, model] of Object.entries(models)) {
                const modelName = name as ModelName;
                expect(Object.keys(model.fields).sort(), result.context).toEqual(
                  selectableFields(principal.role, modelName).sort(),
                );
                for (const [field, info] of Object.entries(model.fields as Record<string, any>)) {
                  const rule = access(principal.role, modelName, field);
                  expect(info.redaction, `${name}.${field}`).toBe(
                    rule.kind === 'mask' || rule.kind === 'hash' ? rule.kind : undefined,
                  );
                }
                expect(Object.keys(model.relations).sort()).toEqual(
                  relationsOf(principal.role, modelName)
                    .map((r) => r.name)
                    .sort(),
                );
              }
              return;
            }

            const expected = await expectedResult(truth, principal, request, 0);
            const diff = difference(result.structured, expected);
            expect(diff, result.context).toBeNull();

            // follow next_cursor a page or two; a tampered or re-aimed cursor is refused
            if (request.tool !== 'db.query' || !result.structured.next_cursor) return;
            let cursor: string = result.structured.next_cursor;
            for (let page = 1; page <= 2 && cursor; page++) {
              const next = await call(principal, 'db.query', { ...request.args, cursor });
              expect(next.isError, next.context).toBe(false);
              const diffNext = difference(
                next.structured,
                await expectedResult(truth, principal, request, page),
              );
              expect(diffNext, next.context).toBeNull();
              stats.pagesFollowed += 1;
              cursor = next.structured.next_cursor;
            }
            if (random() < 0.4) {
              stats.cursorAttacks += 1;
              const original: string = result.structured.next_cursor;
              const mid = Math.floor(original.length / 3);
              const tampered = `${original.slice(0, mid)}${original[mid] === 'x' ? 'y' : 'x'}${original.slice(mid + 1)}`;
              const others = readableModels(principal.role).filter((m) => m !== request.args.model);
              const other = others[Math.floor(random() * others.length)]!;
              const attacks: Record<string, unknown>[] = [
                { ...request.args, cursor: tampered },
                { model: other, cursor: original },
                {
                  ...request.args,
                  cursor: original,
                  order_by: [
                    {
                      field: 'id',
                      direction:
                        request.args.order_by?.[0]?.direction?.toLowerCase() === 'desc'
                          ? 'asc'
                          : 'desc',
                    },
                  ],
                },
              ];
              for (const args of attacks) {
                const attacked = await call(principal, 'db.query', args);
                expect(attacked.isError, attacked.context).toBe(true);
                expect(attacked.structured.error.code, attacked.context).toBe('VALIDATION_ERROR');
                expect(attacked.structured.error.details.field, attacked.context).toBe('cursor');
              }
            }
          },
        ),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
      console.log(
        `[security] MCP fuzz on ${kind}: ${RUNS} cases, ${stats.calls} tool calls, answered and compared with SQL ${JSON.stringify(Object.fromEntries(stats.answered))} (${stats.pagesFollowed} further pages), typed errors ${JSON.stringify(Object.fromEntries(stats.rejected))}, cursor attacks ${stats.cursorAttacks}`,
      );
    },
    timeoutFor(RUNS, 3000),
  );

  it('a sales rep pages through exactly its own orders, nothing of another rep or tenant', async () => {
    for (const tenantId of [1, 2, 3]) {
      for (const rep of truth.salesReps.get(tenantId)!) {
        const principal: Principal = { tenantId, role: 'sales', sub: String(rep) };
        const expected = await listIds(truth, 'Order', principal, null, null);
        const [own] = await app.sql<{ n: number }>(
          'SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = $1 AND "salesRepId" = $2 AND "deletedAt" IS NULL',
          [tenantId, rep],
        );
        expect(expected.length).toBe(own!.n);
        const seen: number[] = [];
        let cursor: string | undefined;
        do {
          const result = await call(principal, cursor);
          expect(result.isError).toBe(false);
          seen.push(...result.structured.data.map((row: { id: number }) => row.id));
          cursor = result.structured.next_cursor ?? undefined;
        } while (cursor);
        expect(seen).toEqual(expected);
      }
    }

    async function call(principal: Principal, cursor?: string) {
      const client = await clientFor(principal);
      return client.call('db.query', {
        model: 'Order',
        select: ['id', 'tenantId', 'salesRepId'],
        take: 100,
        ...(cursor ? { cursor } : {}),
      });
    }
  });

  it('conditions name the same rows over MCP as SQL, for every operator', async () => {
    // one condition per operator on a few fields, as admin of tenant 2
    const principal: Principal = { tenantId: 2, role: 'admin', sub: '11' };
    const cases: [string, string, unknown][] = [
      ['totalCents', 'eq', 4242],
      ['status', 'ne', 'paid'],
      ['totalCents', 'lt', 5000],
      ['totalCents', 'lte', 4242],
      ['totalCents', 'gt', 100_000],
      ['totalCents', 'gte', 100_000],
      ['status', 'in', ['paid', 'shipped']],
      ['status', 'not_in', ['paid', 'shipped']],
      ['notes', 'is_null', false],
      ['salesRepId', 'is_null', true],
      ['notes', 'contains', 'front'],
      ['notes', 'startswith', 'Gift'],
      ['notes', 'endswith', 'please'],
      ['totalCents', 'between', [10_000, 20_000]],
      ['createdAt', 'between', ['2025-03-01T00:00:00.000Z', '2025-06-01T00:00:00.000Z']],
      ['notes', 'contains', '%'],
      ['notes', 'contains', '_'],
    ];
    for (const [field, op, value] of cases) {
      const where = [{ field, op, value }];
      const expected = await listIds(
        truth,
        'Order',
        principal,
        conditionsWhere(where),
        orderByOf([]),
      );
      const client = await clientFor(principal);
      const result = await client.call('db.aggregate', {
        model: 'Order',
        operation: 'count',
        where,
      });
      expect(result.isError, `${field} ${op}`).toBe(false);
      expect(result.structured.value, `${field} ${op} ${JSON.stringify(value)}`).toBe(
        expected.length,
      );
    }
  });
});
