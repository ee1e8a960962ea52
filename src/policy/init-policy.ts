import type { Datamodel, DatamodelField, DatamodelModel } from './datamodel.js';
import { isDeniedByDefault, isPersonalData, isUncoveredSecret } from './init-fields.js';
import { fail, ok, type Result } from './result.js';
import { closest } from './suggest.js';
import type { ModelPolicy, Policy, RoleModelPolicy } from './types.js';

/** Tenant fields `ormai init` looks for, in order of preference when several are as common. */
export const TENANT_FIELD_CANDIDATES = [
  'tenantId',
  'organizationId',
  'organisationId',
  'orgId',
  'workspaceId',
  'teamId',
  'accountId',
] as const;

export interface InitPolicyOptions {
  /** The tenant field, by field name or by column name (`team_id`); detected when absent. */
  tenantField?: string;
}

/** How the rows of one model belong to a tenant, as `ormai init` decided. */
export type ModelScope =
  /** The tenant model itself: its key is the tenant id. */
  | { kind: 'tenant-model'; field: string }
  /** A field holding the tenant id; `optional` when rows may have none. */
  | { kind: 'tenant-field'; field: string; optional: boolean }
  /** The tenant of the parent it requires; `parent` is the relation's target. */
  | { kind: 'through'; relation: string; parent: string }
  /** No way to a tenant found: emitted as global and flagged for review. */
  | { kind: 'unscoped' };

export interface InitPolicy {
  policy: Policy;
  /** The policy's tenant field (a field name). */
  tenantField: string;
  /** The model the tenant field points at (`Team`), when it has a relation. */
  tenantModel: string | null;
  /** Per model, in the order of `policy.models`. */
  scopes: Map<string, ModelScope>;
  /** `Model.field` masked for every role but admin. */
  masked: string[];
  /** Field names denied on top of the default globs (in `policy.denyFields`). */
  extraDenied: string[];
  /** `Model.field` denied to every role, by the default globs or by `extraDenied`. */
  denied: string[];
}

/**
 * The starting policy `ormai init` writes for a datamodel: every model listed and scoped by the
 * tenant field, through a required parent, or flagged; secrets denied; personal data masked for
 * every role but admin; writes off; admin named as the approver and the audit reader. Pure: the
 * CLI renders and checks what this returns.
 */
export function initPolicy(
  datamodel: Datamodel,
  options: InitPolicyOptions = {},
): Result<InitPolicy> {
  const models = datamodel.datamodel.models;
  const tenant = options.tenantField
    ? resolveTenantField(models, options.tenantField)
    : detectTenantField(models);
  if (!tenant.ok) return tenant;
  const tenantField = tenant.value;
  const scopes = scopeModels(models, tenantField);
  const tenantModel = [...scopes].find(([, scope]) => scope.kind === 'tenant-model')?.[0] ?? null;

  const policyModels: Record<string, ModelPolicy> = {};
  for (const [name, scope] of scopes) policyModels[name] = modelPolicy(scope, tenantField);

  const agentModels: Record<string, RoleModelPolicy> = {};
  const masked: string[] = [];
  const denied: string[] = [];
  const extraDenied = new Set<string>();
  for (const name of scopes.keys()) {
    const model = models[name]!;
    const mask: Record<string, true> = {};
    // relations are not denied by name: what they lead to is
    for (const field of model.fields.filter((candidate) => candidate.kind !== 'object')) {
      if (isDeniedByDefault(field) || isUncoveredSecret(field)) {
        denied.push(`${name}.${field.name}`);
        if (!isDeniedByDefault(field)) extraDenied.add(field.name);
      } else if (scopes.get(name)?.kind !== 'unscoped' && isPersonalData(field, model)) {
        mask[field.name] = true;
        masked.push(`${name}.${field.name}`);
      }
    }
    if (scopes.get(name)?.kind === 'unscoped') {
      // a model ormai cannot tie to a tenant stays out of the agent's reach until someone decides
      agentModels[name] = { hidden: true };
    } else if (Object.keys(mask).length > 0) agentModels[name] = { fields: { mask } };
  }

  const policy: Policy = {
    profile: 'prod',
    tenantField,
    ...(extraDenied.size > 0 ? { denyFields: [...extraDenied].sort() } : {}),
    models: policyModels,
    roles: {
      admin: {},
      agent: Object.keys(agentModels).length > 0 ? { models: agentModels } : {},
    },
    writes: { enabled: false, approvers: ['admin'] },
    audit: { readers: ['admin'] },
  };
  return ok({
    policy,
    tenantField,
    tenantModel,
    scopes,
    masked,
    extraDenied: [...extraDenied].sort(),
    denied,
  });
}

function modelPolicy(scope: ModelScope, tenantField: string): ModelPolicy {
  switch (scope.kind) {
    case 'tenant-model':
      return { tenantField: scope.field };
    case 'tenant-field':
      return scope.field === tenantField ? {} : { tenantField: scope.field };
    case 'through':
      return { scopeThrough: scope.relation };
    case 'unscoped':
      return { global: true };
  }
}

const normalise = (name: string) => name.toLowerCase().replaceAll('_', '');
const scalarsOf = (model: DatamodelModel) =>
  model.fields.filter((field) => field.kind === 'scalar' && !field.isList);

/** The model's field holding the tenant id: the same name, or the same name as a column (`team_id`). */
function tenantFieldIn(model: DatamodelModel, tenantField: string): DatamodelField | undefined {
  const wanted = normalise(tenantField);
  return (
    scalarsOf(model).find((field) => field.name === tenantField) ??
    scalarsOf(model).find(
      (field) =>
        normalise(field.name) === wanted || (field.dbName && normalise(field.dbName) === wanted),
    )
  );
}

/** The candidate on the most models; ties go to the earlier candidate. */
function detectTenantField(models: Record<string, DatamodelModel>): Result<string> {
  let best: { field: string; count: number } | null = null;
  for (const candidate of TENANT_FIELD_CANDIDATES) {
    const found = Object.values(models)
      .map((model) => tenantFieldIn(model, candidate))
      .filter((field): field is DatamodelField => !!field);
    if (found.length > (best?.count ?? 0)) {
      best = { field: mostCommon(found.map((field) => field.name)), count: found.length };
    }
  }
  if (best) return ok(best.field);
  const common = mostCommonForeignKeys(models);
  return fail(
    'NO_TENANT_FIELD',
    `no tenant field found (looked for ${TENANT_FIELD_CANDIDATES.join(', ')}); pass --tenant-field <field>`,
    common.length > 0 ? [`fields on the most models: ${common.join(', ')}`] : [],
  );
}

/** `--tenant-field`: a field name, or a column name mapped back to its field (`team_id` → `teamId`). */
function resolveTenantField(models: Record<string, DatamodelModel>, given: string): Result<string> {
  const scalars = Object.values(models).flatMap(scalarsOf);
  if (scalars.some((field) => field.name === given)) return ok(given);
  const byColumn = scalars.filter((field) => field.dbName === given);
  if (byColumn.length > 0) return ok(mostCommon(byColumn.map((field) => field.name)));
  // a typo of the field, of its column, or of its name without `Id` (`teem` → `teamId`)
  const forms = new Map<string, string>();
  for (const field of scalars) {
    forms.set(field.name, field.name);
    if (field.dbName) forms.set(field.dbName, field.name);
    const base = field.name.replace(/_?id$/i, '');
    if (base && base !== field.name && !forms.has(base)) forms.set(base, field.name);
  }
  const match = closest(given, [...forms.keys()]);
  return fail(
    'UNKNOWN_TENANT_FIELD',
    `--tenant-field ${given}: no model has a field or column named ${given}${
      match ? `; did you mean ${forms.get(match)}?` : ''
    }`,
  );
}

/**
 * Every model's scope, grouped in the order the policy file lists them: the tenant model, models
 * with the tenant field, models scoped through a parent (parents first), flagged models.
 */
function scopeModels(
  models: Record<string, DatamodelModel>,
  tenantField: string,
): Map<string, ModelScope> {
  const scopes = new Map<string, ModelScope>();
  const tenantModel = findTenantModel(models, tenantField);
  for (const [name, model] of Object.entries(models)) {
    if (name === tenantModel?.name) {
      scopes.set(name, { kind: 'tenant-model', field: tenantModel.key });
      continue;
    }
    const field = tenantFieldIn(model, tenantField) ?? foreignKeyTo(model, tenantModel?.name);
    if (field)
      scopes.set(name, { kind: 'tenant-field', field: field.name, optional: !field.isRequired });
  }
  // breadth first, so a model takes the shortest way to a tenant: its direct parent when it can
  for (let added = true; added; ) {
    added = false;
    const scoped = new Set(scopes.keys());
    for (const [name, model] of Object.entries(models)) {
      if (scoped.has(name)) continue;
      const parent = model.fields.find(
        (field) =>
          field.kind === 'object' &&
          !field.isList &&
          field.isRequired &&
          (field.relationFromFields?.length ?? 0) > 0 &&
          scoped.has(field.type),
      );
      if (parent) {
        scopes.set(name, { kind: 'through', relation: parent.name, parent: parent.type });
        added = true;
      }
    }
  }
  for (const name of Object.keys(models)) {
    if (!scopes.has(name)) scopes.set(name, { kind: 'unscoped' });
  }
  const order: ModelScope['kind'][] = ['tenant-model', 'tenant-field', 'through', 'unscoped'];
  return new Map([...scopes].sort(([, a], [, b]) => order.indexOf(a.kind) - order.indexOf(b.kind)));
}

/** The model the tenant field's relations point at most often, and the key they reference. */
function findTenantModel(
  models: Record<string, DatamodelModel>,
  tenantField: string,
): { name: string; key: string } | null {
  const targets: { name: string; key: string }[] = [];
  for (const model of Object.values(models)) {
    const field = tenantFieldIn(model, tenantField);
    const relation = model.fields.find(
      (candidate) =>
        candidate.kind === 'object' &&
        candidate.relationFromFields?.length === 1 &&
        candidate.relationFromFields[0] === field?.name,
    );
    const target = relation && models[relation.type];
    const key =
      relation?.relationToFields?.[0] ?? target?.fields.find((candidate) => candidate.isId)?.name;
    if (relation && key) targets.push({ name: relation.type, key });
  }
  const name = mostCommon(targets.map((target) => target.name));
  return targets.find((target) => target.name === name) ?? null;
}

/**
 * A model without the tenant field but with one relation to the tenant model on a single foreign
 * key (`ownerTeamId`): that key is its tenant field, which needs no join.
 */
function foreignKeyTo(model: DatamodelModel, tenantModel: string | undefined) {
  const relations = model.fields.filter(
    (field) =>
      field.kind === 'object' &&
      field.type === tenantModel &&
      !field.isList &&
      field.relationFromFields?.length === 1,
  );
  if (relations.length !== 1) return undefined;
  const key = relations[0]!.relationFromFields![0];
  return model.fields.find((field) => field.name === key);
}

/** The three `…Id` fields found on the most models, as hints when no tenant field is found. */
function mostCommonForeignKeys(models: Record<string, DatamodelModel>): string[] {
  const counts = new Map<string, number>();
  for (const model of Object.values(models)) {
    for (const field of scalarsOf(model)) {
      if (!field.isId && /id$/i.test(field.name))
        counts.set(field.name, (counts.get(field.name) ?? 0) + 1);
    }
  }
  return [...counts]
    .sort(([, a], [, b]) => b - a)
    .slice(0, 3)
    .map(([name, count]) => `${name} (${count})`);
}

/** The most frequent value; the first seen wins a tie. */
function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best = values[0] ?? '';
  for (const [value, count] of counts) if (count > (counts.get(best) ?? 0)) best = value;
  return best;
}
