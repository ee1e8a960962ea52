import type { CompiledModel, CompiledPolicy } from './compile-policy.js';
import { describeRedaction } from './redaction.js';
import { fail, ok, type Result } from './result.js';

/** The filter operators of the MCP tools (OrmAI's names) and of GraphQL where inputs. */
export const FILTER_OPS = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'not_in',
  'is_null',
  'contains',
  'startswith',
  'endswith',
  'between',
] as const;

export interface DescribedField {
  type: string;
  nullable: boolean;
  primaryKey: boolean;
  redaction?: 'mask' | 'hash';
  /** For a redacted field: how its values look and that it is no filter (its GraphQL description). */
  description?: string;
  /** Whether it can be used in where, order_by, group_by and aggregates. */
  filterable: boolean;
}

export interface DescribedModel {
  fields: Record<string, DescribedField>;
  relations: Record<string, { target: string; type: 'one' | 'many' }>;
  readable: true;
  writable: boolean;
  operations: string[];
  /** By a tenant field, or through a parent (`scopedThrough`). */
  tenantScoped: boolean;
  /** The relation to the parent whose tenant (and soft delete) scopes these rows. */
  scopedThrough?: { relation: string; model: string };
  softDelete: boolean;
  requireFilter: boolean;
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
    models: Object.fromEntries(selected.map((m) => [m.name, describeModel(m)])),
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

function describeModel(model: CompiledModel): DescribedModel {
  return {
    fields: Object.fromEntries(
      [...model.fields.values()].map((field) => [
        field.name,
        {
          type: field.list ? `${field.type}[]` : field.type,
          nullable: field.nullable,
          primaryKey: model.idField?.name === field.name,
          ...(field.redaction
            ? { redaction: field.redaction.kind, description: describeRedaction(field.redaction) }
            : {}),
          filterable: !field.redaction && !field.list && field.type !== 'Json',
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
    operations: ['get', 'query', 'aggregate'],
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
  };
}
