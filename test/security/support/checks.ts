// Checks shared by the security tests: the contract's error shape, and a scan of any response for
// values the principal must never receive (other tenants' rows, secrets, raw redacted values).
import type { Principal } from './app-model.js';
import { principalKey, type Truth } from './truth.js';

/** CONTRACT §6. */
export const CONTRACT_CODES = new Set([
  'AUTHENTICATION_REQUIRED',
  'MODEL_NOT_ALLOWED',
  'FIELD_NOT_ALLOWED',
  'RELATION_NOT_ALLOWED',
  'TENANT_SCOPE_REQUIRED',
  'TENANT_SCOPE_VIOLATION',
  'QUERY_TOO_BROAD',
  'QUERY_BUDGET_EXCEEDED',
  'VALIDATION_ERROR',
  'NOT_FOUND',
  'WRITE_DISABLED',
  'WRITE_APPROVAL_REQUIRED',
  'APPROVAL_SELF_DENIED',
  'MAX_AFFECTED_ROWS_EXCEEDED',
  'TOOL_NOT_FOUND',
  'INTERNAL_ERROR',
]);

/** Traces of internals a response must never carry. */
const INTERNALS = [
  /\n\s+at [^\n]+:\d+:\d+/, // a stack frame
  /\bat (?:async )?[\w.<>]+ \([^)]*:\d+:\d+\)/,
  /\/work\//,
  /node_modules/,
  /\.ts:\d+/,
  /Invalid `[^`]*` invocation/, // Prisma's error text
  /PrismaClient\w*Error/,
  /prisma\.\w+\.find/,
  /\bP\d{4}\b.*prisma/i,
  /SQLSTATE|syntax error at or near/,
];

export function internalsIn(text: string): string | null {
  for (const pattern of INTERNALS) {
    const match = pattern.exec(text);
    if (match) return match[0];
  }
  return null;
}

export interface GraphQLError {
  message: string;
  extensions?: Record<string, any>;
}

/** Every error carries the contract's extensions and a code a client can act on. */
export function contractErrorProblems(errors: GraphQLError[]): string[] {
  const problems: string[] = [];
  for (const error of errors) {
    const ext = error.extensions ?? {};
    if (!CONTRACT_CODES.has(ext.code)) problems.push(`unknown code ${ext.code}`);
    if (ext.code === 'INTERNAL_ERROR') problems.push(`INTERNAL_ERROR: ${error.message}`);
    if (typeof ext.retryable !== 'boolean') problems.push('retryable is not a boolean');
    if (!Array.isArray(ext.retryHints)) problems.push('retryHints is not a list');
    if (typeof ext.traceId !== 'string' || !/^[0-9a-f]{32}$/.test(ext.traceId))
      problems.push(`traceId ${ext.traceId}`);
    const leak = internalsIn(JSON.stringify(error));
    if (leak) problems.push(`internals in the error: ${leak}`);
  }
  return problems;
}

interface Forbidden {
  /** Text values the principal must not receive: raw protected values, invisible rows' text. */
  values: Set<string>;
}

const forbiddenCache = new WeakMap<Truth, Map<string, Forbidden>>();

/** Text worth scanning for: long enough not to be an accident, and not a bare number. */
const distinctive = (value: unknown): value is string =>
  typeof value === 'string' && value.length >= 4 && !/^-?\d+(\.\d+)?$/.test(value);

/**
 * The text values of the database the principal must never receive: every text column (and text
 * list item) of a row it cannot see, and the raw value of every field it may not read plainly,
 * less any text it legitimately receives somewhere (the same name in two tenants).
 */
async function forbiddenFor(truth: Truth, principal: Principal): Promise<Forbidden> {
  let cache = forbiddenCache.get(truth);
  if (!cache) {
    cache = new Map();
    forbiddenCache.set(truth, cache);
  }
  const key = principalKey(principal);
  const cached = cache.get(key);
  if (cached) return cached;
  await truth.prepare(principal);
  const app = truth.model;
  const allowed = new Set<string>();
  const values = new Set<string>();
  const texts = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
  for (const [model, rows] of truth.rows) {
    const fields = [...app.model(model).fields.values()].filter(
      (field) => field.type === 'String' && !field.isEnum,
    );
    for (const [rowKey, row] of rows) {
      const visible = truth.visible(model, rowKey, principal);
      for (const field of fields) {
        const plain = visible && app.access(principal.role, model, field.name).kind === 'allow';
        for (const value of texts(row[field.name])) {
          if (!distinctive(value)) continue;
          (plain ? allowed : values).add(value);
        }
      }
    }
  }
  for (const value of allowed) values.delete(value);
  const forbidden = { values };
  cache.set(key, forbidden);
  return forbidden;
}

/** The string values of a JSON text (not its keys). */
function stringValues(json: string): string[] {
  const found: string[] = [];
  // strings are matched left to right, so a key's closing quote never opens a string
  for (const match of json.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    let next = match.index + match[0].length;
    while (/\s/.test(json[next] ?? '')) next += 1;
    if (json[next] !== ':') found.push(JSON.parse(match[0]) as string);
  }
  return found;
}

/**
 * Values in a response (its JSON) the principal must never receive: text of a row it cannot see
 * (another tenant's, a soft-deleted one, one outside its row filter), the raw value of a denied,
 * masked or hashed field, and the app's own secret shapes. Independent of the query's shape, so it
 * also covers what a structural check could miss.
 */
export async function leaksIn(json: string, truth: Truth, principal: Principal): Promise<string[]> {
  const forbidden = await forbiddenFor(truth, principal);
  const leaks = stringValues(json)
    .filter((value) => forbidden.values.has(value))
    .map((value) => `a value it may not see: ${JSON.stringify(value).slice(0, 80)}`);
  return [...leaks, ...(truth.model.spec.leakPatterns?.(json, truth, principal) ?? [])];
}
