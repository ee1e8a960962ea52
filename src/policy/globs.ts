/**
 * Field-name globs (`*password*`), matched case-insensitively against the name and its snake_case
 * form, so `*api_key*` catches `apiKey` and `*password*` catches `passwordHash`.
 */
export function matchesAnyGlob(name: string, globs: readonly string[]): boolean {
  const lower = name.toLowerCase();
  const snake = toSnakeCase(name);
  return globs.some((glob) => {
    const pattern = patternOf(glob);
    return pattern.test(lower) || pattern.test(snake);
  });
}

// a policy names a handful of globs and each is matched against every field of every model for
// every role set compiled: made into a RegExp once (a pure function of the glob)
const patterns = new Map<string, RegExp>();
function patternOf(glob: string): RegExp {
  let pattern = patterns.get(glob);
  if (!pattern) {
    if (patterns.size >= 1000) patterns.clear();
    pattern = globToRegExp(glob);
    patterns.set(glob, pattern);
  }
  return pattern;
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
