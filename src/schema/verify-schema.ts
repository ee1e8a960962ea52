import { type GraphQLSchema, isEnumType, isInputObjectType, isObjectType } from 'graphql';
import type { Finding } from '../policy/check-policy.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';

/**
 * Checks a built schema against the policy it was built for: no masked, hashed or denied field is
 * offered as a filter, a sort key, a group key or an aggregate (no filter oracle), and no denied
 * field is readable. It inspects the schema itself, so it also catches a builder that went wrong.
 */
export function verifySchema(
  schema: GraphQLSchema,
  policy: CompiledPolicy,
  datamodel: Datamodel,
  role: string,
): Finding[] {
  const findings: Finding[] = [];
  for (const model of policy.models.values()) {
    const all =
      datamodel.datamodel.models[model.name]?.fields.filter((f) => f.kind !== 'object') ?? [];
    const hidden = all.filter((field) => !model.fields.has(field.name)).map((field) => field.name);
    const redacted = [...model.fields.values()]
      .filter((field) => field.redaction || field.byRole)
      .map((field) => field.name);

    const probing: [string, string[]][] = [
      [`${model.name}WhereInput`, fieldNames(schema, `${model.name}WhereInput`)],
      [`${model.name}OrderByInput`, fieldNames(schema, `${model.name}OrderByInput`)],
      [`${model.name}GroupByField`, fieldNames(schema, `${model.name}GroupByField`)],
      [`${model.name}NumericAggregate`, fieldNames(schema, `${model.name}NumericAggregate`)],
      [`${model.name}ExtremeAggregate`, fieldNames(schema, `${model.name}ExtremeAggregate`)],
      [`${model.name}NumericOrderByInput`, fieldNames(schema, `${model.name}NumericOrderByInput`)],
      [`${model.name}GroupOrderByInput`, fieldNames(schema, `${model.name}GroupOrderByInput`)],
    ];
    for (const [typeName, names] of probing) {
      for (const name of names) {
        if (redacted.includes(name) || hidden.includes(name)) {
          findings.push({
            severity: 'error',
            role,
            path: `${model.name}.${name}`,
            message: `${redacted.includes(name) ? 'redacted' : 'denied'} but usable in ${typeName}: a filter oracle`,
          });
        }
      }
    }
    for (const name of fieldNames(schema, model.name)) {
      if (hidden.includes(name)) {
        findings.push({
          severity: 'error',
          role,
          path: `${model.name}.${name}`,
          message: 'denied but readable',
        });
      }
    }
  }
  return findings;
}

function fieldNames(schema: GraphQLSchema, typeName: string): string[] {
  const type = schema.getType(typeName);
  if (isInputObjectType(type) || isObjectType(type)) return Object.keys(type.getFields());
  if (isEnumType(type)) return type.getValues().map((value) => value.name);
  return [];
}
