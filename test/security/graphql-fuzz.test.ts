// Pins isolation and redaction over GraphQL against SQL: random principals (3 tenants × 4 roles)
// send random documents (root lists, single rows, aggregates, the view; where with relation filters
// and AND/OR/NOT, orderBy, first/after, nested relations, aliases, fragments, directives), some with
// a mistake or an attack in them; every answer equals what SQL says the principal may see, or is a
// typed error the contract names for that mistake.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/runtime.js';
import { SECURITY_APPS } from './apps/index.js';
import { anchorMismatches } from './support/anchors.js';
import type { Principal } from './support/app-model.js';
import { contractErrorProblems, leaksIn } from './support/checks.js';
import { applyFault, faultArb } from './support/faults.js';
import {
  budgetUse,
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
import { asServerPrincipal, principalArb, useSecurityApp } from './support/security-app.js';
import { type OrderBy, sortKeys } from './support/truth.js';

type Listing = Extract<Root, { kind: 'list' | 'view' }>;

/** The cursor a list root's answer gives for its next page, if the document asked for one. */
function endCursorOf(root: Listing, data: any): string | null {
  const value = data?.[root.key];
  if (root.kind === 'list' && root.select.edges && value?.edges?.length)
    return value.edges.at(-1).cursor;
  return value?.pageInfo?.endCursor ?? null;
}

const CASES = SECURITY_APPS.flatMap((spec) =>
  DATABASE_KINDS.map((kind) => [spec.app.name, kind, spec] as const),
);

describe.each(CASES)('GraphQL security fuzz on %s (%s)', (appName, kind, spec) => {
  const context = useSecurityApp(kind, spec);

  it("the compiled policy reads as the app's README says", () => {
    expect(anchorMismatches(context.model)).toEqual([]);
  });

  it('the leak scan finds every kind of value it looks for', async () => {
    const { truth, model } = context;
    const [tenant] = truth.tenants;
    const found = { hidden: 0, otherTenant: 0, plain: 0 };
    // a value found once in the whole database can only reach a response from that row and field
    const occurrences = new Map<string, number>();
    for (const rows of truth.rows.values())
      for (const row of rows.values())
        for (const value of Object.values(row))
          if (typeof value === 'string') occurrences.set(value, (occurrences.get(value) ?? 0) + 1);
    for (const role of model.roles) {
      const principal: Principal = {
        tenantId: tenant!,
        role,
        sub: spec.subs(truth, tenant!, role)[0] ?? '1',
      };
      await truth.prepare(principal);
      for (const [name, rows] of truth.rows) {
        const texts = [...model.model(name).fields.values()].filter(
          (field) => field.type === 'String' && !field.isEnum && !field.list,
        );
        const probe = async (value: unknown, leak: boolean, kind: keyof typeof found) => {
          if (typeof value !== 'string' || value.length < 8 || found[kind] >= 20) return;
          if (leak && occurrences.get(value) !== 1) return;
          const leaks = await leaksIn(JSON.stringify({ value }), truth, principal);
          expect(leaks.length > 0, `${role} ${name} ${kind} ${value}`).toBe(leak);
          found[kind] += 1;
        };
        for (const [key, row] of rows) {
          const visible = truth.visible(name, key, principal);
          for (const field of texts) {
            const rule = model.access(role, name, field.name).kind;
            if (!visible) await probe(row[field.name], true, 'otherTenant');
            else if (rule !== 'allow') await probe(row[field.name], true, 'hidden');
            else if (field.name !== model.model(name).tenantField)
              await probe(row[field.name], false, 'plain');
          }
        }
      }
    }
    expect(found.otherTenant).toBeGreaterThan(0);
    expect(found.plain).toBeGreaterThan(0);
    expect(found.hidden).toBeGreaterThan(0);
    const admin: Principal = { tenantId: tenant!, role: model.roles[0]!, sub: '1' };
    for (const value of spec.leakProbes ?? []) {
      expect(await leaksIn(JSON.stringify({ value }), truth, admin), value).not.toEqual([]);
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
      const { app, truth, model } = context;
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
        expect(await leaksIn(json, truth, principal), rendered.text).toEqual([]);
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
            const plan = fault ? applyFault(truth, doc, fault, principal, random) : null;
            if (plan) bump(stats.faults, plan.fault);
            const rendered = render(doc, model);
            const listRoot = doc.roots.find((root) => root.kind === 'list');
            if (plan?.after && listRoot)
              rendered.variables[rendered.afterVariables.get(listRoot)!] = plan.after;
            const budgets = model.budgets(principal.role);
            const over = exceeded(budgetUse(doc, rendered, budgets), budgets, plan ? 0.6 : 1);
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
                const take = root.first ?? budgets.defaultTake;
                const all = await expectation(principal).keys(root);
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
              const others = model.readableModels(principal.role).filter((m) => m !== list.model);
              const info = model.model(list.model);
              const [first] = info.key;
              const second = model
                .filterableFields(principal.role, list.model)
                .find((field) => field !== first);
              const signature = (orderBy: OrderBy | null) =>
                JSON.stringify(sortKeys(model, list.model, orderBy));
              const reorder = [
                [{ [first!]: 'DESC' }],
                ...(second ? [[{ [first!]: 'ASC' }, { [second]: 'DESC' }]] : []),
              ].find((orderBy) => signature(orderBy as OrderBy) !== signature(list.orderBy));
              const attacks: [string, string, unknown][] = [
                [`query($c: String) { ${info.list}(after: $c) { totalCount } }`, tampered, null],
              ];
              if (others.length) {
                const other = model.model(others[Math.floor(random() * others.length)]!);
                attacks.push([
                  `query($c: String) { ${other.list}(after: $c) { totalCount } }`,
                  cursor,
                  null,
                ]);
              }
              if (reorder) {
                attacks.push([
                  `query($c: String, $o: [${list.model}OrderByInput!]) { ${info.list}(after: $c, orderBy: $o) { totalCount } }`,
                  cursor,
                  reorder,
                ]);
              }
              for (const [text, after, orderBy] of attacks) {
                const attacked = await send(principal, text, {
                  c: after,
                  ...(orderBy ? { o: orderBy } : {}),
                });
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
        `[security] GraphQL fuzz on ${appName} (${kind}): ${RUNS} documents, ${stats.requests} requests, ${stats.answered} answered and compared with SQL (${stats.pagesFollowed} further pages, ~${stats.rowsCompared} rows), rejections ${JSON.stringify(Object.fromEntries(stats.rejected))}, faults ${JSON.stringify(Object.fromEntries(stats.faults))}, cursor attacks ${stats.cursorAttacks}`,
      );
      expect(stats.answered).toBeGreaterThan(RUNS / 3);
    },
    timeoutFor(RUNS, 3000),
  );
});
