// Checks the compiled policy against the facts an app's spec writes out from its README, so the
// suite's derived expectations cannot drift with a wrong compilation of the policy.
import type { AppModel } from './app-model.js';

/** Every way the compiled policy differs from the app's anchors (empty when it agrees). */
export function anchorMismatches(model: AppModel): string[] {
  const { anchors } = model.spec;
  const problems: string[] = [];
  for (const role of model.roles) {
    const hidden = anchors.hidden[role] ?? [];
    const fields = anchors.fields[role] ?? {};
    for (const [name, info] of model.models) {
      const readable = model.canRead(role, name);
      if (hidden.includes(name) === readable)
        problems.push(`${role}: ${name} is ${readable ? 'readable' : 'hidden'}`);
      if (!readable) continue;
      for (const field of info.fields.keys()) {
        const expected = fields[`${name}.${field}`] ?? (anchors.complete ? 'allow' : undefined);
        const actual = model.access(role, name, field).kind;
        if (expected && expected !== actual)
          problems.push(`${role}: ${name}.${field} is ${actual}, the README says ${expected}`);
      }
    }
    for (const [name, field] of Object.entries(anchors.owners[role] ?? {})) {
      const filter = JSON.stringify(model.rowFilter(role, name));
      if (filter !== JSON.stringify({ [field]: '$principal.sub' }))
        problems.push(`${role}: ${name} rows are filtered by ${filter}, not owned by ${field}`);
    }
  }
  return problems;
}
