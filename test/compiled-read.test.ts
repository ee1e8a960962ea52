// Compiled reads (src/schema/compiled-read.ts) answer a plain query in one SQL statement instead of
// the executor. They must answer byte for byte what the executor answers: every test here sends the
// same request to the gateway (fast path on) and to a second gateway over the same runtime with
// `compiledReads: false`, and compares the response text, on every example and dev principal.
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonValue } from '../src/data-access/json-read.js';
import type { CompiledPolicy } from '../src/policy/compile-policy.js';
import type { Principal } from '../src/policy/principal.js';
import { modelNames } from '../src/schema/naming.js';
import { filterableFields, numericFields } from '../src/schema/parts.js';
import { createGateway, type Gateway } from '../src/server/gateway.js';
import { createLogger } from '../src/server/logger.js';
import { DATABASE_KINDS, EXAMPLE_APPS, JWT_SECRET, useTestApp } from './helpers/runtime.js';

/** The statement the fast path sends starts so (json-read.ts); Prisma's never do. */
const COMPILED = 'SELECT (SELECT coalesce(json_agg(';

describe.each(DATABASE_KINDS)('compiled reads on %s', (kind) => {
  describe.each(EXAMPLE_APPS.map((app) => [app.name, app] as const))('%s', (_name, example) => {
    const app = useTestApp(kind, { app: example });
    let executorOnly: Gateway;
    beforeAll(() => {
      executorOnly = createGateway({
        runtime: app.runtime,
        jwtSecret: JWT_SECRET,
        logger: createLogger('silent'),
        compiledReads: false,
      });
    });

    /** Both answers' text, and the statements the fast-path gateway sent. */
    async function both(
      principal: Partial<Principal>,
      query: string,
      variables?: Record<string, unknown>,
    ) {
      const token = await app.token(principal);
      const send = async (gateway: Gateway) => {
        const response = await gateway.fetch('http://ormai.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
        // a refusal carries the request's own trace id
        const text = (await response.text()).replace(/"traceId":"\w+"/g, '"traceId":"-"');
        return { status: response.status, text };
      };
      app.statements.length = 0;
      const fast = await send(app.gateway);
      const statements = [...app.statements];
      const slow = await send(executorOnly);
      return { fast, slow, statements, compiled: statements.some((s) => s.startsWith(COMPILED)) };
    }

    // the examples have no timestamptz or date column: their JSON is checked here against the
    // Date the executor would serialise (Prisma reads a timestamptz as its instant, a date as UTC midnight)
    it.each([
      ['Timestamptz', `'2024-03-01 12:34:56.789+02'::timestamptz`, '2024-03-01T10:34:56.789Z'],
      ['Timestamp', `'2024-03-01 12:34:56.789'::timestamp`, '2024-03-01T12:34:56.789Z'],
      ['Date', `'2024-03-01'::date`, '2024-03-01T00:00:00.000Z'],
    ])('a %s column is written as toISOString() writes it', async (native, literal, expected) => {
      const field = {
        name: 'at',
        kind: 'scalar',
        type: 'DateTime',
        isList: false,
        nativeType: [native, native === 'Date' ? [] : ['3']],
      } as never;
      const [row] = await app.sql<{ j: unknown }>(
        `SELECT json_build_object('at', ${jsonValue(field, literal)})::text AS j`,
      );
      expect(JSON.parse(row!.j as string)).toEqual({ at: new Date(expected).toISOString() });
      // a precision the executor's Date cannot hold (microseconds) keeps the executor
      const micro = jsonValue(
        { ...(field as object), nativeType: [native, ['6']] } as never,
        literal,
      );
      if (native === 'Date') expect(micro).toEqual(expect.any(String));
      else expect(micro).toBeNull();
    });

    const principals = example.devPrincipals ?? [];

    it.each(
      principals.map((principal) => [principal.roles?.join('+'), principal.tenantId, principal]),
    )(
      'every model %s of tenant %s reads: the same answers, some in one statement',
      async (_roles, _tenant, principal) => {
        const policy = app.gateway.policyFor({ claims: {}, ...principal } as Principal);
        let compiled = 0;
        let total = 0;
        let groups = 0;
        const check = async (query: string, variables?: Record<string, unknown>) => {
          const result = await both(principal, query, variables);
          const label = `${query} ${JSON.stringify(variables ?? {})}`;
          expect(result.fast.text, label).toBe(result.slow.text);
          expect(result.fast.status, label).toBe(result.slow.status);
          total++;
          if (result.compiled) {
            compiled++;
            if (query.includes('GroupBy(')) groups++;
            // one statement answers each root field
            expect(result.statements, label).toHaveLength(query.startsWith('{ a:') ? 2 : 1);
          }
          return JSON.parse(result.slow.text);
        };
        for (const model of policy.models.values()) {
          const { list, single } = modelNames(model.name);
          const selection = selectionOf(policy, app.runtime.app.datamodel, model.name, 1, 12);
          if (!selection) continue;
          await check(`{ ${list}(first: 7) { __typename nodes { ${selection} } } }`);
          await check(
            `{ a: ${list}(first: 2) { nodes { x: __typename ${selection} } } b: ${list}(first: 1) { nodes { __typename } } }`,
          );
          // two levels of relations: within the role's nesting budget or refused as the executor refuses
          const deeper = selectionOf(policy, app.runtime.app.datamodel, model.name, 2, 4);
          await check(`{ ${list}(first: 4) { nodes { ${deeper} } } }`);
          // `first` from a variable: present, absent, null, and out of range (the executor's error)
          const byVariable = `query L($n: Int) { ${list}(first: $n) { nodes { ${selection} } } }`;
          for (const variables of [{ n: 3 }, {}, { n: null }, { n: 0 }, { n: 100_000 }]) {
            await check(byVariable, variables);
          }
          // each order a column allows (a redacted one is refused, as the executor refuses it)
          for (const field of [...model.fields.keys()].slice(0, 4)) {
            for (const direction of ['ASC', 'DESC']) {
              await check(
                `{ ${list}(first: 6, orderBy: [{ ${field}: ${direction} }]) { nodes { ${selection} } } }`,
              );
            }
          }
          await checkGroups(check, policy, app.runtime.app.datamodel, model.name);
          // one row by its key, a key no row has, and the key of a row from the list above
          const [key] = model.primaryKey;
          if (
            model.primaryKey.length !== 1 ||
            !policy.models.get(model.name)!.fields.has(key!.name)
          )
            continue;
          const rows = (await check(`{ ${list}(first: 3) { nodes { ${key!.name} } } }`)).data?.[
            list
          ]?.nodes as Record<string, unknown>[] | undefined;
          for (const row of rows ?? []) {
            await check(
              `{ ${single}(${key!.name}: ${JSON.stringify(row[key!.name])}) { ${selection} } }`,
            );
          }
          const missing =
            key!.type === 'Int' || key!.type === 'BigInt' ? '987654321' : '"no-such-row"';
          await check(`{ ${single}(${key!.name}: ${missing}) { ${selection} } }`);
        }
        expect(total).toBeGreaterThan(0);
        // every role here reads some model the fast path answers, and groups some
        expect(compiled).toBeGreaterThan(0);
        expect(groups).toBeGreaterThan(0);
      },
      240_000,
    );
  });
});

/**
 * A model's groupBy: every key field, the count and every numeric aggregate (Int ones the fast
 * path writes, others keep the executor), aliases, two keys, `first` from a variable, an empty `by`.
 */
async function checkGroups(
  check: (query: string, variables?: Record<string, unknown>) => Promise<unknown>,
  policy: CompiledPolicy,
  datamodel: any,
  modelName: string,
) {
  const model = policy.models.get(modelName)!;
  const groupable = filterableFields(model).map((field) => field.name);
  if (groupable.length === 0) return;
  const groupBy = `${modelNames(model.name).list}GroupBy`;
  const columns = datamodel.datamodel.models[modelName].fields as any[];
  const numeric = numericFields(model).map((field) => field.name);
  const ints = numeric.filter(
    (name) => columns.find((column) => column.name === name)?.type === 'Int',
  );
  const all =
    numeric.length > 0
      ? ` sum { ${numeric.join(' ')} } min { ${numeric.join(' ')} } max { ${numeric.join(' ')} }`
      : '';
  const some =
    ints.length > 0
      ? ` s: sum { ${ints[0]} } m: max { ${ints.join(' ')} } n: min { __typename x: ${ints[0]} }`
      : '';
  // grouped by each field in turn: every key type's JSON is compared
  for (const field of groupable) {
    await check(
      `{ ${groupBy}(by: [${field}]) { __typename key { __typename ${groupable.join(' ')} } count${all} } }`,
    );
  }
  for (const field of groupable.slice(0, 4)) {
    await check(
      `{ g: ${groupBy}(by: [${field}, ${field}], first: 2) { key { k: ${field} } c: count count${some} } }`,
    );
  }
  if (groupable.length > 1) {
    const [a, b] = groupable;
    await check(`{ ${groupBy}(by: [${b}, ${a}], first: 30) { key { ${a} ${b} } count${some} } }`);
  }
  const byVariable = `query G($n: Int) { ${groupBy}(by: [${groupable[0]}], first: $n) { key { ${groupable[0]} } count } }`;
  for (const variables of [{ n: 2 }, {}, { n: null }, { n: 0 }, { n: 100_000 }]) {
    await check(byVariable, variables);
  }
  await check(`{ ${groupBy}(by: []) { count } }`);
}

/** Plain columns (types the fast path writes), to-one relations and lists, `depth` levels down. */
function selectionOf(
  policy: CompiledPolicy,
  datamodel: any,
  modelName: string,
  depth: number,
  width: number,
): string | null {
  const model = policy.models.get(modelName)!;
  const fields = datamodel.datamodel.models[modelName].fields as any[];
  const parts: string[] = [];
  for (const [name, field] of model.fields) {
    const column = fields.find((candidate) => candidate.name === name);
    if (field.byRole || !column || column.isList) continue;
    if (
      !['String', 'Int', 'BigInt', 'Boolean', 'DateTime'].includes(column.type) &&
      column.kind !== 'enum'
    )
      continue;
    if (parts.length < width) parts.push(name);
  }
  if (depth > 0) {
    for (const [name, relation] of model.relations) {
      if (!relation.keys || !policy.models.has(relation.target)) continue;
      const nested = selectionOf(policy, datamodel, relation.target, depth - 1, 3);
      if (!nested) continue;
      if (parts.length >= 24) break;
      // a list in a one-level selection takes `first`; the two-level one's top lists the default
      const first = depth === 1 ? '(first: 3)' : '';
      parts.push(relation.list ? `${name}${first} { ${nested} }` : `${name} { ${nested} }`);
    }
  }
  return parts.length > 0 ? parts.join(' ') : null;
}
