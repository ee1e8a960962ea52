import {
  type DocumentNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
  valueFromASTUntyped,
} from 'graphql';
import { functionName } from '../mcp-bridge/tool-names.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import type { WriteKind } from '../policy/types.js';
import {
  type CallResult,
  type GraphQLInputs,
  principalOf,
  type RecordedCall,
  runRecordedCall,
} from '../replay/recorded-call.js';
import { modelNames, type NamingOptions } from '../schema/naming.js';
import { checkWrite, needsApproval, type WriteRequest } from '../schema/write-executor.js';
import type { Ormai } from '../server/create-ormai.js';

export interface CallOutcome {
  outcome: 'ok' | 'error';
  error_code: string | null;
  /** What the error says (not compared: it may name a trace id). */
  error_message: string | null;
  row_count: number | null;
}

/** A call whose outcome, row count or returned fields differ under the new policy. */
export interface ChangedCall {
  id: string | number;
  surface: 'graphql' | 'mcp';
  operation: string | null;
  principal: RecordedCall['principal'];
  /** `write`: judged against the policy, not run (a write's effect is not simulated). */
  mode: 'run' | 'judged';
  old: CallOutcome;
  new: CallOutcome;
  /** Field paths of the result (`orders.nodes[].email`): only in the new, only in the old, or with other values. */
  fields: { added: string[]; removed: string[]; changed: string[] };
}

export interface Simulation {
  calls: number;
  run: number;
  judged: number;
  unchanged: number;
  changed: ChangedCall[];
}

/**
 * Each recorded call under the old and the new policy, on the same database: a read runs under
 * both (`run`), a write is judged against each policy without running (its rule, fields, reason,
 * ids and approval, and the document validated against the caller's schema). Lists the calls
 * whose outcome, error code, row count or returned fields differ, in the file's order.
 */
export async function simulateCalls(
  calls: RecordedCall[],
  before: Ormai,
  after: Ormai,
  naming?: NamingOptions,
): Promise<Simulation> {
  const models = Object.keys(before.runtime.app.datamodel.datamodel.models);
  const simulation: Simulation = {
    calls: calls.length,
    run: 0,
    judged: 0,
    unchanged: 0,
    changed: [],
  };
  for (const call of calls) {
    const writes = writesOf(call, models, naming);
    let old: CallOutcome;
    let next: CallOutcome;
    let fields: ChangedCall['fields'] = { added: [], removed: [], changed: [] };
    if (writes) {
      simulation.judged += 1;
      old = judgeWrites(before, call, writes);
      next = judgeWrites(after, call, writes);
    } else {
      simulation.run += 1;
      const was = await runRecordedCall(before, call);
      const is = await runRecordedCall(after, call);
      old = outcomeOf(was);
      next = outcomeOf(is);
      // an error's result is the error: the outcome says it
      if (was.outcome === 'ok' && is.outcome === 'ok' && was.result_digest !== is.result_digest) {
        fields = compareResults(was.result, is.result);
      }
    }
    const same =
      old.outcome === next.outcome &&
      old.error_code === next.error_code &&
      old.row_count === next.row_count &&
      fields.added.length + fields.removed.length + fields.changed.length === 0;
    if (same) {
      simulation.unchanged += 1;
      continue;
    }
    simulation.changed.push({
      id: call.id,
      surface: call.surface,
      operation: call.operation,
      principal: call.principal,
      mode: writes ? 'judged' : 'run',
      old,
      new: next,
      fields,
    });
  }
  return simulation;
}

const outcomeOf = (run: CallResult): CallOutcome => ({
  outcome: run.outcome,
  error_code: run.error_code,
  error_message: run.error_message,
  row_count: run.row_count,
});

const WRITE_TOOL_KINDS: Record<string, WriteKind> = {
  'db.create': 'create',
  'db.update': 'update',
  'db.delete': 'delete',
  'db.bulk_update_by_ids': 'bulk',
};

/** A write the call makes: a db.* write tool, or a root field of a GraphQL mutation. */
interface PlannedWrite {
  /** The mutation's root field (GraphQL); null for a write tool. */
  field: string | null;
  /** `approval`: an approval queue mutation (approveRequest, rejectRequest). */
  request: WriteRequest | 'approval';
}

/** The writes a call makes, or null for a read (a query, a read tool, a domain tool). */
function writesOf(
  call: RecordedCall,
  models: string[],
  naming?: NamingOptions,
): PlannedWrite[] | null {
  if (call.surface === 'mcp') {
    const tool = Object.keys(WRITE_TOOL_KINDS).find(
      (name) => name === call.operation || functionName(name) === call.operation,
    );
    if (!tool) return null;
    const args = call.inputs as Record<string, unknown>;
    return [
      {
        field: null,
        request: {
          kind: WRITE_TOOL_KINDS[tool]!,
          model: String(args.model ?? ''),
          ...(args.id !== undefined ? { id: args.id } : {}),
          ...(Array.isArray(args.ids) ? { ids: args.ids } : {}),
          ...(isRecord(args.data) ? { data: args.data } : {}),
          reason: typeof args.reason === 'string' ? args.reason : null,
          hard: args.hard === true,
        },
      },
    ];
  }
  const operation = mutationOf(call);
  if (!operation) return null;
  const { variables } = call.inputs as GraphQLInputs;
  return operation.selectionSet.selections.flatMap((selection): PlannedWrite[] => {
    if (selection.kind !== Kind.FIELD) return [];
    const args = Object.fromEntries(
      (selection.arguments ?? []).map((arg) => [
        arg.name.value,
        valueFromASTUntyped(arg.value, variables ?? {}),
      ]),
    );
    const field = selection.name.value;
    const match = /^(create|update|delete|bulkUpdate)([A-Z]\w*)$/.exec(field);
    if (!match) return [{ field, request: 'approval' }];
    const kind: WriteKind = match[1] === 'bulkUpdate' ? 'bulk' : (match[1] as WriteKind);
    // `bulkUpdateOrders` names the plural, as the schema's naming makes it
    const model =
      kind === 'bulk'
        ? (models.find((name) => capitalized(modelNames(name, naming).list) === match[2]) ??
          match[2]!)
        : match[2]!;
    // the row's key: `id`, or one argument per field of a compound key
    const keyArgs = Object.entries(args).filter(([name]) => !NOT_KEY_ARGS.includes(name));
    const key =
      keyArgs.length === 0
        ? undefined
        : keyArgs.length === 1
          ? keyArgs[0]![1]
          : Object.fromEntries(keyArgs);
    return [
      {
        field,
        request: {
          kind,
          model,
          ...(key !== undefined ? { id: key } : {}),
          ...(Array.isArray(args.ids) ? { ids: args.ids } : {}),
          ...(isRecord(args.data) ? { data: args.data } : {}),
          reason: typeof args.reason === 'string' ? args.reason : null,
          hard: args.hard === true,
        },
      },
    ];
  });
}

const NOT_KEY_ARGS = ['data', 'reason', 'hard', 'ids'];

const capitalized = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/** The operation a GraphQL call runs, when it is a mutation. */
function mutationOf(call: RecordedCall): OperationDefinitionNode | null {
  const document = documentOf(call);
  if (!document) return null;
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  const name = (call.inputs as GraphQLInputs).operationName;
  const operation = name
    ? operations.find((candidate) => candidate.name?.value === name)
    : operations[0];
  return operation?.operation === 'mutation' ? operation : null;
}

function documentOf(call: RecordedCall): DocumentNode | null {
  const { query } = call.inputs as GraphQLInputs;
  if (typeof query !== 'string') return null;
  try {
    return parse(query);
  } catch {
    return null;
  }
}

/**
 * A write as the policy would take it, without running it: the document against the caller's
 * schema (GraphQL), then each write's rule, fields, reason, ids and approval, in the order the
 * gateway checks them. The rows it would touch are not looked at.
 */
function judgeWrites(ormai: Ormai, call: RecordedCall, writes: PlannedWrite[]): CallOutcome {
  const principal = principalOf(call);
  const policy = ormai.gateway.policyFor(principal);
  const refused = (code: string, message: string): CallOutcome => ({
    outcome: 'error',
    error_code: code,
    error_message: message,
    row_count: null,
  });
  if (call.surface === 'graphql') {
    const document = documentOf(call);
    const problems = document ? validate(ormai.gateway.schemaFor(principal), document) : [];
    if (!document || problems.length > 0) {
      return refused('VALIDATION_ERROR', problems[0]?.message ?? 'the document does not parse');
    }
  }
  for (const write of writes) {
    const refusal = judgeWrite(policy, write, principal, call);
    if (refusal) return refused(refusal.code, refusal.message);
  }
  return { outcome: 'ok', error_code: null, error_message: null, row_count: null };
}

function judgeWrite(
  policy: CompiledPolicy,
  write: PlannedWrite,
  principal: Principal,
  call: RecordedCall,
): { code: string; message: string } | null {
  if (write.request === 'approval') {
    // the document was validated: the field exists only for approvers
    return null;
  }
  const request = write.request;
  const verb = request.kind === 'bulk' ? 'bulk-update' : request.kind;
  // an MCP write tool is listed only when some write is on for the caller's roles
  if (call.surface === 'mcp' && policy.writes.size === 0) {
    return { code: 'TOOL_NOT_FOUND', message: `no tool ${call.operation} for these roles` };
  }
  const model = policy.models.get(request.model);
  if (!model) {
    return { code: 'MODEL_NOT_ALLOWED', message: `${request.model} is not a model you can read` };
  }
  const rule = policy.writes.get(request.model)?.[request.kind];
  if (!rule) return { code: 'WRITE_DISABLED', message: `you may not ${verb} ${request.model}` };
  try {
    checkWrite(model, rule, request, principal);
  } catch (error) {
    const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
    return {
      code: typeof code === 'string' ? code : 'INTERNAL_ERROR',
      message: (error as Error).message,
    };
  }
  return needsApproval(rule, request)
    ? {
        code: 'WRITE_APPROVAL_REQUIRED',
        message: `this ${request.kind} of ${request.model} waits for an approver`,
      }
    : null;
}

/**
 * The field paths two results differ on: present in one only (arrays' elements merged, `[]`), or
 * with another value where both have it. Values are compared only where the lists along the path
 * are as long in both; a list of other rows is the row count's difference, not a field's.
 */
export function compareResults(before: unknown, after: unknown): ChangedCall['fields'] {
  const old = new Set<string>();
  const next = new Set<string>();
  pathsOf(before, '', old);
  pathsOf(after, '', next);
  const changed = new Set<string>();
  changedPaths(before, after, '', changed);
  return {
    added: [...next].filter((path) => !old.has(path)).sort(),
    removed: [...old].filter((path) => !next.has(path)).sort(),
    changed: [...changed].filter((path) => old.has(path) && next.has(path)).sort(),
  };
}

function pathsOf(value: unknown, path: string, into: Set<string>) {
  if (Array.isArray(value)) {
    for (const item of value) pathsOf(item, `${path}[]`, into);
    return;
  }
  if (isRecord(value)) {
    for (const [key, inner] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (!isRecord(inner) && !Array.isArray(inner)) into.add(at);
      pathsOf(inner, at, into);
    }
  }
}

function changedPaths(before: unknown, after: unknown, path: string, into: Set<string>) {
  if (Array.isArray(before) && Array.isArray(after)) {
    if (before.length !== after.length) return;
    before.forEach((item, index) => {
      changedPaths(item, after[index], `${path}[]`, into);
    });
    return;
  }
  if (isRecord(before) && isRecord(after)) {
    for (const key of Object.keys(before)) {
      if (key in after) changedPaths(before[key], after[key], path ? `${path}.${key}` : key, into);
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) into.add(path);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
