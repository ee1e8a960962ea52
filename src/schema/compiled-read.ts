import { complexityFromQuery } from '@pothos/plugin-complexity';
import {
  type ArgumentNode,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLArgument,
  type GraphQLSchema,
  getNamedType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  valueFromAST,
} from 'graphql';
import {
  type GroupEntry,
  type GroupValue,
  type JsonEntry,
  type JsonOrder,
  type JsonSelection,
  type JsonStatement,
  jsonGroupsStatement,
  jsonReadStatement,
  runJsonRead,
} from '../data-access/json-read.js';
import type { RawReader } from '../db/direct-reads.js';
import type { CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import { type Redaction, redact } from '../policy/redaction.js';
import { listTake } from './budget-rules.js';
import type { OrmaiContext } from './context.js';
import { modelNames, type NamingOptions } from './naming.js';
import { checkKeyTenant, readKey } from './row-keys.js';
import { toSortKeys } from './where.js';

/**
 * Compiled reads: a query whose every field the data-access point can answer in one SQL statement
 * (`jsonReadStatement`: rows as JSON, scope added there) is answered without the executor, its resolvers or
 * Prisma: a model's rows or one row by key, their columns, `__typename`, to-one relations and
 * lists beneath them, `first` and `orderBy`; a groupBy's keys, count and Int sums, minima and
 * maxima (`by` and `first`). Anything else — a `where`, `after`, `totalCount`, `edges`,
 * `pageInfo`, fragments, directives, averages, aggregates of other types, views, fields decided
 * row by row, a scope of another shape — is left to the executor, as is any request whose arguments the
 * executor would refuse: the fast path answers only what it answers exactly as the executor would,
 * byte for byte (test/compiled-read.test.ts compares the two on every example and role).
 */
export interface OperationPlan {
  roots: RootPlan[];
  /** The operation's complexity when no argument is a variable; else computed per request. */
  complexity: number | null;
  policy: CompiledPolicy;
  document: DocumentNode;
  schema: GraphQLSchema;
}

type RootPlan = ListPlan | SinglePlan | GroupsPlan;

interface ListPlan {
  kind: 'list';
  key: string;
  model: CompiledModel;
  selection: JsonSelection;
  redactions: Redactions | null;
  first: ArgumentSource | null;
  orderBy: JsonOrder[];
  /** The connection's own keys: `nodes` (the rows) or `__typename`. */
  connection: { key: string; typename?: string }[];
}

interface SinglePlan {
  kind: 'single';
  key: string;
  model: CompiledModel;
  selection: JsonSelection;
  redactions: Redactions | null;
  args: Map<string, ArgumentSource>;
}

interface GroupsPlan {
  kind: 'groups';
  key: string;
  model: CompiledModel;
  by: string[];
  first: ArgumentSource | null;
  entries: GroupEntry[];
}

/** An argument's value: written in the document, or a variable's (Int or String) value. */
type ArgumentSource = { literal: unknown } | { variable: string; type: 'Int' | 'String' };

/** Where in a row masked or hashed values are, by response key. */
interface Redactions {
  fields: [string, Redaction][];
  nested: [string, Redactions][];
}

const plans = new WeakMap<
  GraphQLSchema,
  WeakMap<DocumentNode, Map<string, OperationPlan | null>>
>();

/**
 * The plan of `document`'s operation for `schema` (one role set's, built from `policy`), or null
 * when the executor must answer it. Cached per schema and parsed document, which yoga shares
 * between the requests that send the same text.
 */
export function operationPlan(
  schema: GraphQLSchema,
  policy: CompiledPolicy,
  naming: NamingOptions | undefined,
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationPlan | null {
  let byDocument = plans.get(schema);
  if (!byDocument) {
    byDocument = new WeakMap();
    plans.set(schema, byDocument);
  }
  let byName = byDocument.get(document);
  if (!byName) {
    byName = new Map();
    byDocument.set(document, byName);
  }
  const name = operationName ?? '';
  let plan = byName.get(name);
  if (plan === undefined) {
    plan = planOperation(schema, policy, naming, document, operationName);
    byName.set(name, plan);
  }
  return plan;
}

function planOperation(
  schema: GraphQLSchema,
  policy: CompiledPolicy,
  naming: NamingOptions | undefined,
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationPlan | null {
  // one operation and nothing else: complexityFromQuery reads the first operation of a document
  if (document.definitions.length !== 1) return null;
  const operation = document.definitions[0]! as OperationDefinitionNode;
  if (operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') return null;
  if (operationName && operation.name?.value !== operationName) return null;
  if (operation.directives?.length) return null;
  const variableTypes = new Map<string, 'Int' | 'String'>();
  for (const definition of operation.variableDefinitions ?? []) {
    // a variable with a default, or of any other type, is coerced by the executor alone
    const type = definition.type.kind === Kind.NAMED_TYPE ? definition.type.name.value : null;
    if (definition.defaultValue || (type !== 'Int' && type !== 'String')) return null;
    variableTypes.set(definition.variable.name.value, type);
  }
  const planner = new Planner(schema, policy, variableTypes);
  const rootFields = rootReadsOf(policy, naming);
  const queryType = schema.getQueryType();
  if (!queryType) return null;
  const roots: RootPlan[] = [];
  const fields = plainFields(operation.selectionSet);
  if (!fields) return null;
  for (const { key, selection } of fields) {
    const root = rootFields.get(selection.name.value);
    const field = queryType.getFields()[selection.name.value];
    if (!root || !field || !selection.selectionSet) return null;
    const plan = planner[root.kind](
      key,
      root.model,
      field.args,
      selection.arguments ?? [],
      selection.selectionSet,
    );
    if (!plan) return null;
    roots.push(plan);
  }
  if (roots.length === 0) return null;
  let complexity: number | null = null;
  if (variableTypes.size === 0) {
    complexity = complexityOf(schema, document, {});
    if (complexity === null || complexity > policy.budgets.maxComplexity) return null;
  }
  return {
    roots,
    complexity,
    policy,
    document,
    schema,
  };
}

function complexityOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
): number | null {
  try {
    return complexityFromQuery(document, { schema, variables }).complexity;
  } catch {
    return null;
  }
}

/**
 * Root field name → the model it reads and how (`order` one row, `orders` a connection,
 * `ordersGroupBy` groups).
 */
function rootReadsOf(policy: CompiledPolicy, naming: NamingOptions | undefined) {
  const fields = new Map<string, { model: CompiledModel; kind: RootPlan['kind'] }>();
  for (const model of policy.models.values()) {
    const names = modelNames(model.name, naming);
    if (model.primaryKey.length > 0) fields.set(names.single, { model, kind: 'single' });
    fields.set(names.list, { model, kind: 'list' });
    fields.set(`${names.list}GroupBy`, { model, kind: 'groups' });
  }
  return fields;
}

class Planner {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly policy: CompiledPolicy,
    private readonly variables: Map<string, 'Int' | 'String'>,
  ) {}

  list(
    key: string,
    model: CompiledModel,
    definitions: readonly GraphQLArgument[],
    args: readonly ArgumentNode[],
    set: SelectionSetNode,
  ): ListPlan | null {
    // requireFilter refuses an unfiltered list, and a where is the executor's
    if (model.requireFilter) return null;
    let first: ArgumentSource | null = null;
    let orderBy: JsonOrder[] = [];
    for (const arg of args) {
      const name = arg.name.value;
      if (name === 'first') {
        first = this.#source(arg.value, definitions, name);
        if (!first) return null;
      } else if (name === 'orderBy') {
        const keys = this.#orderBy(model, definitions, arg.value);
        if (!keys) return null;
        orderBy = keys;
      } else {
        return null;
      }
    }
    if (orderBy.length === 0) orderBy = this.#orderBy(model, definitions, null)!;
    // without a key the rows have no one order both paths would agree on
    if (orderBy.length === 0) return null;
    const connection: ListPlan['connection'] = [];
    let nodes: { selection: JsonSelection; redactions: Redactions | null } | null = null;
    const fields = plainFields(set);
    if (!fields) return null;
    for (const { key: responseKey, selection } of fields) {
      if (selection.name.value === '__typename') {
        connection.push({ key: responseKey, typename: `${model.name}Connection` });
      } else if (selection.name.value === 'nodes' && !nodes && selection.selectionSet) {
        if (selection.arguments?.length) return null;
        nodes = this.selection(model, selection.selectionSet);
        if (!nodes) return null;
        connection.push({ key: responseKey });
      } else {
        return null;
      }
    }
    if (!nodes || !this.schema.getType(`${model.name}Connection`)) return null;
    return { kind: 'list', key, model, first, orderBy, connection, ...nodes };
  }

  single(
    key: string,
    model: CompiledModel,
    definitions: readonly GraphQLArgument[],
    args: readonly ArgumentNode[],
    set: SelectionSetNode,
  ): SinglePlan | null {
    const sources = new Map<string, ArgumentSource>();
    for (const arg of args) {
      const source = this.#source(arg.value, definitions, arg.name.value);
      if (!source) return null;
      sources.set(arg.name.value, source);
    }
    const selection = this.selection(model, set);
    return selection && { kind: 'single', key, model, args: sources, ...selection };
  }

  groups(
    key: string,
    model: CompiledModel,
    definitions: readonly GraphQLArgument[],
    args: readonly ArgumentNode[],
    set: SelectionSetNode,
  ): GroupsPlan | null {
    // requireFilter refuses a groupBy without a where, and a where is the executor's
    if (model.requireFilter || !this.schema.getType(`${model.name}Group`)) return null;
    let by: string[] | null = null;
    let first: ArgumentSource | null = null;
    for (const arg of args) {
      if (arg.name.value === 'by') {
        const value = literalOf(arg.value, definitions, 'by');
        const names = Array.isArray(value) ? value : value == null ? [] : [value];
        by = [...new Set(names.filter((name): name is string => typeof name === 'string'))];
      } else if (arg.name.value === 'first') {
        first = this.#source(arg.value, definitions, 'first');
        if (!first) return null;
      } else {
        return null;
      }
    }
    // an empty `by` is the executor's error to word
    if (!by?.length || by.some((name) => !this.#plainField(model, name))) return null;
    const entries: GroupEntry[] = [];
    const fields = plainFields(set);
    if (!fields) return null;
    for (const { key: responseKey, selection } of fields) {
      if (selection.arguments?.length) return null;
      const name = selection.name.value;
      if (name === '__typename') {
        entries.push({ key: responseKey, constant: `${model.name}Group` });
      } else if (name === 'count' && !selection.selectionSet) {
        entries.push({ key: responseKey, count: true });
      } else if (GROUP_OBJECTS[name] && selection.selectionSet) {
        const [typename, of] = GROUP_OBJECTS[name]!;
        const values = this.#groupValues(
          model,
          by,
          `${model.name}${typename}`,
          of,
          selection.selectionSet,
        );
        if (!values) return null;
        entries.push({ key: responseKey, values });
      } else {
        return null;
      }
    }
    return { kind: 'groups', key, model, by, first, entries };
  }

  /** The keys of a group's `key`, `sum`, `min` or `max` object. */
  #groupValues(
    model: CompiledModel,
    by: string[],
    typename: string,
    of: 'key' | 'sum' | 'min' | 'max',
    set: SelectionSetNode,
  ): GroupValue[] | null {
    if (!this.schema.getType(typename)) return null;
    const values: GroupValue[] = [];
    const fields = plainFields(set);
    if (!fields) return null;
    for (const { key, selection } of fields) {
      if (selection.arguments?.length || selection.selectionSet) return null;
      const name = selection.name.value;
      if (name === '__typename') values.push({ key, constant: typename });
      else if (!this.#plainField(model, name)) return null;
      // the key of a field not grouped by is null
      else if (of === 'key' && !by.includes(name)) values.push({ key, constant: null });
      else values.push({ key, field: name, of });
    }
    return values;
  }

  /** A field the roles read as it is: no redaction, not decided row by row. */
  #plainField(model: CompiledModel, name: string): boolean {
    const field = model.fields.get(name);
    return !!field && !field.byRole && !field.redaction;
  }

  /** A model's selection as JSON entries, and where its redacted values are. */
  selection(
    model: CompiledModel,
    set: SelectionSetNode,
  ): { selection: JsonSelection; redactions: Redactions | null } | null {
    // __typename answers with the model's own name
    if (!this.schema.getType(model.name)) return null;
    const entries: JsonEntry[] = [];
    const redactions: Redactions = { fields: [], nested: [] };
    const fields = plainFields(set);
    if (!fields) return null;
    for (const { key, selection } of fields) {
      const name = selection.name.value;
      if (name === '__typename') {
        entries.push({ key, constant: model.name });
        continue;
      }
      const field = model.fields.get(name);
      if (field) {
        if (field.byRole || selection.arguments?.length || selection.selectionSet) return null;
        entries.push({ key, column: name });
        if (field.redaction) redactions.fields.push([key, field.redaction]);
        continue;
      }
      const relation = model.relations.get(name);
      const target = relation && this.policy.models.get(relation.target);
      if (!relation?.keys || !target || !selection.selectionSet) return null;
      const nested = this.selection(target, selection.selectionSet);
      if (!nested) return null;
      if (nested.redactions) redactions.nested.push([key, nested.redactions]);
      const joined = { keys: relation.keys, selection: nested.selection };
      if (!relation.list) {
        if (selection.arguments?.length) return null;
        entries.push({ key, toOne: joined });
        continue;
      }
      // a list beneath a row: its arguments must be written in the document
      const type = this.schema.getType(model.name);
      const definitions =
        type && 'getFields' in type ? ((type.getFields() as any)[name]?.args ?? []) : [];
      let take = this.policy.budgets.defaultTake;
      let orderBy: JsonOrder[] | null = this.#orderBy(target, definitions, null);
      for (const arg of selection.arguments ?? []) {
        if (arg.name.value === 'first') {
          const value = literalOf(arg.value, definitions, 'first');
          const checked = value === undefined ? undefined : takeOf(this.policy, value);
          if (checked === undefined) return null;
          take = checked;
        } else if (arg.name.value === 'orderBy') {
          orderBy = this.#orderBy(target, definitions, arg.value);
        } else {
          return null;
        }
      }
      if (!orderBy?.length) return null;
      entries.push({ key, list: { ...joined, orderBy, take } });
    }
    const redacted = redactions.fields.length > 0 || redactions.nested.length > 0;
    return { selection: { model: model.name, entries }, redactions: redacted ? redactions : null };
  }

  /** The sort keys of an `orderBy` written in the document (null: the default order). */
  #orderBy(
    model: CompiledModel,
    definitions: readonly GraphQLArgument[],
    value: ValueNode | null,
  ): JsonOrder[] | null {
    let given: unknown = null;
    if (value) {
      given = literalOf(value, definitions, 'orderBy');
      if (given === undefined) return null;
      if (given !== null && !Array.isArray(given)) given = [given];
    }
    try {
      return toSortKeys(model, given as never, this.policy).map(({ field, direction }) => ({
        field,
        direction,
      }));
    } catch {
      return null;
    }
  }

  #source(
    value: ValueNode,
    definitions: readonly GraphQLArgument[],
    name: string,
  ): ArgumentSource | null {
    if (value.kind === Kind.VARIABLE) {
      const type = this.variables.get(value.name.value);
      const definition = definitions.find((candidate) => candidate.name === name);
      // the argument's own type must be the variable's, so the executor coerces it the same way
      if (!type || !definition || getNamedType(definition.type).name !== type) return null;
      return { variable: value.name.value, type };
    }
    const literal = literalOf(value, definitions, name);
    return literal === undefined ? null : { literal };
  }
}

/**
 * A selection set's fields with their response keys, or null when it holds what the fast path
 * leaves to the executor: a fragment, a directive, or one response key asked twice.
 */
function plainFields(set: SelectionSetNode): { key: string; selection: FieldNode }[] | null {
  const fields: { key: string; selection: FieldNode }[] = [];
  const keys = new Set<string>();
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD || selection.directives?.length) return null;
    const key = selection.alias?.value ?? selection.name.value;
    if (keys.has(key)) return null;
    keys.add(key);
    fields.push({ key, selection });
  }
  return fields;
}

/** A literal argument's value as the executor coerces it (undefined: not a plain literal). */
function literalOf(
  value: ValueNode,
  definitions: readonly GraphQLArgument[],
  name: string,
): unknown {
  const definition = definitions.find((candidate) => candidate.name === name);
  if (!definition || containsVariable(value)) return undefined;
  return valueFromAST(value, definition.type);
}

function containsVariable(value: ValueNode): boolean {
  if (value.kind === Kind.VARIABLE) return true;
  if (value.kind === Kind.LIST) return value.values.some(containsVariable);
  if (value.kind === Kind.OBJECT)
    return value.fields.some((field) => containsVariable(field.value));
  return false;
}

/** A group's object fields: the type name's suffix and what each of its keys reads. */
const GROUP_OBJECTS: Record<string, [string, 'key' | 'sum' | 'min' | 'max']> = {
  key: ['GroupKey', 'key'],
  sum: ['NumericAggregate', 'sum'],
  min: ['ExtremeAggregate', 'min'],
  max: ['ExtremeAggregate', 'max'],
};

/** `first` as the executor takes it (`listTake`), or undefined where the executor refuses it. */
function takeOf(policy: CompiledPolicy, first: unknown): number | undefined {
  if (first !== null && first !== undefined && !Number.isInteger(first)) return undefined;
  try {
    return listTake(policy.budgets, first as number | null | undefined);
  } catch {
    return undefined;
  }
}

/**
 * The answer to a planned operation, or null when the executor must give it after all (a variable
 * of another value than planned, a key or `first` the executor refuses, a complexity over the
 * budget, a scope `jsonReadStatement` cannot write, a failed statement: the executor then says why).
 */
export async function answerOperation(
  plan: OperationPlan,
  variables: Record<string, unknown> | null | undefined,
  context: OrmaiContext,
  reader: RawReader,
): Promise<ExecutionResult | null> {
  if (plan.complexity === null) {
    const complexity = complexityOf(plan.schema, plan.document, variables ?? {});
    if (complexity === null || complexity > plan.policy.budgets.maxComplexity) return null;
  }
  // every statement is written before any runs: a query is answered whole here or not at all
  const statements: JsonStatement[] = [];
  let results: unknown[][];
  try {
    for (const root of plan.roots) {
      // a scope that cannot be had (no tenant claim) throws: the executor words that refusal
      const statement = statementOf(plan.policy, root, variables ?? {}, context);
      if (!statement) return null;
      statements.push(statement);
    }
    results = await Promise.all(statements.map((statement) => runJsonRead(reader, statement)));
  } catch {
    return null;
  }
  const data: Record<string, unknown> = {};
  for (const [index, root] of plan.roots.entries()) {
    const rows = results[index]!;
    if (root.kind === 'groups') {
      data[root.key] = rows;
      continue;
    }
    if (root.redactions) {
      for (const row of rows) redactRow(row, root.redactions, plan.policy.hashKey);
    }
    if (root.kind === 'single') {
      data[root.key] = rows[0] ?? null;
      continue;
    }
    const connection: Record<string, unknown> = {};
    for (const entry of root.connection) connection[entry.key] = entry.typename ?? rows;
    data[root.key] = connection;
  }
  return { data };
}

function statementOf(
  policy: CompiledPolicy,
  root: RootPlan,
  variables: Record<string, unknown>,
  context: OrmaiContext,
): JsonStatement | null {
  if (root.kind === 'single') {
    const key = keyOf(root, variables, context);
    return key && jsonReadStatement({ selection: root.selection, key, orderBy: [], take: 1 });
  }
  const first = root.first ? argumentValue(root.first, variables) : null;
  const take = first === undefined ? undefined : takeOf(policy, first);
  if (take === undefined) return null;
  if (root.kind === 'groups') {
    return jsonGroupsStatement({
      model: root.model.name,
      by: root.by,
      entries: root.entries,
      take,
    });
  }
  return jsonReadStatement({ selection: root.selection, orderBy: root.orderBy, take });
}

/** A single row's key, or null where the executor must word why not. */
function keyOf(
  root: SinglePlan,
  variables: Record<string, unknown>,
  context: OrmaiContext,
): Record<string, unknown> | null {
  const given: Record<string, unknown> = {};
  for (const [name, source] of root.args) {
    const value = argumentValue(source, variables);
    if (value === undefined || value === null) return null;
    given[name] = value;
  }
  try {
    const key = readKey(root.model, given);
    // a key naming another tenant is an error the executor words
    checkKeyTenant(root.model, key, context.principal);
    return key;
  } catch {
    return null;
  }
}

/** A variable's value when it is what the executor would coerce to the same (else undefined). */
function argumentValue(source: ArgumentSource, variables: Record<string, unknown>): unknown {
  if ('literal' in source) return source.literal;
  if (!(source.variable in variables)) return undefined;
  const value = variables[source.variable];
  if (value === null) return null;
  if (source.type === 'String') return typeof value === 'string' ? value : undefined;
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2147483647
    ? value
    : undefined;
}

function redactRow(row: unknown, redactions: Redactions, hashKey: string) {
  if (!row || typeof row !== 'object') return;
  const values = row as Record<string, unknown>;
  for (const [key, redaction] of redactions.fields) {
    values[key] = redact(values[key], redaction, hashKey);
  }
  for (const [key, nested] of redactions.nested) {
    const value = values[key];
    if (Array.isArray(value)) for (const item of value) redactRow(item, nested, hashKey);
    else redactRow(value, nested, hashKey);
  }
}
