// Pins isolation and redaction over GraphQL against SQL: random principals (3 tenants × 4 roles)
// send random documents (root lists, single rows, aggregates, the view; where with relation filters
// and AND/OR/NOT, orderBy, first/after, nested relations, aliases, fragments, directives), some with
// a mistake or an attack in them; every answer equals what SQL says the principal may see, or is a
// typed error the contract names for that mistake.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, type TestApp, useTestApp } from '../helpers/runtime.js';
import { contractErrorProblems, leaksIn } from './support/checks.js';
import { applyFault, faultArb } from './support/faults.js';
import {
  budgetUse,
  DEFAULT_TAKE,
  DocArbitraries,
  type DocSpec,
  difference,
  Expectation,
  exceeded,
  prng,
  type Rendered,
  type Root,
  render,
} from './support/graphql-gen.js';
import { RUNS, SEED, timeoutFor } from './support/runs.js';
import { MODELS, type Principal, ROLES, readableModels } from './support/spec.js';
import { addCrossTenantRows, Truth } from './support/truth.js';

type Listing = Extract<Root, { kind: 'list' | 'view' }>;

function principalArb(truth: Truth): fc.Arbitrary<Principal> {
  return fc
    .record({ tenantId: fc.constantFrom(1, 2, 3), role: fc.constantFrom(...ROLES), pick: fc.nat() })
    .map(({ tenantId, role, pick }) => {
      // a sales rep's sub is one of its tenant's sales users (it sees the orders it sells)
      const pool = (role === 'sales' ? truth.salesReps : truth.users).get(tenantId)!;
      return { tenantId, role, sub: String(pool[pick % pool.length]) };
    });
}

const asServerPrincipal = (p: Principal) => ({ sub: p.sub, tenantId: p.tenantId, roles: [p.role] });

/** The cursor a list root's answer gives for its next page, if the document asked for one. */
function endCursorOf(root: Listing, data: any): string | null {
  const value = data?.[root.key];
  if (root.kind === 'list' && root.select.edges && value?.edges?.length)
    return value.edges.at(-1).cursor;
  return value?.pageInfo?.endCursor ?? null;
}

/** The order signature a cursor is bound to: the sort keys, then id ascending. */
function orderSignature(orderBy: Record<string, string | undefined>[] | null): string {
  const keys: string[] = [];
  for (const item of orderBy ?? []) {
    const [field, direction] = Object.entries(item)[0]!;
    if (!keys.some((key) => key.startsWith(`${field}:`))) keys.push(`${field}:${direction}`);
  }
  if (!keys.some((key) => key.startsWith('id:'))) keys.push('id:ASC');
  return keys.join(',');
}

describe.each(DATABASE_KINDS)('GraphQL security fuzz on %s', (kind) => {
  const app: TestApp = useTestApp(kind);
  let truth: Truth;

  beforeAll(async () => {
    await addCrossTenantRows(app);
    truth = await Truth.load(app);
  });

  it('the leak scan finds every kind of value it looks for', () => {
    const rows = (model: 'Customer' | 'User' | 'Product') => [...truth.rows.get(model)!.values()];
    const agent: Principal = { tenantId: 1, role: 'agent', sub: '1' };
    const admin: Principal = { tenantId: 1, role: 'admin', sub: '1' };
    const own = rows('Customer').find(
      (row) => row.tenantId === 1 && row.deletedAt === null && row.ssn && row.phone,
    )!;
    const deleted = rows('Customer').find((row) => row.tenantId === 1 && row.deletedAt !== null)!;
    const other = rows('Customer').find((row) => row.tenantId === 2)!;
    const user = rows('User').find((row) => row.tenantId === 2)!;
    const product = rows('Product').find((row) => row.tenantId === 3)!;
    expect(
      leaksIn(JSON.stringify({ email: own.email, ssn: own.ssn, phone: own.phone }), truth, admin),
    ).toEqual([]);
    for (const [value, principal] of [
      [own.email, agent],
      [own.ssn, agent],
      [own.phone, agent],
      [deleted.email, admin],
      [other.email, admin],
      [user.email, admin],
      [product.sku, admin],
      ['$argon2id$v=19$m=65536', admin],
      ['sk_live_0123', admin],
      ['Globex Corporation', admin],
    ] as const) {
      expect(leaksIn(JSON.stringify({ value }), truth, principal), String(value)).not.toEqual([]);
    }
  });

  it(
    'every answer is exactly the SQL truth for the principal, or a typed rejection',
    async () => {
      const stats = {
        requests: 0,
        answered: 0,
        rejected: new Map<string, number>(),
        faults: new Map<string, number>(),
        pagesFollowed: 0,
        cursorAttacks: 0,
        rowsCompared: 0,
      };
      const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
      const arbitraries = new Map<string, DocArbitraries>();
      const arbitrariesFor = (principal: Principal) => {
        const key = `${principal.tenantId}:${principal.role}:${principal.sub}`;
        let found = arbitraries.get(key);
        if (!found) {
          found = new DocArbitraries(truth, principal);
          arbitraries.set(key, found);
        }
        return found;
      };
      const send = async (
        principal: Principal,
        text: string,
        variables: Record<string, unknown>,
      ) => {
        stats.requests += 1;
        const response = await app.graphql(asServerPrincipal(principal), text, variables);
        expect(response.status, text).toBeLessThan(500);
        const problems = contractErrorProblems(response.body.errors ?? []);
        expect(problems, `${text}\n${JSON.stringify(response.body.errors)}`).toEqual([]);
        return response.body;
      };
      /** The answer must equal SQL's for these pages, and carry nothing the principal may not see. */
      const checkData = async (
        principal: Principal,
        doc: DocSpec,
        rendered: Rendered,
        data: unknown,
        pages: Map<Root, number>,
      ) => {
        const expected = await new Expectation(truth, principal).data(doc, pages);
        const diff = difference(data, expected);
        expect(diff, `${rendered.text}\n${JSON.stringify(rendered.variables)}`).toBeNull();
        const json = JSON.stringify(data);
        expect(leaksIn(json, truth, principal), rendered.text).toEqual([]);
        stats.rowsCompared += (json.match(/"id":/g) ?? []).length;
      };

      const expectation = (principal: Principal) => new Expectation(truth, principal);

      await fc.assert(
        fc.asyncProperty(
          principalArb(truth).chain((principal) =>
            fc.record({
              principal: fc.constant(principal),
              doc: arbitrariesFor(principal).doc(),
              fault: faultArb,
              random: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
            }),
          ),
          async ({ principal, doc: generated, fault, random: seed }) => {
            const doc = structuredClone(generated);
            const random = prng(seed);
            const plan = fault ? applyFault(doc, fault, principal, random) : null;
            if (plan) bump(stats.faults, plan.fault);
            const rendered = render(doc);
            const listRoot = doc.roots.find((root) => root.kind === 'list');
            if (plan?.after && listRoot)
              rendered.variables[rendered.afterVariables.get(listRoot)!] = plan.after;
            const over = exceeded(budgetUse(doc, rendered), plan ? 0.6 : 1);
            const body = await send(principal, rendered.text, rendered.variables);
            const context = `${principal.role}@${principal.tenantId}/${principal.sub} ${plan?.fault ?? ''} ${JSON.stringify(over)}\n${rendered.text}\n${JSON.stringify(rendered.variables).slice(0, 2000)}\n${JSON.stringify(body.errors)}`;

            if (body.errors?.length) {
              const allowed = new Set(plan?.codes ?? []);
              if (over.certain.length || over.possible.length) allowed.add('QUERY_BUDGET_EXCEEDED');
              for (const error of body.errors) {
                expect(allowed, context).toContain(error.extensions.code);
                bump(
                  stats.rejected,
                  error.extensions.details?.budget
                    ? `${error.extensions.code}:${error.extensions.details.budget}`
                    : error.extensions.code,
                );
                if (error.extensions.code === 'QUERY_BUDGET_EXCEEDED' && !plan)
                  expect([...over.certain, ...over.possible], context).toContain(
                    error.extensions.details?.budget,
                  );
              }
              return;
            }
            expect(
              plan === null && over.certain.length === 0,
              `expected a rejection: ${context}`,
            ).toBe(true);
            stats.answered += 1;
            await checkData(principal, doc, rendered, body.data, new Map());

            // follow the cursors of the lists that have more, a page or two
            const pages = new Map<Root, number>();
            let previous = body.data;
            for (let page = 1; page <= 2; page++) {
              const variables = { ...rendered.variables };
              let followed = 0;
              for (const root of doc.roots) {
                if (root.kind !== 'list' && root.kind !== 'view') continue;
                const take = root.first ?? DEFAULT_TAKE;
                const all = await expectation(principal).ids(root);
                const cursor = endCursorOf(root, previous);
                if ((pages.get(root) ?? 0) === page - 1 && cursor && all.length > page * take) {
                  variables[rendered.afterVariables.get(root)!] = cursor;
                  pages.set(root, page);
                  followed += 1;
                }
              }
              if (followed === 0) break;
              for (const root of doc.roots) if (pages.get(root) !== page) pages.delete(root);
              const next = await send(principal, rendered.text, variables);
              expect(next.errors, context).toBeUndefined();
              stats.pagesFollowed += followed;
              await checkData(principal, doc, rendered, next.data, pages);
              previous = next.data;
            }

            // a cursor only works, unchanged, for the model and order it was issued for
            const list = doc.roots.find(
              (root): root is Extract<Root, { kind: 'list' }> => root.kind === 'list',
            );
            const cursor = list ? endCursorOf(list, body.data) : null;
            if (list && cursor && random() < 0.3) {
              stats.cursorAttacks += 1;
              const mid = Math.floor(cursor.length / 2);
              const tampered = `${cursor.slice(0, mid)}${cursor[mid] === 'A' ? 'B' : 'A'}${cursor.slice(mid + 1)}`;
              const others = readableModels(principal.role).filter((m) => m !== list.model);
              const other = others[Math.floor(random() * others.length)]!;
              const reorder = [[{ id: 'DESC' }], [{ id: 'ASC' }, { tenantId: 'DESC' }]].find(
                (orderBy) => orderSignature(orderBy) !== orderSignature(list.orderBy),
              )!;
              for (const [text, after] of [
                [
                  `query($c: String) { ${MODELS[list.model].list}(after: $c) { totalCount } }`,
                  tampered,
                ],
                [`query($c: String) { ${MODELS[other].list}(after: $c) { totalCount } }`, cursor],
                [
                  `query($c: String, $o: [${list.model}OrderByInput!]) { ${MODELS[list.model].list}(after: $c, orderBy: $o) { totalCount } }`,
                  cursor,
                ],
              ] as const) {
                const attacked = await send(principal, text, { c: after, o: reorder });
                expect(attacked.errors?.[0]?.extensions.code, `${text} ${after}`).toBe(
                  'VALIDATION_ERROR',
                );
                expect(attacked.data ?? null).toBeNull();
              }
            }
          },
        ),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
      console.log(
        `[security] GraphQL fuzz on ${kind}: ${RUNS} documents, ${stats.requests} requests, ${stats.answered} answered and compared with SQL (${stats.pagesFollowed} further pages, ~${stats.rowsCompared} rows), rejections ${JSON.stringify(Object.fromEntries(stats.rejected))}, faults ${JSON.stringify(Object.fromEntries(stats.faults))}, cursor attacks ${stats.cursorAttacks}`,
      );
      expect(stats.answered).toBeGreaterThan(RUNS / 3);
    },
    timeoutFor(RUNS, 3000),
  );
});
