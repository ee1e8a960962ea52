import { createHash } from 'node:crypto';
import { canonicalJson } from '../json-value.js';
import {
  type Datamodel,
  type DatamodelField,
  type DatamodelModel,
  enumValuesOf,
  isUuidColumn,
  type ScalarType,
} from './datamodel.js';
import {
  DEFAULT_DENY_GLOBS,
  DEFAULT_SOFT_DELETE_FIELD,
  DEFAULT_TENANT_FIELD,
  DEV_HASH_KEY,
  PROFILE_BUDGETS,
} from './defaults.js';
import { matchesAnyGlob } from './globs.js';
import type { Redaction } from './redaction.js';
import { fail, ok, type Result } from './result.js';
import { type FieldByRole, mergeFieldRules, type RoleFieldRule } from './role-rules.js';
import { RoleSetCache } from './role-set-cache.js';
import { closest } from './suggest.js';
import {
  type Budgets,
  type ModelPolicy,
  type PlannerBudget,
  type PlannerBudgetKey,
  type Policy,
  type Profile,
  policySchema,
  type RoleModelPolicy,
  type WriteKind,
} from './types.js';

export interface CompiledField {
  name: string;
  type: ScalarType | string;
  kind: 'scalar' | 'enum';
  nullable: boolean;
  list: boolean;
  /** How the value is returned; null when plain. A redacted field is never filterable or sortable. */
  redaction: Redaction | null;
  /**
   * Set when the principal's roles disagree on the field row by row (one sees its own rows plain,
   * another every row masked): the value is then decided per row, `redaction` is the heaviest mask
   * or hash a row may get, and the field is never filterable, sortable or aggregated.
   */
  byRole?: FieldByRole;
  /** A String stored as a uuid (`@db.Uuid`): it takes uuids only, with no text or range operator. */
  uuid?: boolean;
}

/** One pair of join columns: this model's field equals the target's field. */
export interface RelationKey {
  localField: string;
  targetField: string;
}

export interface CompiledRelation {
  name: string;
  target: string;
  list: boolean;
  nullable: boolean;
  /** When the relation joins on single fields: this model's field equals the target's field. */
  join: RelationKey | null;
  /** Every pair of join fields (one, or several for a compound key); null for many-to-many. */
  keys: RelationKey[] | null;
}

/** A where template: Prisma-shaped, with `$principal.<claim>` strings filled in per request. */
export type WhereTemplate = Record<string, unknown>;

/**
 * The part of a model's scope that is the same for every role: its tenant (by its own field, or
 * through its parent) and its soft delete. What a child scoped through the model inherits.
 */
export interface TenantScope {
  name: string;
  /** The field compared with the principal's tenant; null for a global, unscoped or scope-through model. */
  tenantField: CompiledField | null;
  softDeleteField: string | null;
  /** The parent whose tenant scope this model's rows take (`scopeThrough`); null otherwise. */
  scopeThrough: ScopeThrough | null;
}

export interface ScopeThrough {
  /** The required to-one relation to the parent. */
  relation: string;
  /** This model's foreign key fields and the parent's fields they reference. */
  keys: RelationKey[];
  parent: TenantScope;
}

export interface CompiledModel extends TenantScope {
  /**
   * The fields that name one row, in key order: the primary key (`@id` or `@@id`), else the first
   * unique of required fields (`@unique` or `@@unique`); empty when the model has neither, and
   * then it has no single-row field and no writes by key.
   */
  primaryKey: CompiledField[];
  /**
   * Prisma's name for a compound key in a unique where (`orgId_id`, or the key's own name); null
   * for a single-field key.
   */
  primaryKeyName: string | null;
  /** The primary key when it is one field (`primaryKey[0]`), or null for a compound or missing one. */
  idField: CompiledField | null;
  /**
   * Explicitly not tenant-scoped. A model with no tenant field, no scope through a parent and not
   * global is unscoped (ormai check fails).
   */
  global: boolean;
  /** Readable scalar fields, in datamodel order. */
  fields: Map<string, CompiledField>;
  /** Relations to models readable by the same roles. */
  relations: Map<string, CompiledRelation>;
  /**
   * Row filters ORed across roles (each one's ownership and row filter ANDed); null: no filter. A
   * row is visible when one role sees it; its fields are then as that role returns them (`byRole`).
   */
  rowFilters: WhereTemplate[] | null;
  /** Root lists need a where (QUERY_TOO_BROAD otherwise). */
  requireFilter: boolean;
  /** Limits on the planner's estimate for a statement that reads this model; null: none. */
  plannerBudget: PlannerBudget | null;
}

export interface CompiledView {
  name: string;
  model: string;
  fields: CompiledField[];
  computed: {
    name: string;
    kind: 'count' | 'sum';
    relation: CompiledRelation;
    /** The summed field of the relation's target, for `sum`. */
    field?: CompiledField;
  }[];
}

/** What one set of roles may read: the input of the schema builder and the MCP bridge. */
export interface CompiledPolicy {
  /** The roles this was compiled for (sorted; the known ones only). */
  roles: string[];
  profile: Profile;
  models: Map<string, CompiledModel>;
  views: Map<string, CompiledView>;
  budgets: Budgets;
  /** Keys the HMAC of hashed fields (`ORMAI_HASH_KEY`; see `compilePolicy`'s options). */
  hashKey: string;
  writesEnabled: boolean;
  /** Per model, the writes these roles may make (empty while writes are off). */
  writes: Map<string, Partial<Record<WriteKind, CompiledWrite>>>;
  /** Whether these roles may approve or reject pending writes. */
  canApprove: boolean;
  approvalTtlSeconds: number;
  /** Whether an approver may decide a request they made (`writes.allowSelfApproval`). */
  allowSelfApproval: boolean;
  /** Whether these roles may read their tenant's audit log. */
  auditReadable: boolean;
  /** The values of each enum the datamodel names them for (`Datamodel.enums`). */
  enums: Map<string, readonly string[]>;
  /** The version of the policy this was compiled from (`PolicyEngine.version`). */
  version: string;
}

/** The validated policy, compiled per set of roles on demand and cached. */
export interface PolicyEngine {
  policy: Policy;
  datamodel: Datamodel;
  /**
   * The policy's version: the first 16 hex digits of the sha256 of the canonical JSON of the
   * validated policy and the datamodel. Equal policies over equal datamodels have equal versions;
   * the hash key is a secret and is not part of it. Every audit record names it.
   */
  version: string;
  /** Roles the policy names; empty when it has no role overlays. */
  declaredRoles: string[];
  /**
   * The policy compiled for a set of roles (unknown roles ignored, order and repeats irrelevant),
   * from the cache when it holds that set.
   */
  forRoles(roles: readonly string[]): CompiledPolicy;
  /** The compiled role sets kept, at most `roleSetCacheSize` (least recently used dropped first). */
  readonly roleSets: Pick<RoleSetCache<CompiledPolicy>, 'size' | 'capacity' | 'keys' | 'values'>;
}

interface RoleView {
  role: string;
  fields: Map<string, CompiledField>;
  relations: Set<string>;
  rowFilter: WhereTemplate | null;
  requireFilter: boolean;
}

/**
 * Validates a policy against the datamodel and returns an engine that compiles it for any set of
 * roles. Pure: every problem is listed with its path (and a suggestion), nothing is thrown.
 */
export interface CompilePolicyOptions {
  /**
   * The secret hashed fields are keyed with (`ORMAI_HASH_KEY`). Without it: the policy's deprecated
   * `hashSalt`, else the published dev key (`DEV_HASH_KEY`), which the server refuses in production.
   */
  hashKey?: string;
  /** Role sets kept compiled (`server.roleSetCacheSize`; default `DEFAULT_ROLE_SET_CACHE_SIZE`). */
  roleSetCacheSize?: number;
}

export function compilePolicy(
  input: unknown,
  datamodel: Datamodel,
  options: CompilePolicyOptions = {},
): Result<PolicyEngine> {
  const parsed = policySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(policy)'}: ${issue.message}`,
    );
    return invalid(problems);
  }
  const policy = parsed.data;
  const problems = validateReferences(policy, datamodel);
  if (problems.length > 0) return invalid(problems);

  const profile = policy.profile ?? 'prod';
  const declaredRoles = Object.keys(policy.roles ?? {}).sort();
  const scopes = tenantScopes(policy, datamodel);
  const hashKey = options.hashKey ?? policy.hashSalt ?? DEV_HASH_KEY;
  const cache = new RoleSetCache<CompiledPolicy>(options.roleSetCacheSize);
  const version = policyVersion(policy, datamodel);
  const engine: PolicyEngine = {
    policy,
    datamodel,
    version,
    declaredRoles,
    roleSets: cache,
    forRoles(roles) {
      const known = policy.roles
        ? [...new Set(roles.filter((role) => role in policy.roles!))].sort()
        : [];
      return cache.get(known.join(','), () =>
        compileForRoles(policy, datamodel, scopes, profile, known, hashKey, version),
      );
    },
  };
  return ok(engine);
}

/** See `PolicyEngine.version`. */
export function policyVersion(policy: Policy, datamodel: Datamodel): string {
  const content = canonicalJson({ policy, datamodel });
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

function invalid(problems: string[]) {
  return fail('INVALID_POLICY', `the policy is invalid:\n  ${problems.join('\n  ')}`, problems);
}

function compileForRoles(
  policy: Policy,
  datamodel: Datamodel,
  scopes: Map<string, TenantScope>,
  profile: Profile,
  roles: string[],
  hashKey: string,
  version: string,
): CompiledPolicy {
  const models = datamodel.datamodel.models;
  // with role overlays, each known role contributes a view; without any, the base stands alone
  const overlays: (string | null)[] = policy.roles ? roles : [null];
  const compiled = new Map<string, CompiledModel>();
  const relationSets = new Map<string, Set<string>>();

  for (const [name, model] of Object.entries(models)) {
    const base = policy.models?.[name] ?? {};
    const views = overlays
      .map((role) =>
        roleView(
          policy,
          name,
          model,
          base,
          role ? policy.roles?.[role]?.models?.[name] : undefined,
          role ?? '',
        ),
      )
      .filter((view): view is RoleView => view !== null);
    if (views.length === 0) continue;

    const key = rowKey(model);
    const fields = mergeFields(name, model, views, key.fields);

    compiled.set(name, {
      ...scopes.get(name)!,
      primaryKey: key.fields,
      primaryKeyName: key.name,
      idField: key.fields.length === 1 ? key.fields[0]! : null,
      global: base.global ?? false,
      fields,
      relations: new Map(),
      rowFilters: views.some((view) => view.rowFilter === null)
        ? null
        : views.map((view) => view.rowFilter!),
      requireFilter: views.every((view) => view.requireFilter),
      plannerBudget: plannerBudgetFor(
        policy,
        name,
        views.map((view) => view.role || null),
      ),
    });
    relationSets.set(name, new Set(views.flatMap((view) => [...view.relations])));
  }

  for (const [name, compiledModel] of compiled) {
    const allowed = relationSets.get(name)!;
    for (const field of models[name]!.fields) {
      if (field.kind !== 'object' || !allowed.has(field.name) || !compiled.has(field.type))
        continue;
      const keys = relationKeys(datamodel, name, field);
      compiledModel.relations.set(field.name, {
        name: field.name,
        target: field.type,
        list: field.isList,
        nullable: !field.isRequired,
        join: keys?.length === 1 ? keys[0]! : null,
        keys,
      });
    }
  }

  return {
    roles,
    profile,
    models: compiled,
    views: compileViews(policy, compiled, roles),
    budgets: budgetsFor(policy, profile, roles),
    hashKey,
    writesEnabled: policy.writes?.enabled === true,
    writes: compileWrites(policy, profile, roles, compiled),
    // no implicit approver or audit reader: the policy names them (ormai check says when it does not)
    canApprove:
      policy.writes?.enabled === true &&
      roles.some((role) => (policy.writes?.approvers ?? []).includes(role)),
    approvalTtlSeconds: policy.writes?.approvalTtlSeconds ?? 86_400,
    allowSelfApproval: policy.writes?.allowSelfApproval === true,
    auditReadable: roles.some((role) => (policy.audit?.readers ?? []).includes(role)),
    enums: enumValuesOf(datamodel),
    version,
  };
}

export interface CompiledWrite {
  kind: WriteKind;
  /** Settable fields (create, update, bulk). */
  fields: string[];
  requireReason: boolean;
  maxAffectedRows: number;
  /** Approval needed: always (true), never (false), or for more than `minIds - 1` ids. */
  requireApproval: boolean | { minIds: number };
  allowHardDelete: boolean;
}

/**
 * The writes a set of roles may make: nothing unless writes are enabled. Several roles take the
 * union, each write kind from the first role that grants it (in sorted role order).
 */
function compileWrites(
  policy: Policy,
  profile: Profile,
  roles: string[],
  models: Map<string, CompiledModel>,
): Map<string, Partial<Record<WriteKind, CompiledWrite>>> {
  const writes = new Map<string, Partial<Record<WriteKind, CompiledWrite>>>();
  if (!policy.writes?.enabled) return writes;
  for (const [model, byRole] of Object.entries(policy.writes.models ?? {})) {
    if (!models.has(model)) continue;
    const kinds: Partial<Record<WriteKind, CompiledWrite>> = {};
    for (const role of roles) {
      for (const kind of ['create', 'update', 'delete', 'bulk'] as const) {
        const rule = byRole[role]?.[kind];
        if (!rule || kinds[kind]) continue;
        kinds[kind] = {
          kind,
          fields: rule.fields ?? [],
          requireReason: rule.requireReason ?? profile === 'prod',
          maxAffectedRows: rule.maxAffectedRows ?? (kind === 'bulk' ? 100 : 1),
          requireApproval: rule.requireApproval ?? false,
          allowHardDelete: rule.allowHardDelete ?? false,
        };
      }
    }
    if (Object.keys(kinds).length > 0) writes.set(model, kinds);
  }
  return writes;
}

/** One role's view of one model: base rules narrowed by the role's overlay; null when hidden. */
function roleView(
  policy: Policy,
  name: string,
  model: DatamodelModel,
  base: ModelPolicy,
  overlay: RoleModelPolicy | undefined,
  role: string,
): RoleView | null {
  const rules = [base, overlay].filter((rule): rule is RoleModelPolicy => !!rule);
  if (rules.some((rule) => rule.hidden)) return null;
  if (policy.expose && !policy.expose.includes(name)) return null;
  const denyGlobs = [
    ...(policy.keepDefaultDenyFields === false ? [] : DEFAULT_DENY_GLOBS),
    ...(policy.denyFields ?? []),
    ...rules.flatMap((rule) => rule.fields?.deny ?? []),
  ];
  const fields = new Map<string, CompiledField>();
  for (const field of model.fields) {
    if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
    // a secret is found by its column name too: `code String @map("access_code")`
    if (matchesAnyGlob(field.name, denyGlobs)) continue;
    if (field.dbName && matchesAnyGlob(field.dbName, denyGlobs)) continue;
    if (rules.some((rule) => rule.fields?.allow && !rule.fields.allow.includes(field.name)))
      continue;
    let redaction: Redaction | null = null;
    for (const rule of rules) {
      const mask = rule.fields?.mask?.[field.name];
      if (mask !== undefined && redaction?.kind !== 'hash') {
        redaction = mask === true ? { kind: 'mask' } : { kind: 'mask', pattern: mask };
      }
      if (rule.fields?.hash?.includes(field.name)) redaction = { kind: 'hash' };
    }
    fields.set(field.name, toCompiledField(field, redaction));
  }
  const relations = new Set(
    model.fields
      .filter((field) => field.kind === 'object')
      .map((field) => field.name)
      .filter((relation) =>
        rules.every(
          (rule) =>
            (!rule.relations?.allow || rule.relations.allow.includes(relation)) &&
            !rule.relations?.deny?.includes(relation),
        ),
      ),
  );
  const filters = rules.flatMap((rule) => [
    ...(rule.ownershipField ? [{ [rule.ownershipField]: '$principal.sub' }] : []),
    ...(rule.rowFilter ? [rule.rowFilter] : []),
  ]);
  return {
    role,
    fields,
    relations,
    rowFilter: filters.length === 0 ? null : filters.length === 1 ? filters[0]! : { AND: filters },
    requireFilter: rules.some((rule) => rule.requireFilter),
  };
}

/**
 * Several roles: each field as the roles that see a row would return it (role-rules.ts). Where
 * the answer is the same for every row the field is compiled once (plain, masked, hashed, or
 * absent when denied throughout); where it depends on the row, the field keeps every role's rule
 * and row filter (`byRole`) and is decided per row when resolved.
 */
function mergeFields(
  name: string,
  model: DatamodelModel,
  views: RoleView[],
  key: CompiledField[],
): Map<string, CompiledField> {
  const fields = new Map<string, CompiledField>();
  for (const field of model.fields) {
    const rules: RoleFieldRule[] = views.map((view) => {
      const readable = view.fields.get(field.name);
      return {
        role: view.role,
        rowFilter: view.rowFilter,
        rule: readable ? (readable.redaction ?? { kind: 'plain' }) : { kind: 'deny' },
      };
    });
    if (rules.every((entry) => entry.rule.kind === 'deny')) continue;
    const merged = mergeFieldRules(rules);
    if (merged.kind === 'same') {
      if (merged.rule.kind === 'deny') continue;
      fields.set(
        field.name,
        toCompiledField(field, merged.rule.kind === 'plain' ? null : merged.rule),
      );
      continue;
    }
    fields.set(field.name, {
      ...toCompiledField(field, merged.redaction),
      nullable: !field.isRequired || merged.nullable,
      byRole: {
        model: name,
        key: key.map((keyField) => keyField.name),
        rules: merged.rules,
      },
    });
  }
  return fields;
}

const PLANNER_KEYS: readonly PlannerBudgetKey[] = ['maxEstimatedRows', 'maxEstimatedCost'];

/** A budgets object without the planner's limits (those are compiled per model). */
function generalBudgets(budgets: Policy['budgets']): Partial<Budgets> {
  const { maxEstimatedRows: _rows, maxEstimatedCost: _cost, ...general } = budgets ?? {};
  return general;
}

/**
 * A model's planner limits for the roles that read it (null: the policy has no overlays). For one
 * role every limit that names the model holds, so the lowest of the general one (the role's, else
 * the policy's) and the model's own (the role's for the model, else the base model's) applies;
 * several roles take the most generous, like every other budget, and one without a limit lifts it.
 */
function plannerBudgetFor(
  policy: Policy,
  model: string,
  roles: (string | null)[],
): PlannerBudget | null {
  const limitOf = (role: string | null, key: PlannerBudgetKey): number | null => {
    const overlay = role ? policy.roles?.[role] : undefined;
    const general = overlay?.budgets?.[key] ?? policy.budgets?.[key];
    const own = overlay?.models?.[model]?.budgets?.[key] ?? policy.models?.[model]?.budgets?.[key];
    const limits = [general, own].filter((limit): limit is number => limit !== undefined);
    return limits.length > 0 ? Math.min(...limits) : null;
  };
  const budget = Object.fromEntries(
    PLANNER_KEYS.map((key) => {
      const limits = roles.map((role) => limitOf(role, key));
      return [key, limits.includes(null) ? null : Math.max(...(limits as number[]))];
    }),
  ) as PlannerBudget;
  return PLANNER_KEYS.some((key) => budget[key] !== null) ? budget : null;
}

/** Whether a (validated) policy sets a planner limit anywhere. */
export function hasPlannerBudgets(policy: Policy): boolean {
  const sets = (budgets: Partial<Record<PlannerBudgetKey, number>> | undefined) =>
    PLANNER_KEYS.some((key) => budgets?.[key] !== undefined);
  const inModels = (models: Record<string, { budgets?: object }> | undefined) =>
    Object.values(models ?? {}).some((model) => sets(model.budgets));
  return (
    sets(policy.budgets) ||
    inModels(policy.models) ||
    Object.values(policy.roles ?? {}).some((role) => sets(role.budgets) || inModels(role.models))
  );
}

function budgetsFor(policy: Policy, profile: Profile, roles: string[]): Budgets {
  const base: Budgets = { ...PROFILE_BUDGETS[profile], ...generalBudgets(policy.budgets) };
  const perRole = roles.map((role) => ({
    ...base,
    ...generalBudgets(policy.roles?.[role]?.budgets),
  }));
  if (perRole.length === 0) return base;
  // several roles: the most generous of each budget
  return Object.fromEntries(
    Object.keys(base).map((key) => [
      key,
      Math.max(...perRole.map((budgets) => budgets[key as keyof Budgets])),
    ]),
  ) as Budgets;
}

function compileViews(policy: Policy, models: Map<string, CompiledModel>, roles: string[]) {
  const views = new Map<string, CompiledView>();
  for (const view of policy.views ?? []) {
    const model = models.get(view.model);
    if (!model) continue;
    if (policy.roles && view.roles && !view.roles.some((role) => roles.includes(role))) continue;
    const fields = view.fields
      .map((field) => model.fields.get(field))
      .filter((field): field is CompiledField => !!field);
    const computed: CompiledView['computed'] = [];
    for (const [name, spec] of Object.entries(view.computed ?? {})) {
      const path = 'count' in spec ? spec.count : spec.sum;
      const [relationName, fieldName] = path.split('.');
      const relation = model.relations.get(relationName!);
      if (!relation?.list) continue;
      if ('count' in spec) {
        computed.push({ name, kind: 'count', relation });
        continue;
      }
      const field = models.get(relation.target)?.fields.get(fieldName ?? '');
      // a sum over a redacted field would reveal it
      if (field && !field.redaction && !field.byRole)
        computed.push({ name, kind: 'sum', relation, field });
    }
    views.set(view.name, { name: view.name, model: view.model, fields, computed });
  }
  return views;
}

/** Every name the policy mentions must exist in the datamodel. */
function validateReferences(policy: Policy, datamodel: Datamodel): string[] {
  const models = datamodel.datamodel.models;
  const modelNames = Object.keys(models);
  const problems: string[] = [];
  const unknownModel = (path: string, name: string) =>
    problems.push(`${path}: unknown model ${name}${suggestion(name, modelNames)}`);
  const scalarsOf = (model: DatamodelModel) => model.fields.filter((f) => f.kind !== 'object');
  const relationsOf = (model: DatamodelModel) =>
    model.fields.filter((f) => f.kind === 'object').map((f) => f.name);

  const checkRules = (path: string, modelName: string, rules: RoleModelPolicy) => {
    const model = models[modelName]!;
    const scalars = scalarsOf(model);
    const relations = relationsOf(model);
    const field = (where: string, name: string) => {
      if (!scalars.some((f) => f.name === name)) {
        problems.push(`${path}.${where}: ${unknownField(name, scalars)}`);
      }
    };
    for (const name of rules.fields?.allow ?? []) field('fields.allow', name);
    for (const name of rules.fields?.deny ?? [])
      if (!name.includes('*')) field('fields.deny', name);
    for (const name of Object.keys(rules.fields?.mask ?? {})) field('fields.mask', name);
    for (const name of rules.fields?.hash ?? []) field('fields.hash', name);
    for (const [key, names] of Object.entries(rules.relations ?? {})) {
      for (const name of names ?? []) {
        if (!relations.includes(name)) {
          problems.push(
            `${path}.relations.${key}: unknown relation ${name}${suggestion(name, relations)}`,
          );
        }
      }
    }
    if (rules.ownershipField) field('ownershipField', rules.ownershipField);
    if (rules.rowFilter)
      problems.push(...whereProblems(`${path}.rowFilter`, datamodel, modelName, rules.rowFilter));
  };

  problems.push(...policyFieldProblems(policy, datamodel));
  for (const [index, name] of (policy.expose ?? []).entries()) {
    if (!models[name]) unknownModel(`expose[${index}]`, name);
  }
  for (const [name, rules] of Object.entries(policy.models ?? {})) {
    if (!models[name]) {
      unknownModel(`models.${name}`, name);
      continue;
    }
    checkRules(`models.${name}`, name, rules);
    const fields = models[name]!.fields;
    if (rules.tenantField && !fields.some((f) => f.name === rules.tenantField)) {
      problems.push(`models.${name}.tenantField: ${unknownField(rules.tenantField, fields)}`);
    }
    if (
      rules.softDeleteField &&
      fields.find((f) => f.name === rules.softDeleteField)?.type !== 'DateTime'
    ) {
      const known = fields.some((f) => f.name === rules.softDeleteField);
      problems.push(
        `models.${name}.softDeleteField: ${
          known
            ? `${rules.softDeleteField} is not a DateTime field of ${name}`
            : unknownField(
                rules.softDeleteField,
                fields.filter((f) => f.type === 'DateTime'),
                'DateTime field',
              )
        }`,
      );
    }
    problems.push(...scopeThroughProblems(policy, datamodel, name));
  }
  for (const [role, overlay] of Object.entries(policy.roles ?? {})) {
    for (const [name, rules] of Object.entries(overlay.models ?? {})) {
      if (!models[name]) unknownModel(`roles.${role}.models.${name}`, name);
      else checkRules(`roles.${role}.models.${name}`, name, rules);
    }
  }
  for (const [name, byRole] of Object.entries(policy.writes?.models ?? {})) {
    const model = models[name];
    if (!model) {
      unknownModel(`writes.models.${name}`, name);
      continue;
    }
    const scalars = scalarsOf(model);
    for (const [role, kinds] of Object.entries(byRole)) {
      if (policy.roles && !(role in policy.roles)) {
        problems.push(
          `writes.models.${name}.${role}: unknown role${suggestion(role, Object.keys(policy.roles))}`,
        );
      }
      for (const [kind, rule] of Object.entries(kinds)) {
        for (const field of rule?.fields ?? []) {
          if (!scalars.some((f) => f.name === field)) {
            problems.push(
              `writes.models.${name}.${role}.${kind}.fields: ${unknownField(field, scalars)}`,
            );
          }
        }
      }
    }
  }
  for (const [index, view] of (policy.views ?? []).entries()) {
    const path = `views[${index}] ${view.name}`;
    const model = models[view.model];
    if (!model) {
      unknownModel(`${path}.model`, view.model);
      continue;
    }
    if (models[view.name]) problems.push(`${path}.name: ${view.name} is already a model`);
    const scalars = scalarsOf(model);
    for (const field of view.fields) {
      if (!scalars.some((f) => f.name === field))
        problems.push(`${path}.fields: ${unknownField(field, scalars)}`);
    }
    for (const [name, spec] of Object.entries(view.computed ?? {})) {
      const [relationName, fieldName] = ('count' in spec ? spec.count : spec.sum).split('.');
      const relation = model.fields.find((f) => f.kind === 'object' && f.name === relationName);
      if (!relation?.isList) {
        problems.push(
          `${path}.computed.${name}: ${relationName} is not a to-many relation of ${view.model}${
            relation ? '' : suggestion(relationName ?? '', relationsOf(model))
          }`,
        );
        continue;
      }
      if ('sum' in spec) {
        const targetFields = models[relation.type]!.fields;
        const target = targetFields.find((f) => f.name === fieldName);
        if (!target || !['Int', 'Float', 'Decimal', 'BigInt'].includes(target.type)) {
          const numeric = targetFields.filter((f) =>
            ['Int', 'Float', 'Decimal', 'BigInt'].includes(f.type),
          );
          problems.push(
            `${path}.computed.${name}: sum needs a numeric field, as in ${relationName}.<field>${
              !target && fieldName ? `; ${unknownField(fieldName, numeric)}` : ''
            }`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * The policy-wide tenant and soft-delete fields must be fields of some model: a misspelt one
 * (or a column name, `team_id` for `teamId`) would otherwise leave every model silently unscoped
 * (or every soft-deleted row visible), and `ormai check` would list each model instead of the cause.
 */
function policyFieldProblems(policy: Policy, datamodel: Datamodel): string[] {
  const fields = Object.values(datamodel.datamodel.models).flatMap((model) =>
    model.fields.filter((field) => field.kind !== 'object'),
  );
  const problems: string[] = [];
  if (policy.tenantField && !fields.some((field) => field.name === policy.tenantField)) {
    problems.push(
      `tenantField: no model would be tenant-scoped: ${unknownField(policy.tenantField, fields)}`,
    );
  }
  const softDelete = policy.softDeleteField;
  const dates = fields.filter((field) => field.type === 'DateTime');
  if (softDelete && !dates.some((field) => field.name === softDelete)) {
    problems.push(
      `softDeleteField: no row would count as deleted: ${unknownField(softDelete, dates, 'DateTime field')}`,
    );
  }
  return problems;
}

/**
 * `scopeThrough` names a required to-one relation whose target is tenant-scoped itself (by a
 * tenant field, or through its own parent, without a cycle); the model has no tenant field of its
 * own and is not global.
 */
function scopeThroughProblems(policy: Policy, datamodel: Datamodel, name: string): string[] {
  const models = datamodel.datamodel.models;
  const rules = policy.models?.[name];
  if (!rules?.scopeThrough) return [];
  const path = `models.${name}.scopeThrough`;
  const through = rules.scopeThrough;
  const problems: string[] = [];
  if (rules.tenantField) {
    problems.push(
      `${path}: ${name} names both tenantField and scopeThrough; keep one (scopeThrough takes the tenant of the parent)`,
    );
  }
  if (rules.global)
    problems.push(`${path}: ${name} is global and scoped through ${through}; keep one`);
  const fields = models[name]!.fields;
  const relation = fields.find((field) => field.kind === 'object' && field.name === through);
  if (!relation) {
    // the foreign key named instead of its relation: `orderId` for `order`
    const owner = fields.find(
      (field) => field.kind === 'object' && field.relationFromFields?.includes(through),
    );
    const relations = fields.filter((field) => field.kind === 'object').map((field) => field.name);
    problems.push(
      `${path}: unknown relation ${through}${
        owner
          ? ` (the foreign key of ${owner.name}: name the relation)`
          : suggestion(through, relations)
      }`,
    );
    return problems;
  }
  if (relation.isList) {
    problems.push(
      `${path}: ${through} is a to-many relation; scope through the required to-one relation to the parent`,
    );
    return problems;
  }
  if (!relation.isRequired || !relation.relationFromFields?.length) {
    problems.push(
      `${path}: ${through} is optional, so a row without a parent would belong to no tenant; scope through a required relation`,
    );
    return problems;
  }
  if (!relationKeys(datamodel, name, relation)) {
    problems.push(`${path}: the fields ${through} joins on cannot be read from the datamodel`);
    return problems;
  }
  const chain = [name];
  let parent = relation.type;
  while (policy.models?.[parent]?.scopeThrough) {
    if (chain.includes(parent)) {
      problems.push(`${path}: a cycle: ${[...chain, parent].join(' → ')}`);
      return problems;
    }
    chain.push(parent);
    const next = models[parent]?.fields.find(
      (field) => field.kind === 'object' && field.name === policy.models?.[parent]?.scopeThrough,
    );
    // a broken link is reported on the model that declares it
    if (!next) return problems;
    parent = next.type;
  }
  if (policy.models?.[parent]?.global) {
    problems.push(
      `${path}: ${parent} is global, so scoping through it would show every tenant's rows; give ${chain.at(-1)} a tenant field or mark it global`,
    );
  } else if (!tenantFieldOf(policy, parent, models[parent]!)) {
    problems.push(
      `${path}: ${parent} is not tenant-scoped (no tenant field), so it cannot scope ${chain.at(-1)}`,
    );
  }
  return problems;
}

/** Unknown fields or relations named in a row-filter template. */
function whereProblems(
  path: string,
  datamodel: Datamodel,
  modelName: string,
  where: unknown,
): string[] {
  const problems: string[] = [];
  const model = datamodel.datamodel.models[modelName]!;
  if (where === null || typeof where !== 'object' || Array.isArray(where)) {
    return [`${path}: a row filter is an object, e.g. { status: { not: "draft" } }`];
  }
  for (const [key, value] of Object.entries(where as Record<string, unknown>)) {
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      const list = Array.isArray(value) ? value : [value];
      for (const [i, item] of list.entries()) {
        problems.push(...whereProblems(`${path}.${key}[${i}]`, datamodel, modelName, item));
      }
      continue;
    }
    const field = model.fields.find((f) => f.name === key);
    if (!field) {
      problems.push(`${path}: ${unknownField(key, model.fields)}`);
    } else if (field.kind === 'object' && value && typeof value === 'object') {
      for (const [op, inner] of Object.entries(value as Record<string, unknown>)) {
        if (['some', 'every', 'none', 'is', 'isNot'].includes(op)) {
          problems.push(...whereProblems(`${path}.${key}.${op}`, datamodel, field.type, inner));
        }
      }
    }
  }
  return problems;
}

/** The tenant field of a model: its own, else the policy's when it has it; none when global or scoped through a parent. */
function tenantFieldOf(
  policy: Policy,
  name: string,
  model: DatamodelModel,
): DatamodelField | undefined {
  const rules = policy.models?.[name];
  if (rules?.global || rules?.scopeThrough) return undefined;
  const tenantName = rules?.tenantField ?? policy.tenantField ?? DEFAULT_TENANT_FIELD;
  const field = model.fields.find((candidate) => candidate.name === tenantName);
  return field?.kind === 'object' ? undefined : field;
}

/**
 * Every model's tenant scope, the same for every role: a child scoped through a parent takes the
 * parent's even where a role cannot read the parent. Validation has ruled out cycles.
 */
function tenantScopes(policy: Policy, datamodel: Datamodel): Map<string, TenantScope> {
  const models = datamodel.datamodel.models;
  const scopes = new Map<string, TenantScope>();
  const resolve = (name: string): TenantScope => {
    const known = scopes.get(name);
    if (known) return known;
    const model = models[name]!;
    const rules = policy.models?.[name];
    const byName = new Map(model.fields.map((field) => [field.name, field]));
    const tenant = tenantFieldOf(policy, name, model);
    const softDelete =
      rules?.softDeleteField ?? policy.softDeleteField ?? DEFAULT_SOFT_DELETE_FIELD;
    const relation = rules?.scopeThrough ? byName.get(rules.scopeThrough) : undefined;
    const scope: TenantScope = {
      name,
      tenantField: tenant ? toCompiledField(tenant, null) : null,
      softDeleteField:
        softDelete !== false && byName.get(softDelete)?.type === 'DateTime' ? softDelete : null,
      scopeThrough: relation
        ? {
            relation: relation.name,
            keys: relationKeys(datamodel, name, relation)!,
            parent: resolve(relation.type),
          }
        : null,
    };
    scopes.set(name, scope);
    return scope;
  };
  for (const name of Object.keys(models)) resolve(name);
  return scopes;
}

function suggestion(name: string, candidates: string[]): string {
  const best = closest(name, candidates);
  return best ? `; did you mean ${best}?` : '';
}

/**
 * `unknown field <name>` with a hint: when the name is a field's column (`@map("team_id")`), the
 * field to name instead; otherwise the closest field, matched on field and column names alike.
 */
function unknownField(name: string, fields: readonly DatamodelField[], noun = 'field'): string {
  const mapped = fields.find((field) => field.dbName === name);
  if (mapped)
    return `unknown ${noun} ${name} (the column of ${mapped.name}: name the Prisma field)`;
  const best = closest(
    name,
    fields.flatMap((field) => (field.dbName ? [field.name, field.dbName] : [field.name])),
  );
  const field = fields.find((candidate) => candidate.name === best || candidate.dbName === best);
  return `unknown ${noun} ${name}${field ? `; did you mean ${field.name}?` : ''}`;
}

/**
 * The fields that identify a row: `@@id`, `@id`, else the first unique whose fields are all
 * required (a unique over a nullable column lets several rows share a null, so it names no row);
 * the order Pothos takes to load a row again.
 */
function rowKey(model: DatamodelModel): { fields: CompiledField[]; name: string | null } {
  const byName = new Map(model.fields.map((field) => [field.name, field]));
  const candidates: { fields: readonly string[]; name: string | null }[] = [
    ...(model.primaryKey ? [model.primaryKey] : []),
    ...model.fields
      .filter((field) => field.isId)
      .map((field) => ({ fields: [field.name], name: null })),
    ...model.fields
      .filter((field) => field.isUnique)
      .map((field) => ({ fields: [field.name], name: null })),
    ...model.uniqueIndexes,
  ];
  const key = candidates.find(
    (candidate) =>
      candidate.fields.length > 0 &&
      candidate.fields.every((name) => byName.get(name)?.isRequired && !byName.get(name)?.isList),
  );
  if (!key) return { fields: [], name: null };
  return {
    fields: key.fields.map((name) => toCompiledField(byName.get(name)!, null)),
    name: key.fields.length > 1 ? (key.name ?? key.fields.join('_')) : null,
  };
}

function toCompiledField(field: DatamodelField, redaction: Redaction | null): CompiledField {
  return {
    name: field.name,
    type: field.type,
    kind: field.kind === 'enum' ? 'enum' : 'scalar',
    nullable: !field.isRequired,
    list: field.isList,
    redaction,
    ...(isUuidColumn(field) ? { uuid: true } : {}),
  };
}

/**
 * The fields a relation joins on, pair by pair: the foreign key here and the fields it references
 * (`references`, or the target's primary key when the datamodel does not say), or this model's
 * fields that the target's foreign key references. Null for a many-to-many relation.
 */
function relationKeys(
  datamodel: Datamodel,
  modelName: string,
  field: DatamodelField,
): RelationKey[] | null {
  const models = datamodel.datamodel.models;
  const idsOf = (name: string) =>
    models[name]?.primaryKey?.fields ??
    models[name]?.fields.filter((candidate) => candidate.isId).map((candidate) => candidate.name) ??
    [];
  const pairs = (from: readonly string[], to: readonly string[] | undefined, toModel: string) => {
    const targets = to?.length ? to : idsOf(toModel);
    return from.length > 0 && targets.length === from.length
      ? from.map((name, index) => ({ from: name, to: targets[index]! }))
      : null;
  };
  const from = field.relationFromFields ?? [];
  if (from.length > 0) {
    return (
      pairs(from, field.relationToFields, field.type)?.map((pair) => ({
        localField: pair.from,
        targetField: pair.to,
      })) ?? null
    );
  }
  const back = models[field.type]?.fields.find(
    (candidate) =>
      candidate.kind === 'object' &&
      candidate.relationName === field.relationName &&
      candidate.type === modelName &&
      candidate !== field,
  );
  return (
    pairs(back?.relationFromFields ?? [], back?.relationToFields, modelName)?.map((pair) => ({
      localField: pair.to,
      targetField: pair.from,
    })) ?? null
  );
}
