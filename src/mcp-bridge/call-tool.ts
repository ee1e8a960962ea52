import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AuditQueueFullError, NOT_RECORDED_MESSAGE } from '../audit/audit-log.js';
import type { Principal } from '../policy/principal.js';
import { type CatalogEntry, findTool } from './catalog.js';
import type { PreparedDomainTool } from './domain-tools.js';
import {
  fromGraphQLError,
  fromToolError,
  type StructuredToolError,
  ToolError,
  toolErrorResult,
  toolResult,
} from './errors.js';
import type { McpBridgeOptions } from './options.js';
import { DEFAULT_TOOL_NAME_STYLE, mentionsIn, type ToolNameStyle } from './tool-names.js';
import { type Operation, Translator } from './translate.js';

/** A name no tool of the caller's has: a protocol error over MCP, a tool error in-process. */
export class ToolNotFoundError extends ToolError {
  constructor(readonly tool: string) {
    super('TOOL_NOT_FOUND', `no tool ${tool}; list the tools to see what exists`, {
      retryable: true,
      hints: ['call one of the tools you were given'],
      details: { tool },
    });
    this.name = 'ToolNotFoundError';
  }
}

export interface CallToolOptions {
  /** The 32-hex W3C trace id of the request the call came in (a new one otherwise). */
  traceId?: string;
}

/** A call whose record the audit hook refused: refused, like any call while the audit log is down. */
const AUDIT_UNAVAILABLE: StructuredToolError = {
  code: 'INTERNAL_ERROR',
  message: 'the audit log cannot be written right now, so nothing is served',
  retryable: true,
  retry_hints: ['retry in a few seconds'],
  details: {},
};
/** The same, when the log could not even take the record (its queue is full): no record exists. */
const NOT_RECORDED: StructuredToolError = { ...AUDIT_UNAVAILABLE, message: NOT_RECORDED_MESSAGE };

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
    include_total: z.boolean().nullish(),
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

/**
 * Runs one tool call for a principal — the one path of MCP's tools/call and of in-process agents
 * (`ormai/ai`): the call is compiled into one GraphQL document and run through the gateway (same
 * policy, same budgets), and reported once to `onToolCall` (the audit record). A denial or a bad
 * parameter is a result with isError and `structuredContent.error`; a name the principal has no
 * tool by throws ToolNotFoundError.
 */
export async function callTool(
  options: McpBridgeOptions,
  principal: Principal,
  name: string,
  args: Record<string, unknown>,
  { traceId = randomBytes(16).toString('hex') }: CallToolOptions = {},
): Promise<CallToolResult> {
  const tool = findTool(options, principal, name);
  if (!tool) throw new ToolNotFoundError(name);
  const style = options.toolNames ?? DEFAULT_TOOL_NAME_STYLE;
  const started = performance.now();
  let operation: Operation | undefined;
  // a write records itself (with before and after) inside its transaction
  let recorded = false;
  const finish = async (result: CallToolResult, error?: StructuredToolError, rowCount?: number) => {
    try {
      await options.onToolCall?.({
        tool: tool.listed,
        arguments: args,
        principal,
        traceId,
        outcome: error ? 'error' : 'ok',
        ...(error ? { errorCode: error.code } : {}),
        ...(rowCount !== undefined ? { rowCount } : {}),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        ...(operation ? { document: operation.document } : {}),
        ...(error ? {} : { structuredContent: result.structuredContent }),
        recorded,
      });
    } catch (error) {
      // not answered unrecorded (the audit queue is full during a long outage), nor answered
      // while its record may never be written (durable reads: not written in time)
      const refusal = error instanceof AuditQueueFullError ? NOT_RECORDED : AUDIT_UNAVAILABLE;
      return toolErrorResult(refusal, traceId);
    }
    return result;
  };
  const failed = (error: StructuredToolError) => {
    const named = inStyle(error, style);
    return finish(toolErrorResult(named, traceId), named);
  };

  try {
    operation = tool.domain
      ? domainOperation(tool.domain, tool, args)
      : readOperation(options, principal, tool.name, args);
    const result = await options.execute({
      principal,
      document: operation.document,
      variables: operation.variables,
      traceId,
      surface: 'mcp',
      operation: tool.listed,
    });
    recorded = (result.writesRecorded ?? 0) > 0;
    if (result.errors?.length) return failed(inToolTerms(fromGraphQLError(result.errors[0]!)));
    const structured = operation.shape(result.data ?? {});
    return finish(toolResult(structured), undefined, rowCountOf(tool, structured));
  } catch (error) {
    return failed(
      error instanceof ToolError
        ? fromToolError(error)
        : {
            code: 'INTERNAL_ERROR',
            message: 'internal error',
            retryable: false,
            retry_hints: ['retry later'],
            details: {},
          },
    );
  }
}

/** An error's text naming tools as they are listed (the policy's hints use OrmAI's names). */
function inStyle(error: StructuredToolError, style: ToolNameStyle): StructuredToolError {
  return {
    ...error,
    message: mentionsIn(error.message, style),
    retry_hints: error.retry_hints.map((hint) => mentionsIn(hint, style)),
  };
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
function domainOperation(
  prepared: PreparedDomainTool,
  tool: CatalogEntry,
  args: Record<string, unknown>,
): Operation {
  const known = new Set(
    (prepared.operation.variableDefinitions ?? []).map((v) => v.variable.name.value),
  );
  const unknown = Object.keys(args).find((key) => !known.has(key));
  if (unknown) {
    throw new ToolError('VALIDATION_ERROR', `${unknown} is not an input of ${tool.listed}`, {
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

function rowCountOf(tool: CatalogEntry, structured: Record<string, unknown>): number | undefined {
  if (tool.domain) return undefined;
  if (tool.name === 'db.query') return (structured.data as unknown[]).length;
  if (tool.name === 'db.get') return structured.found ? 1 : 0;
  if (tool.name === 'db.aggregate')
    return (structured.row_count as number | undefined) ?? (structured.groups as unknown[]).length;
  return undefined;
}
