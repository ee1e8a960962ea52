import type { CompiledModel, PolicyEngine } from './compile-policy.js';

export interface Finding {
  severity: 'error' | 'warning';
  /** The role the finding is about, or `*` for the policy as a whole. */
  role: string;
  /** Where: a model, a relation walk (`Customer.orders → Order`) or a policy path. */
  path: string;
  message: string;
}

/**
 * Static verification of a policy against its datamodel, for every role: every readable model is
 * tenant-scoped (by a tenant field, or through its parent) or explicitly global, no allowed
 * relation walks from scoped rows into unscoped ones,
 * a model that requires a filter can be filtered, writes in the prod profile need a reason, and
 * the roles that approve writes and read the audit log are named.
 * Pure; `ormai check` prints the findings and the server refuses to start on an error.
 */
export function checkPolicy(engine: PolicyEngine): Finding[] {
  const findings: Finding[] = [];
  const roleSets =
    engine.declaredRoles.length > 0 ? engine.declaredRoles.map((role) => [role]) : [[]];
  const profile = engine.policy.profile ?? 'prod';

  for (const roles of roleSets) {
    const role = roles[0] ?? '*';
    const compiled = engine.forRoles(roles);
    for (const model of compiled.models.values()) {
      if (!isScoped(model)) {
        findings.push({
          severity: 'error',
          role,
          path: model.name,
          message:
            'not scoped: it has no tenant field; name one (tenantField), scope it through a required parent relation (scopeThrough) or mark it global: true',
        });
      }
      for (const relation of model.relations.values()) {
        const target = compiled.models.get(relation.target)!;
        if (isScoped(model) && !isScoped(target)) {
          findings.push({
            severity: 'error',
            role,
            path: `${model.name}.${relation.name} → ${target.name}`,
            message: 'not scoped: the relation leads from tenant data into rows of every tenant',
          });
        }
      }
      if (
        model.requireFilter &&
        ![...model.fields.values()].some((field) => !field.redaction && !field.list)
      ) {
        findings.push({
          severity: 'error',
          role,
          path: model.name,
          message: 'requires a filter but has no field this role can filter on',
        });
      }
    }
    for (const view of engine.policy.views ?? []) {
      const compiledView = compiled.views.get(view.name);
      if (!compiledView) continue;
      for (const name of Object.keys(view.computed ?? {})) {
        if (!compiledView.computed.some((computed) => computed.name === name)) {
          findings.push({
            severity: 'warning',
            role,
            path: `${view.name}.${name}`,
            message:
              'left out: it aggregates a relation or a field this role cannot read unredacted',
          });
        }
      }
    }
  }

  findings.push(...namedRoleFindings(engine));

  if (engine.policy.writes?.enabled && profile === 'prod') {
    for (const [model, byRole] of Object.entries(engine.policy.writes.models ?? {})) {
      for (const [role, kinds] of Object.entries(byRole)) {
        for (const [kind, rule] of Object.entries(kinds)) {
          if (rule?.requireReason === false) {
            findings.push({
              severity: 'error',
              role,
              path: `writes.models.${model}.${role}.${kind}`,
              message: 'writable without a reason in the prod profile; remove requireReason: false',
            });
          }
        }
      }
    }
  }
  return findings;
}

/**
 * Approvers and audit readers are named in the policy, never implied: a write that waits for an
 * approval no role may give waits forever (an error), and an audit log no role may read through
 * GraphQL is worth a warning. A name that is not a role of the policy is a typo.
 */
function namedRoleFindings(engine: PolicyEngine): Finding[] {
  const { policy } = engine;
  const findings: Finding[] = [];
  const declared = new Set(engine.declaredRoles);
  const approvers = policy.writes?.approvers ?? [];
  const readers = policy.audit?.readers ?? [];
  for (const [path, names] of [
    ['writes.approvers', approvers],
    ['audit.readers', readers],
  ] as const) {
    for (const name of names.filter((role) => !declared.has(role))) {
      findings.push({
        severity: 'warning',
        role: '*',
        path,
        message: `names ${name}, which is not a role of the policy (roles: ${engine.declaredRoles.join(', ') || 'none'})`,
      });
    }
  }
  const gated = policy.writes?.enabled ? gatedWrites(policy) : [];
  if (gated.length > 0 && !approvers.some((role) => declared.has(role))) {
    findings.push({
      severity: 'error',
      role: '*',
      path: 'writes.approvers',
      message: `${gated.join(', ')} wait(s) for an approval, but no role of the policy may approve: name the approver roles, e.g. approvers: ['admin']`,
    });
  }
  if (!readers.some((role) => declared.has(role))) {
    findings.push({
      severity: 'warning',
      role: '*',
      path: 'audit.readers',
      message:
        "no role may read the audit log through GraphQL (auditRecords): name the reader roles, e.g. audit: { readers: ['admin'] }",
    });
  }
  return findings;
}

/** The writes (`Model.role.kind`) the policy makes wait for an approval. */
function gatedWrites(policy: PolicyEngine['policy']): string[] {
  const gated: string[] = [];
  for (const [model, byRole] of Object.entries(policy.writes?.models ?? {})) {
    for (const [role, kinds] of Object.entries(byRole)) {
      for (const [kind, rule] of Object.entries(kinds)) {
        if (rule?.requireApproval) gated.push(`${model}.${role}.${kind}`);
      }
    }
  }
  return gated;
}

const isScoped = (model: CompiledModel) =>
  model.tenantField !== null || model.scopeThrough !== null || model.global;

export function formatFinding(finding: Finding): string {
  return `${finding.severity === 'error' ? 'error' : 'warn '} ${finding.role}: ${finding.path}: ${finding.message}`;
}
