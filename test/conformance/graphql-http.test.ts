// Pins /graphql as served by the real `ormai serve`, not as vitest loads it: the graphql-http audit
// (GraphQL over HTTP, MUST and SHOULD) passes whole with a token, a syntax error is VALIDATION_ERROR
// with HTTP 400 for application/graphql-response+json, and a document over every role's token limit
// is the max_tokens budget. Run twice: plain, and under tsx's loader (`--import tsx`, as an app
// written in TypeScript runs), whose CommonJS hook gave graphql-armor a second copy of graphql, so
// that every syntax error came out as INTERNAL_ERROR with HTTP 200.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AuditFail, serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type ServedCli, serve } from '../helpers/cli.js';

const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

describe.each([
  ['ormai serve', {}],
  ['ormai serve under tsx (--import tsx)', { NODE_OPTIONS: `--import ${TSX_LOADER}` }],
] as [string, Record<string, string>][])('%s: GraphQL over HTTP', (_name, env) => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-graphql-http-'));
  let served: ServedCli | undefined;
  let token = '';

  beforeAll(async () => {
    served = await serve(cwd, env);
    token = served.tokenOf(1, 'agent');
  }, 180_000);

  afterAll(async () => {
    await served?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const post = (query: string, accept: string) =>
    fetch(served!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });

  it('passes the graphql-http audit with a token: no error, no warning, no notice', async () => {
    const authorized = (input: RequestInfo | URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const results = [];
    for (const audit of serverAudits({ url: served!.url, fetchFn: authorized })) {
      results.push(await audit.fn());
    }
    const failed = await Promise.all(
      results
        .filter((result) => result.status !== 'ok')
        .map(async (result) => {
          const failure = result as AuditFail;
          return `${failure.status} ${failure.id} ${failure.name}: ${failure.reason} ${await failure.response.text()}`;
        }),
    );
    expect(failed).toEqual([]);
    expect(results.length).toBeGreaterThan(50);
    console.info(`graphql-http audit (${_name}): ${results.length} audits, all ok`);
  });

  it('answers a syntax error VALIDATION_ERROR, HTTP 400 for application/graphql-response+json', async () => {
    for (const [accept, status] of [
      ['application/graphql-response+json', 400],
      ['application/json', 200],
    ] as const) {
      const response = await post('{ orders { ', accept);
      expect(response.status).toBe(status);
      const body = await response.json();
      expect(body.errors[0]).toMatchObject({
        message: expect.stringMatching(/^Syntax Error/),
        extensions: { code: 'VALIDATION_ERROR', retryable: true },
      });
      expect(body.errors[0].extensions.traceId).toBe(response.headers.get('x-trace-id'));
    }
  });

  it('refuses a document over every role’s token limit while parsing, as the max_tokens budget', async () => {
    const huge = `{ ${Array.from({ length: 20_000 }, () => '__typename').join(' ')} }`;
    const response = await post(huge, 'application/graphql-response+json');
    const body = await response.json();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions).toMatchObject({
      code: 'QUERY_BUDGET_EXCEEDED',
      details: { budget: 'max_tokens' },
    });
  });
});
