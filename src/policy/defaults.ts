import type { Budgets, Profile } from './types.js';

/**
 * Field names denied to every role (case-insensitive, matched against the name and its snake_case
 * form, so `*access_code*` catches `accessCode`). A policy's `denyFields` adds to these;
 * `keepDefaultDenyFields: false` drops them. Each names a secret, not a word ordinary fields
 * contain: `*code*` would deny `postalCode`, `*otp*` would deny `footprint`.
 */
export const DEFAULT_DENY_GLOBS = [
  '*password*',
  '*passphrase*',
  '*secret*',
  '*token*',
  '*credential*',
  '*api_key*',
  '*apikey*',
  '*private_key*',
  '*signing_key*',
  '*encryption_key*',
  '*access_code*',
  '*backup_code*',
  '*recovery_code*',
  // one-time passwords: `otpCode`, `emailOtp`, `totpSecret`, `otpauthUrl`
  'otp*',
  '*_otp*',
  '*totp*',
] as const;

export const DEFAULT_TENANT_FIELD = 'tenantId';
export const DEFAULT_SOFT_DELETE_FIELD = 'deletedAt';

/** Budget defaults per profile; `prod` is OrmAI's production profile (CONTRACT §8). */
export const PROFILE_BUDGETS: Record<Profile, Budgets> = {
  prod: {
    defaultTake: 25,
    maxTake: 100,
    maxIncludeDepth: 1,
    maxSelectedFields: 40,
    statementTimeoutMs: 2000,
    maxComplexity: 5000,
    maxDepth: 10,
    maxAliases: 15,
    maxDirectives: 10,
    maxTokens: 2000,
  },
  internal: {
    defaultTake: 50,
    maxTake: 500,
    maxIncludeDepth: 2,
    maxSelectedFields: 80,
    statementTimeoutMs: 5000,
    maxComplexity: 20000,
    maxDepth: 12,
    maxAliases: 30,
    maxDirectives: 20,
    maxTokens: 5000,
  },
  dev: {
    defaultTake: 100,
    maxTake: 1000,
    maxIncludeDepth: 3,
    maxSelectedFields: 200,
    statementTimeoutMs: 10000,
    maxComplexity: 100000,
    maxDepth: 15,
    maxAliases: 50,
    maxDirectives: 50,
    maxTokens: 10000,
  },
};

/** The `prod` budgets, the defaults when a policy names no profile. */
export const DEFAULT_BUDGETS = PROFILE_BUDGETS.prod;

/**
 * The key hashed fields use outside production when `ORMAI_HASH_KEY` is unset. It is published
 * here, so anyone can recompute a digest from a guessed value: the server warns, and refuses to
 * start without a key of its own under `NODE_ENV=production`.
 */
export const DEV_HASH_KEY = 'ormai-dev-hash-key-not-secret';

/**
 * Nesting of a request's input values (objects and lists, in variables or literals). Beyond it the
 * executor's recursion and Prisma's (its query protocol allows about 60 levels of filters) fail.
 */
export const DEFAULT_MAX_INPUT_DEPTH = 32;

/** Values in one where input: each becomes a bind parameter (PostgreSQL takes at most 65,535). */
export const DEFAULT_MAX_FILTER_VALUES = 1000;
