import { digestMatches } from '../audit/record.js';
import type { Principal } from '../policy/principal.js';
import type { Ormai } from '../server/create-ormai.js';
import type { Leak, LeakCheckCall } from '../testing/leaks.js';
import {
  type CallResult,
  type GraphQLInputs,
  principalOf,
  type RecordedCall,
  runRecordedCall,
} from './recorded-call.js';

/** An invariant a call broke (`findLeaks`' Leak), or the check itself failing. */
export interface Violation {
  kind: Leak['kind'] | 'check-failed';
  model: string | null;
  path: string;
  message: string;
}

/** `findLeaks` of `ormai/testing`, or a stand-in with its signature. */
export type LeakFinder = (
  ormai: Ormai,
  principal: Principal,
  call: LeakCheckCall,
) => Promise<Violation[]>;

export interface ReplayOptions {
  /** The invariants checked on every call that returned rows; none without it. */
  findLeaks?: LeakFinder;
  /** Runs after each call (replay puts the database back as it was here). */
  afterCall?: (result: CallResult | undefined) => Promise<void>;
}

type Observed = Pick<CallResult, 'outcome' | 'error_code' | 'row_count' | 'result_digest'>;

/** One call of the report. */
export interface ReplayedCall {
  id: number | string;
  surface: 'graphql' | 'mcp';
  operation: string;
  /** `sub 7@1 [agent]` */
  principal: string;
  write: boolean;
  status: 'same' | 'different' | 'violation';
  recorded: Observed;
  replayed: Observed;
  /** What changed, one readable line each (`row_count: 25 → 24`). */
  differences: string[];
  violations: Violation[];
  notes: string[];
}

/**
 * A replay's report: the same calls over the same database and policy give the same report, byte
 * for byte (calls in the file's order, no timings, no trace ids, no random ids).
 */
export interface ReplayReport {
  ormai_replay: 1;
  policy: { recorded: string[]; replayed: string };
  summary: { calls: number; same: number; different: number; violations: number };
  ok: boolean;
  calls: ReplayedCall[];
}

/** Runs each call in turn and compares it with its record; checks the invariants on its result. */
export async function replayCalls(
  ormai: Ormai,
  calls: RecordedCall[],
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const replayed: ReplayedCall[] = [];
  for (const call of calls) {
    let result: CallResult | undefined;
    try {
      result = await runRecordedCall(ormai, call);
    } finally {
      await options.afterCall?.(result);
    }
    replayed.push(await judge(ormai, call, result, options.findLeaks));
  }
  const count = (status: ReplayedCall['status']) =>
    replayed.filter((call) => call.status === status).length;
  const summary = {
    calls: replayed.length,
    same: count('same'),
    different: replayed.filter((call) => call.differences.length > 0).length,
    violations: count('violation'),
  };
  return {
    ormai_replay: 1,
    policy: {
      recorded: [...new Set(calls.map((call) => call.policy_version ?? 'unrecorded'))].sort(),
      replayed: ormai.policyVersion,
    },
    summary,
    ok: summary.different === 0 && summary.violations === 0,
    calls: replayed,
  };
}

async function judge(
  ormai: Ormai,
  call: RecordedCall,
  result: CallResult,
  findLeaks: LeakFinder | undefined,
): Promise<ReplayedCall> {
  const differences: string[] = [];
  const notes: string[] = [];
  const read = !result.write;
  if (call.outcome !== result.outcome) {
    differences.push(`outcome: ${describeOutcome(call)} → ${describeOutcome(result)}`);
  } else if (call.outcome === 'error' && call.error_code !== result.error_code) {
    differences.push(`error_code: ${call.error_code} → ${result.error_code}`);
  }
  if (call.row_count !== null && call.row_count !== result.row_count) {
    differences.push(`row_count: ${call.row_count} → ${result.row_count ?? 'none'}`);
  }
  const bothOk = call.outcome === 'ok' && result.outcome === 'ok';
  if (bothOk && read) {
    if (call.result_digest === null) notes.push('no result digest was recorded');
    else if (!digestMatches(call.result_digest, result.result)) {
      differences.push(
        `result_digest: ${short(call.result_digest)} → ${short(result.result_digest)} (the rows or fields returned changed)`,
      );
    }
  }
  if (
    result.outcome === 'error' &&
    (differences.length > 0 || result.error_code !== call.error_code)
  )
    notes.push(`replayed error: ${result.error_code}: ${stable(result.error_message ?? '')}`);
  if (result.write) {
    notes.push(
      'write: run in a transaction that was rolled back (ids and timestamps it made are not compared)',
    );
  }

  let violations: Violation[] = [];
  // a write's answer too: findLeaks compares only its keys, which a rollback leaves unused
  if (findLeaks && result.outcome === 'ok') {
    try {
      violations = await findLeaks(ormai, principalOf(call), leakCheckOf(call, result));
    } catch (error) {
      violations = [
        {
          kind: 'check-failed',
          model: null,
          path: '',
          message: `the invariants could not be checked: ${stable((error as Error).message ?? String(error))}`,
        },
      ];
    }
  }
  return {
    id: call.id,
    surface: call.surface,
    operation: call.operation,
    principal: describePrincipal(call),
    write: result.write,
    status: violations.length > 0 ? 'violation' : differences.length > 0 ? 'different' : 'same',
    recorded: observed(call),
    replayed: {
      ...observed(result),
      // a write's result holds the ids and timestamps it made, which no two runs share
      result_digest: read && result.outcome === 'ok' ? result.result_digest : null,
    },
    differences,
    violations,
    notes,
  };
}

function leakCheckOf(call: RecordedCall, result: CallResult): LeakCheckCall {
  if (call.surface === 'graphql') {
    const inputs = call.inputs as GraphQLInputs;
    return {
      surface: 'graphql',
      document: inputs.query,
      ...(inputs.variables ? { variables: inputs.variables } : {}),
      operationName: inputs.operationName,
      data: result.result,
    };
  }
  return {
    surface: 'mcp',
    tool: call.operation,
    arguments: call.inputs as Record<string, unknown>,
    result: result.result,
  };
}

const observed = (from: Observed): Observed => ({
  outcome: from.outcome,
  error_code: from.error_code,
  row_count: from.row_count,
  result_digest: from.result_digest,
});

const describeOutcome = (from: Observed) =>
  from.outcome === 'ok' ? 'ok' : `error ${from.error_code ?? ''}`.trim();

const short = (digest: string | null) => (digest ? digest.slice(0, 12) : 'none');

const describePrincipal = (call: RecordedCall) =>
  `sub ${call.principal.sub}@${call.principal.tenantId ?? '-'} [${call.principal.roles.join(',')}]`;

/** A message without what differs on every run (approval request ids, trace ids). */
const stable = (message: string) =>
  message
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b[0-9a-f]{32}\b/g, '<trace>');

/** The report as JSON (`--report`): two spaces, keys in a fixed order, a final newline. */
export function reportJson(report: ReplayReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The report for a terminal: a line per call that differs or broke an invariant, then the totals. */
export function reportLines(report: ReplayReport): string[] {
  const lines: string[] = [];
  for (const call of report.calls) {
    if (call.status === 'same') continue;
    lines.push(
      `${call.status === 'violation' ? 'VIOLATION' : 'DIFFERENT'} call ${call.id} ${call.surface} ${call.operation} ${call.principal}`,
    );
    for (const difference of call.differences) lines.push(`  ${difference}`);
    for (const violation of call.violations)
      lines.push(`  ${violation.kind} at ${violation.path || '(result)'}: ${violation.message}`);
    for (const note of call.notes) lines.push(`  note: ${note}`);
  }
  const { calls, same, different, violations } = report.summary;
  const versions = report.policy.recorded.join(', ');
  lines.push(
    `${calls} call(s) replayed under policy ${report.policy.replayed} (recorded under ${versions}): ${same} same, ${different} different, ${violations} with violations`,
  );
  return lines;
}
