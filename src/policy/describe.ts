import type { CompiledField, CompiledModel, CompiledPolicy } from './compile-policy.js';
import { enumValuesFor, FILTER_OPS, isExactNumeric, isFilterable } from './field-types.js';
import { describeRedaction } from './redaction.js';
import { fail, ok, type Result } from './result.js';
import { describeByRole } from './role-rules.js';

export interface DescribedField {
  type: string;
  nullable: boolean;
  primaryKey: boolean;
  redaction?: 'mask' | 'hash';
  /** For a redacted field: how its values look and that it is no filter (its GraphQL description). */
  description?: string;
  /**
   * When the caller's roles disagree on the field row by row: the roles on whose rows it is
   * unredacted (elsewhere it is `redaction`, or null); empty when it is redacted on every row.
   */
  plainOnRowsOf?: string[];
  /** Whether it can be used in where, order_by, group_by and aggregates (lists, Json and Bytes never). */
  filterable: boolean;
  /** For an enum field: its values, the only ones it takes (filters: eq ne in not_in is_null). */
  values?: string[];
  /** How a value travels in JSON when not as itself: `base64` (Bytes), `decimal string` (BigInt, Decimal). */
  encoding?: 'base64' | 'decimal string';
  /** `uuid` for a String stored as a uuid: it takes uuids only (filters: eq ne in not_in is_null). */
  format?: 'uuid';
}

export interface DescribedModel {
  fields: Record<string, DescribedField>;
  relations: Record<string, { target: string; type: 'one' | 'many' }>;
  readable: true;
  writable: boolean;
  operations: string[];
  /**
   * The fields that name one row (what `get` takes as `id`: the value for one field, an object of
   * every field for a compound key); empty when the model has no primary key or unique.
   */
  key: string[];
  /** By a tenant field, or through a parent (`scopedThrough`). */
  tenantScoped: boolean;
  /** The relation to the parent whose tenant (and soft delete) scopes these rows. */
  scopedThrough?: { relation: string; model: string };
  softDelete: boolean;
  requireFilter: boolean;
  /** Limits on the planner's estimate for a statement reading the model (absent: none). */
  budgets?: { maxEstimatedRows?: number; maxEstimatedCost?: number };
}

export interface SchemaDescription {
  models: Record<string, DescribedModel>;
  views: Record<string, { model: string; fields: string[]; computed: string[] }>;
  filterOps: readonly string[];
  budgets: CompiledPolicy['budgets'];
}

/**
 * What the caller's roles can read (and write): the JSON of `describeSchema` and of MCP's
 * `db.describe_schema` (OrmAI's shape). With a model name, that model only.
 */
export function describeSchema(
  policy: CompiledPolicy,
  model?: string | null,
): Result<SchemaDescription> {
  const names = [...policy.models.keys()];
  if (model && !policy.models.has(model)) {
    return fail(
      'MODEL_NOT_ALLOWED',
      `${model} is not a model you can read`,
      [`models you can read: ${names.join(', ') || '(none)'}`],
      { model, allowed: names },
    );
  }
  const selected = model ? [policy.models.get(model)!] : [...policy.models.values()];
  return ok({
    models: Object.fromEntries(selected.map((m) => [m.name, describeModel(policy, m)])),
    views: Object.fromEntries(
      [...policy.views.values()]
        .filter((view) => !model || view.model === model)
        .map((view) => [
          view.name,
          {
            model: view.model,
            fields: view.fields.map((f) => f.name),
            computed: view.computed.map((c) => c.name),
          },
        ]),
    ),
    filterOps: FILTER_OPS,
    budgets: policy.budgets,
  });
}

function describeModel(policy: CompiledPolicy, model: CompiledModel): DescribedModel {
  return {
    fields: Object.fromEntries(
      [...model.fields.values()].map((field) => [
        field.name,
        {
          type: field.list ? `${field.type}[]` : field.type,
          nullable: field.nullable,
          primaryKey: model.primaryKey.some((key) => key.name === field.name),
          ...redactionOf(field),
          filterable: isFilterable(field),
          ...valuesOf(policy, field),
        },
      ]),
    ),
    relations: Object.fromEntries(
      [...model.relations.values()].map((relation) => [
        relation.name,
        { target: relation.target, type: relation.list ? 'many' : 'one' },
      ]),
    ),
    readable: true,
    // no write surface exists yet, whatever the policy says
    writable: false,
    // without a key there is no row to get by
    operations:
      model.primaryKey.length > 0 ? ['get', 'query', 'aggregate'] : ['query', 'aggregate'],
    key: model.primaryKey.map((field) => field.name),
    tenantScoped: model.tenantField !== null || model.scopeThrough !== null,
    ...(model.scopeThrough
      ? {
          scopedThrough: {
            relation: model.scopeThrough.relation,
            model: model.scopeThrough.parent.name,
          },
        }
      : {}),
    softDelete: model.softDeleteField !== null,
    requireFilter: model.requireFilter,
    ...(model.plannerBudget
      ? {
          budgets: Object.fromEntries(
            Object.entries(model.plannerBudget).filter(([, limit]) => limit !== null),
          ),
        }
      : {}),
  };
}

/** How a field is redacted: for every row, or row by row as the roles that see the row decide. */
function redactionOf(
  field: CompiledField,
): Pick<DescribedField, 'redaction' | 'description' | 'plainOnRowsOf'> {
  if (field.byRole) {
    return {
      ...(field.redaction ? { redaction: field.redaction.kind } : {}),
      description: describeByRole(field.byRole),
      plainOnRowsOf: field.byRole.rules
        .filter((entry) => entry.rule.kind === 'plain')
        .map((entry) => entry.role),
    };
  }
  return field.redaction
    ? { redaction: field.redaction.kind, description: describeRedaction(field.redaction) }
    : {};
}

/** What a field's values look like, where its type alone does not say. */
function valuesOf(
  policy: CompiledPolicy,
  field: CompiledField,
): Pick<DescribedField, 'values' | 'encoding' | 'format'> {
  if (field.redaction) return {};
  if (field.uuid) return { format: 'uuid' };
  const values = enumValuesFor(policy, field);
  if (values) return { values: [...values] };
  if (field.type === 'Bytes') return { encoding: 'base64' };
  if (isExactNumeric(field)) return { encoding: 'decimal string' };
  return {};
}
