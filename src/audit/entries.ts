import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { type AuditEntry, digestOfJson, resultDigest, sanitizeInputs } from './record.js';

/**
 * The decisions of each role set's policy, by the models a call touched: the same for every call
 * of one operation, so built once. Entries are not changed once made, so they share them.
 */
const decisionsByPolicy = new WeakMap<CompiledPolicy, Map<string, Record<string, unknown>>>();

/** What policy did for the models a call touched: scopes applied, fields redacted, budgets in force. */
export function decisionsFor(
  policy: CompiledPolicy | null,
  models: string[],
): Record<string, unknown> {
  if (!policy) return {};
  let byModels = decisionsByPolicy.get(policy);
  if (!byModels) {
    byModels = new Map();
    decisionsByPolicy.set(policy, byModels);
  }
  const key = models.join(',');
  let decisions = byModels.get(key);
  if (!decisions) {
    decisions = policyDecisions(policy, models);
    // a process that is asked about ever new model lists keeps a bounded number of them
    if (byModels.size < 1000) byModels.set(key, decisions);
  }
  return decisions;
}

function policyDecisions(policy: CompiledPolicy, models: string[]): Record<string, unknown> {
  const scopes: Record<string, unknown> = {};
  const redactions: Record<string, Record<string, string>> = {};
  for (const name of models) {
    const model = policy.models.get(name) ?? policy.models.get(policy.views.get(name)?.model ?? '');
    if (!model) continue;
    scopes[name] = {
      ...(model.tenantField ? { tenant: model.tenantField.name } : {}),
      ...(model.softDeleteField ? { softDelete: model.softDeleteField } : {}),
      ...(model.rowFilters ? { rowFilters: model.rowFilters.length } : {}),
    };
    const redacted = [...model.fields.values()].filter((field) => field.redaction);
    if (redacted.length > 0) {
      redactions[name] = Object.fromEntries(
        redacted.map((field) => [field.name, field.redaction!.kind]),
      );
    }
  }
  const { maxTake, maxIncludeDepth, maxSelectedFields, maxComplexity, statementTimeoutMs } =
    policy.budgets;
  return {
    roles: policy.roles,
    scopes,
    redactions,
    budgets: { maxTake, maxIncludeDepth, maxSelectedFields, maxComplexity, statementTimeoutMs },
  };
}

export interface CallFacts {
  traceId: string;
  surface: 'graphql' | 'mcp';
  operation: string;
  models: string[];
  principal: Principal | null;
  policy: CompiledPolicy | null;
  inputs: unknown;
  rowCount: number | null;
  durationMs: number;
  errorCode: string | null;
  startedAt: Date;
  /** The approval request the call queued or decided, when it names one. */
  approvalId?: string | null;
  /**
   * The policy version the call ran under; default: the version of `policy` (a call refused before
   * its principal was known passes the version being served).
   */
  policyVersion?: string | null;
  /**
   * What the call returned, digested into `result_digest` (see `resultDigest` for what each
   * surface passes); absent when it returned nothing to digest.
   */
  result?: unknown;
  /** `JSON.stringify(result)`, where the caller wrote it already: digested instead of `result`. */
  resultJson?: string;
}

/** The audit entry of one call, inputs sanitized. */
export function entryFor(facts: CallFacts): AuditEntry {
  return {
    ts: facts.startedAt.toISOString(),
    trace_id: facts.traceId,
    surface: facts.surface,
    operation: facts.operation,
    model: facts.models.length > 0 ? facts.models.join(',') : null,
    principal_sub: facts.principal?.sub ?? null,
    tenant_id:
      facts.principal?.tenantId === null || facts.principal?.tenantId === undefined
        ? null
        : String(facts.principal.tenantId),
    roles: [...(facts.principal?.roles ?? [])],
    inputs: sanitizeInputs(facts.inputs) ?? null,
    decisions: decisionsFor(facts.policy, facts.models),
    row_count: facts.rowCount,
    affected_rows: null,
    duration_ms: Math.round(facts.durationMs * 100) / 100,
    outcome: facts.errorCode ? 'error' : 'ok',
    error_code: facts.errorCode,
    reason: null,
    before: null,
    after: null,
    approval_id: facts.approvalId ?? null,
    policy_version: facts.policyVersion ?? facts.policy?.version ?? null,
    result_digest:
      facts.resultJson !== undefined
        ? digestOfJson(facts.resultJson)
        : 'result' in facts
          ? resultDigest(facts.result)
          : null,
  };
}
