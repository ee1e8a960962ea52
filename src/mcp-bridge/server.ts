import { randomBytes } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  type CallToolRequest,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { GraphQLSchema } from 'graphql';
import { z } from 'zod';
import type { DomainTool } from '../app.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import type { NamingOptions } from '../schema/naming.js';
import { domainToolsFor, type PreparedDomainTool, prepareDomainTools } from './domain-tools.js';
import {
  fromGraphQLError,
  fromToolError,
  type StructuredToolError,
  ToolError,
  toolErrorResult,
  toolResult,
} from './errors.js';
import { readTools, type ToolDefinition, writeTools } from './tools.js';
import { type Operation, Translator } from './translate.js';

/** Runs a GraphQL operation for a principal through the gateway (the bridge never touches the database). */
export type Execute = (operation: {
  principal: Principal;
  document: string;
  variables?: Record<string, unknown>;
  traceId?: string;
  surface?: 'mcp';
  /** The tool's name, for the audit record of a write it makes. */
  operation?: string;
}) => Promise<{
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  traceId: string;
  writesRecorded?: number;
}>;

/** What happened in one tool call: the audit hook's input. */
export interface ToolCallEvent {
  tool: string;
  arguments: Record<string, unknown>;
  principal: Principal;
  traceId: string;
  outcome: 'ok' | 'error';
  errorCode?: string;
  /** Rows returned (db.query: the page; db.get: 0 or 1). */
  rowCount?: number;
  durationMs: number;
  /** The GraphQL operation the call ran, if it got that far. */
  document?: string;
  /** A write recorded itself in its transaction: the audit hook adds nothing. */
  recorded: boolean;
}

/** A call the audit hook could not record: refused, like any call while the audit log is down. */
const NOT_RECORDED: StructuredToolError = {
  code: 'INTERNAL_ERROR',
  message: 'the audit log cannot be written right now, so nothing is served',
  retryable: true,
  retry_hints: ['retry in a few seconds'],
  details: {},
};

export interface McpBridgeOptions {
  execute: Execute;
  policyFor(principal: Principal): CompiledPolicy;
  /** The GraphQL schema of a principal (domain tools are offered when they validate against it). */
  schemaFor?(principal: Principal): GraphQLSchema;
  /** Named GraphQL operations served next to the db.* tools. */
  domainTools?: DomainTool[];
  naming?: NamingOptions;
  /**
   * Called once per tool call, success or failure (the audit log fills it). When it throws (the
   * call cannot be recorded), the call is refused with a retryable INTERNAL_ERROR instead.
   */
  onToolCall?: (event: ToolCallEvent) => void | Promise<void>;
  version?: string;
}

/** tools/call with any params; the SDK validates them (see the handler). */
const ANY_TOOL_CALL = z.object({ method: z.literal('tools/call'), params: z.unknown().optional() });

const condition = z.object({ field: z.unknown(), op: z.unknown(), value: z.unknown().optional() });
const include = z.object({
  relation: z.unknown(),
  select: z.array(z.string()).optional(),
  where: z.array(condition).optional(),
  take: z.number().int().optional(),
});
/** A row's key: its value, or an object of a compound key's fields. */
const key = z.union([z.number(), z.string(), z.record(z.string(), z.unknown())]);
const ARGUMENTS: Record<string, z.ZodType> = {
  'db.describe_schema': z.object({ model: z.string().nullish() }),
  'db.get': z.object({
    model: z.string(),
    id: key,
    select: z.array(z.string()).optional(),
    include: z.array(include).optional(),
  }),
  'db.query': z.object({
    model: z.string(),
    select: z.array(z.string()).optional(),
    where: z.array(condition).optional(),
    order_by: z
      .array(z.object({ field: z.unknown(), direction: z.string().optional() }))
      .optional(),
    take: z.number().int().optional(),
    cursor: z.string().nullish(),
    include: z.array(include).optional(),
  }),
  'db.create': z.object({
    model: z.string(),
    data: z.record(z.string(), z.unknown()),
    reason: z.string().nullish(),
  }),
  'db.update': z.object({
    model: z.string(),
    id: key,
    data: z.record(z.string(), z.unknown()),
    reason: z.string().nullish(),
  }),
  'db.delete': z.object({
    model: z.string(),
    id: key,
    reason: z.string().nullish(),
    hard: z.boolean().optional(),
  }),
  'db.bulk_update_by_ids': z.object({
    model: z.string(),
    ids: z.array(key),
    data: z.record(z.string(), z.unknown()),
    reason: z.string().nullish(),
  }),
  'db.approval_status': z.object({ approval_id: z.string() }),
  'db.aggregate': z.object({
    model: z.string(),
    operation: z.string(),
    field: z.string().nullish(),
    where: z.array(condition).optional(),
    group_by: z.array(z.string()).optional(),
  }),
};

// Over HTTP a server is made for every request (stateless), so what depends only on the
// configuration, a compiled policy or a schema — all immutable — is computed once and shared.
const sharedValidator = new AjvJsonSchemaValidator();
const preparedCache = new WeakMap<DomainTool[], PreparedDomainTool[]>();
const policyToolsCache = new WeakMap<CompiledPolicy, ToolDefinition[]>();
const domainToolsCache = new WeakMap<
  PreparedDomainTool[],
  WeakMap<GraphQLSchema, ToolDefinition[]>
>();

function preparedDomainTools(tools: DomainTool[] | undefined): PreparedDomainTool[] {
  if (!tools) return [];
  let prepared = preparedCache.get(tools);
  if (!prepared) {
    prepared = prepareDomainTools(tools);
    preparedCache.set(tools, prepared);
  }
  return prepared;
}

function policyTools(policy: CompiledPolicy): ToolDefinition[] {
  let tools = policyToolsCache.get(policy);
  if (!tools) {
    tools = [...readTools(policy), ...writeTools(policy)];
    policyToolsCache.set(policy, tools);
  }
  return tools;
}

/** The domain tools a schema validates (validating every document is the costly part). */
function domainToolsOf(prepared: PreparedDomainTool[], schema: GraphQLSchema): ToolDefinition[] {
  let bySchema = domainToolsCache.get(prepared);
  if (!bySchema) {
    bySchema = new WeakMap();
    domainToolsCache.set(prepared, bySchema);
  }
  let tools = bySchema.get(schema);
  if (!tools) {
    tools = domainToolsFor(prepared, schema);
    bySchema.set(schema, tools);
  }
  return tools;
}

/**
 * The tools a principal is offered (tools/list): the db.* tools its roles may use and the domain
 * tools its schema validates. They depend on the roles only, never on the tenant or the subject.
 */
export function listTools(
  options: Pick<McpBridgeOptions, 'policyFor' | 'schemaFor' | 'domainTools'>,
  principal: Principal,
): ToolDefinition[] {
  const prepared = preparedDomainTools(options.domainTools);
  const domain =
    options.schemaFor && prepared.length > 0
      ? domainToolsOf(prepared, options.schemaFor(principal))
      : [];
  return [...policyTools(options.policyFor(principal)), ...domain];
}

/**
 * An MCP server for one principal: OrmAI's db.* tools, each call compiled into one GraphQL document
 * and run through the gateway, so the policy is enforced in one place. A denial or a bad parameter is
 * a tool result with isError and a structured error the agent can act on; only an unknown tool name is
 * a protocol error. (The SDK's high-level McpServer reports input validation as plain text, so the
 * bridge sets its handlers on the SDK's Server itself.)
 */
export function createMcpServer(options: McpBridgeOptions, principal: Principal): Server {
  const server = new Server(
    { name: 'ormai', version: options.version ?? '0.1.0' },
    {
      capabilities: { tools: {} },
      instructions:
        'Read the database through db.* tools. Call db.describe_schema first; rows are limited to your tenant and role, masked fields stay masked.',
      // the SDK builds an Ajv instance per server otherwise (it is used for elicitation only)
      jsonSchemaValidator: sharedValidator,
    },
  );
  const prepared = preparedDomainTools(options.domainTools);
  const tools = (): ToolDefinition[] => listTools(options, principal);

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools() }));

  // registered with a loose schema: the SDK's own check of tools/call then answers malformed
  // params with InvalidParams (-32602); with the strict schema they surface as InternalError
  server.setRequestHandler(ANY_TOOL_CALL, async (raw): Promise<CallToolResult> => {
    const request = raw as unknown as CallToolRequest;
    const name = request.params.name;
    if (!tools().some((tool) => tool.name === name)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `TOOL_NOT_FOUND: no tool ${name}; list the tools to see what exists`,
      );
    }
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    const traceId = randomBytes(16).toString('hex');
    const started = performance.now();
    let operation: Operation | undefined;
    // a write records itself (with before and after) inside its transaction
    let recorded = false;
    const finish = async (
      result: CallToolResult,
      error?: StructuredToolError,
      rowCount?: number,
    ) => {
      try {
        await options.onToolCall?.({
          tool: name,
          arguments: args,
          principal,
          traceId,
          outcome: error ? 'error' : 'ok',
          ...(error ? { errorCode: error.code } : {}),
          ...(rowCount !== undefined ? { rowCount } : {}),
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          ...(operation ? { document: operation.document } : {}),
          recorded,
        });
      } catch {
        // not answered unrecorded (the audit queue is full during a long outage)
        return toolErrorResult(NOT_RECORDED, traceId);
      }
      return result;
    };

    try {
      const domainTool = prepared.find((candidate) => candidate.tool.name === name);
      if (domainTool) {
        operation = domainOperation(domainTool, args);
      } else {
        operation = readOperation(options, principal, name, args);
      }
      const result = await options.execute({
        principal,
        document: operation.document,
        variables: operation.variables,
        traceId,
        surface: 'mcp',
        operation: name,
      });
      recorded = (result.writesRecorded ?? 0) > 0;
      if (result.errors?.length) {
        const error = inToolTerms(fromGraphQLError(result.errors[0]!));
        return finish(toolErrorResult(error, traceId), error);
      }
      const structured = operation.shape(result.data ?? {});
      return finish(toolResult(structured), undefined, rowCountOf(name, structured));
    } catch (error) {
      const structured: StructuredToolError =
        error instanceof ToolError
          ? fromToolError(error)
          : {
              code: 'INTERNAL_ERROR',
              message: 'internal error',
              retryable: false,
              retry_hints: ['retry later'],
              details: {},
            };
      return finish(toolErrorResult(structured, traceId), structured);
    }
  });

  return server;
}

/** The GraphQL arguments a tool fills (first, after) are named as the tool names them (take, cursor). */
function inToolTerms(error: StructuredToolError): StructuredToolError {
  const field = error.details.field;
  const budget = error.details.budget;
  if (budget === 'max_rows' && error.details.requested !== undefined) {
    return {
      ...error,
      message: `take: ${error.details.requested} is over the limit of ${error.details.limit} rows per page`,
      retry_hints: [
        `pass take of at most ${error.details.limit}, and page with cursor: next_cursor`,
      ],
      details: { ...error.details, field: 'take' },
    };
  }
  if (field === 'first') {
    return {
      ...error,
      message: error.message.replace(/^first/, 'take'),
      retry_hints: ['pass take of at least 1'],
      details: { ...error.details, field: 'take' },
    };
  }
  if (field === 'after') {
    return {
      ...error,
      message: 'the cursor is malformed or was not issued for this query',
      retry_hints: [
        'pass the next_cursor of the previous page unchanged, with the same model and order_by, or omit cursor to start over',
      ],
      details: { ...error.details, field: 'cursor' },
    };
  }
  return error;
}

function readOperation(
  options: McpBridgeOptions,
  principal: Principal,
  name: string,
  args: Record<string, unknown>,
) {
  const parsed = ARGUMENTS[name]!.safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ToolError(
      'VALIDATION_ERROR',
      `${issue.path.join('.') || 'arguments'}: ${issue.message}`,
      {
        hints: ['see the tool input schema'],
        details: { field: issue.path.join('.') },
      },
    );
  }
  return translate(
    new Translator(options.policyFor(principal), options.naming),
    name,
    parsed.data as never,
  );
}

/** A domain tool runs its own document; the arguments are its variables, checked by GraphQL. */
function domainOperation(prepared: PreparedDomainTool, args: Record<string, unknown>): Operation {
  const known = new Set(
    (prepared.operation.variableDefinitions ?? []).map((v) => v.variable.name.value),
  );
  const unknown = Object.keys(args).find((key) => !known.has(key));
  if (unknown) {
    throw new ToolError('VALIDATION_ERROR', `${unknown} is not an input of ${prepared.tool.name}`, {
      hints: [`inputs: ${[...known].join(', ') || '(none)'}`],
      details: { field: unknown },
    });
  }
  return { document: prepared.tool.document, variables: args, shape: (data) => data };
}

function translate(translator: Translator, name: string, args: any): Operation {
  switch (name) {
    case 'db.describe_schema':
      return translator.describe(args);
    case 'db.get':
      return translator.get(args);
    case 'db.query':
      return translator.query(args);
    case 'db.create':
      return translator.write('create', args);
    case 'db.update':
      return translator.write('update', args);
    case 'db.delete':
      return translator.write('delete', args);
    case 'db.bulk_update_by_ids':
      return translator.write('bulk', args);
    case 'db.approval_status':
      return translator.approvalStatus(args);
    default:
      return translator.aggregate(args);
  }
}

function rowCountOf(tool: string, structured: Record<string, unknown>): number | undefined {
  if (tool === 'db.query') return (structured.data as unknown[]).length;
  if (tool === 'db.get') return structured.found ? 1 : 0;
  if (tool === 'db.aggregate')
    return (structured.row_count as number | undefined) ?? (structured.groups as unknown[]).length;
  return undefined;
}
