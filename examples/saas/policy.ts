import type { Policy } from '../../src/policy/types.js';

/**
 * The example's policy. Every table carries tenantId; Tenant itself is scoped by its id.
 * passwordHash and apiKey are denied by the default globs (*password*, *api_key*).
 */
export const saasPolicy: Policy = {
  models: {
    Tenant: { tenantField: 'id' },
  },
};
