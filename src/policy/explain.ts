import type { PolicyEngine } from './compile-policy.js';

/**
 * A markdown table of what each role reads: one row per model field, one column per role, each cell
 * `allow`, `mask`, `hash` or `deny` (a hidden model is `deny` throughout). Models scoped through a
 * parent and row filters are listed below it. `ormai explain` prints it; the example's README
 * embeds it.
 */
export function explainPolicy(engine: PolicyEngine): string {
  const roles = engine.declaredRoles.length > 0 ? engine.declaredRoles : ['*'];
  const compiled = roles.map((role) => engine.forRoles(role === '*' ? [] : [role]));
  const lines = [
    `| model.field | ${roles.join(' | ')} |`,
    `|---|${roles.map(() => '---|').join('')}`,
  ];
  const filters: string[] = [];
  for (const [name, rules] of Object.entries(engine.policy.models ?? {})) {
    if (!rules.scopeThrough) continue;
    const parent = engine.datamodel.datamodel.models[name]?.fields.find(
      (field) => field.name === rules.scopeThrough,
    )?.type;
    filters.push(
      `- ${name} rows are scoped through ${rules.scopeThrough} (${parent}): visible where that ${parent} is (its tenant, not deleted)`,
    );
  }
  for (const [name, model] of Object.entries(engine.datamodel.datamodel.models)) {
    for (const field of model.fields) {
      if (field.kind === 'object') continue;
      const cells = compiled.map((policy) => {
        const readable = policy.models.get(name)?.fields.get(field.name);
        return readable ? (readable.redaction?.kind ?? 'allow') : 'deny';
      });
      lines.push(`| ${name}.${field.name} | ${cells.join(' | ')} |`);
    }
    compiled.forEach((policy, index) => {
      const rowFilters = policy.models.get(name)?.rowFilters;
      if (rowFilters)
        filters.push(
          `- ${roles[index]} reads ${name} rows where ${JSON.stringify(rowFilters.length === 1 ? rowFilters[0] : { OR: rowFilters })}`,
        );
    });
  }
  return [...lines, ...(filters.length > 0 ? ['', ...filters] : [])].join('\n');
}
