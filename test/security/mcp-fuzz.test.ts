// Pins isolation and redaction over the MCP bridge against SQL: random principals (3 tenants × 4
// roles) call db.query (random where operators, select, order_by, take, cursor, include), db.get,
// db.aggregate (count/sum/avg/min/max, group_by) and db.describe_schema, some calls carrying a
// mistake or an attack; every result equals what SQL says the principal may see, or is a typed
// tool error the contract names for that mistake.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { connectMcp, type McpTestClient } from '../helpers/mcp.js';
import { DATABASE_KINDS } from '../helpers/runtime.js';
import { SECURITY_APPS } from './apps/index.js';
import { type AppModel, type Principal, quote } from './support/app-model.js';
import { CONTRACT_CODES, internalsIn, leaksIn } from './support/checks.js';
import { baseValue, filterOps } from './support/filters.js';
import { difference, prng } from './support/graphql-gen.js';
import {
  type Condition,
  conditionsWhere,
  expectedResult,
  McpArbitraries,
  mcpFault,
  mcpFaultArb,
  mcpOps,
  orderByOf,
  type ToolCall,
} from './support/mcp-gen.js';
import { RUNS, SEED, timeoutFor } from './support/runs.js';
import { principalArb, useSecurityApp } from './support/security-app.js';
import { listKeys, principalKey } from './support/truth.js';

const CASES = SECURITY_APPS.flatMap((spec) =>
  DATABASE_KINDS.map((kind) => [spec.app.name, kind, spec] as const),
);

describe.each(CASES)('MCP security fuzz on %s (%s)', (appName, kind, spec) => {
  const context = useSecurityApp(kind, spec);
  const clients = new Map<string, McpTestClient>();

  afterAll(async () => {
    for (const client of clients.values()) await client.close();
  });

  const clientFor = async (principal: Principal) => {
    const key = principalKey(principal);
    let client = clients.get(key);
    if (!client) {
      client = await connectMcp(context.app, {
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
      const { truth, model } = context;
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
          expect(
            await leaksIn(JSON.stringify(result.structured), truth, principal),
            context,
          ).toEqual([]);
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
            const planned = fault ? mcpFault(truth, fault, principal, random) : null;
            const request: ToolCall = planned?.call ?? structuredClone(generated);
            const result = await call(principal, request.tool, request.args);

            if (planned) {
              expect(result.isError, `expected ${planned.codes}: ${result.context}`).toBe(true);
              expect(planned.codes, result.context).toContain(result.structured.error.code);
              bump(stats.rejected, result.structured.error.code);
              return;
            }
            // a call that selects more fields than the role's budget is refused for it, whole
            const selected = selectedFieldCount(model, principal.role, request);
            if (selected > model.budgets(principal.role).maxSelectedFields) {
              expect(result.structured?.error?.details, result.context).toEqual({
                budget: 'max_selected_fields',
                limit: model.budgets(principal.role).maxSelectedFields,
                requested: selected,
              });
              bump(stats.rejected, result.structured.error.code);
              return;
            }
            expect(result.isError, result.context).toBe(false);
            bump(stats.answered, request.tool);

            if (request.tool === 'db.describe_schema') {
              const models = result.structured.models as Record<string, any>;
              const expectedModels = request.args.model
                ? [request.args.model]
                : model.readableModels(principal.role);
              expect(Object.keys(models).sort(), result.context).toEqual(
                [...expectedModels].sort(),
              );
              for (const [name, described] of Object.entries(models)) {
                expect(Object.keys(described.fields).sort(), result.context).toEqual(
                  model.selectableFields(principal.role, name).sort(),
                );
                for (const [field, info] of Object.entries(
                  described.fields as Record<string, any>,
                )) {
                  const rule = model.access(principal.role, name, field);
                  expect(info.redaction, `${name}.${field}`).toBe(
                    rule.kind === 'mask' || rule.kind === 'hash' ? rule.kind : undefined,
                  );
                }
                expect(Object.keys(described.relations).sort()).toEqual(
                  model
                    .relationsOf(principal.role, name)
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
              const others = model
                .readableModels(principal.role)
                .filter((m) => m !== request.args.model);
              const [first] = model.model(request.args.model).key;
              const attacks: Record<string, unknown>[] = [
                { ...request.args, cursor: tampered },
                ...(others.length
                  ? [{ model: others[Math.floor(random() * others.length)]!, cursor: original }]
                  : []),
                {
                  ...request.args,
                  cursor: original,
                  order_by: [
                    {
                      field: first,
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
        `[security] MCP fuzz on ${appName} (${kind}): ${RUNS} cases, ${stats.calls} tool calls, answered and compared with SQL ${JSON.stringify(Object.fromEntries(stats.answered))} (${stats.pagesFollowed} further pages), typed errors ${JSON.stringify(Object.fromEntries(stats.rejected))}, cursor attacks ${stats.cursorAttacks}`,
      );
    },
    timeoutFor(RUNS, 3000),
  );

  it('an owner pages through exactly its own rows, nothing of another owner or tenant', async () => {
    const { truth, model } = context;
    let paged = 0;
    for (const [role, owned] of Object.entries(spec.anchors.owners)) {
      for (const [name, ownerField] of Object.entries(owned)) {
        const info = model.model(name);
        for (const tenantId of truth.tenants) {
          for (const sub of spec.subs(truth, tenantId, role)) {
            const principal: Principal = { tenantId, role, sub };
            const expected = await listKeys(truth, name, principal, null, null);
            // the README's rule, in SQL of its own: the tenant's live rows this owner owns
            const tenant = info.fields.get(info.tenantField!)!;
            const owner = info.fields.get(ownerField)!;
            const live = info.softDeleteField
              ? ` AND ${quote(info.fields.get(info.softDeleteField)!.column)} IS NULL`
              : '';
            const [own] = await context.app.sql<{ n: number }>(
              `SELECT count(*)::int AS n FROM ${info.table} WHERE ${quote(tenant.column)}::text = $1 AND ${quote(owner.column)}::text = $2${live}`,
              [String(tenantId), sub],
            );
            expect(expected.length).toBe(own!.n);
            const seen: string[] = [];
            let cursor: string | undefined;
            do {
              const client = await clientFor(principal);
              const result = await client.call('db.query', {
                model: name,
                select: [...info.key, ownerField],
                take: model.budgets(role).maxTake,
                ...(cursor ? { cursor } : {}),
              });
              expect(result.isError, result.text).toBe(false);
              for (const row of result.structured.data) {
                expect(String(row[ownerField])).toBe(sub);
                seen.push(truth.keyOf(name, row));
              }
              cursor = result.structured.next_cursor ?? undefined;
            } while (cursor);
            expect(seen).toEqual(expected);
            paged += 1;
          }
        }
      }
    }
    if (Object.keys(spec.anchors.owners).length) expect(paged).toBeGreaterThan(0);
  });

  it('conditions name the same rows over MCP as SQL, for every operator', async () => {
    const { truth, model } = context;
    // the role reading the most, so every operator finds a field to work on
    const role = [...model.roles].sort(
      (a, b) =>
        model.readableModels(b).flatMap((m) => model.filterableFields(b, m)).length -
        model.readableModels(a).flatMap((m) => model.filterableFields(a, m)).length,
    )[0]!;
    const tenantId = truth.tenants[1] ?? truth.tenants[0]!;
    const principal: Principal = {
      tenantId,
      role,
      sub: spec.subs(truth, tenantId, role)[0] ?? '1',
    };
    const random = prng(12345);
    const sampleOf = (name: string, field: string, op: string) =>
      fc.sample(baseValue(truth, name, field, op), {
        numRuns: 1,
        seed: Math.floor(random() * 1e9),
      })[0];
    const cases: [string, Condition][] = [];
    for (const op of [
      'eq',
      'ne',
      'lt',
      'lte',
      'gt',
      'gte',
      'in',
      'not_in',
      'is_null',
      'contains',
      'startswith',
      'endswith',
      'between',
    ]) {
      let found = 0;
      for (const name of model.readableModels(role)) {
        for (const field of model.filterableFields(role, name)) {
          const info = model.field(name, field);
          if (field === model.model(name).tenantField || found >= 3) continue;
          if (!mcpOps(filterOps(info)).includes(op)) continue;
          if (op === 'is_null' && !info.nullable && found > 0) continue;
          const values = truth.values(name, field, 10);
          if (values.length === 0 && op !== 'is_null') continue;
          const value =
            op === 'is_null'
              ? found % 2 === 0
              : op === 'in' || op === 'not_in'
                ? values.slice(0, 2)
                : op === 'between'
                  ? [values[0], values.at(-1)].sort((a, b) =>
                      String(a).localeCompare(String(b), 'en', { numeric: true }),
                    )
                  : op === 'contains' || op === 'startswith' || op === 'endswith'
                    ? sampleOf(name, field, 'contains')
                    : values[found % values.length];
          cases.push([name, { field, op, value }]);
          found += 1;
        }
      }
      expect(found, `no field takes ${op}`).toBeGreaterThan(0);
    }
    for (const [name, condition] of cases) {
      const where = [condition];
      const expected = await listKeys(
        truth,
        name,
        principal,
        conditionsWhere(where),
        orderByOf([]),
      );
      const client = await clientFor(principal);
      const result = await client.call('db.aggregate', { model: name, operation: 'count', where });
      const label = `${name}.${condition.field} ${condition.op} ${JSON.stringify(condition.value)}`;
      expect(result.isError, `${label}: ${result.text}`).toBe(false);
      expect(result.structured.value, label).toBe(expected.length);
    }
  });
});

/**
 * The scalar fields the GraphQL operation of a db.query or db.get selects: its select (else every
 * field the role may), each include's, and a query's page info (hasNextPage, endCursor, totalCount).
 */
function selectedFieldCount(model: AppModel, role: string, request: ToolCall): number {
  if (request.tool !== 'db.query' && request.tool !== 'db.get') return 0;
  const { args } = request;
  const fieldsOf = (name: string, select: string[] | undefined) =>
    select?.length ?? model.selectableFields(role, name).length;
  let count = fieldsOf(args.model, args.select);
  if (request.tool === 'db.query') count += request.args.include_total ? 3 : 2;
  for (const spec of args.include ?? []) {
    const target = model.relation(args.model, spec.relation)?.target;
    if (target) count += fieldsOf(target, spec.select);
  }
  return count;
}
