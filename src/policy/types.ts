import { z } from 'zod';

const name = z.string().min(1);

/** A where object in Prisma's shape; strings like `$principal.sub` are filled in per request. */
const whereTemplate = z.record(z.string(), z.unknown());

const fieldRules = z
  .object({
    /** Only these fields are readable (default: all but the denied ones). */
    allow: z.array(name).optional(),
    /** Field-name globs to deny (`*secret*`, `ssn`). */
    deny: z.array(name).optional(),
    /** Fields returned masked: `true` for the default mask, or a pattern like `****{last4}`. */
    mask: z.record(z.string(), z.union([z.literal(true), name])).optional(),
    /** Fields returned as an HMAC-SHA256 hex digest keyed by `ORMAI_HASH_KEY`. */
    hash: z.array(name).optional(),
  })
  .strict();

/**
 * Limits on the PostgreSQL planner's estimate for a statement, asked with `EXPLAIN` (no ANALYZE)
 * before each list, aggregate, groupBy and count runs; over either is QUERY_BUDGET_EXCEEDED.
 */
const plannerBudgetFields = {
  /** Rows the planner expects the largest step of the plan to produce (a scan's matches, before LIMIT). */
  maxEstimatedRows: z.number().int().positive().optional(),
  /** The plan's total cost, in the planner's units (`seq_page_cost` = 1). */
  maxEstimatedCost: z.number().positive().optional(),
};

export const plannerBudgetSchema = z.object(plannerBudgetFields).strict();

/** What a role may read of one model; the base policy and every role overlay share this shape. */
const modelRules = {
  /** The model is not readable (absent from the schema). */
  hidden: z.boolean().optional(),
  fields: fieldRules.optional(),
  relations: z
    .object({ allow: z.array(name).optional(), deny: z.array(name).optional() })
    .strict()
    .optional(),
  /** Rows are limited to those whose field equals the principal's `sub`. */
  ownershipField: name.optional(),
  /** Rows are limited to those matching this where (principal variables allowed). */
  rowFilter: whereTemplate.optional(),
  /** A root list must be given a where (QUERY_TOO_BROAD otherwise). */
  requireFilter: z.boolean().optional(),
  /** Planner limits for statements that read this model (with the policy's or role's, the lower holds). */
  budgets: plannerBudgetSchema.optional(),
};

export const modelPolicySchema = z
  .object({
    ...modelRules,
    /** Not tenant-scoped: every tenant sees every row (reference data). */
    global: z.boolean().optional(),
    /** The field holding the tenant id; defaults to the policy's `tenantField` when the model has it. */
    tenantField: name.optional(),
    /**
     * Scoped by a parent instead of a tenant field: a required to-one relation (`'order'` on an
     * order item). A row is visible iff its parent is in the caller's tenant (by the parent's own
     * tenant field, or through the parent's parent) and not soft-deleted; enforced in SQL as a
     * relation filter. The parent's role rules (ownership, row filters) do not carry over: give the
     * child its own, e.g. `rowFilter: { order: { is: { salesRepId: '$principal.sub' } } }`.
     * It replaces the policy's `tenantField` on this model, even when the model has that column (a
     * denormalised copy is then an ordinary field); naming both it and `tenantField`, or `global`,
     * is an error. Writes set the parent only to one of the caller's visible parents.
     */
    scopeThrough: name.optional(),
    /** The soft-delete timestamp; `false` turns soft delete off for this model. */
    softDeleteField: z.union([name, z.literal(false)]).optional(),
  })
  .strict();

export const roleModelPolicySchema = z.object(modelRules).strict();

export const budgetsSchema = z
  .object({
    /** Rows per list when `first`/`take` is not given. */
    defaultTake: z.number().int().positive().optional(),
    /** Rows per list at most (`first` above → QUERY_BUDGET_EXCEEDED). */
    maxTake: z.number().int().positive().optional(),
    /** Relation nesting at most (`orders { customer { orders } }` is 2). */
    maxIncludeDepth: z.number().int().nonnegative().optional(),
    /** Scalar fields selected in one operation at most. */
    maxSelectedFields: z.number().int().positive().optional(),
    /** Enforced by the database for every statement. */
    statementTimeoutMs: z.number().int().positive().optional(),
    /** Complexity score at most (a list field multiplies its children by its `first`). */
    maxComplexity: z.number().int().positive().optional(),
    /** GraphQL depth, aliases, directives and tokens at most. */
    maxDepth: z.number().int().positive().optional(),
    maxAliases: z.number().int().nonnegative().optional(),
    maxDirectives: z.number().int().nonnegative().optional(),
    maxTokens: z.number().int().positive().optional(),
    ...plannerBudgetFields,
  })
  .strict();

const computedField = z.union([
  z.object({ count: name }).strict(),
  z.object({ sum: name }).strict(),
]);

/** A projection: a read-only type over one model with chosen fields and relation aggregates. */
export const viewSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]*$/, 'a view name is PascalCase, e.g. CustomerSummary'),
    model: name,
    fields: z.array(name).min(1),
    /** `{ orderCount: { count: 'orders' }, lifetimeCents: { sum: 'orders.totalCents' } }` */
    computed: z.record(z.string(), computedField).optional(),
    /** Roles that may read the view (default: every role that can read the model). */
    roles: z.array(name).optional(),
  })
  .strict();

/** One kind of write a role may make on a model. */
export const writeRuleSchema = z
  .object({
    /** Fields the write may set (create and update); others are FIELD_NOT_ALLOWED. */
    fields: z.array(name).optional(),
    /** A reason is required (default true in the prod profile). */
    requireReason: z.boolean().optional(),
    /** Rows one call may change at most (default 1; bulk: 100). */
    maxAffectedRows: z.number().int().positive().optional(),
    /** Wait for an approver: always, or for a bulk call over `minIds` ids. */
    requireApproval: z
      .union([z.boolean(), z.object({ minIds: z.number().int().positive() }).strict()])
      .optional(),
    /** Delete only: `hard: true` may remove the row (otherwise deletes are soft where the model allows). */
    allowHardDelete: z.boolean().optional(),
  })
  .strict();

export const writesSchema = z
  .object({
    /** Off by default: no mutation exists until this is true. */
    enabled: z.boolean().optional(),
    /** Per model, per role: which writes that role may make. */
    models: z
      .record(
        z.string(),
        z.record(
          z.string(),
          z
            .object({
              create: writeRuleSchema.optional(),
              update: writeRuleSchema.optional(),
              delete: writeRuleSchema.optional(),
              bulk: writeRuleSchema.optional(),
            })
            .strict(),
        ),
      )
      .optional(),
    /** Roles that may approve or reject pending writes of their tenant (none unless named). */
    approvers: z.array(name).optional(),
    /** How long a pending approval stays valid (default 24 h). */
    approvalTtlSeconds: z.number().int().positive().optional(),
    /**
     * Lets an approver decide a request they made themselves (same sub and tenant). Off by default:
     * such a decision is APPROVAL_SELF_DENIED, so every gated write takes two people.
     */
    allowSelfApproval: z.boolean().optional(),
  })
  .strict();

export const PROFILES = ['prod', 'internal', 'dev'] as const;
export type Profile = (typeof PROFILES)[number];

export const policySchema = z
  .object({
    /** Defaults for budgets and writes: `prod` (the default) is the strictest. */
    profile: z.enum(PROFILES).optional(),
    /** The tenant field name used by every model that has it (default `tenantId`). */
    tenantField: name.optional(),
    /** The soft-delete field used by every model that has it (default `deletedAt`); `false` turns it off. */
    softDeleteField: z.union([name, z.literal(false)]).optional(),
    /** Only these models are readable (default: every model of the datamodel). */
    expose: z.array(name).optional(),
    /**
     * Field-name globs denied on every model for every role, in addition to the defaults
     * (`DEFAULT_DENY_GLOBS`: `*password*`, `*secret*`, `*token*`, `*access_code*`, …).
     */
    denyFields: z.array(name).optional(),
    /**
     * `false` drops the default deny globs, so only `denyFields` applies: for a schema where a
     * default catches an ordinary field. List the defaults you keep in `denyFields`.
     */
    keepDefaultDenyFields: z.boolean().optional(),
    /**
     * Deprecated: hashed fields are keyed by `ORMAI_HASH_KEY` (or the config's `redaction.hashKey`).
     * Used as the key only outside production when neither is set.
     */
    hashSalt: z.string().optional(),
    models: z.record(z.string(), modelPolicySchema).optional(),
    /** Per-role overlays; they only narrow the base. When given, a principal with none of these roles reads nothing. */
    roles: z
      .record(
        z.string(),
        z
          .object({
            models: z.record(z.string(), roleModelPolicySchema).optional(),
            budgets: budgetsSchema.optional(),
          })
          .strict(),
      )
      .optional(),
    budgets: budgetsSchema.optional(),
    views: z.array(viewSchema).optional(),
    writes: writesSchema.optional(),
    audit: z
      .object({
        /** Roles that may read their tenant's audit log through GraphQL (none unless named). */
        readers: z.array(name).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ModelPolicy = z.infer<typeof modelPolicySchema>;
export type RoleModelPolicy = z.infer<typeof roleModelPolicySchema>;
export type PlannerBudgetKey = keyof typeof plannerBudgetFields;
/** The budgets every role set has (defaults per profile); the planner's are per model (`PlannerBudget`). */
export type Budgets = Required<Omit<z.infer<typeof budgetsSchema>, PlannerBudgetKey>>;
/** A model's planner limits for one role set; null: no limit. */
export type PlannerBudget = Record<PlannerBudgetKey, number | null>;
export type ViewPolicy = z.infer<typeof viewSchema>;
export type WriteRule = z.infer<typeof writeRuleSchema>;
export type WriteKind = 'create' | 'update' | 'delete' | 'bulk';
/** A policy as data: JSON-serialisable, validated at start-up. */
export type Policy = z.infer<typeof policySchema>;

/** Types a policy file's default export: `export default definePolicy({ … })`. */
export function definePolicy(policy: Policy): Policy {
  return policy;
}
