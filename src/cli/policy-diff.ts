import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configuredHashKey, type OrmaiConfig } from '../config.js';
import { checkPolicy, formatFinding } from '../policy/check-policy.js';
import { compilePolicy, type PolicyEngine } from '../policy/compile-policy.js';
import { diffPolicies, formatPolicyDiff, type PolicyDiff } from '../policy/diff-policy.js';
import { type Policy, policySchema } from '../policy/types.js';
import { parseRecordedCalls, type RecordedCall } from '../replay/recorded-call.js';
import { createOrmai, type Ormai } from '../server/create-ormai.js';
import { createLogger } from '../server/logger.js';
import { StartupError } from '../startup-error.js';
import { type ChangedCall, type Simulation, simulateCalls } from './policy-simulation.js';

export interface PolicyDiffOptions {
  oldFile: string;
  newFile: string;
  /** Recorded calls (`ormai record`'s JSONL) to run under both policies. */
  callsFile?: string;
  json?: boolean;
}

/** What `ormai policy diff --json` prints. */
export interface PolicyDiffReport {
  old: { file: string; version: string };
  new: { file: string; version: string; check: { errors: string[]; warnings: number } };
  roles: PolicyDiff['roles'];
  totals: PolicyDiff['totals'];
  simulation?: Simulation;
  /** Why the recorded calls were not run (a policy the server would refuse). */
  simulationSkipped?: string;
}

/**
 * `ormai policy diff OLD NEW [--calls FILE]`: both policy files compiled against the config's
 * datamodel and compared role by role; with recorded calls, each read run under both policies on
 * the configured database and each write judged against both. Prints text, or the report as JSON.
 */
export async function runPolicyDiff(
  config: OrmaiConfig,
  options: PolicyDiffOptions,
  print: (line?: string) => void,
): Promise<PolicyDiffReport> {
  const hashKey = configuredHashKey(config);
  const before = compileFile(
    config,
    options.oldFile,
    await loadPolicyFile(options.oldFile),
    hashKey,
  );
  const after = compileFile(
    config,
    options.newFile,
    await loadPolicyFile(options.newFile),
    hashKey,
  );
  const calls = options.callsFile ? readCalls(options.callsFile) : undefined;
  const diff = diffPolicies(before, after);
  const findings = checkPolicy(after);
  const report: PolicyDiffReport = {
    old: { file: options.oldFile, version: before.version },
    new: {
      file: options.newFile,
      version: after.version,
      check: {
        errors: findings.filter((f) => f.severity === 'error').map(formatFinding),
        warnings: findings.filter((f) => f.severity === 'warning').length,
      },
    },
    roles: diff.roles,
    totals: diff.totals,
  };
  if (calls) {
    const refused = [
      ...(errorsOf(before) > 0 ? [`${options.oldFile}`] : []),
      ...(report.new.check.errors.length > 0 ? [`${options.newFile}`] : []),
    ];
    if (refused.length > 0) {
      report.simulationSkipped = `${refused.join(' and ')} fail${refused.length === 1 ? 's' : ''} ormai check, so the server would not serve ${refused.length === 1 ? 'it' : 'them'}`;
    } else {
      report.simulation = await simulate(config, before.policy, after.policy, calls);
    }
  }

  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return report;
  }
  print(
    `policy diff ${options.oldFile} (${before.version}) → ${options.newFile} (${after.version})`,
  );
  print();
  for (const line of formatPolicyDiff(diff)) print(line);
  if (report.new.check.errors.length > 0) {
    print();
    print(
      `the new policy fails ormai check (${report.new.check.errors.length} error(s)); the server would refuse it:`,
    );
    for (const error of report.new.check.errors) print(`  ${error}`);
  }
  if (report.simulationSkipped) {
    print();
    print(`recorded calls not run: ${report.simulationSkipped}`);
  }
  if (report.simulation) {
    print();
    for (const line of formatSimulation(report.simulation, options.callsFile!)) print(line);
  }
  return report;
}

/**
 * A policy file's policy: a `.json` file, or a module (`.ts` through tsx, `.js`) whose default
 * export is the policy, or else whose one export that is shaped like a policy is.
 */
export async function loadPolicyFile(path: string): Promise<unknown> {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new StartupError('POLICY_FILE_NOT_FOUND', `${path}: no such file`, {
      hints: ['name a policy module (.ts, .js) or a .json file'],
    });
  }
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new StartupError('POLICY_FILE_INVALID', `${path}: ${(error as Error).message}`);
    }
  }
  let loaded: Record<string, unknown>;
  try {
    await registerTypeScript(file);
    loaded = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new StartupError(
      'POLICY_FILE_INVALID',
      `cannot load ${path}: ${(error as Error).message}`,
      {
        hints: [
          'a copy of a policy loads when its imports resolve from where it is: keep it beside the original (git show HEAD:ormai.policy.ts > ormai.policy.old.ts)',
        ],
      },
    );
  }
  // a CommonJS module's exports come back as its default
  const exported = (loaded.default as { default?: unknown } | undefined)?.default ?? loaded.default;
  if (exported !== undefined) return exported;
  const shaped = Object.entries(loaded).filter(
    ([, value]) =>
      value !== null && typeof value === 'object' && policySchema.safeParse(value).success,
  );
  if (shaped.length === 1) return shaped[0]![1];
  const names = Object.keys(loaded);
  throw new StartupError(
    'POLICY_FILE_INVALID',
    shaped.length === 0
      ? `${path} exports no policy${names.length > 0 ? ` (its exports: ${names.join(', ')})` : ''}`
      : `${path} exports several policies (${shaped.map(([name]) => name).join(', ')})`,
    { hints: ['export the policy as the default: export default definePolicy({ … })'] },
  );
}

/** TypeScript files (and what they import) load through tsx, registered once per process as loadConfig does. */
async function registerTypeScript(file: string) {
  if (/\.[cm]?js$/.test(file)) return;
  const marker = Symbol.for('ormai.tsx-registered');
  const registered = globalThis as Record<symbol, boolean | undefined>;
  if (registered[marker]) return;
  const { register } = await import('tsx/esm/api');
  register();
  registered[marker] = true;
}

const errorsOf = (engine: PolicyEngine) =>
  checkPolicy(engine).filter((finding) => finding.severity === 'error').length;

function compileFile(
  config: OrmaiConfig,
  path: string,
  policy: unknown,
  hashKey: string | undefined,
): PolicyEngine {
  const compiled = compilePolicy(policy, config.app.datamodel, hashKey ? { hashKey } : {});
  if (!compiled.ok) {
    throw new StartupError(
      'POLICY_INVALID',
      `${path}: the policy is invalid against ${config.app.name}'s datamodel`,
      {
        hints: compiled.hints,
      },
    );
  }
  return compiled.value;
}

/** The recorded calls of a JSONL file (`ormai record`'s). */
function readCalls(path: string): RecordedCall[] {
  if (!existsSync(path)) {
    throw new StartupError('CALLS_FILE_NOT_FOUND', `${path}: no such file`, {
      hints: ['write one with `ormai record --out FILE`'],
    });
  }
  return parseRecordedCalls(readFileSync(path, 'utf8'), path);
}

/**
 * The config's app under each policy, over one database connection: the old opens the configured
 * database (as `ormai serve` would), the new runs through the old's client. Nothing is recorded
 * (no audit sink, no rate limit) and no write runs.
 */
async function simulate(
  config: OrmaiConfig,
  oldPolicy: Policy,
  newPolicy: Policy,
  calls: RecordedCall[],
): Promise<Simulation> {
  const logger = createLogger(process.env.ORMAI_LOG_LEVEL ?? 'error');
  const under = (policy: Policy): OrmaiConfig => ({
    ...config,
    app: { ...config.app, policy },
    audit: { ...config.audit, sinks: [] },
    rateLimits: undefined,
    metrics: { enabled: false },
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const before = await createOrmai(under(oldPolicy), { logger, log });
  let after: Ormai | undefined;
  try {
    after = await createOrmai(under(newPolicy), {
      logger,
      log,
      prisma: before.runtime.prisma as unknown as NonNullable<
        Parameters<typeof createOrmai>[1]
      >['prisma'],
    });
    return await simulateCalls(calls, before, after, config.naming);
  } finally {
    await after?.close();
    await before.close();
  }
}

/** The simulation as text: totals, then each changed call with what changed. */
export function formatSimulation(simulation: Simulation, file: string): string[] {
  const lines = [
    `simulation of ${simulation.calls} recorded call(s) from ${file}: ${simulation.run} read(s) run under both policies, ${simulation.judged} write(s) judged without running`,
    `  ${simulation.changed.length} would change, ${simulation.unchanged} unchanged`,
  ];
  for (const call of simulation.changed) {
    lines.push(`  call ${call.id} (${describeCall(call)}):`);
    for (const line of callChanges(call)) lines.push(`    ${line}`);
  }
  return lines;
}

function describeCall(call: ChangedCall): string {
  const { principal } = call;
  return [
    `${call.surface} ${call.operation ?? '(anonymous)'}`,
    `roles ${principal.roles.join(',') || '(none)'}`,
    `tenant ${principal.tenantId ?? '(none)'}`,
    `sub ${principal.sub}`,
    ...(call.mode === 'judged' ? ['write, not run'] : []),
  ].join(', ');
}

function callChanges(call: ChangedCall): string[] {
  const show = (outcome: ChangedCall['old']) =>
    outcome.outcome === 'ok' ? 'ok' : `error ${outcome.error_code ?? ''}`.trim();
  const lines: string[] = [];
  if (call.old.outcome !== call.new.outcome || call.old.error_code !== call.new.error_code) {
    const said = call.new.error_message ? ` (${call.new.error_message})` : '';
    lines.push(`outcome: ${show(call.old)} → ${show(call.new)}${said}`);
  }
  if (call.old.row_count !== call.new.row_count && call.old.outcome === call.new.outcome) {
    lines.push(`rows: ${call.old.row_count ?? 'none'} → ${call.new.row_count ?? 'none'}`);
  }
  const { added, removed, changed } = call.fields;
  if (removed.length > 0) lines.push(`fields no longer returned: ${removed.join(', ')}`);
  if (added.length > 0) lines.push(`fields now returned: ${added.join(', ')}`);
  if (changed.length > 0) lines.push(`fields with other values: ${changed.join(', ')}`);
  return lines;
}
