/**
 * Field-name globs (`*password*`), matched case-insensitively against the name and its snake_case
 * form, so `*api_key*` catches `apiKey` and `*password*` catches `passwordHash`.
 */
export function matchesAnyGlob(name: string, globs: readonly string[]): boolean {
  const forms = [name.toLowerCase(), toSnakeCase(name)];
  return globs.some((glob) => {
    const pattern = globToRegExp(glob);
    return forms.some((form) => pattern.test(form));
  });
}

export function toSnakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`);
}
