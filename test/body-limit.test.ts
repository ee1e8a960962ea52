// Pins the request body limit of /graphql (bodyLimitPlugin): yoga's answers (413, 400), from the
// Content-Length header when there is one and by counting the bytes of a body without one.
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { bodyLimitPlugin } from '../src/server/body-limit-plugin.js';

const LIMIT = 200;
const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { echo(text: String!): String! }',
    resolvers: { Query: { echo: (_: unknown, args: { text: string }) => args.text } },
  }),
  maxRequestBodySize: false,
  plugins: [bodyLimitPlugin(LIMIT)],
});

const bodyOf = (text: string) => JSON.stringify({ query: `{ echo(text: "${text}") }` });

/** A body without Content-Length, as a chunked HTTP request arrives. */
const streamed = (body: string) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const bytes = new TextEncoder().encode(body);
      for (let at = 0; at < bytes.length; at += 16) controller.enqueue(bytes.slice(at, at + 16));
      controller.close();
    },
  });

const post = async (body: BodyInit, headers: Record<string, string> = {}) => {
  const response = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: response.status, body: (await response.json()) as any };
};

describe('the request body limit', () => {
  const small = bodyOf('hello');
  const large = bodyOf('x'.repeat(LIMIT));

  it('answers a body within the limit, with or without Content-Length', async () => {
    const withLength = await post(small, { 'content-length': String(small.length) });
    expect(withLength).toEqual({ status: 200, body: { data: { echo: 'hello' } } });
    const chunked = await post(streamed(small));
    expect(chunked).toEqual({ status: 200, body: { data: { echo: 'hello' } } });
  });

  it('refuses a Content-Length over the limit with 413', async () => {
    const { status, body } = await post(small, { 'content-length': String(LIMIT + 1) });
    expect(status).toBe(413);
    expect(body.errors[0]).toMatchObject({
      message: 'Request body too large',
      extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' },
    });
  });

  it('refuses a Content-Length that is not one non-negative integer with 400', async () => {
    for (const length of ['10, 10', '-1', 'ten']) {
      const { status, body } = await post(small, { 'content-length': length });
      expect(status, length).toBe(400);
      expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    }
  });

  it('counts a body without Content-Length and refuses it past the limit with 413', async () => {
    expect(large.length).toBeGreaterThan(LIMIT);
    const { status, body } = await post(streamed(large));
    expect(status).toBe(413);
    expect(body.errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });
});
