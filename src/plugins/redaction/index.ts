import './global-types.js';
import SchemaBuilder, {
  BasePlugin,
  type PothosOutputFieldConfig,
  type SchemaTypes,
} from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { describeRedaction, redact } from '../../policy/redaction.js';

const pluginName = 'redaction';

export default pluginName;

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

/**
 * Masks or hashes a field's value on its way out, wherever the field is resolved (root, nested,
 * views), so no path returns the raw value, and says so in the field's description (Docs,
 * introspection). Fields without a redaction keep their resolver and description.
 */
export class PothosRedactionPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): PothosOutputFieldConfig<Types> {
    const redaction = fieldConfig.pothosOptions.redaction;
    if (!redaction) return fieldConfig;
    const note = describeRedaction(redaction);
    return {
      ...fieldConfig,
      description: fieldConfig.description ? `${fieldConfig.description}\n\n${note}` : note,
    };
  }

  override wrapResolve(
    resolver: Resolver<Types>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): Resolver<Types> {
    const redaction = fieldConfig.pothosOptions.redaction;
    if (!redaction) return resolver;
    const { hashSalt } = this.builder.options.redaction;
    const apply = (value: unknown) =>
      Array.isArray(value)
        ? value.map((item) => redact(item, redaction, hashSalt))
        : redact(value, redaction, hashSalt);
    return (parent, args, context, info) => {
      const result = resolver(parent, args, context, info);
      return result instanceof Promise ? result.then(apply) : apply(result);
    };
  }
}

SchemaBuilder.registerPlugin(pluginName, PothosRedactionPlugin);
