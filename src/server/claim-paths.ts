import { StartupError } from '../startup-error.js';

/**
 * Where a token's claims hold the principal (`auth.claims`). A path is dot-separated
 * (`realm_access.roles`, `org.id`); a key that itself holds dots, as namespaced claims do
 * (`https://example.com/roles`), is found whole, or can be written in brackets
 * (`['https://example.com/app'].tenant`).
 */
export interface ClaimPaths {
  /** The user id (default `sub`). */
  sub?: string;
  /** The tenant id (default `auth.tenantClaim`, else `tenantId`). */
  tenant?: string;
  /** The roles: an array, or a space- or comma-separated string (default `roles`). */
  roles?: string;
}

export const DEFAULT_CLAIM_PATHS = { sub: 'sub', tenant: 'tenantId', roles: 'roles' } as const;

interface Segment {
  key: string;
  /** Written in brackets: never joined with its neighbours. */
  quoted: boolean;
}

/** A parsed claim path: its segments, read and written the same way everywhere. */
export interface ClaimPath {
  source: string;
  segments: readonly Segment[];
}

const badPath = (path: string, why: string) =>
  new StartupError('CONFIG_INVALID', `the claim path ${JSON.stringify(path)} ${why}`, {
    hints: [
      "write a dot-separated path (realm_access.roles) and a key holding dots in brackets (['https://example.com/roles'])",
    ],
  });

/** `a.b['c.d'].e` → a, b, c.d (quoted), e. */
export function parseClaimPath(path: string): ClaimPath {
  const segments: Segment[] = [];
  let i = 0;
  while (i < path.length) {
    if (path[i] === '[') {
      const quote = path[i + 1];
      if (quote !== "'" && quote !== '"') throw badPath(path, 'has a bracket without a quote');
      const end = path.indexOf(`${quote}]`, i + 2);
      if (end < 0) throw badPath(path, 'has an unclosed bracket');
      segments.push({ key: path.slice(i + 2, end), quoted: true });
      i = end + 2;
    } else {
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      if (end === i) throw badPath(path, 'has an empty segment');
      segments.push({ key: path.slice(i, end), quoted: false });
      i = end;
    }
    if (i === path.length) break;
    if (path[i] === '.') {
      i++;
      if (i === path.length) throw badPath(path, 'ends with a dot');
    } else if (path[i] !== '[') {
      throw badPath(path, 'has text right after a bracket');
    }
  }
  if (segments.length === 0) throw badPath(path, 'is empty');
  return { source: path, segments };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The value at a path. At each level the longest run of the remaining segments that names a key
 * wins, so `https://example.com/roles` (one key holding dots) is found without brackets; a
 * bracketed segment is one key and never joined with others.
 */
export function readClaim(claims: Record<string, unknown>, path: ClaimPath): unknown {
  const { segments } = path;
  const walk = (value: unknown, from: number): unknown => {
    if (from === segments.length) return value;
    if (!isRecord(value)) return undefined;
    for (let to = segments.length; to > from; to--) {
      const run = segments.slice(from, to);
      if (run.length > 1 && run.some((segment) => segment.quoted)) continue;
      const key = run.map((segment) => segment.key).join('.');
      if (!Object.hasOwn(value, key)) continue;
      const found = walk(value[key], to);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(claims, 0);
}

/**
 * Sets a value at a path (the tokens ormai signs itself). A bracketed segment is one key; so is a
 * namespaced run (one holding `:` or `/`, as `https://example.com/roles` does), the way identity
 * providers write them; other dots nest.
 */
export function writeClaim(claims: Record<string, unknown>, path: ClaimPath, value: unknown): void {
  const keys: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length === 0) return;
    if (run.some((key) => key.includes(':') || key.includes('/'))) keys.push(run.join('.'));
    else keys.push(...run);
    run = [];
  };
  for (const segment of path.segments) {
    if (segment.quoted) {
      flush();
      keys.push(segment.key);
    } else {
      run.push(segment.key);
    }
  }
  flush();
  let target = claims;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (isRecord(next)) {
      target = next;
    } else {
      const created: Record<string, unknown> = {};
      target[key] = created;
      target = created;
    }
  }
  target[keys.at(-1)!] = value;
}

/**
 * Roles as identity providers write them: an array of strings, one string separated by spaces or
 * commas (`scope`-like claims), or a map whose keys are the roles and whose values are objects
 * (Zitadel's `urn:zitadel:iam:org:project:roles`). Anything else holds no roles.
 */
export function rolesFrom(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.filter((role): role is string => typeof role === 'string' && role !== '');
  }
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (isRecord(value) && Object.values(value).every(isRecord)) return Object.keys(value);
  return [];
}
