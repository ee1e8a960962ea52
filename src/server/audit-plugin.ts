import { type DocumentNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type AuditLog, AuditQueueFullError, AuditUnavailableError } from '../audit/audit-log.js';
import { entryFor } from '../audit/entries.js';
import type { AuditRecord } from '../audit/record.js';
import { SqlAuditSink } from '../audit/sinks.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { auditNotRecordedError, auditUnavailableError, withContractExtensions } from './errors.js';

export interface AuditPluginOptions {
  audit: AuditLog;
  traceOf(request: Request): string;
  /** The request's principal when it authenticated, else null. */
  principalOf(request: Request): Promise<Principal | null>;
  policyFor(principal: Principal): CompiledPolicy;
  /** The version of the policy being served: named by a record whose request never authenticated. */
  policyVersion(): string;
  modelsOf(policy: CompiledPolicy, rootFields: string[]): string[];
  /** Writes this request recorded inside their transactions. */
  writesOf(request: Request): AuditRecord[];
}

interface RequestFacts {
  startedAt: Date;
  started: number;
  params?: { query?: string; variables?: unknown; operationName?: string | null };
  /** The document the operation ran, as parsed (or taken from the parse cache) for it. */
  document?: DocumentNode;
}

/**
 * One audit record per GraphQL operation, success or failure (auth, validation, policy, budget,
 * internal), written after the result is known. Operations the MCP bridge runs are left out: the
 * tool call is recorded once, by the bridge's hook.
 */
export function auditPlugin(options: AuditPluginOptions): Plugin {
  const facts = new WeakMap<Request, RequestFacts>();
  return {
    onRequest({ request }) {
      facts.set(request, { startedAt: new Date(), started: performance.now() });
    },
    // the parsed request, before anything (the schema for the principal, auth) can fail
    onRequestParse({ request }) {
      return {
        onRequestParseDone({ requestParserResult }) {
          const known = facts.get(request);
          if (known && !Array.isArray(requestParserResult)) known.params = requestParserResult;
        },
      };
    },
    // the document as GraphQL parsed it: read again by the record, not parsed a second time
    onParse({ context }) {
      return ({ result }) => {
        const known = facts.get((context as { request?: Request }).request as Request);
        if (known && result && !(result instanceof Error)) known.document = result as DocumentNode;
      };
    },
    async onResultProcess({ request, result, setResult, serverContext }) {
      const writes = options.writesOf(request);
      const committed =
        writes.length > 0 ? await copyCommittedWrites(options.audit, [...writes]) : 0;
      if ((serverContext as { ormaiSurface?: string }).ormaiSurface === 'mcp') return;
      // a request whose writes are recorded already (with before and after) is not recorded twice;
      // one whose transaction rolled back is recorded here, with its error
      if (committed > 0) return;
      const known = facts.get(request);
      if (!known) return;
      const params = known.params;
      const results = Array.isArray(result) ? result : [result];
      if (results.some((single) => Symbol.asyncIterator in (single as object))) return;
      const principal = await options.principalOf(request);
      const policy = principal ? options.policyFor(principal) : null;
      // a request refused while it was being read (no or a bad token) never reached its parameters
      const { operation, rootFields } = params
        ? describeOperation(params.query, params.operationName, known.document)
        : { operation: 'unknown', rootFields: [] as string[] };
      for (const single of results as {
        data?: Record<string, unknown> | null;
        errors?: readonly { extensions?: Record<string, unknown> }[];
      }[]) {
        const code = single.errors?.[0]?.extensions?.code;
        // a write queued for approval, or a refused decision, names its request
        const approvalId = (single.errors?.[0]?.extensions?.details as { approval_id?: unknown })
          ?.approval_id;
        const entry = entryFor({
          traceId: options.traceOf(request),
          surface: 'graphql',
          operation,
          models: policy ? options.modelsOf(policy, rootFields) : [],
          principal,
          policy,
          inputs: params
            ? {
                operationName: params.operationName ?? null,
                variables: params.variables ?? null,
                query: params.query ?? null,
              }
            : null,
          rowCount: single.data ? rowsIn(single.data) : null,
          ...resultOf(single),
          policyVersion: policy?.version ?? options.policyVersion(),
          durationMs: performance.now() - known.started,
          errorCode:
            typeof code === 'string' ? code : single.errors?.length ? 'INTERNAL_ERROR' : null,
          startedAt: known.startedAt,
          approvalId: typeof approvalId === 'string' ? approvalId : null,
        });
        try {
          await options.audit.acceptCall(entry);
        } catch (error) {
          if (!(error instanceof AuditUnavailableError)) throw error;
          // the queue is full (a long sink outage): refused like any call while the sink is down,
          // never served unrecorded nor answered with a bare 500; saying it has no record lets a
          // caller (and the reliability suite) tell it from a refusal that was recorded
          const refused =
            error instanceof AuditQueueFullError
              ? auditNotRecordedError()
              : auditUnavailableError();
          const refusal = { errors: [withContractExtensions(refused, options.traceOf(request))] };
          setResult(Array.isArray(result) ? results.map(() => refusal) : refusal);
          return;
        }
      }
    },
  };
}

/**
 * What the record digests of a result. A result of data alone (no errors, no extensions) is
 * written to JSON once: the digest is taken of that JSON, and yoga sends the same text as the
 * response body (it serialises a result with the result's own `stringify` where it has one), so
 * a large read is not serialised twice. A later plugin that sets a new result object, adds a key
 * or replaces `data` gets yoga's own serialisation (none of the gateway's plugins after this one
 * changes a result of data alone).
 */
function resultOf(single: { data?: Record<string, unknown> | null }): {
  result?: unknown;
  resultJson?: string;
} {
  const data = single.data;
  if (!data || Object.keys(single).length !== 1) return { result: data ?? null };
  let json: string;
  try {
    json = JSON.stringify(data);
  } catch {
    return { result: data };
  }
  const body = `{"data":${json}}`;
  Object.defineProperty(single, 'stringify', {
    configurable: true,
    value: (result: { data?: unknown }) =>
      result === single && result.data === data && Object.keys(result).length === 1
        ? body
        : JSON.stringify(result),
  });
  return { resultJson: json };
}

/**
 * The table holds a write's record from its transaction; the other sinks get it once it committed.
 * Returns how many committed.
 */
async function copyCommittedWrites(audit: AuditLog, writes: AuditRecord[]): Promise<number> {
  const table = audit.sinks.find((sink): sink is SqlAuditSink => sink instanceof SqlAuditSink);
  let committed = 0;
  for (const record of writes) {
    if (table && !(await table.contains(record))) continue;
    const { id: _id, prev_hash: _prev, hash: _hash, chain_id: _chain, ...entry } = record;
    audit.accept(entry, { except: table?.name });
    committed++;
  }
  return committed;
}

/**
 * `query orders,customer` (the operation's type and root fields), or `invalid` when it does not
 * parse. `parsed` is the request's document when GraphQL got as far as parsing it.
 */
function describeOperation(
  query: string | undefined,
  operationName: string | null | undefined,
  parsed: DocumentNode | undefined,
): OperationDescription {
  if (!parsed) return describeDocument(query, operationName, undefined);
  // a parsed document comes from GraphQL's parse cache: described once per operation name
  let byName = descriptions.get(parsed);
  if (!byName) {
    byName = new Map();
    descriptions.set(parsed, byName);
  }
  let description = byName.get(operationName ?? '');
  if (!description) {
    description = describeDocument(query, operationName, parsed);
    byName.set(operationName ?? '', description);
  }
  return description;
}

interface OperationDescription {
  operation: string;
  rootFields: string[];
}

const descriptions = new WeakMap<DocumentNode, Map<string, OperationDescription>>();

function describeDocument(
  query: string | undefined,
  operationName: string | null | undefined,
  parsed: DocumentNode | undefined,
): OperationDescription {
  let document: DocumentNode;
  try {
    document = parsed ?? parse(query ?? '', { noLocation: true, maxTokens: 5000 });
  } catch {
    return { operation: 'invalid', rootFields: [] as string[] };
  }
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const chosen =
    operations.find((op) => !operationName || op.name?.value === operationName) ?? operations[0];
  if (!chosen) return { operation: 'invalid', rootFields: [] as string[] };
  const rootFields = chosen.selectionSet.selections
    .filter((selection) => selection.kind === Kind.FIELD)
    .map((selection) => (selection as { name: { value: string } }).name.value);
  return {
    operation:
      `${chosen.operation}${chosen.name ? ` ${chosen.name.value}` : ''} ${rootFields.join(',')}`.trim(),
    rootFields,
  };
}

/** Rows a response returned: connection nodes, list items and single rows under each root field. */
export function rowsIn(data: Record<string, unknown>): number {
  let rows = 0;
  for (const value of Object.values(data)) {
    if (Array.isArray(value)) rows += value.length;
    else if (value && typeof value === 'object') {
      const nodes =
        (value as { nodes?: unknown[]; edges?: unknown[] }).nodes ??
        (value as { edges?: unknown[] }).edges;
      rows += Array.isArray(nodes) ? nodes.length : 1;
    }
  }
  return rows;
}
