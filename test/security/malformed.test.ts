// Pins the server's answer to malformed and hostile input over real HTTP: a generated corpus of
// 500+ requests to /graphql and /mcp (bad JSON, huge documents, deep nesting, alias and fragment
// bombs, circular fragments, wrong types, odd unicode, SQL-looking strings, tampered cursors, bad
// JWTs, bad JSON-RPC and tool arguments) each gets a status below 500 and a typed error (or, for
// odd but valid input, an answer), never internals; afterwards the server is healthy and the data
// untouched. With SECURITY_RUNS set high, random bytes and random documents are sent too.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/server/auth.js';
import { useHttpServer } from '../helpers/http.js';
import { DATABASE_KINDS, JWT_SECRET, useTestApp } from '../helpers/runtime.js';
import { CONTRACT_CODES, internalsIn } from './support/checks.js';
import { buildCorpus, type Case } from './support/corpus.js';
import { RUNS, SEED, timeoutFor } from './support/runs.js';

const TABLES = ['Tenant', 'User', 'Customer', 'Product', 'Order', 'OrderItem'];
/** No single request may hold the server longer than this (a fragment bomb once took minutes). */
const MAX_REQUEST_MS = 15_000;

interface Outcome {
  status: number;
  text: string;
  ms: number;
}

describe.each(DATABASE_KINDS)('malformed input over HTTP on %s', (kind) => {
  const app = useTestApp(kind);
  const server = useHttpServer(app, { domainTools: true });
  let token: string;

  beforeAll(async () => {
    token = await signToken({ sub: '1', tenantId: 1, roles: ['admin'] }, { secret: JWT_SECRET });
  });

  async function send(
    c: Pick<Case, 'path' | 'method' | 'authorization' | 'headers' | 'body' | 'search'>,
  ): Promise<Outcome> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept:
        c.path === '/mcp'
          ? 'application/json, text/event-stream'
          : 'application/graphql-response+json, application/json',
    };
    const authorization = c.authorization === undefined ? `Bearer ${token}` : c.authorization;
    if (authorization !== null) headers.authorization = authorization;
    for (const [name, value] of Object.entries(c.headers ?? {})) {
      if (value === '') delete headers[name];
      else headers[name] = value;
    }
    const started = performance.now();
    const response = await fetch(`${server.url}${c.path}${c.search ? `?${c.search}` : ''}`, {
      method: c.method ?? 'POST',
      headers,
      ...(c.body !== undefined && (c.method ?? 'POST') !== 'GET'
        ? { body: typeof c.body === 'string' ? c.body : new Blob([new Uint8Array(c.body)]) }
        : {}),
      signal: AbortSignal.timeout(MAX_REQUEST_MS),
    });
    const text = await response.text();
    return { status: response.status, text, ms: performance.now() - started };
  }

  /** Every way a response may carry an error, as contract codes (or JSON-RPC numbers). */
  function errorCodes(path: string, body: any): (string | number)[] {
    if (path === '/graphql') return (body?.errors ?? []).map((e: any) => e?.extensions?.code);
    if (typeof body?.error?.code === 'string') return [body.error.code]; // 401 from the handler
    if (typeof body?.error?.code === 'number') {
      // an unknown tool is a protocol error that names TOOL_NOT_FOUND
      return /TOOL_NOT_FOUND/.test(body.error.message) ? ['TOOL_NOT_FOUND'] : [body.error.code];
    }
    if (body?.result?.isError) return [body.result.structuredContent?.error?.code];
    if (Array.isArray(body)) return body.flatMap((item) => errorCodes(path, item));
    return [];
  }

  function check(c: Case, outcome: Outcome) {
    const context = `${c.category} / ${c.label}: ${outcome.status} ${outcome.text.slice(0, 600)}`;
    expect(outcome.status, context).toBeLessThan(500);
    expect(internalsIn(outcome.text), context).toBeNull();
    expect(outcome.ms, context).toBeLessThan(MAX_REQUEST_MS);
    // an accepted notification has no body; anything else answers in JSON
    if (c.path === '/mcp' && outcome.status === 202 && outcome.text === '') {
      expect(c.expect, context).not.toBe('auth');
      return;
    }
    let body: any;
    expect(() => {
      body = JSON.parse(outcome.text);
    }, context).not.toThrow();
    const codes = errorCodes(c.path, body);
    for (const code of codes) {
      if (typeof code === 'number') {
        // JSON-RPC's own codes: parse error, invalid request, method not found, invalid params,
        // and the SDK's server error for a request it cannot accept (wrong method, headers)
        expect([-32700, -32600, -32601, -32602, -32000], context).toContain(code);
      } else {
        expect(CONTRACT_CODES, context).toContain(code);
        expect(code, context).not.toBe('INTERNAL_ERROR');
      }
    }
    if (c.path === '/graphql' && codes.length > 0) {
      for (const error of body.errors)
        expect(typeof error.extensions.traceId, context).toBe('string');
    }
    if (c.expect === 'auth') {
      expect(outcome.status, context).toBe(401);
      expect(codes, context).toEqual(['AUTHENTICATION_REQUIRED']);
    } else if (c.expect === 'error') {
      expect(codes.length, context).toBeGreaterThan(0);
      if (c.codes) for (const code of codes) expect(c.codes, context).toContain(code);
    }
  }

  const counts = async () => {
    const rows: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
      rows[table] = row!.n;
    }
    return rows;
  };

  async function healthy() {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const answer = await send({
      path: '/graphql',
      body: JSON.stringify({ query: '{ orders(first: 3) { totalCount nodes { id tenantId } } }' }),
    });
    expect(answer.status).toBe(200);
    const data = JSON.parse(answer.text).data;
    const [row] = await app.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM "Order" WHERE "tenantId" = 1 AND "deletedAt" IS NULL',
    );
    expect(data.orders.totalCount).toBe(row!.n);
    expect(data.orders.nodes.map((node: any) => node.tenantId)).toEqual([1, 1, 1]);
    const tool = await send({
      path: '/mcp',
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'db.aggregate', arguments: { model: 'Order', operation: 'count' } },
      }),
    });
    expect(tool.status).toBe(200);
    expect(JSON.parse(tool.text).result.structuredContent.value).toBe(row!.n);
  }

  it('a corpus of 500+ malformed requests: each a typed error below 500, the server healthy after', async () => {
    const cursorOf = async (query: string, path: (data: any) => string) => {
      const outcome = await send({ path: '/graphql', body: JSON.stringify({ query }) });
      return path(JSON.parse(outcome.text).data);
    };
    const cursors = {
      orders: await cursorOf(
        '{ orders(first: 2) { pageInfo { endCursor } } }',
        (d) => d.orders.pageInfo.endCursor,
      ),
      customers: await cursorOf(
        '{ customers(first: 2, orderBy: [{ name: ASC }]) { pageInfo { endCursor } } }',
        (d) => d.customers.pageInfo.endCursor,
      ),
      view: await cursorOf(
        '{ customerSummaries(first: 2) { pageInfo { endCursor } } }',
        (d) => d.customerSummaries.pageInfo.endCursor,
      ),
    };
    const corpus = await buildCorpus({ secret: JWT_SECRET, token, cursors });
    // every input differs from every other one
    const keys = corpus.map((c) =>
      JSON.stringify([
        c.path,
        c.method,
        c.authorization,
        c.headers,
        c.search,
        typeof c.body === 'string' ? c.body : c.body ? [...c.body] : null,
      ]),
    );
    const repeated = corpus.filter((_, i) => keys.indexOf(keys[i]!) !== i);
    expect(repeated.map((c) => `${c.category}: ${c.label}`)).toEqual([]);
    expect(corpus.length).toBeGreaterThanOrEqual(500);

    const before = await counts();
    const perCategory = new Map<string, { inputs: number; slowestMs: number }>();
    const failures: string[] = [];
    for (const c of corpus) {
      let outcome: Outcome;
      try {
        outcome = await send(c);
        check(c, outcome);
      } catch (error) {
        failures.push(`${c.category} / ${c.label}: ${(error as Error).message.slice(0, 700)}`);
        continue;
      }
      const entry = perCategory.get(c.category) ?? { inputs: 0, slowestMs: 0 };
      entry.inputs += 1;
      entry.slowestMs = Math.max(entry.slowestMs, Math.round(outcome.ms));
      perCategory.set(c.category, entry);
    }
    console.log(
      `[security] malformed corpus on ${kind}: ${corpus.length} inputs\n${[...perCategory]
        .map(
          ([category, { inputs, slowestMs }]) =>
            `  ${category.padEnd(22)} ${String(inputs).padStart(4)} inputs, slowest ${slowestMs} ms`,
        )
        .join('\n')}`,
    );
    expect(failures).toEqual([]);
    await healthy();
    expect(await counts()).toEqual(before);
  }, 600_000);

  it(
    'random bytes, random JSON and random documents: never a 500, never internals',
    async () => {
      const arbitraryBody = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.json().map((json) => json),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc
          .record({
            query: fc.oneof(
              fc.string({ maxLength: 200 }),
              fc
                .array(
                  fc.constantFrom(
                    '{',
                    '}',
                    '(',
                    ')',
                    '[',
                    ']',
                    ':',
                    '...',
                    '$x',
                    '@skip',
                    'orders',
                    'nodes',
                    'id',
                    'where',
                    'first',
                    '1',
                    '"a"',
                    'on',
                    'Order',
                    'fragment',
                    'query',
                    'F',
                  ),
                  { maxLength: 60 },
                )
                .map((tokens) => tokens.join(' ')),
            ),
            variables: fc.oneof(fc.constant(undefined), fc.jsonValue()),
          })
          .map((body) => JSON.stringify(body)),
      );
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(
          arbitraryBody,
          fc.constantFrom('/graphql' as const, '/mcp' as const),
          async (body, path) => {
            sent += 1;
            const outcome = await send({ path, body });
            check({ category: 'random', label: 'random', path, body, expect: 'any' }, outcome);
          },
        ),
        { numRuns: RUNS * 4, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
      console.log(`[security] random malformed inputs on ${kind}: ${sent}`);
      await healthy();
    },
    timeoutFor(RUNS * 4, 200),
  );
});
