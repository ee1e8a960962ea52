import './global-types.js';
import SchemaBuilder, { BasePlugin, type SchemaTypes } from '@pothos/core';
import {
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
} from 'graphql';

const pluginName = 'buildState';

export default pluginName;

/**
 * Extension keys Pothos and its plugins write for the build and read only while building: every
 * field keeps a copy of its whole config (`pothosConfig`) and its options (`pothosOptions`) in its
 * extensions otherwise. Keys not listed stay (execution reads `complexity`, `pothosPrismaSelect`,
 * `pothosPrismaFieldMap`, `pothosPrismaTypeSelection`, `pothosArgMappers`, ormai's own).
 */
const BUILD_ONLY_KEYS = new Set([
  'pothosOptions',
  'pothosConfig',
  'pothosResolveWrapped',
  'pothosSubscribeWrapped',
  'pothosOriginalResolve',
  'pothosOriginalSubscribe',
  'pothosExposedField',
  'pothosPrismaVariant',
  'pothosPrismaRelationField',
  'pothosPrismaLoaded',
  'pothosPrismaFallback',
  'pothosPrismaInclude',
  'pothosPrismaLoader',
]);

/** Pothos' build bookkeeping: configs per type and field, read while building only. */
const BUILD_CACHE_MAPS = [
  'types',
  'implementers',
  'typeConfigs',
  'enumValueConfigs',
  'outputFieldConfigs',
  'inputFieldConfigs',
];
const CONFIG_STORE_MAPS = [
  'typeConfigs',
  'fields',
  'fieldDefaults',
  'refs',
  'implementors',
  'paramAssociations',
  'pendingTypeConfigResolutions',
];

/**
 * Frees what a schema's build needed and its requests do not: a server keeps one schema per role
 * set (src/policy/role-set-cache.ts), and with 200 models each held ~60 MB, two thirds of it build
 * state. Resolvers made by Pothos keep the builder reachable (they close over their field builder
 * or plugin), so its config store and the build cache are emptied rather than dropped, and each
 * field's extensions lose the configs copied into them (graphql-js also turns every extensions
 * object into a null-prototype one, a hash table per field: the compact ones are plain objects,
 * shared between fields whose extensions are equal). A builder so emptied builds no second schema:
 * buildSchema makes a builder per schema.
 */
export class PothosBuildStatePlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override afterBuild(schema: GraphQLSchema): GraphQLSchema {
    compactExtensions(schema);
    emptyTypeRefs(this.builder.configStore as unknown as { refs?: unknown });
    clearMaps(this.buildCache as unknown as Record<string, unknown>, BUILD_CACHE_MAPS);
    clearMaps(this.builder.configStore as unknown as Record<string, unknown>, CONFIG_STORE_MAPS);
    return schema;
  }
}

/**
 * What each type ref gathered for the build: its field thunks (which hold the `fields` callbacks
 * and, through them, every field builder `t`), the callbacks waiting for its config and those
 * waiting for its fields. Resolvers that close over a ref (Pothos' connection fields do) would
 * otherwise keep all of that alive with the schema.
 */
const TYPE_REF_SETS = ['fields', 'fieldCbs', 'configCallbacks'];

function emptyTypeRefs(configStore: { refs?: unknown }) {
  if (!(configStore.refs instanceof Set)) return;
  for (const ref of configStore.refs as Set<Record<string, unknown>>) {
    clearMaps(ref, TYPE_REF_SETS);
    if (Array.isArray(ref.interfaces)) ref.interfaces.length = 0;
    // the type's config, with the options it was declared with (read by the build only)
    if ('currentConfig' in ref) ref.currentConfig = null;
  }
}

function clearMaps(owner: Record<string, unknown>, names: readonly string[]) {
  for (const name of names) {
    const value = owner[name];
    if (value instanceof Map || value instanceof Set) value.clear();
  }
}

type Extensions = Readonly<Record<string, unknown>>;
type WithExtensions = { extensions: Extensions | null | undefined };

/** Pothos gives every field an argument-mapper list, empty unless a plugin maps arguments. */
const isKept = (key: string, value: unknown) =>
  value !== undefined &&
  !BUILD_ONLY_KEYS.has(key) &&
  !(key === 'pothosArgMappers' && Array.isArray(value) && value.length === 0);

const NO_ARGS: readonly never[] = Object.freeze([]);

function compactExtensions(schema: GraphQLSchema) {
  const shared = new Map<string, Extensions>();
  const ids = new Map<unknown, number>();
  // the same text for equal extensions only: keys and strings JSON-quoted, objects by identity
  const idOf = (value: unknown) => {
    if (typeof value === 'string') return JSON.stringify(value);
    if (value === null || typeof value === 'number' || typeof value === 'boolean')
      return `${typeof value}:${String(value)}`;
    let id = ids.get(value);
    if (id === undefined) {
      id = ids.size;
      ids.set(value, id);
    }
    return `#${id}`;
  };
  const compact = (owner: WithExtensions) => {
    const extensions = owner.extensions;
    if (!extensions) return;
    let signature = '';
    for (const key in extensions) {
      if (isKept(key, extensions[key]))
        signature += `${JSON.stringify(key)}=${idOf(extensions[key])},`;
    }
    let kept = shared.get(signature);
    if (!kept) {
      const entries: Record<string, unknown> = {};
      for (const key in extensions)
        if (isKept(key, extensions[key])) entries[key] = extensions[key];
      kept = Object.freeze(entries);
      shared.set(signature, kept);
    }
    owner.extensions = kept;
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    compact(type as unknown as WithExtensions);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        compact(field as unknown as WithExtensions);
        for (const arg of field.args) compact(arg as unknown as WithExtensions);
        // most fields take no arguments: one empty list for all of them, not one each
        if (field.args.length === 0) (field as { args: readonly unknown[] }).args = NO_ARGS;
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        compact(field as unknown as WithExtensions);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) compact(value as unknown as WithExtensions);
    }
  }
}

SchemaBuilder.registerPlugin(pluginName, PothosBuildStatePlugin);
