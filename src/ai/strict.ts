/**
 * OpenAI's strict mode (function calling with `strict: true`) takes a subset of JSON Schema: every
 * object lists its properties, requires all of them and sets additionalProperties: false; every
 * value has a `type` (or is an `anyOf` of typed branches); `default` is not allowed. An optional
 * property becomes a required one that may be null, and a call's nulls for optional properties
 * are read as "not given" (`withoutOmittedNulls`).
 */
type Schema = Record<string, unknown>;

export type StrictSchema =
  | { strict: true; schema: Schema }
  | {
      strict: false;
      /** Where in the input schema, and which keyword, keeps the tool out of strict mode. */
      reason: string;
    };

class NotStrict extends Error {}

/** The strict-mode form of a tool's input schema, or why there is none. */
export function strictSchema(inputSchema: Schema): StrictSchema {
  try {
    if (inputSchema.type !== 'object' || inputSchema.anyOf) {
      throw new NotStrict('<root>: the root must be one object (not anyOf)');
    }
    return { strict: true, schema: strictify(inputSchema, '<root>') };
  } catch (error) {
    if (error instanceof NotStrict) return { strict: false, reason: error.message };
    throw error;
  }
}

const ANNOTATIONS = new Set(['description', 'title']);
/** What strict mode accepts beside the structure (OpenAI "supported properties"). */
const SUPPORTED = new Set([
  'enum',
  'const',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);

function strictify(schema: Schema, path: string): Schema {
  const out: Schema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword) || SUPPORTED.has(keyword)) out[keyword] = value;
    else if (keyword === 'default') {
      // not allowed in strict mode: said in the description instead (after the loop, so that a
      // description listed after the default does not replace it)
    } else if (
      !['type', 'properties', 'required', 'additionalProperties', 'items', 'anyOf'].includes(
        keyword,
      )
    ) {
      throw new NotStrict(`${path}: \`${keyword}\` is not supported in strict mode`);
    }
  }
  if (schema.default !== undefined) {
    const said = `default ${JSON.stringify(schema.default)}`;
    out.description = schema.description ? `${schema.description} (${said})` : said;
  }
  if (Array.isArray(schema.anyOf)) {
    if (schema.type !== undefined) {
      throw new NotStrict(`${path}: \`type\` beside \`anyOf\``);
    }
    out.anyOf = schema.anyOf.map((branch, i) => strictify(branch as Schema, `${path}.anyOf[${i}]`));
    return out;
  }
  const type = schema.type;
  if (type === undefined) {
    throw new NotStrict(
      `${path}: no \`type\` (a value of any JSON type); strict mode needs a type for every value`,
    );
  }
  const types = Array.isArray(type) ? (type as string[]) : [type as string];
  if (types.length > 1) {
    if (types.some((t) => t === 'object' || t === 'array')) {
      throw new NotStrict(
        `${path}: \`type: ${JSON.stringify(type)}\` lists an object or array beside other types`,
      );
    }
    return { anyOf: types.map((t) => ({ type: t })), ...out };
  }
  out.type = types[0];
  if (types[0] === 'object') {
    const properties = schema.properties as Record<string, Schema> | undefined;
    if (!properties || schema.additionalProperties !== false) {
      throw new NotStrict(
        `${path}: an object ${properties ? 'open to additional properties' : 'without `properties`'} (its keys are free-form); strict mode needs every object to list its properties with additionalProperties: false`,
      );
    }
    const required = new Set((schema.required as string[] | undefined) ?? []);
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, property]) => {
        const strict = strictify(property, `${path}.${name}`);
        return [name, required.has(name) ? strict : orNull(strict)];
      }),
    );
    out.required = Object.keys(properties);
    out.additionalProperties = false;
  }
  if (types[0] === 'array') {
    if (!schema.items || Array.isArray(schema.items)) {
      throw new NotStrict(`${path}: an array without one \`items\` schema`);
    }
    out.items = strictify(schema.items as Schema, `${path}[]`);
  }
  return out;
}

/** An optional property as strict mode has it: required, and null when not given. */
function orNull(schema: Schema): Schema {
  if (Array.isArray(schema.anyOf)) {
    return { ...schema, anyOf: [...schema.anyOf, { type: 'null' }] };
  }
  const { description, title, ...rest } = schema;
  const annotations = {
    ...(description !== undefined ? { description } : {}),
    ...(title !== undefined ? { title } : {}),
  };
  if (rest.type === 'object' || rest.type === 'array' || rest.enum) {
    return { anyOf: [rest, { type: 'null' }], ...annotations };
  }
  return { ...rest, type: [rest.type, 'null'], ...annotations };
}

/**
 * A call's arguments without the nulls a strict-mode model sends for optional properties it
 * leaves out (ormai reads an absent property and a null one alike only for some tools). Free-form
 * objects (`data`) keep their nulls: there null sets a field to null.
 */
export function withoutOmittedNulls(schema: Schema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (Array.isArray(value)) {
    return value.map((item) => withoutOmittedNulls(schema.items as Schema | undefined, item));
  }
  if (value === null || typeof value !== 'object') return value;
  const shaped =
    schema.properties !== undefined
      ? schema
      : (schema.anyOf as Schema[] | undefined)?.find((branch) => branch.properties !== undefined);
  const properties = shaped?.properties as Record<string, Schema> | undefined;
  if (!shaped || !properties) return value;
  const required = new Set((shaped.required as string[] | undefined) ?? []);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([name, item]) => item !== null || required.has(name))
      .map(([name, item]) => [name, withoutOmittedNulls(properties[name], item)]),
  );
}
