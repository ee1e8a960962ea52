import type { OrmaiApp } from '../app.js';
import { checkPolicy, type Finding, formatFinding } from '../policy/check-policy.js';
import { compilePolicy } from '../policy/compile-policy.js';
import { buildSchema } from '../schema/build-schema.js';
import { verifySchema } from '../schema/verify-schema.js';

export interface CheckReport {
  ok: boolean;
  findings: Finding[];
  lines: string[];
}

/**
 * `ormai check`: validates the policy, runs the static checks per role, then builds each role's
 * schema and inspects it for filter oracles. Errors fail the check; warnings are printed.
 */
export function runChecks(app: OrmaiApp): CheckReport {
  const compiled = compilePolicy(app.policy, app.datamodel);
  if (!compiled.ok) {
    return {
      ok: false,
      findings: [],
      lines: ['the policy is invalid:', ...compiled.hints.map((hint) => `  ${hint}`)],
    };
  }
  const engine = compiled.value;
  const findings = checkPolicy(engine);
  const roles = engine.declaredRoles.length > 0 ? engine.declaredRoles : ['*'];
  for (const role of roles) {
    const policy = engine.forRoles(role === '*' ? [] : [role]);
    const schema = buildSchema({ datamodel: app.datamodel, policy, cursorSecret: 'ormai-check' });
    findings.push(...verifySchema(schema, policy, app.datamodel, role));
  }
  const errors = findings.filter((finding) => finding.severity === 'error').length;
  const warnings = findings.length - errors;
  return {
    ok: errors === 0,
    findings,
    lines: [
      ...findings.map(formatFinding),
      errors === 0
        ? `ok: ${roles.length} role(s) checked (${roles.join(', ')}), ${warnings} warning(s)`
        : `${errors} error(s), ${warnings} warning(s) in ${roles.length} role(s)`,
    ],
  };
}
