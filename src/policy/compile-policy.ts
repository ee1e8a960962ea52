import type { Datamodel, DatamodelField, DatamodelModel, ScalarType } from './datamodel.js';
import {
  DEFAULT_DENY_GLOBS,
  DEFAULT_HASH_SALT,
  DEFAULT_SOFT_DELETE_FIELD,
  DEFAULT_TENANT_FIELD,
  PROFILE_BUDGETS,
} from './defaults.js';
import { matchesAnyGlob } from './globs.js';
import type { Redaction } from './redaction.js';
import { fail, ok, type Result } from './result.js';
import { closest } from './suggest.js';
import {
  type Budgets,
  type ModelPolicy,
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
}

export interface CompiledRelation {
  name: string;
  target: string;
  list: boolean;
  nullable: boolean;
  /** When the relation joins on single fields: this model's field equals the target's field. */
  join: { localField: string; targetField: string } | null;
}

/** A where template: Prisma-shaped, with `$principal.<claim>` strings filled in per request. */
export type WhereTemplate = Record<string, unknown>;

export interface CompiledModel {
  name: string;
  /** The single-field primary key, or null for a compound or missing one. */
  idField: CompiledField | null;
  /** The field compared with the principal's tenant; null for a global or unscoped model. */
  tenantField: CompiledField | null;
  /** Explicitly not tenant-scoped. A model with neither a tenant field nor this is unscoped (ormai check fails). */
  global: boolean;
  softDeleteField: string | null;
  /** Readable scalar fields, in datamodel order. */
  fields: Map<string, CompiledField>;
  /** Relations to models readable by the same roles. */
  relations: Map<string, CompiledRelation>;
  /** Row filters ORed across roles (each one's ownership and row filter ANDed); null: no filter. */
  rowFilters: WhereTemplate[] | null;
  /** Root lists need a where (QUERY_TOO_BROAD otherwise). */
  requireFilter: boolean;
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
  hashSalt: string;
  writesEnabled: boolean;
  /** Per model, the writes these roles may make (empty while writes are off). */
  writes: Map<string, Partial<Record<WriteKind, CompiledWrite>>>;
  /** Whether these roles may approve or reject pending writes. */
  canApprove: boolean;
  approvalTtlSeconds: number;
  /** Whether these roles may read their tenant's audit log. */
  auditReadable: boolean;
}

/** The validated policy, compiled per set of roles on demand and cached. */
export interface PolicyEngine {
  policy: Policy;
  datamodel: Datamodel;
  /** Roles the policy names; empty when it has no role overlays. */
  declaredRoles: string[];
  forRoles(roles: readonly string[]): CompiledPolicy;
}

interface RoleView {
  fields: Map<string, CompiledField>;
  relations: Set<string>;
  rowFilter: WhereTemplate | null;
  requireFilter: boolean;
}

/**
 * Validates a policy against the datamodel and returns an engine that compiles it for any set of
 * roles. Pure: every problem is listed with its path (and a suggestion), nothing is thrown.
 */
export function compilePolicy(input: unknown, datamodel: Datamodel): Result<PolicyEngine> {
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
  const cache = new Map<string, CompiledPolicy>();
  const engine: PolicyEngine = {
    policy,
    datamodel,
    declaredRoles,
    forRoles(roles) {
      const known = policy.roles
        ? [...new Set(roles.filter((role) => role in policy.roles!))].sort()
        : [];
      const key = known.join(',');
      let compiled = cache.get(key);
      if (!compiled) {
        compiled = compileForRoles(policy, datamodel, profile, known);
        cache.set(key, compiled);
      }
      return compiled;
    },
  };
  return ok(engine);
}

function invalid(problems: string[]) {
  return fail('INVALID_POLICY', `the policy is invalid:\n  ${problems.join('\n  ')}`, problems);
}

function compileForRoles(
  policy: Policy,
  datamodel: Datamodel,
  profile: Profile,
  roles: string[],
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
        ),
      )
      .filter((view): view is RoleView => view !== null);
    if (views.length === 0) continue;

    const fields = unionFields(model, views);
    const byName = new Map(model.fields.map((field) => [field.name, field]));
    const tenantName = base.tenantField ?? policy.tenantField ?? DEFAULT_TENANT_FIELD;
    const tenant = base.global ? undefined : byName.get(tenantName);
    const softDelete = base.softDeleteField ?? policy.softDeleteField ?? DEFAULT_SOFT_DELETE_FIELD;
    const softDeleteField =
      softDelete !== false && byName.get(softDelete)?.type === 'DateTime' ? softDelete : null;
    const ids = model.fields.filter((field) => field.isId);

    compiled.set(name, {
      name,
      idField: ids.length === 1 ? toCompiledField(ids[0]!, null) : null,
      tenantField: tenant && tenant.kind !== 'object' ? toCompiledField(tenant, null) : null,
      global: base.global ?? false,
      softDeleteField,
      fields,
      relations: new Map(),
      rowFilters: views.some((view) => view.rowFilter === null)
        ? null
        : views.map((view) => view.rowFilter!),
      requireFilter: views.every((view) => view.requireFilter),
    });
    relationSets.set(name, new Set(views.flatMap((view) => [...view.relations])));
  }

  for (const [name, compiledModel] of compiled) {
    const allowed = relationSets.get(name)!;
    for (const field of models[name]!.fields) {
      if (field.kind !== 'object' || !allowed.has(field.name) || !compiled.has(field.type))
        continue;
      compiledModel.relations.set(field.name, {
        name: field.name,
        target: field.type,
        list: field.isList,
        nullable: !field.isRequired,
        join: relationJoin(datamodel, name, field),
      });
    }
  }

  return {
    roles,
    profile,
    models: compiled,
    views: compileViews(policy, compiled, roles),
    budgets: budgetsFor(policy, profile, roles),
    hashSalt: policy.hashSalt ?? DEFAULT_HASH_SALT,
    writesEnabled: policy.writes?.enabled === true,
    writes: compileWrites(policy, profile, roles, compiled),
    canApprove:
      policy.writes?.enabled === true &&
      roles.some((role) => (policy.writes?.approvers ?? ['admin']).includes(role)),
    approvalTtlSeconds: policy.writes?.approvalTtlSeconds ?? 86_400,
    auditReadable: roles.some((role) => (policy.audit?.readers ?? ['admin']).includes(role)),
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
): RoleView | null {
  const rules = [base, overlay].filter((rule): rule is RoleModelPolicy => !!rule);
  if (rules.some((rule) => rule.hidden)) return null;
  if (policy.expose && !policy.expose.includes(name)) return null;
  const denyGlobs = [
    ...(policy.denyFields ?? DEFAULT_DENY_GLOBS),
    ...rules.flatMap((rule) => rule.fields?.deny ?? []),
  ];
  const fields = new Map<string, CompiledField>();
  for (const field of model.fields) {
    if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
    if (matchesAnyGlob(field.name, denyGlobs)) continue;
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
    fields,
    relations,
    rowFilter: filters.length === 0 ? null : filters.length === 1 ? filters[0]! : { AND: filters },
    requireFilter: rules.some((rule) => rule.requireFilter),
  };
}

const REDACTION_RANK = { plain: 0, mask: 1, hash: 2 } as const;

/** Several roles read the union: a field any role reads plainly is plain; else the lighter redaction. */
function unionFields(model: DatamodelModel, views: RoleView[]): Map<string, CompiledField> {
  const fields = new Map<string, CompiledField>();
  for (const field of model.fields) {
    const candidates = views
      .map((view) => view.fields.get(field.name))
      .filter((candidate): candidate is CompiledField => !!candidate);
    if (candidates.length === 0) continue;
    const best = candidates.reduce((a, b) =>
      REDACTION_RANK[b.redaction?.kind ?? 'plain'] < REDACTION_RANK[a.redaction?.kind ?? 'plain']
        ? b
        : a,
    );
    fields.set(field.name, best);
  }
  return fields;
}

function budgetsFor(policy: Policy, profile: Profile, roles: string[]): Budgets {
  const base: Budgets = { ...PROFILE_BUDGETS[profile], ...policy.budgets };
  const perRole = roles.map((role) => ({ ...base, ...policy.roles?.[role]?.budgets }));
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
      if (field && !field.redaction) computed.push({ name, kind: 'sum', relation, field });
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

  const checkRules = (path: string, modelName: string, rules: RoleModelPolicy) => {
    const model = models[modelName]!;
    const scalars = model.fields.filter((f) => f.kind !== 'object').map((f) => f.name);
    const relations = model.fields.filter((f) => f.kind === 'object').map((f) => f.name);
    const field = (where: string, name: string) => {
      if (!scalars.includes(name)) {
        problems.push(`${path}.${where}: unknown field ${name}${suggestion(name, scalars)}`);
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

  for (const [index, name] of (policy.expose ?? []).entries()) {
    if (!models[name]) unknownModel(`expose[${index}]`, name);
  }
  for (const [name, rules] of Object.entries(policy.models ?? {})) {
    if (!models[name]) {
      unknownModel(`models.${name}`, name);
      continue;
    }
    checkRules(`models.${name}`, name, rules);
    const fields = models[name]!.fields.map((f) => f.name);
    if (rules.tenantField && !fields.includes(rules.tenantField)) {
      problems.push(
        `models.${name}.tenantField: unknown field ${rules.tenantField}${suggestion(rules.tenantField, fields)}`,
      );
    }
    if (
      rules.softDeleteField &&
      models[name]!.fields.find((f) => f.name === rules.softDeleteField)?.type !== 'DateTime'
    ) {
      problems.push(
        `models.${name}.softDeleteField: ${rules.softDeleteField} is not a DateTime field of ${name}`,
      );
    }
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
    const scalars = model.fields.filter((f) => f.kind !== 'object').map((f) => f.name);
    for (const [role, kinds] of Object.entries(byRole)) {
      if (policy.roles && !(role in policy.roles)) {
        problems.push(
          `writes.models.${name}.${role}: unknown role${suggestion(role, Object.keys(policy.roles))}`,
        );
      }
      for (const [kind, rule] of Object.entries(kinds)) {
        for (const field of rule?.fields ?? []) {
          if (!scalars.includes(field)) {
            problems.push(
              `writes.models.${name}.${role}.${kind}.fields: unknown field ${field}${suggestion(field, scalars)}`,
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
    const scalars = model.fields.filter((f) => f.kind !== 'object').map((f) => f.name);
    for (const field of view.fields) {
      if (!scalars.includes(field))
        problems.push(`${path}.fields: unknown field ${field}${suggestion(field, scalars)}`);
    }
    for (const [name, spec] of Object.entries(view.computed ?? {})) {
      const [relationName, fieldName] = ('count' in spec ? spec.count : spec.sum).split('.');
      const relation = model.fields.find((f) => f.kind === 'object' && f.name === relationName);
      if (!relation?.isList) {
        problems.push(
          `${path}.computed.${name}: ${relationName} is not a to-many relation of ${view.model}`,
        );
        continue;
      }
      if ('sum' in spec) {
        const target = models[relation.type]!.fields.find((f) => f.name === fieldName);
        if (!target || !['Int', 'Float', 'Decimal', 'BigInt'].includes(target.type)) {
          problems.push(
            `${path}.computed.${name}: sum needs a numeric field, as in ${relationName}.<field>`,
          );
        }
      }
    }
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
      problems.push(
        `${path}: unknown field ${key}${suggestion(
          key,
          model.fields.map((f) => f.name),
        )}`,
      );
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

function suggestion(name: string, candidates: string[]): string {
  const best = closest(name, candidates);
  return best ? `; did you mean ${best}?` : '';
}

function toCompiledField(field: DatamodelField, redaction: Redaction | null): CompiledField {
  return {
    name: field.name,
    type: field.type,
    kind: field.kind === 'enum' ? 'enum' : 'scalar',
    nullable: !field.isRequired,
    list: field.isList,
    redaction,
  };
}

/**
 * The columns a to-one relation joins on, when each side is one field: the foreign key here and the
 * target's primary key, or this model's primary key and the foreign key on the target.
 */
function relationJoin(datamodel: Datamodel, modelName: string, field: DatamodelField) {
  const models = datamodel.datamodel.models;
  const idOf = (name: string) => {
    const ids = models[name]?.fields.filter((candidate) => candidate.isId) ?? [];
    return ids.length === 1 ? ids[0]!.name : null;
  };
  const from = field.relationFromFields ?? [];
  if (from.length === 1) {
    const targetId = idOf(field.type);
    return targetId ? { localField: from[0]!, targetField: targetId } : null;
  }
  if (from.length > 1) return null;
  const back = models[field.type]?.fields.find(
    (candidate) =>
      candidate.kind === 'object' &&
      candidate.relationName === field.relationName &&
      candidate.type === modelName &&
      candidate !== field,
  );
  const localId = idOf(modelName);
  return back?.relationFromFields?.length === 1 && localId
    ? { localField: localId, targetField: back.relationFromFields[0]! }
    : null;
}
