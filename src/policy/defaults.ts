/** Field names denied to every role unless a policy says otherwise (case-insensitive, camelCase-aware). */
export const DEFAULT_DENY_GLOBS = [
  '*password*',
  '*secret*',
  '*token*',
  '*api_key*',
  '*apikey*',
  '*private_key*',
] as const;

export const DEFAULT_TENANT_FIELD = 'tenantId';
export const DEFAULT_SOFT_DELETE_FIELD = 'deletedAt';

/** OrmAI's `prod` profile. */
export const DEFAULT_BUDGETS = {
  defaultTake: 25,
  maxTake: 100,
} as const;
