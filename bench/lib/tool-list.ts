// The size of the MCP tool list each example role is offered — what a client puts in front of a
// model before the first call — in characters and in tokens of real tokenizers (js-tiktoken:
// o200k_base, GPT-4o's and later; cl100k_base, GPT-4's). Built the way the served /mcp builds it
// (listTools over the compiled policy and the role's schema); no database, no server.
import { getEncoding, type Tiktoken } from 'js-tiktoken';
import { helpdeskApp } from '../../examples/helpdesk/app.js';
import { saasApp } from '../../examples/saas/app.js';
import type { OrmaiApp } from '../../src/app.js';
import { listTools, type ToolDefinition } from '../../src/mcp-bridge/index.js';
import type { Principal } from '../../src/policy/principal.js';
import { compileAppPolicy } from '../../src/runtime.js';
import { buildSchema } from '../../src/schema/build-schema.js';

/** The issue-15 target: the agent's generic (db_*) tools, as tools/list sends them. */
export const TOOL_LIST_TOKEN_LIMIT = 2000;

export interface TextSize {
  characters: number;
  /** o200k_base tokens. */
  tokens: number;
  cl100kTokens: number;
}

export interface ToolListSize {
  app: string;
  role: string;
  /** Every tool listed: db_* and the domain tools its schema validates. */
  tools: string[];
  /** `{"tools": [...]}` exactly as tools/list answers (name, title, description, inputSchema, outputSchema, annotations). */
  all: TextSize;
  /** The generic db_* tools only, as tools/list answers them: what the target is measured on. */
  generic: TextSize;
  /**
   * The generic tools as a model API is sent them (name, description, input schema): Anthropic's
   * and OpenAI's tool formats carry no title, output schema or annotations.
   */
  genericModelFacing: TextSize;
  /** Per generic tool: tokens of its description, inputSchema and outputSchema (o200k_base). */
  perTool: { name: string; tokens: number; description: number; input: number; output: number }[];
}

let encoders: { o200k: Tiktoken; cl100k: Tiktoken } | undefined;

function sizeOf(text: string): TextSize {
  encoders ??= { o200k: getEncoding('o200k_base'), cl100k: getEncoding('cl100k_base') };
  return {
    characters: text.length,
    tokens: encoders.o200k.encode(text).length,
    cl100kTokens: encoders.cl100k.encode(text).length,
  };
}

const generic = (tool: ToolDefinition) => /^db[._]/.test(tool.name);

function measureApp(app: OrmaiApp): ToolListSize[] {
  const engine = compileAppPolicy(app);
  const policyFor = (principal: Principal) => engine.forRoles(principal.roles);
  const schemaFor = (principal: Principal) =>
    buildSchema({
      datamodel: app.datamodel,
      policy: policyFor(principal),
      cursorSecret: 'bench-tool-list',
    });
  return engine.declaredRoles.map((role) => {
    const principal: Principal = { sub: '1', tenantId: 1, roles: [role], claims: {} };
    const tools = listTools(
      { policyFor, schemaFor, domainTools: app.domainTools ?? [] },
      principal,
    );
    const db = tools.filter(generic);
    const tokens = (value: unknown) => sizeOf(JSON.stringify(value)).tokens;
    return {
      app: app.name,
      role,
      tools: tools.map((tool) => tool.name),
      all: sizeOf(JSON.stringify({ tools })),
      generic: sizeOf(JSON.stringify({ tools: db })),
      genericModelFacing: sizeOf(
        JSON.stringify(
          db.map((tool) => ({
            name: tool.name,
            description: tool.description,
            input_schema: tool.inputSchema,
          })),
        ),
      ),
      perTool: db.map((tool) => ({
        name: tool.name,
        tokens: tokens(tool),
        description: sizeOf(tool.description).tokens,
        input: tokens(tool.inputSchema),
        output: tokens(tool.outputSchema),
      })),
    };
  });
}

/** Every role of the two example apps (saas: admin, agent, sales, support; helpdesk's four). */
export function measureToolLists(): ToolListSize[] {
  return [saasApp, helpdeskApp].flatMap(measureApp);
}
