// Reads a response as rows of models: every object of a model (or of a view, a group key or a key
// of one) with its path and the fields it carries, every list with its length, and every field or
// model the principal's policy does not let it read. GraphQL answers are read along the document's
// selections on the role's schema (aliases, fragments); MCP results along the tool's arguments.
import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
} from 'graphql';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Datamodel, DatamodelModel } from '../policy/datamodel.js';

/** One object of a model in a response. */
export interface FoundObject {
  model: string;
  path: string;
  /** Scalar fields of the model it carries, by field name (aliases resolved). */
  values: Record<string, unknown>;
  /** Fields of the datamodel the principal may not read, found on it. */
  denied: string[];
  /** The model itself is not readable by the principal's roles. */
  hiddenModel: boolean;
  /** Rows of models above it (0 at the root, 1 for `orders { customer }`'s customer). */
  depth: number;
  /** Not a row but some of its values (a group's key, a written row's key). */
  partial: boolean;
}

/** One list of objects in a response. */
export interface FoundList {
  model: string | null;
  path: string;
  length: number;
}

export interface ResponseObjects {
  objects: FoundObject[];
  lists: FoundList[];
  /** The operation writes (a mutation, a write tool): its rows may since have changed. */
  writes: boolean;
}

interface Context {
  schema?: GraphQLSchema;
  datamodel: Datamodel;
  policy: CompiledPolicy;
  found: ResponseObjects;
}

const joinPath = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/** The model a GraphQL object type carries rows of: a model, a view, a group key or a key of one. */
function modelOfType(typeName: string, ctx: Context): { model: string; partial: boolean } | null {
  const models = ctx.datamodel.datamodel.models;
  if (models[typeName]) return { model: typeName, partial: false };
  const view = ctx.policy.views.get(typeName);
  if (view) return { model: view.model, partial: false };
  for (const suffix of ['GroupKey', 'Key']) {
    if (typeName.endsWith(suffix)) {
      const model = typeName.slice(0, -suffix.length);
      if (models[model]) return { model, partial: true };
    }
  }
  return null;
}

function scalarFieldOf(dm: DatamodelModel | undefined, name: string) {
  const field = dm?.fields.find((candidate) => candidate.name === name);
  return field && (field.kind === 'scalar' || field.kind === 'enum') ? field : undefined;
}

/** Records one object of a model: its scalar values and what of it the policy does not allow. */
function recordObject(
  ctx: Context,
  model: string,
  path: string,
  entries: [field: string, value: unknown][],
  viewFields: Set<string> | null,
  depth: number,
  partial: boolean,
): void {
  const dm = ctx.datamodel.datamodel.models[model];
  const compiled = ctx.policy.models.get(model);
  const values: Record<string, unknown> = {};
  const denied: string[] = [];
  for (const [name, value] of entries) {
    if (!scalarFieldOf(dm, name)) continue;
    const readable = viewFields ? viewFields.has(name) : compiled?.fields.has(name);
    if (!readable) denied.push(name);
    else values[name] = value;
  }
  ctx.found.objects.push({ model, path, values, denied, hiddenModel: !compiled, depth, partial });
}

// --- GraphQL -------------------------------------------------------------------------------------

/** The objects, lists and denied fields of a GraphQL answer's `data` for a document. */
export function graphqlObjects(
  schema: GraphQLSchema,
  datamodel: Datamodel,
  policy: CompiledPolicy,
  document: string,
  data: unknown,
  operationName?: string | null,
): ResponseObjects {
  const found: ResponseObjects = { objects: [], lists: [], writes: false };
  if (!data || typeof data !== 'object') return found;
  const ast = parse(document);
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of ast.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const operation = operationName
    ? operations.find((candidate) => candidate.name?.value === operationName)
    : operations[0];
  if (!operation) return found;
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return found;
  found.writes = operation.operation === 'mutation';
  const ctx = { schema, datamodel, policy, found };
  walkObject(ctx, fragments, root, operation.selectionSet, data as Record<string, unknown>, '', 0);
  return found;
}

/** The selections of a set that apply to an object of `type`, by response key. */
function collectFields(
  fragments: Map<string, FragmentDefinitionNode>,
  type: GraphQLObjectType,
  set: SelectionSetNode,
  into = new Map<string, FieldNode[]>(),
): Map<string, FieldNode[]> {
  const applies = (condition: string | undefined) =>
    !condition || condition === type.name || type.getInterfaces().some((i) => i.name === condition);
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      into.set(key, [...(into.get(key) ?? []), selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (applies(selection.typeCondition?.name.value))
        collectFields(fragments, type, selection.selectionSet, into);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (fragment && applies(fragment.typeCondition.name.value))
        collectFields(fragments, type, fragment.selectionSet, into);
    }
  }
  return into;
}

function walkObject(
  ctx: Context,
  fragments: Map<string, FragmentDefinitionNode>,
  type: GraphQLObjectType,
  set: SelectionSetNode,
  value: Record<string, unknown>,
  path: string,
  depth: number,
): void {
  const fields = collectFields(fragments, type, set);
  const model = modelOfType(type.name, ctx);
  const below = model && !model.partial ? depth + 1 : depth;
  const entries: [string, unknown][] = [];
  for (const [key, nodes] of fields) {
    if (!(key in value)) continue;
    const name = nodes[0]!.name.value;
    const definition = type.getFields()[name];
    if (!definition) continue;
    const child = value[key];
    if (isLeafType(getNamedType(definition.type))) {
      entries.push([name, child]);
      continue;
    }
    const selections: SelectionSetNode = {
      kind: Kind.SELECTION_SET,
      selections: nodes.flatMap((node) => node.selectionSet?.selections ?? []),
    };
    walkValue(ctx, fragments, definition.type, selections, child, joinPath(path, key), below);
  }
  if (model) {
    const view = ctx.policy.views.get(type.name);
    const viewFields = view ? new Set(view.fields.map((f) => f.name)) : null;
    recordObject(ctx, model.model, path, entries, viewFields, depth, model.partial);
  }
}

function walkValue(
  ctx: Context,
  fragments: Map<string, FragmentDefinitionNode>,
  type: GraphQLOutputType,
  set: SelectionSetNode,
  value: unknown,
  path: string,
  depth: number,
): void {
  if (value === null || value === undefined) return;
  if (isNonNullType(type)) {
    walkValue(ctx, fragments, type.ofType, set, value, path, depth);
    return;
  }
  if (isListType(type)) {
    if (!Array.isArray(value)) return;
    const named = getNamedType(type);
    const model = modelOfType(named.name, ctx)?.model ?? null;
    ctx.found.lists.push({ model, path, length: value.length });
    value.forEach((item, i) => {
      walkValue(ctx, fragments, type.ofType, set, item, joinPath(path, i), depth);
    });
    return;
  }
  if (typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  let objectType: GraphQLObjectType | undefined;
  if (isObjectType(type)) objectType = type;
  else if (isAbstractType(type) && typeof record.__typename === 'string') {
    // without __typename the runtime type is unknown, and so is what the object holds
    const runtime = ctx.schema?.getType(record.__typename);
    if (isObjectType(runtime)) objectType = runtime;
  }
  if (objectType) walkObject(ctx, fragments, objectType, set, record, path, depth);
}

// --- MCP -----------------------------------------------------------------------------------------

/** Tools whose result carries rows of `arguments.model` under `data`. */
const ROW_TOOLS = new Set(['db.get', 'db.query', 'db.create', 'db.update']);
const WRITE_TOOLS = new Set(['db.create', 'db.update', 'db.delete', 'db.bulk_update_by_ids']);

/** The objects, lists and denied fields of a db.* tool's structured result. */
export function mcpObjects(
  datamodel: Datamodel,
  policy: CompiledPolicy,
  tool: string,
  args: Record<string, unknown>,
  structured: unknown,
): ResponseObjects {
  const found: ResponseObjects = { objects: [], lists: [], writes: WRITE_TOOLS.has(tool) };
  const ctx = { datamodel, policy, found };
  const model = typeof args.model === 'string' ? args.model : null;
  if (!model || !datamodel.datamodel.models[model]) return found;
  if (!structured || typeof structured !== 'object') return found;
  const result = structured as Record<string, unknown>;
  if (ROW_TOOLS.has(tool)) walkRows(ctx, model, result.data, 'data', 0, false);
  if (tool === 'db.aggregate' && Array.isArray(result.groups)) {
    found.lists.push({ model, path: 'groups', length: result.groups.length });
    result.groups.forEach((group, i) => {
      const key = (group as { key?: unknown } | null)?.key;
      if (key && typeof key === 'object')
        walkRows(ctx, model, key, joinPath(joinPath('groups', i), 'key'), 0, true);
    });
  }
  return found;
}

/** A row of a model as MCP returns it: fields by name, included relations as nested rows. */
function walkRows(
  ctx: Context,
  model: string,
  value: unknown,
  path: string,
  depth: number,
  partial: boolean,
): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    ctx.found.lists.push({ model, path, length: value.length });
    value.forEach((item, i) => {
      walkRows(ctx, model, item, joinPath(path, i), depth, partial);
    });
    return;
  }
  if (typeof value !== 'object') return;
  const dm = ctx.datamodel.datamodel.models[model]!;
  const entries: [string, unknown][] = [];
  for (const [key, child] of Object.entries(value)) {
    const relation = dm.fields.find((field) => field.name === key && field.kind === 'object');
    if (relation) walkRows(ctx, relation.type, child, joinPath(path, key), depth + 1, false);
    else entries.push([key, child]);
  }
  recordObject(ctx, model, path, entries, null, depth, partial);
}
