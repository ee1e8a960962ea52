import { z } from 'zod';

const fieldName = z.string().min(1);

export const modelPolicySchema = z
  .object({
    /** Leave the model out of every schema. */
    hidden: z.boolean().optional(),
    /** Not tenant-scoped: every tenant sees every row (reference data). */
    global: z.boolean().optional(),
    /** The field holding the tenant id; defaults to the policy's `tenantField` when the model has it. */
    tenantField: fieldName.optional(),
    /** The soft-delete timestamp; `false` turns soft delete off for this model. */
    softDeleteField: z.union([fieldName, z.literal(false)]).optional(),
    /** More globs of fields to deny on this model. */
    denyFields: z.array(fieldName).optional(),
  })
  .strict();

export const policySchema = z
  .object({
    /** The tenant field name used by every model that has it. */
    tenantField: fieldName.optional(),
    /** The soft-delete field name used by every model that has it; `false` turns it off. */
    softDeleteField: z.union([fieldName, z.literal(false)]).optional(),
    /** Globs denied on every model; replaces the default list when given. */
    denyFields: z.array(fieldName).optional(),
    models: z.record(z.string(), modelPolicySchema).optional(),
    budgets: z
      .object({
        defaultTake: z.number().int().positive().optional(),
        maxTake: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ModelPolicy = z.infer<typeof modelPolicySchema>;
/** A policy as data: JSON-serialisable, validated at start-up. */
export type Policy = z.infer<typeof policySchema>;
