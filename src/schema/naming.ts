import type { CompiledPolicy } from '../policy/compile-policy.js';
import { StartupError } from '../startup-error.js';

/** How root fields are named from a model: `Order` → `order`, `orders`, `ordersAggregate`. */
export interface NamingOptions {
  /** The plural of a model's camelCase name; the default handles regular English plurals. */
  plural?: (singular: string) => string;
  /**
   * Put before the names of ormai's own GraphQL types (`SortOrder`, `PageInfo`, `AuditRecord`,
   * `ApprovalRequest`, …): `'Ormai'` makes them `OrmaiSortOrder`, … so a model may have the name.
   */
  typePrefix?: string;
}

export interface ModelNames {
  single: string;
  list: string;
}

export function modelNames(model: string, options: NamingOptions = {}): ModelNames {
  const single = model.charAt(0).toLowerCase() + model.slice(1);
  let list = (options.plural ?? defaultPlural)(single);
  // a name whose plural is itself (`news`) still needs two distinct root fields
  if (list === single) list = `${single}List`;
  return { single, list };
}

export function defaultPlural(word: string): string {
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  return `${word}s`;
}

/** ormai's own GraphQL types that `typePrefix` renames (relay derives the audit connection's). */
export const PREFIXED_TYPE_NAMES = [
  'SortOrder',
  'PageInfo',
  'AuditRecord',
  'AuditRecordWhereInput',
  'AuditRecordConnection',
  'AuditRecordEdge',
  'ApprovalRequest',
  'DeleteResult',
  'BulkUpdateResult',
] as const;

/** ormai's own scalars: never prefixed (a model of that name must be renamed). */
export const SCALAR_TYPE_NAMES = ['JSON', 'DateTime', 'BigInt', 'Decimal', 'Bytes'] as const;

/** ormai's own root fields; a model's root field of the same name is renamed with `plural`. */
export const ORMAI_ROOT_FIELDS = [
  'describeSchema',
  'auditRecords',
  'approvalRequest',
  'approvalRequests',
  'approveRequest',
  'rejectRequest',
] as const;

/** The name of one of ormai's own types, with the configured prefix. */
export function ormaiTypeName(name: string, options: NamingOptions = {}): string {
  return `${options.typePrefix ?? ''}${name}`;
}

/** Types every model gets, by suffix; a model named `<Other><suffix>` collides with them. */
const DERIVED_SUFFIXES = ['Connection', 'Edge', 'WhereInput', 'OrderByInput', 'Aggregate'];

export interface NameCollision {
  name: string;
  /** Who defines it besides the datamodel: ormai's own type, root field, or a derived type. */
  ormai: string;
  hint: string;
}

/**
 * Names the served models, enums and views share with ormai's own GraphQL types and root
 * fields, or with the types ormai derives from another model. Pothos would refuse the schema with
 * a bare "Duplicate typename"; this names both sides and what to change.
 */
export function findNameCollisions(
  names: { models: readonly string[]; enums: readonly string[]; views: readonly string[] },
  options: NamingOptions = {},
): NameCollision[] {
  const modelList = names.models;
  const own = new Map<string, string>();
  for (const name of PREFIXED_TYPE_NAMES)
    own.set(ormaiTypeName(name, options), `ormai's own type ${ormaiTypeName(name, options)}`);
  for (const name of SCALAR_TYPE_NAMES) own.set(name, `ormai's scalar ${name}`);
  for (const model of modelList) {
    for (const suffix of DERIVED_SUFFIXES)
      own.set(
        `${model}${suffix}`,
        `the type ${model}${suffix} ormai derives from the model ${model}`,
      );
  }
  const prefixHint = options.typePrefix
    ? 'rename the model'
    : "set naming.typePrefix in ormai.config.ts (e.g. 'Ormai', giving OrmaiSortOrder), or rename the model";
  const collisions: NameCollision[] = [];
  for (const name of [...modelList, ...names.enums, ...names.views]) {
    const ormai = own.get(name);
    if (!ormai) continue;
    const scalar = (SCALAR_TYPE_NAMES as readonly string[]).includes(name);
    const derived =
      !scalar &&
      !(PREFIXED_TYPE_NAMES as readonly string[]).some(
        (type) => ormaiTypeName(type, options) === name,
      );
    collisions.push({
      name,
      ormai,
      hint: scalar || derived ? 'rename the model, enum or view' : prefixHint,
    });
  }
  const roots = new Set<string>(ORMAI_ROOT_FIELDS);
  for (const model of modelList) {
    const names = modelNames(model, options);
    for (const field of [names.single, names.list]) {
      if (!roots.has(field)) continue;
      collisions.push({
        name: field,
        ormai: `ormai's own root field ${field}`,
        hint: `name the model's root fields differently with naming.plural (e.g. ${names.single}List)`,
      });
    }
  }
  return collisions;
}

/** The models, enums and views a role set's schema has types for. */
export function namesServedBy(policy: CompiledPolicy) {
  return {
    models: [...policy.models.keys()],
    enums: [...policy.enums.keys()],
    views: [...policy.views.keys()],
  };
}

/** Refuses to start on a name collision (GRAPHQL_NAME_COLLISION), naming both sides and the fix. */
export function assertNoNameCollisions(
  names: Parameters<typeof findNameCollisions>[0],
  options: NamingOptions = {},
): void {
  const [first, ...more] = findNameCollisions(names, options);
  if (!first) return;
  throw new StartupError(
    'GRAPHQL_NAME_COLLISION',
    `the GraphQL name ${first.name} is both the datamodel's ${first.name} and ${first.ormai}${more.length > 0 ? ` (and ${more.length} more: ${more.map((c) => c.name).join(', ')})` : ''}`,
    { hints: [first.hint], details: { collisions: [first, ...more] } },
  );
}
