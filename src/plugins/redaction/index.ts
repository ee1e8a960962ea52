import './global-types.js';
import SchemaBuilder, {
  BasePlugin,
  type PothosOutputFieldConfig,
  type SchemaTypes,
} from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { describeRedaction, redact } from '../../policy/redaction.js';
import { describeByRole, type FieldRule } from '../../policy/role-rules.js';
import type { OrmaiContext } from '../../schema/context.js';
import { ruleForRow } from './row-rules.js';

const pluginName = 'redaction';

export default pluginName;

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types['Context'], object>;

/**
 * Masks or hashes a field's value on its way out, wherever the field is resolved (root, nested,
 * views), so no path returns the raw value, and says so in the field's description (Docs,
 * introspection). A field the principal's roles disagree on row by row is decided per row (see
 * row-rules.ts). Fields without either keep their resolver and description.
 */
export class PothosRedactionPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): PothosOutputFieldConfig<Types> {
    const { redaction, redactionByRole } = fieldConfig.pothosOptions;
    const note = redactionByRole
      ? describeByRole(redactionByRole)
      : redaction
        ? describeRedaction(redaction)
        : null;
    if (!note) return fieldConfig;
    return {
      ...fieldConfig,
      description: fieldConfig.description ? `${fieldConfig.description}\n\n${note}` : note,
    };
  }

  override wrapResolve(
    resolver: Resolver<Types>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): Resolver<Types> {
    const { redaction, redactionByRole } = fieldConfig.pothosOptions;
    const { hashKey, datamodel } = this.builder.options.redaction;
    // a Json value may itself be an array: it is redacted whole, only a list field item by item
    const list = fieldConfig.type.kind === 'List';
    if (redactionByRole) {
      // the field is a String when some row may be masked or hashed: plain values become text
      const asText = Boolean(redaction);
      const apply = (value: unknown, rule: FieldRule) =>
        list && Array.isArray(value)
          ? value.map((item) => applyRule(item, rule, hashKey, asText))
          : applyRule(value, rule, hashKey, asText);
      return async (parent, args, context, info) => {
        const [value, rule] = await Promise.all([
          resolver(parent, args, context, info),
          ruleForRow(
            redactionByRole,
            parent as Record<string, unknown>,
            context as OrmaiContext,
            datamodel,
          ),
        ]);
        return apply(value, rule);
      };
    }
    if (!redaction) return resolver;
    const apply = (value: unknown) =>
      list && Array.isArray(value)
        ? value.map((item) => redact(item, redaction, hashKey))
        : redact(value, redaction, hashKey);
    return (parent, args, context, info) => {
      const result = resolver(parent, args, context, info);
      return result instanceof Promise ? result.then(apply) : apply(result);
    };
  }
}

function applyRule(value: unknown, rule: FieldRule, hashKey: string, asText: boolean): unknown {
  if (rule.kind === 'deny') return null;
  if (rule.kind !== 'plain') return redact(value, rule, hashKey);
  return asText ? plainText(value) : value;
}

/** A plain value as the text a String field returns (dates in ISO-8601, bytes in base64). */
function plainText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object' && value.toString === Object.prototype.toString)
    return JSON.stringify(value);
  return String(value);
}

SchemaBuilder.registerPlugin(pluginName, PothosRedactionPlugin);
