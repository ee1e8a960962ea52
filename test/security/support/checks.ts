// Checks shared by the security tests: the contract's error shape, and a scan of any response for
// values the principal must never receive (other tenants' rows, secrets, raw redacted values).
import { access, type Principal } from './spec.js';
import type { Truth } from './truth.js';

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

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const SSN = /\d{3}-\d{2}-\d{4}/g;
const PHONE = /\+1\d{10}/g;
const SKU = /\b(ACME|GLOBEX|INITECH)-\d{4}\b/g;

interface Allowed {
  customerEmails: Set<string>;
  userEmails: Set<string>;
  ssns: Set<string>;
  phones: Set<string>;
  slug: string;
  otherTenantNames: string[];
}

const allowedCache = new WeakMap<Truth, Map<string, Allowed>>();

/** The raw values of each kind this principal may receive. */
function allowedFor(truth: Truth, principal: Principal): Allowed {
  let cache = allowedCache.get(truth);
  if (!cache) {
    cache = new Map();
    allowedCache.set(truth, cache);
  }
  const key = `${principal.tenantId}:${principal.role}:${principal.sub}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const raw = (model: 'Customer' | 'User', field: string) =>
    access(principal.role, model, field).kind === 'allow';
  const allowed: Allowed = {
    customerEmails: new Set(),
    userEmails: new Set(),
    ssns: new Set(),
    phones: new Set(),
    slug: '',
    otherTenantNames: [],
  };
  for (const row of truth.rows.get('Customer')!.values()) {
    if (!truth.visible('Customer', row, principal)) continue;
    if (raw('Customer', 'email')) allowed.customerEmails.add(String(row.email));
    if (raw('Customer', 'ssn') && row.ssn) allowed.ssns.add(String(row.ssn));
    if (raw('Customer', 'phone') && row.phone) allowed.phones.add(String(row.phone));
  }
  for (const row of truth.rows.get('User')!.values()) {
    if (truth.visible('User', row, principal) && raw('User', 'email'))
      allowed.userEmails.add(String(row.email));
  }
  for (const row of truth.rows.get('Tenant')!.values()) {
    if (Number(row.id) === principal.tenantId) allowed.slug = String(row.slug).toUpperCase();
    else allowed.otherTenantNames.push(String(row.name));
  }
  cache.set(key, allowed);
  return allowed;
}

/**
 * Values in a response (its JSON) the principal must never receive: a password hash or API key,
 * an email, SSN or phone of a row it cannot see or may see only redacted, another tenant's SKU or
 * name. Independent of the query's shape, so it also covers what a structural check could miss.
 */
export function leaksIn(json: string, truth: Truth, principal: Principal): string[] {
  const allowed = allowedFor(truth, principal);
  const leaks: string[] = [];
  if (json.includes('$argon2id$')) leaks.push('a password hash');
  if (json.includes('sk_live_')) leaks.push('an API key');
  for (const [email] of json.matchAll(EMAIL)) {
    if (email.endsWith('@mail.example.org')) {
      if (!allowed.customerEmails.has(email)) leaks.push(`customer email ${email}`);
    } else if (email.endsWith('.example.com')) {
      if (!allowed.userEmails.has(email)) leaks.push(`user email ${email}`);
    }
  }
  for (const [ssn] of json.matchAll(SSN)) if (!allowed.ssns.has(ssn)) leaks.push(`ssn ${ssn}`);
  for (const [phone] of json.matchAll(PHONE))
    if (!allowed.phones.has(phone)) leaks.push(`phone ${phone}`);
  for (const [, slug] of json.matchAll(SKU))
    if (slug !== allowed.slug) leaks.push(`a ${slug} product`);
  for (const name of allowed.otherTenantNames)
    if (json.includes(name)) leaks.push(`tenant name ${name}`);
  return leaks;
}
