import {
  type Budgets,
  type ModelPolicy,
  type Policy,
  type Profile,
  policySchema,
  type RoleModelPolicy,
  type ViewPolicy,
} from './types.js';

type Where = Record<string, unknown>;

/** Model-level rules shared by the base policy and role overlays. */
class RulesBuilder<Rules extends RoleModelPolicy> {
  protected readonly models: Record<string, Rules> = {};

  protected rules(model: string): Rules {
    this.models[model] ??= {} as Rules;
    return this.models[model]!;
  }

  /** The model is not readable. */
  hide(model: string): this {
    this.rules(model).hidden = true;
    return this;
  }

  /** Only these fields of the model are readable. */
  allowFields(model: string, fields: string[]): this {
    const rules = this.rules(model);
    rules.fields = { ...rules.fields, allow: [...(rules.fields?.allow ?? []), ...fields] };
    return this;
  }

  /** Denies fields (names or globs like `*secret*`) of one model. */
  denyModelFields(model: string, globs: string[]): this {
    const rules = this.rules(model);
    rules.fields = { ...rules.fields, deny: [...(rules.fields?.deny ?? []), ...globs] };
    return this;
  }

  /** Returns fields masked (`j***@example.com`), or by a pattern such as `****{last4}`. */
  maskFields(model: string, fields: string[], pattern?: string): this {
    const rules = this.rules(model);
    const mask = Object.fromEntries(fields.map((field) => [field, pattern ?? (true as const)]));
    rules.fields = { ...rules.fields, mask: { ...rules.fields?.mask, ...mask } };
    return this;
  }

  /** Returns fields as a salted sha256 hex digest. */
  hashFields(model: string, fields: string[]): this {
    const rules = this.rules(model);
    rules.fields = { ...rules.fields, hash: [...(rules.fields?.hash ?? []), ...fields] };
    return this;
  }

  /** Only these relations of the model can be followed. */
  allowRelations(model: string, relations: string[]): this {
    const rules = this.rules(model);
    rules.relations = {
      ...rules.relations,
      allow: [...(rules.relations?.allow ?? []), ...relations],
    };
    return this;
  }

  /** Rows of the model whose `field` equals the principal's `sub` only. */
  ownershipScope(model: string, field: string): this {
    this.rules(model).ownershipField = field;
    return this;
  }

  /** Rows of the model matching `where` only; `$principal.sub`, `$principal.<claim>` are filled in. */
  rowFilter(model: string, where: Where): this {
    const rules = this.rules(model);
    rules.rowFilter = rules.rowFilter ? { AND: [rules.rowFilter, where] } : where;
    return this;
  }

  /** Root lists of the model must be given a filter. */
  requireFilter(model: string): this {
    this.rules(model).requireFilter = true;
    return this;
  }
}

/** What one role may read, narrowing the base policy (see PolicyBuilder.forRole). */
export class RoleBuilder extends RulesBuilder<RoleModelPolicy> {
  #budgets: Partial<Budgets> = {};

  budgets(budgets: Partial<Budgets>): this {
    this.#budgets = { ...this.#budgets, ...budgets };
    return this;
  }

  /** @internal */
  toData() {
    return {
      ...(Object.keys(this.models).length > 0 ? { models: this.models } : {}),
      ...(Object.keys(this.#budgets).length > 0 ? { budgets: this.#budgets } : {}),
    };
  }
}

/**
 * Builds a policy in code, in the spirit of OrmAI's PolicyBuilder; `build()` returns the same
 * JSON-serialisable data a policy file holds, validated.
 *
 * ```ts
 * const policy = new PolicyBuilder('prod')
 *   .registerModels(['Customer', 'Order'])
 *   .tenantScope('tenantId')
 *   .maskFields('Customer', ['email'])
 *   .forRole('sales', (role) => role.ownershipScope('Order', 'salesRepId'))
 *   .build();
 * ```
 */
export class PolicyBuilder extends RulesBuilder<ModelPolicy> {
  #policy: Policy = {};
  #roles: Record<string, RoleBuilder> = {};

  constructor(profile: Profile = 'prod') {
    super();
    this.#policy.profile = profile;
  }

  /** Only these models are readable. */
  registerModels(models: string[]): this {
    this.#policy.expose = [...(this.#policy.expose ?? []), ...models];
    return this;
  }

  /** Denies field-name globs on every model, in addition to the defaults (`*password*`, …). */
  denyFields(globs: string[]): this {
    this.#policy.denyFields = [...(this.#policy.denyFields ?? []), ...globs];
    return this;
  }

  /** Drops the default deny globs (`DEFAULT_DENY_GLOBS`): only `denyFields` applies. */
  withoutDefaultDenyFields(): this {
    this.#policy.keepDefaultDenyFields = false;
    return this;
  }

  /** The field every model is scoped by (default `tenantId`); `model` names one model's own. */
  tenantScope(field: string, model?: string): this {
    if (model) this.rules(model).tenantField = field;
    else this.#policy.tenantField = field;
    return this;
  }

  /**
   * The model's rows belong to the tenant of their parent, through a required to-one relation
   * (`scopeThrough('OrderItem', 'order')`): visible iff the parent is, by its tenant and soft delete.
   */
  scopeThrough(model: string, relation: string): this {
    this.rules(model).scopeThrough = relation;
    return this;
  }

  /** The model is shared by every tenant (reference data). */
  global(model: string): this {
    this.rules(model).global = true;
    return this;
  }

  softDelete(field: string | false, model?: string): this {
    if (model) this.rules(model).softDeleteField = field;
    else this.#policy.softDeleteField = field;
    return this;
  }

  budgets(budgets: Partial<Budgets>): this {
    this.#policy.budgets = { ...this.#policy.budgets, ...budgets };
    return this;
  }

  /** @deprecated hashed fields are keyed by `ORMAI_HASH_KEY`; this is the key only outside production. */
  hashSalt(salt: string): this {
    this.#policy.hashSalt = salt;
    return this;
  }

  view(view: ViewPolicy): this {
    this.#policy.views = [...(this.#policy.views ?? []), view];
    return this;
  }

  /** An overlay for one role: what it may read, narrower than the base. */
  forRole(role: string, define: (role: RoleBuilder) => RoleBuilder | undefined = (r) => r): this {
    const builder = this.#roles[role] ?? new RoleBuilder();
    this.#roles[role] = define(builder) ?? builder;
    return this;
  }

  /** The policy as data; throws with every problem listed when the shape is wrong. */
  build(): Policy {
    const data: Policy = {
      ...this.#policy,
      ...(Object.keys(this.models).length > 0 ? { models: this.models } : {}),
      ...(Object.keys(this.#roles).length > 0
        ? {
            roles: Object.fromEntries(
              Object.entries(this.#roles).map(([name, role]) => [name, role.toData()]),
            ),
          }
        : {}),
    };
    const parsed = policySchema.safeParse(data);
    if (!parsed.success) {
      throw new Error(
        `the policy is invalid:\n  ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n  ')}`,
      );
    }
    return structuredClone(parsed.data);
  }
}
