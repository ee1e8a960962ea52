import type { Datamodel, DatamodelField, ScalarType } from './datamodel.js';
import {
  DEFAULT_BUDGETS,
  DEFAULT_DENY_GLOBS,
  DEFAULT_SOFT_DELETE_FIELD,
  DEFAULT_TENANT_FIELD,
} from './defaults.js';
import { matchesAnyGlob } from './globs.js';
import { fail, ok, type Result } from './result.js';
import { type Policy, policySchema } from './types.js';

export interface CompiledField {
  name: string;
  type: ScalarType | string;
  kind: 'scalar' | 'enum';
  nullable: boolean;
  list: boolean;
}

export interface CompiledRelation {
  name: string;
  target: string;
  list: boolean;
  nullable: boolean;
  /** For a to-one relation on single fields: this model's field equals the target's field. */
  join: { localField: string; targetField: string } | null;
}

export interface CompiledModel {
  name: string;
  /** The single-field primary key, or null for a compound or missing one. */
  idField: CompiledField | null;
  /** The field compared with the principal's tenant; null for a global model. */
  tenantField: CompiledField | null;
  softDeleteField: string | null;
  /** Readable scalar fields, in datamodel order. */
  fields: Map<string, CompiledField>;
  /** Relations to readable models. */
  relations: Map<string, CompiledRelation>;
}

export interface CompiledPolicy {
  models: Map<string, CompiledModel>;
  budgets: { defaultTake: number; maxTake: number };
}

/**
 * Validates a policy against the datamodel and compiles it into the per-model facts the schema and
 * the plugins enforce. Pure: every problem is listed with its path, nothing is thrown.
 */
export function compilePolicy(input: unknown, datamodel: Datamodel): Result<CompiledPolicy> {
  const parsed = policySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(policy)'}: ${issue.message}`,
    );
    return fail('INVALID_POLICY', `the policy is invalid:\n${problems.join('\n')}`, problems);
  }
  const policy: Policy = parsed.data;
  const models = datamodel.datamodel.models;
  const problems: string[] = [];

  for (const name of Object.keys(policy.models ?? {})) {
    if (!models[name])
      problems.push(`models.${name}: unknown model${suggest(name, Object.keys(models))}`);
  }

  const visible = Object.keys(models).filter((name) => !policy.models?.[name]?.hidden);
  const compiled = new Map<string, CompiledModel>();

  for (const name of visible) {
    const model = models[name]!;
    const modelPolicy = policy.models?.[name] ?? {};
    const byName = new Map(model.fields.map((field) => [field.name, field]));
    const denyGlobs = [
      ...(policy.denyFields ?? DEFAULT_DENY_GLOBS),
      ...(modelPolicy.denyFields ?? []),
    ];

    const fields = new Map<string, CompiledField>();
    for (const field of model.fields) {
      if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
      if (matchesAnyGlob(field.name, denyGlobs)) continue;
      fields.set(field.name, toCompiledField(field));
    }

    let tenantField: CompiledField | null = null;
    if (!modelPolicy.global) {
      const tenantName = modelPolicy.tenantField ?? policy.tenantField ?? DEFAULT_TENANT_FIELD;
      const field = byName.get(tenantName);
      if (field && (field.kind === 'scalar' || field.kind === 'enum')) {
        tenantField = toCompiledField(field);
      } else if (modelPolicy.tenantField) {
        problems.push(
          `models.${name}.tenantField: unknown field ${tenantName}${suggest(tenantName, [...byName.keys()])}`,
        );
      } else {
        problems.push(
          `models.${name}: has no ${tenantName} field; name its tenant field (tenantField) or mark it global: true`,
        );
      }
    }

    let softDeleteField: string | null = null;
    const softDelete =
      modelPolicy.softDeleteField ?? policy.softDeleteField ?? DEFAULT_SOFT_DELETE_FIELD;
    if (softDelete !== false) {
      const field = byName.get(softDelete);
      if (field && field.type === 'DateTime') softDeleteField = field.name;
      else if (modelPolicy.softDeleteField) {
        problems.push(
          `models.${name}.softDeleteField: ${softDelete} is not a DateTime field of ${name}`,
        );
      }
    }

    const idFields = model.fields.filter((field) => field.isId);
    compiled.set(name, {
      name,
      idField: idFields.length === 1 ? toCompiledField(idFields[0]!) : null,
      tenantField,
      softDeleteField,
      fields,
      relations: new Map(),
    });
  }

  for (const [name, compiledModel] of compiled) {
    for (const field of models[name]!.fields) {
      if (field.kind !== 'object' || !compiled.has(field.type)) continue;
      compiledModel.relations.set(field.name, {
        name: field.name,
        target: field.type,
        list: field.isList,
        nullable: !field.isRequired,
        join: field.isList ? null : toOneJoin(datamodel, name, field),
      });
    }
  }

  if (problems.length > 0) {
    return fail('INVALID_POLICY', `the policy is invalid:\n${problems.join('\n')}`, problems);
  }
  return ok({ models: compiled, budgets: { ...DEFAULT_BUDGETS, ...policy.budgets } });
}

/**
 * The columns a to-one relation joins on, when each side is one field: the foreign key here and the
 * target's primary key, or this model's primary key and the foreign key on the target.
 */
function toOneJoin(datamodel: Datamodel, modelName: string, field: DatamodelField) {
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

function toCompiledField(field: DatamodelField): CompiledField {
  return {
    name: field.name,
    type: field.type,
    kind: field.kind === 'enum' ? 'enum' : 'scalar',
    nullable: !field.isRequired,
    list: field.isList,
  };
}

/** ` (did you mean X?)` for the closest name, when one is close. */
function suggest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = levenshtein(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3))
    ? `; did you mean ${best}?`
    : '';
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
