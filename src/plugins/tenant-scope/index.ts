import './global-types.js';
import SchemaBuilder, {
  BasePlugin,
  type PothosOutputFieldConfig,
  type PothosOutputFieldType,
  type SchemaTypes,
} from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import type { CompiledModel } from '../../policy/compile-policy.js';
import { rowInScope } from '../../policy/row-scope.js';

const pluginName = 'tenantScope';

export default pluginName;

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

/**
 * The after-fetch half of tenant scoping. Every query the schema sends is already ANDed with the
 * model's row scope; this plugin checks every row a field returns as well, because a to-one
 * relation cannot carry a where in Prisma, so a foreign key that points into another tenant would
 * otherwise load that tenant's row. Out-of-scope rows become null (single) or are dropped (list).
 * Fields that return no scoped model keep their resolver untouched.
 *
 * A model scoped through a parent (`scopeThrough`) is checked for its own soft delete only: its
 * rows do not carry the parent's tenant. Every field that returns such rows loads them with the
 * scope in SQL (root lists and single rows, relation lists, the to-one loader, and to-one
 * relations over a compound key, which the schema resolves with a scoped query for these models
 * instead of Prisma's unfiltered include), so the relation filter to the parent is never skipped.
 */
export class PothosTenantScopePlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: Resolver<Types>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): Resolver<Types> {
    const model = this.scopedModelOf(fieldConfig.type);
    if (!model) return resolver;
    const { principal: principalOf } = this.builder.options.tenantScope;
    const list = fieldConfig.type.kind === 'List';

    return (parent, args, context, info) => {
      const principal = principalOf(context);
      const inScope = (row: unknown) => rowInScope(model, principal, row);
      const check = (value: unknown) => {
        if (value === null || value === undefined) return value;
        if (list) return Array.isArray(value) ? value.filter(inScope) : value;
        return inScope(value) ? value : null;
      };
      const result = resolver(parent, args, context, info);
      return isThenable(result) ? result.then(check) : check(result);
    };
  }

  /** The compiled model behind a field's return type, when that model has a scope to check. */
  private scopedModelOf(type: PothosOutputFieldType<Types>): CompiledModel | null {
    const named = type.kind === 'List' ? type.type : type;
    if (named.kind !== 'Object') return null;
    const typeConfig = this.buildCache.getTypeConfig(named.ref);
    // Prisma object types name their model; views name the model they summarise
    const modelName = typeConfig.extensions?.ormaiModel ?? typeConfig.extensions?.pothosPrismaModel;
    if (typeof modelName !== 'string') return null;
    const model = this.builder.options.tenantScope.policy.models.get(modelName);
    return model && (model.tenantField || model.softDeleteField) ? model : null;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

SchemaBuilder.registerPlugin(pluginName, PothosTenantScopePlugin);
