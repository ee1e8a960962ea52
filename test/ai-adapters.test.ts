// Pins `ormai/ai` with each library's real package and no network: the AI SDK (OpenAI and Anthropic
// models), LangChain.js (ChatOpenAI, ChatAnthropic), the OpenAI and Anthropic SDKs, each sending its
// request through a fetch that keeps the body and answers a canned tool call; the call runs through
// ormai (rows equal SQL for the tenant, one audit record). Also: the schemas in OpenAI strict mode
// where they can be, and the AI SDK and LangChain MCP clients against the served /mcp.
import { randomBytes } from 'node:crypto';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createMCPClient } from '@ai-sdk/mcp';
import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { ChatAnthropic } from '@langchain/anthropic';
import { ToolMessage } from '@langchain/core/messages';
import { MultiServerMCPClient } from '@langchain/mcp-adapters';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, isStepCount } from 'ai';
import OpenAI from 'openai';
import { toStrictJsonSchema } from 'openai/lib/transform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import {
  agentTools,
  aiSdkTools,
  anthropicTools,
  executeToolCall,
  langchainTools,
  openaiResponsesTools,
  openaiTools,
  strictSchema,
  withoutOmittedNulls,
} from '../src/ai/index.js';
import { loadPeer } from '../src/ai/peer.js';
import type { OrmaiConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { FUNCTION_NAME, readTools, writeTools } from '../src/mcp-bridge/index.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { createOrmai, type Ormai } from '../src/server/create-ormai.js';
import { listen, type RunningServer } from '../src/server/http-server.js';
import { createLogger } from '../src/server/logger.js';
import { keysApp } from './fixtures/keys-app/app.js';
import { DATABASE_KINDS, type DatabaseKind } from './helpers/runtime.js';

const SECRET = 'ai-adapters-secret-0123456789abcdef';
const AGENT = { sub: '1', tenantId: 2, roles: ['agent'] };
const WRITER = { sub: '3', tenantId: 1, roles: ['admin', 'support'] };
const QUERY = { model: 'Product', select: ['id', 'tenantId', 'name'], take: 100 };

/** createOrmai on a fresh database of `kind` (the example seeded), as an app embeds it. */
function useOrmai(kind: DatabaseKind) {
  const handle = {} as { ormai: Ormai };
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const url = process.env.TEST_DATABASE_URL;
    const schema = `ormai_ai_${randomBytes(4).toString('hex')}`;
    const database: OrmaiConfig['database'] =
      kind === 'postgres'
        ? { url, schema, ormaiSchema: `${schema}_ormai`, applyMigrations: true }
        : { dataDir: 'memory://', applyMigrations: true };
    handle.ormai = await createOrmai(
      { app: saasApp, database, audit: { sinks: ['sql'] } },
      { logger: createLogger('silent'), env: { ORMAI_JWT_SECRET: SECRET } },
    );
    if (kind === 'postgres') {
      drop = async () => {
        const admin = await openDatabase({ kind: 'postgres', url: url!, poolSize: 1 });
        await admin.sql.exec(
          `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_ormai" CASCADE`,
        );
        await admin.close();
      };
    }
  }, 180_000);
  afterAll(async () => {
    await handle.ormai?.close();
    await drop?.();
  });
  return handle;
}

/** A fetch that keeps each request's body and answers the canned responses in turn. */
function cannedFetch(responses: unknown[]) {
  const requests: { url: string; body: any }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const text =
      init?.body !== undefined && init.body !== null
        ? String(init.body)
        : input instanceof Request
          ? await input.text()
          : '';
    const body = text ? JSON.parse(text) : undefined;
    if (body?.stream) throw new Error(`${url}: the canned fetch answers no stream`);
    requests.push({ url, body });
    const answer = responses[Math.min(requests.length, responses.length) - 1];
    return new Response(JSON.stringify(answer), {
      status: 200,
      headers: { 'content-type': 'application/json', 'request-id': 'req_1' },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

const chatToolCall = (name: string, args: unknown) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name, arguments: JSON.stringify(args) } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
});
const chatText = {
  ...chatToolCall('x', {}),
  choices: [{ index: 0, message: { role: 'assistant', content: 'done' }, finish_reason: 'stop' }],
};
const responsesToolCall = (name: string, args: unknown) => ({
  id: 'resp_1',
  object: 'response',
  created_at: 1_700_000_000,
  status: 'completed',
  model: 'gpt-4o',
  output: [
    {
      type: 'function_call',
      id: 'fc_1',
      call_id: 'call_1',
      name,
      arguments: JSON.stringify(args),
      status: 'completed',
    },
  ],
  usage: {
    input_tokens: 10,
    output_tokens: 5,
    total_tokens: 15,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 },
  },
});
const anthropicToolUse = (name: string, input: unknown) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [{ type: 'tool_use', id: 'toolu_1', name, input }],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 10, output_tokens: 5 },
});
const anthropicText = {
  ...anthropicToolUse('x', {}),
  content: [{ type: 'text', text: 'done' }],
  stop_reason: 'end_turn',
};

/**
 * OpenAI's strict-mode rules, checked independently of src/ai/strict.ts: the root one object,
 * every object closed with all its properties required, every value typed (or an anyOf), no
 * `type` list with an object or array, none of the keywords strict mode refuses.
 */
const REFUSED = [
  'allOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'default',
  'patternProperties',
  'propertyNames',
  'unevaluatedProperties',
  'minProperties',
  'maxProperties',
  'uniqueItems',
  'contains',
  'prefixItems',
];
function strictProblems(schema: any, path = '<root>'): string[] {
  const problems: string[] = [];
  if (path === '<root>' && (schema.type !== 'object' || schema.anyOf)) problems.push('root');
  for (const keyword of REFUSED) if (keyword in schema) problems.push(`${path}: ${keyword}`);
  if (schema.anyOf) {
    schema.anyOf.forEach((branch: any, i: number) => {
      problems.push(...strictProblems(branch, `${path}.anyOf[${i}]`));
    });
    return problems;
  }
  const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.type === undefined) problems.push(`${path}: no type`);
  if (types.length > 1 && types.some((t) => t === 'object' || t === 'array'))
    problems.push(`${path}: type list with object/array`);
  if (types.includes('object')) {
    const keys = Object.keys(schema.properties ?? {});
    if (!schema.properties) problems.push(`${path}: object without properties`);
    if (schema.additionalProperties !== false) problems.push(`${path}: additionalProperties`);
    if (JSON.stringify([...(schema.required ?? [])].sort()) !== JSON.stringify([...keys].sort()))
      problems.push(`${path}: not every property required`);
    for (const key of keys)
      problems.push(...strictProblems(schema.properties[key], `${path}.${key}`));
  }
  if (types.includes('array')) {
    if (!schema.items) problems.push(`${path}: array without items`);
    else problems.push(...strictProblems(schema.items, `${path}[]`));
  }
  return problems;
}

describe('optional peers', () => {
  it('a missing peer is named with its install command; anything else is rethrown', async () => {
    const name = 'ormai-no-such-peer';
    await expect(loadPeer(name, () => import(name), 'someAdapter')).rejects.toThrow(
      'someAdapter needs the ormai-no-such-peer package: npm install ormai-no-such-peer',
    );
    const broken = new Error('boom');
    await expect(loadPeer('ai', () => Promise.reject(broken), 'x')).rejects.toBe(broken);
  });
});

describe('tool schemas in OpenAI strict mode', () => {
  const engine = compilePolicy(keysApp.policy, keysApp.datamodel);
  if (!engine.ok) throw new Error(engine.message);

  it('a compound key stays strict: an object of the key fields, the others left out as null', () => {
    const tools = [
      ...readTools(engine.value.forRoles(['admin'])),
      ...writeTools(engine.value.forRoles(['admin'])),
    ];
    const get = tools.find((tool) => tool.name === 'db.get')!;
    const strict = strictSchema(get.inputSchema);
    if (!strict.strict) throw new Error(strict.reason);
    expect(strictProblems(strict.schema)).toEqual([]);
    expect(toStrictJsonSchema(strict.schema as never)).toEqual(strict.schema);
    const id = (strict.schema.properties as any).id;
    const compound = id.anyOf.find((branch: any) => branch.type === 'object');
    expect(Object.keys(compound.properties)).toEqual(expect.arrayContaining(['orgId', 'id']));
    // what a strict-mode model sends for Ticket {orgId, id}: every property, null where unused
    const sent = {
      model: 'Ticket',
      id: Object.fromEntries(
        Object.keys(compound.properties).map((key) => [
          key,
          key === 'orgId' ? 'org' : key === 'id' ? 3 : null,
        ]),
      ),
      select: null,
      include: null,
    };
    expect(withoutOmittedNulls(get.inputSchema, sent)).toEqual({
      model: 'Ticket',
      id: { orgId: 'org', id: 3 },
    });
    // the write tools whose data is free-form cannot be strict, and say why
    for (const name of ['db.create', 'db.update', 'db.bulk_update_by_ids']) {
      const tool = tools.find((candidate) => candidate.name === name)!;
      expect(strictSchema(tool.inputSchema)).toEqual({
        strict: false,
        reason: expect.stringMatching(/^<root>\.data: an object without `properties`/),
      });
    }
    // data keeps its nulls: there a null sets a field to null
    const update = tools.find((tool) => tool.name === 'db.update')!;
    expect(
      withoutOmittedNulls(update.inputSchema, {
        model: 'Ticket',
        id: 1,
        data: { title: null },
        reason: null,
      }),
    ).toEqual({ model: 'Ticket', id: 1, data: { title: null } });
  });

  it("db.query's include_total is an optional boolean: null when not given, its default said", () => {
    const query = readTools(engine.value.forRoles(['admin'])).find((t) => t.name === 'db.query')!;
    const strict = strictSchema(query.inputSchema);
    if (!strict.strict) throw new Error(strict.reason);
    expect(strictProblems(strict.schema)).toEqual([]);
    expect((strict.schema.properties as any).include_total).toEqual({
      type: ['boolean', 'null'],
      description: expect.stringMatching(/total_count.*\(default false\)$/),
    });
    expect(
      withoutOmittedNulls(query.inputSchema, { model: 'Ticket', include_total: null }),
    ).toEqual({ model: 'Ticket' });
  });
});

describe.each(DATABASE_KINDS)('ormai/ai on %s', (kind) => {
  const handle = useOrmai(kind);
  const sql = <Row = Record<string, unknown>>(text: string, params?: unknown[]) =>
    handle.ormai.runtime.db.sql.query<Row>(text, params);
  /** The tenant's products by SQL: what the canned db_query call must return. */
  const truth = async () =>
    (
      await sql<{ id: number }>('SELECT id FROM "Product" WHERE "tenantId" = $1 ORDER BY id', [
        AGENT.tenantId,
      ])
    ).map((row) => row.id);
  const auditCount = async () => {
    await handle.ormai.audit.flush();
    const [row] = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${handle.ormai.runtime.tables.auditLog} WHERE surface = 'mcp' AND operation = 'db_query' AND tenant_id = $1`,
      [String(AGENT.tenantId)],
    );
    return row!.n;
  };
  /** Runs `fn` and expects exactly one more db_query record for the agent's tenant. */
  const oneRecord = async <T>(fn: () => Promise<T>): Promise<T> => {
    const before = await auditCount();
    const result = await fn();
    expect(await auditCount()).toBe(before + 1);
    return result;
  };
  const idsOf = (structured: any) => (structured.data as { id: number }[]).map((row) => row.id);

  it('offers exactly what /mcp lists for the same token, under function-safe names', async () => {
    const token = await handle.ormai.signToken(AGENT);
    const response = await handle.ormai.mcp(
      new Request('http://ormai.test/mcp', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      }),
    );
    const listed = ((await response.json()) as any).result.tools;
    const tools = agentTools(handle.ormai, AGENT);
    expect(tools.map(({ strict: _, ...tool }) => tool)).toEqual(listed);
    for (const tool of tools) expect(tool.name).toMatch(FUNCTION_NAME);
  });

  it('strict mode where the schema allows it, and which keyword prevents it elsewhere', async () => {
    const tools = agentTools(handle.ormai, WRITER);
    const notStrict = Object.fromEntries(
      tools
        .filter((tool) => !tool.strict.strict)
        .map((tool) => [tool.name, (tool.strict as any).reason]),
    );
    expect(Object.keys(notStrict).sort()).toEqual([
      'db_bulk_update_by_ids',
      'db_create',
      'db_update',
    ]);
    for (const reason of Object.values(notStrict))
      expect(reason).toContain('<root>.data: an object without `properties`');
    for (const tool of openaiTools(handle.ormai, WRITER)) {
      const { name, parameters, strict } = tool.function;
      if (!strict) {
        expect(parameters, name).toEqual(tools.find((t) => t.name === name)!.inputSchema);
        continue;
      }
      expect(strictProblems(parameters), name).toEqual([]);
      // the OpenAI SDK's own normalizer leaves a schema that is already strict unchanged
      expect(toStrictJsonSchema(parameters as never), name).toEqual(parameters);
    }
    // domain tools: strict when their variables are typed; a recursive where input is not
    const custom = {
      tools: {
        ...handle.ormai.tools,
        domainTools: [
          {
            name: 'products.cheap',
            description: 'products under a price',
            document:
              'query Cheap($max: Int!, $first: Int = 5) { products(where: { priceCents: { lt: $max } }, first: $first) { nodes { id } } }',
          },
          {
            name: 'products.where',
            description: 'products by a filter',
            document:
              'query Where($where: ProductWhereInput) { products(where: $where) { totalCount } }',
          },
        ],
      },
    };
    const domain = Object.fromEntries(
      agentTools(custom, AGENT).map((tool) => [tool.name, tool.strict]),
    );
    expect(domain.products_cheap!.strict).toBe(true);
    expect(domain.products_where).toEqual({
      strict: false,
      reason: expect.stringMatching(
        /^<root>\.where\.AND\[\]\.AND\[\]: an object without `properties`/,
      ),
    });
    // a strict-mode model's null for the optional $first: the default applies
    const cheap = await executeToolCall(custom, AGENT, 'products_cheap', {
      max: 5000,
      first: null,
    });
    const cheapTruth = await sql<{ id: number }>(
      'SELECT id FROM "Product" WHERE "tenantId" = $1 AND "priceCents" < 5000 ORDER BY id LIMIT 5',
      [AGENT.tenantId],
    );
    expect((cheap.structuredContent as any).products.nodes).toEqual(cheapTruth);
    expect(anthropicTools(handle.ormai, WRITER).map((tool) => tool.input_schema)).toEqual(
      tools.map((tool) => tool.inputSchema),
    );
  });

  it('executeToolCall: strict-mode nulls read as absent, JSON strings parsed, mistakes as tool errors', async () => {
    const strictCall = {
      ...QUERY,
      where: null,
      order_by: null,
      cursor: null,
      include: null,
    };
    const result = await oneRecord(() =>
      executeToolCall(handle.ormai, AGENT, 'db_query', JSON.stringify(strictCall)),
    );
    expect(result.isError).toBe(false);
    expect(idsOf(result.structuredContent)).toEqual(await truth());
    expect(JSON.parse(result.text)).toEqual(result.structuredContent);
    const alias = await executeToolCall(handle.ormai, AGENT, 'db.aggregate', {
      model: 'Product',
      operation: 'count',
    });
    expect(alias.structuredContent.value).toBe((await truth()).length);
    const unknown = await executeToolCall(handle.ormai, AGENT, 'db_create', { model: 'Product' });
    expect(unknown).toMatchObject({
      isError: true,
      structuredContent: { error: { code: 'TOOL_NOT_FOUND' } },
    });
    const badJson = await executeToolCall(handle.ormai, AGENT, 'db_query', '{"model":');
    expect(badJson.structuredContent.error).toMatchObject({ code: 'VALIDATION_ERROR' });
    const denied = await executeToolCall(handle.ormai, AGENT, 'db_query', { model: 'User' });
    expect(denied).toMatchObject({
      isError: true,
      structuredContent: { error: { code: 'MODEL_NOT_ALLOWED' } },
    });
  });

  it('AI SDK + @ai-sdk/openai: generateText runs db_query through ormai and sends the rows back', async () => {
    const { fetch, requests } = cannedFetch([chatToolCall('db_query', QUERY), chatText]);
    const openai = createOpenAI({ apiKey: 'test', fetch });
    const result = await oneRecord(async () =>
      generateText({
        model: openai.chat('gpt-4o'),
        tools: await aiSdkTools(handle.ormai, AGENT, { strict: true }),
        stopWhen: isStepCount(2),
        prompt: 'list the products',
      }),
    );
    expect(result.text).toBe('done');
    const sent = requests[0]!.body.tools as any[];
    expect(sent.map((tool) => tool.function.name)).toEqual(
      agentTools(handle.ormai, AGENT).map((tool) => tool.name),
    );
    for (const tool of sent) {
      expect(tool.function.strict, tool.function.name).toBe(true);
      expect(strictProblems(tool.function.parameters), tool.function.name).toEqual([]);
    }
    const output = result.steps[0]!.toolResults[0]!.output as any;
    expect(idsOf(output)).toEqual(await truth());
    // the tool result went back to the model in the second request
    const toolMessage = requests[1]!.body.messages.find((m: any) => m.role === 'tool');
    expect(idsOf(JSON.parse(toolMessage.content))).toEqual(await truth());
  });

  it('AI SDK + @ai-sdk/anthropic: the same tools, the same call, the same rows', async () => {
    const { fetch, requests } = cannedFetch([anthropicToolUse('db_query', QUERY), anthropicText]);
    const anthropic = createAnthropic({ apiKey: 'test', fetch });
    const result = await oneRecord(async () =>
      generateText({
        model: anthropic('claude-sonnet-4-5'),
        tools: await aiSdkTools(handle.ormai, AGENT),
        stopWhen: isStepCount(2),
        prompt: 'list the products',
      }),
    );
    expect(result.text).toBe('done');
    const sent = requests[0]!.body.tools as any[];
    for (const tool of sent) expect(tool.name).toMatch(FUNCTION_NAME);
    expect(
      sent.find((tool) => tool.name === 'db_query').input_schema.properties.model.enum,
    ).toContain('Product');
    expect(idsOf(result.steps[0]!.toolResults[0]!.output)).toEqual(await truth());
  });

  it('LangChain ChatOpenAI.bindTools: the tool call runs through ormai, a ToolMessage answers it', async () => {
    const { fetch, requests } = cannedFetch([chatToolCall('db_query', QUERY)]);
    const tools = await langchainTools(handle.ormai, AGENT);
    const model = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'test', configuration: { fetch } });
    const message = await model.bindTools(tools).invoke('list the products');
    expect(requests[0]!.url).toMatch(/\/chat\/completions$/);
    expect(requests[0]!.body.tools.map((tool: any) => tool.function.name)).toEqual(
      tools.map((tool) => tool.name),
    );
    const call = message.tool_calls![0]!;
    const answer = await oneRecord(() =>
      tools.find((tool) => tool.name === call.name)!.invoke(call),
    );
    expect(answer).toBeInstanceOf(ToolMessage);
    expect(idsOf(JSON.parse((answer as ToolMessage).content as string))).toEqual(await truth());
  });

  it('LangChain ChatAnthropic.bindTools: the same', async () => {
    const { fetch, requests } = cannedFetch([anthropicToolUse('db_query', QUERY)]);
    const tools = await langchainTools(handle.ormai, AGENT);
    const model = new ChatAnthropic({
      model: 'claude-sonnet-4-5',
      apiKey: 'test',
      clientOptions: { fetch },
    });
    const message = await model.bindTools(tools).invoke('list the products');
    expect(requests[0]!.body.tools.map((tool: any) => tool.name)).toEqual(tools.map((t) => t.name));
    const call = message.tool_calls![0]!;
    expect(call.name).toBe('db_query');
    const answer = await oneRecord(() =>
      tools.find((tool) => tool.name === call.name)!.invoke(call),
    );
    expect(idsOf(JSON.parse((answer as ToolMessage).content as string))).toEqual(await truth());
  });

  it('the OpenAI SDK (Chat Completions and Responses) and the Anthropic SDK with the definitions', async () => {
    const chat = cannedFetch([chatToolCall('db_query', QUERY)]);
    const openai = new OpenAI({ apiKey: 'test', fetch: chat.fetch });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'list the products' }],
      tools: openaiTools(handle.ormai, AGENT),
    });
    expect(chat.requests[0]!.body.tools).toEqual(openaiTools(handle.ormai, AGENT));
    const toolCall = completion.choices[0]!.message.tool_calls![0]! as any;
    const chatResult = await oneRecord(() =>
      executeToolCall(handle.ormai, AGENT, toolCall.function.name, toolCall.function.arguments),
    );
    expect(idsOf(chatResult.structuredContent)).toEqual(await truth());

    const responses = cannedFetch([responsesToolCall('db_query', QUERY)]);
    const client = new OpenAI({ apiKey: 'test', fetch: responses.fetch });
    const response = await client.responses.create({
      model: 'gpt-4o',
      input: 'list the products',
      tools: openaiResponsesTools(handle.ormai, AGENT),
    });
    expect(responses.requests[0]!.url).toMatch(/\/responses$/);
    const functionCall = response.output.find((item) => item.type === 'function_call')!;
    const responsesResult = await oneRecord(() =>
      executeToolCall(handle.ormai, AGENT, functionCall.name, functionCall.arguments),
    );
    expect(idsOf(responsesResult.structuredContent)).toEqual(await truth());

    const messages = cannedFetch([anthropicToolUse('db_query', QUERY)]);
    const anthropic = new Anthropic({ apiKey: 'test', fetch: messages.fetch });
    const message = await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'list the products' }],
      tools: anthropicTools(handle.ormai, AGENT) as never,
    });
    expect(messages.requests[0]!.body.tools).toEqual(anthropicTools(handle.ormai, AGENT));
    const toolUse = message.content.find((block) => block.type === 'tool_use')!;
    const anthropicResult = await oneRecord(() =>
      executeToolCall(handle.ormai, AGENT, toolUse.name, toolUse.input as Record<string, unknown>),
    );
    expect(idsOf(anthropicResult.structuredContent)).toEqual(await truth());
  });

  describe('MCP clients against the served /mcp', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await listen(handle.ormai.fetch, { port: 0, host: '127.0.0.1' });
    });
    afterAll(() => server?.close());
    const headers = async () => ({
      authorization: `Bearer ${await handle.ormai.signToken(AGENT)}`,
    });

    it('@ai-sdk/mcp lists function-safe names and its tools run through ormai', async () => {
      const client = await createMCPClient({
        transport: { type: 'http', url: `${server.url}/mcp`, headers: await headers() },
      });
      try {
        const tools = await client.tools();
        expect(Object.keys(tools)).toEqual(
          agentTools(handle.ormai, AGENT).map((tool) => tool.name),
        );
        const result = (await oneRecord(
          () =>
            Promise.resolve(
              tools.db_query!.execute!(QUERY, { toolCallId: 'call_1', messages: [] } as never),
            ) as Promise<unknown>,
        )) as any;
        expect(idsOf(result.structuredContent)).toEqual(await truth());
      } finally {
        await client.close();
      }
    });

    it('@langchain/mcp-adapters MultiServerMCPClient does the same', async () => {
      const client = new MultiServerMCPClient({
        mcpServers: {
          ormai: { transport: 'http', url: `${server.url}/mcp`, headers: await headers() },
        },
      });
      try {
        const tools = await client.getTools();
        expect(tools.map((tool) => tool.name)).toEqual(
          agentTools(handle.ormai, AGENT).map((tool) => tool.name),
        );
        const query = tools.find((tool) => tool.name === 'db_query')!;
        const answer = (await oneRecord(() => query.invoke(QUERY))) as unknown;
        // a text block carrying the result's JSON (and the structuredContent beside it)
        const block = (Array.isArray(answer) ? answer[0] : answer) as string | { text: string };
        const structured = JSON.parse(typeof block === 'string' ? block : block.text);
        expect(structured.has_more).toBe(false);
        expect(idsOf(structured)).toEqual(await truth());
      } finally {
        await client.close();
      }
    });
  });
});
