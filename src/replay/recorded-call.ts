import { createHash } from 'node:crypto';
import { Kind, type OperationDefinitionNode, parse, print } from 'graphql';
import { type AuditRecord, resultDigest } from '../audit/record.js';
import { callTool } from '../mcp-bridge/call-tool.js';
import type { ToolCallEvent } from '../mcp-bridge/options.js';
import type { Principal } from '../policy/principal.js';
import { rowsIn } from '../server/audit-plugin.js';
import type { Ormai } from '../server/create-ormai.js';
import { StartupError } from '../startup-error.js';

/** A GraphQL call's inputs as recorded. */
export interface GraphQLInputs {
  query: string;
  variables: Record<string, unknown> | null;
  operationName: string | null;
}

/**
 * One call as `ormai record` writes it (a JSONL line) and `ormai replay` and `ormai policy diff
 * --calls` read it: who called, what, and what came back, as the audit log holds it.
 */
export interface RecordedCall {
  v: 1;
  /** The audit record's id. */
  id: number | string;
  ts: string;
  surface: 'graphql' | 'mcp';
  /** GraphQL: `query orders` (type and root fields); MCP: the tool's name. */
  operation: string;
  principal: { sub: string; tenantId: string | number | null; roles: string[] };
  /** GraphQL: the document, variables and operation name; MCP: the tool's arguments. */
  inputs: GraphQLInputs | Record<string, unknown>;
  outcome: 'ok' | 'error';
  error_code: string | null;
  row_count: number | null;
  result_digest: string | null;
  policy_version: string | null;
}

/** What a call gives when it runs now. */
export interface CallResult {
  outcome: 'ok' | 'error';
  error_code: string | null;
  /** The error's message (null when the call succeeded). */
  error_message: string | null;
  row_count: number | null;
  /** As the audit log digests it: GraphQL `data`, MCP `structuredContent` (null for an error). */
  result_digest: string | null;
  /** GraphQL: the response's data; MCP: the tool result's structuredContent. */
  result: unknown;
  /** Whether the call ran a mutation (a write, whether or not it succeeded). */
  write: boolean;
  /** The approval request a write queued (WRITE_APPROVAL_REQUIRED), else null. */
  approval_id: string | null;
}

/** A record `ormai record` leaves out, and why. */
export type NotReplayable = { skip: string };

const CURRENT_VERSION = 1;

/**
 * The recorded call of an audit record, or why it cannot be replayed: a request refused before it
 * was read (no principal), an MCP request refused at the door, or a GraphQL write, whose record
 * holds the rows it changed but not the document that changed them.
 */
export function recordedCallFrom(record: AuditRecord): RecordedCall | NotReplayable {
  if (!record.principal_sub) return { skip: 'no principal (refused before authentication)' };
  const decisions = (record.decisions ?? {}) as Record<string, unknown>;
  if (decisions.refused) return { skip: 'MCP request refused before its tool ran' };
  const inputs = (record.inputs ?? {}) as Record<string, unknown>;
  let callInputs: RecordedCall['inputs'];
  if (record.surface === 'graphql') {
    if (typeof inputs.query !== 'string') {
      return { skip: 'GraphQL write or approval: its record holds the rows, not the document' };
    }
    callInputs = {
      query: inputs.query,
      variables: (inputs.variables as Record<string, unknown> | null | undefined) ?? null,
      operationName: (inputs.operationName as string | null | undefined) ?? null,
    };
  } else if (!('model' in inputs) && record.model && isWriteRecord(record)) {
    // a tool's write records itself in its transaction with the row change's inputs: the tool's
    // arguments are those plus the model and the reason
    callInputs = {
      model: record.model,
      ...inputs,
      ...(record.reason !== null ? { reason: record.reason } : {}),
    };
  } else {
    callInputs = inputs;
  }
  return {
    v: CURRENT_VERSION,
    id: record.id ?? '',
    ts: record.ts,
    surface: record.surface,
    operation: record.operation,
    principal: {
      sub: record.principal_sub,
      tenantId: tenantOf(record.tenant_id),
      roles: [...record.roles],
    },
    inputs: callInputs,
    outcome: record.outcome,
    error_code: record.error_code,
    row_count: record.row_count,
    result_digest: record.result_digest ?? null,
    policy_version: record.policy_version ?? null,
  };
}

const isWriteRecord = (record: AuditRecord) =>
  record.affected_rows !== null || record.before !== null || record.after !== null;

/** The tenant as a token carried it: a number when it reads as one. */
const tenantOf = (tenant: string | null) =>
  tenant === null ? null : /^\d+$/.test(tenant) ? Number(tenant) : tenant;

/** One JSONL line as a recorded call; a line that is not one is a clear error naming it. */
export function parseRecordedCall(line: string, where: string): RecordedCall {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw invalid(where, 'is not JSON');
  }
  const call = value as Partial<RecordedCall>;
  if (!call || typeof call !== 'object') throw invalid(where, 'is not an object');
  if (call.v !== CURRENT_VERSION) throw invalid(where, `has version ${String(call.v)}, not 1`);
  if (call.surface !== 'graphql' && call.surface !== 'mcp')
    throw invalid(where, 'has no surface (graphql or mcp)');
  if (typeof call.operation !== 'string') throw invalid(where, 'has no operation');
  const principal = call.principal;
  if (!principal || typeof principal.sub !== 'string' || !Array.isArray(principal.roles))
    throw invalid(where, 'has no principal {sub, tenantId, roles}');
  if (!call.inputs || typeof call.inputs !== 'object') throw invalid(where, 'has no inputs');
  if (call.surface === 'graphql' && typeof (call.inputs as GraphQLInputs).query !== 'string')
    throw invalid(where, 'is a GraphQL call without inputs.query');
  if (call.outcome !== 'ok' && call.outcome !== 'error')
    throw invalid(where, 'has no outcome (ok or error)');
  return {
    ...call,
    error_code: call.error_code ?? null,
    row_count: call.row_count ?? null,
    result_digest: call.result_digest ?? null,
    policy_version: call.policy_version ?? null,
  } as RecordedCall;
}

/** Every call of a JSONL file's text, in order; blank lines are allowed. */
export function parseRecordedCalls(text: string, file: string): RecordedCall[] {
  const calls: RecordedCall[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim()) calls.push(parseRecordedCall(line, `${file}:${index + 1}`));
  });
  return calls;
}

const invalid = (where: string, problem: string) =>
  new StartupError('RECORDED_CALL_INVALID', `${where} ${problem}`, {
    hints: ['write the file with `ormai record --out FILE`: one recorded call per line'],
  });

/** The principal a recorded call ran as (its token's other claims are not recorded). */
export function principalOf(call: RecordedCall): Principal {
  const { sub, tenantId, roles } = call.principal;
  return { sub, tenantId, roles, claims: { sub, tenantId, roles } };
}

/** A trace id of the call's own, the same on every replay (error results carry it). */
export function replayTraceId(call: RecordedCall): string {
  return createHash('sha256').update(`ormai replay ${call.id}`).digest('hex').slice(0, 32);
}

/**
 * Runs a recorded call now, in process, through the same gateway and MCP bridge the server uses
 * (policy, budgets, error shapes), as the recorded principal. Nothing is audited: the call is not
 * anyone's. A write runs as it would on `ormai`'s database (replay opens one that rolls back).
 */
export async function runRecordedCall(ormai: Ormai, call: RecordedCall): Promise<CallResult> {
  const principal = principalOf(call);
  const traceId = replayTraceId(call);
  return call.surface === 'graphql'
    ? runGraphQL(ormai, principal, call.inputs as GraphQLInputs, traceId)
    : runTool(ormai, principal, call.operation, call.inputs as Record<string, unknown>, traceId);
}

async function runGraphQL(
  ormai: Ormai,
  principal: Principal,
  inputs: GraphQLInputs,
  traceId: string,
): Promise<CallResult> {
  const { document, write } = chosenOperation(inputs.query, inputs.operationName);
  const result = await ormai.gateway.execute({
    principal,
    document,
    ...(inputs.variables ? { variables: inputs.variables } : {}),
    traceId,
    // 'mcp': the caller records the call (the gateway does not); a replay records nothing
    surface: 'mcp',
  });
  const error = result.errors?.[0];
  const code = error?.extensions?.code;
  const data = result.data ?? null;
  return {
    outcome: error ? 'error' : 'ok',
    error_code: error ? (typeof code === 'string' ? code : 'INTERNAL_ERROR') : null,
    error_message: error?.message ?? null,
    row_count: data ? rowsIn(data) : null,
    result_digest: resultDigest(data),
    result: data,
    write,
    approval_id: approvalIdOf(error?.extensions?.details),
  };
}

async function runTool(
  ormai: Ormai,
  principal: Principal,
  tool: string,
  args: Record<string, unknown>,
  traceId: string,
): Promise<CallResult> {
  let event: ToolCallEvent | undefined;
  let result: Awaited<ReturnType<typeof callTool>>;
  try {
    result = await callTool(
      {
        ...ormai.tools,
        onToolCall: (reported) => {
          event = reported;
        },
      },
      principal,
      tool,
      args,
      { traceId },
    );
  } catch (error) {
    // a name the principal has no tool by (ToolNotFoundError)
    const code = (error as { code?: unknown }).code;
    return {
      outcome: 'error',
      error_code: typeof code === 'string' ? code : 'INTERNAL_ERROR',
      error_message: (error as Error).message ?? null,
      row_count: null,
      result_digest: null,
      result: null,
      write: false,
      approval_id: null,
    };
  }
  const structured = result.structuredContent ?? null;
  const error = result.isError
    ? ((structured as { error?: { code?: string; message?: string; details?: unknown } } | null)
        ?.error ?? {})
    : undefined;
  return {
    outcome: error ? 'error' : 'ok',
    error_code: error ? (error.code ?? 'INTERNAL_ERROR') : null,
    error_message: error ? (error.message ?? null) : null,
    row_count: event?.rowCount ?? null,
    result_digest: error ? null : resultDigest(structured),
    result: structured,
    write: event?.document ? chosenOperation(event.document, null).write : false,
    approval_id: approvalIdOf(error?.details),
  };
}

const approvalIdOf = (details: unknown) => {
  const id = (details as { approval_id?: unknown } | undefined)?.approval_id;
  return typeof id === 'string' ? id : null;
};

/**
 * The document to run: a recorded operation name picks its operation from a document of several
 * (the gateway runs a document's only operation). A document that does not parse is run as is, so
 * that it fails as it did.
 */
function chosenOperation(query: string, operationName: string | null) {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(query, { noLocation: true });
  } catch {
    return { document: query, write: false };
  }
  const operations = parsed.definitions.filter(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  const chosen =
    operations.find((operation) => operationName && operation.name?.value === operationName) ??
    operations[0];
  const write = chosen?.operation === 'mutation';
  if (operations.length <= 1 || !chosen) return { document: query, write };
  const kept = parsed.definitions.filter(
    (definition) => definition.kind !== Kind.OPERATION_DEFINITION || definition === chosen,
  );
  return { document: print({ ...parsed, definitions: kept }), write };
}
