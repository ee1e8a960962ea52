import type { RawReader } from '../db/direct-reads.js';
import type { Datamodel, DatamodelField, DatamodelModel } from '../policy/datamodel.js';
import { activeDatamodel, activeDataScope, activeRowScope } from './data-scope.js';
import { policyHasPlannerBudget, withPlannerBudget } from './planner-budget.js';
import { exactConditions } from './row-check.js';

/**
 * A read answered by one SQL statement that returns its rows as JSON, shaped as the response wants
 * them (keys in the asked order, relations nested): what PostGraphile and Hasura do for a whole
 * query. The caller says what to select; the row scope of every model the statement reads is added
 * here, from the active data scope, exactly as the scoped Prisma client adds it.
 */
export interface JsonRead {
  selection: JsonSelection;
  /** A lookup by key: the key fields and their values; absent for a list. */
  key?: Readonly<Record<string, unknown>>;
  orderBy: readonly JsonOrder[];
  take: number;
}

export interface JsonSelection {
  model: string;
  entries: readonly JsonEntry[];
}

/** One key of a row's JSON object: a column, a constant (`__typename`), or a relation. */
export type JsonEntry =
  | { key: string; column: string }
  | { key: string; constant: string }
  | { key: string; toOne: JsonRelation }
  | { key: string; list: JsonRelation & { orderBy: readonly JsonOrder[]; take: number } };

export interface JsonRelation {
  /** This model's field equals the target's field, for every pair. */
  keys: readonly { localField: string; targetField: string }[];
  selection: JsonSelection;
}

export interface JsonOrder {
  field: string;
  direction: 'asc' | 'desc';
}

/**
 * A groupBy answered by one statement: the groups of `model`'s rows by the `by` fields, in the
 * keys' ascending order (nulls last, as Prisma sorts them), at most `take`, each group a JSON
 * object of the asked keys. Only Int sums, minima and maxima are written: their JSON is the
 * executor's; any other aggregate keeps it.
 */
export interface JsonGroups {
  model: string;
  by: readonly string[];
  entries: readonly GroupEntry[];
  take: number;
}

/** One key of a group: a constant (`__typename`), the group's row count, or an object of values. */
export type GroupEntry =
  | { key: string; constant: string }
  | { key: string; count: true }
  | { key: string; values: readonly GroupValue[] };

/** One key of a group's object: a constant (null: a key field not grouped by), or a field's value. */
export type GroupValue =
  | { key: string; constant: string | null }
  | { key: string; field: string; of: 'key' | 'sum' | 'min' | 'max' };

export interface JsonStatement {
  text: string;
  values: unknown[];
  /** The model read at the root, and every model the statement reads (their planner budgets hold). */
  model: string;
  reads: readonly string[];
}

/**
 * The statement of `read`, with the row scope of each model it reads ANDed in; null when it
 * cannot be written for the active scope: a scope of another shape than `row-check.ts` decides
 * exactly (those keep Prisma's query), a column type whose JSON would differ from what the
 * executor returns, a many-to-many relation, or a datamodel that does not name its tables and
 * columns (Pothos's generated one has no `@map`s).
 */
export function jsonReadStatement(read: JsonRead): JsonStatement | null {
  const datamodel = activeDatamodel();
  return datamodel ? jsonStatement(datamodel, read) : null;
}

/**
 * The rows of a `jsonReadStatement` (an array, ordered, at most its `take`), read by `client`: the
 * runtime's driver adapter (db/direct-reads.ts) or the request's scoped Prisma client. Under a role
 * set with a planner budget the statement is planned first, as a model operation's are
 * (planner-budget.ts): an estimate over the lowest limit of the models it reads refuses it before
 * it runs.
 */
export async function runJsonRead(client: RawReader, statement: JsonStatement): Promise<unknown[]> {
  const run = async () => {
    const [row] = await client.$queryRawUnsafe<{ rows: string }>(
      statement.text,
      ...statement.values,
    );
    return JSON.parse(row!.rows) as unknown[];
  };
  const scope = activeDataScope();
  if (!scope || !policyHasPlannerBudget(scope.policy)) return run();
  return withPlannerBudget(scope.policy, scope.datamodel, statement.model, statement.reads, run);
}

/** The statement of a groupBy under the active scope, or null (as `jsonReadStatement`). */
export function jsonGroupsStatement(read: JsonGroups): JsonStatement | null {
  const datamodel = activeDatamodel();
  if (!datamodel) return null;
  const writer = new StatementWriter(datamodel);
  return writer.statement(writer.groups(read), read.model);
}

/** The statement of `read` under the active scope, or null (see `jsonReadStatement`). */
export function jsonStatement(datamodel: Datamodel, read: JsonRead): JsonStatement | null {
  const writer = new StatementWriter(datamodel);
  return writer.statement(writer.root(read), read.selection.model);
}

/** json_build_object takes at most 100 arguments: 50 keys. */
const MAX_KEYS = 50;
/** A GraphQL name: safe to write into the statement as a literal. */
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const ISO_8601 = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** A name written into the statement as a string literal; null when it is no GraphQL name. */
const nameLiteral = (name: string) => (NAME.test(name) ? `'${name}'` : null);

/**
 * `json_build_object` of the key and value pairs; null when there are none or too many, a key is
 * no GraphQL name, or a value could not be written.
 */
function jsonObject(pairs: readonly [key: string, value: string | null][]): string | null {
  if (pairs.length === 0 || pairs.length > MAX_KEYS) return null;
  const parts: string[] = [];
  for (const [key, value] of pairs) {
    const name = nameLiteral(key);
    if (name === null || value === null) return null;
    parts.push(`${name}, ${value}`);
  }
  return `json_build_object(${parts.join(', ')})`;
}

class StatementWriter {
  readonly values: unknown[] = [];
  /** The models whose rows the statement reads (each one's row scope is written in). */
  readonly reads = new Set<string>();
  #aliases = 0;

  constructor(private readonly datamodel: Datamodel) {}

  /** The written text as a statement with its values and the models it reads (null: none written). */
  statement(text: string | null, model: string): JsonStatement | null {
    return text === null ? null : { text, values: this.values, model, reads: [...this.reads] };
  }

  root(read: JsonRead): string | null {
    const model = this.#model(read.selection.model);
    if (!model) return null;
    const alias = this.#alias();
    const object = this.#object(read.selection, model, alias);
    const scope = this.#scope(read.selection.model, model, alias);
    if (object === null || scope === null) return null;
    const conditions = [...scope];
    for (const [field, value] of Object.entries(read.key ?? {})) {
      const column = this.#column(model, field);
      if (!column) return null;
      conditions.push(`${alias}.${column} = ${this.#value(value)}`);
    }
    const rows = this.#rows(
      this.#table(read.selection.model, model),
      model,
      alias,
      object,
      conditions,
      read.orderBy,
      read.take,
    );
    return rows === null ? null : `SELECT (${rows})::text AS rows`;
  }

  /**
   * `SELECT keys, aggregates … GROUP BY keys ORDER BY keys LIMIT take`, each group built into its
   * JSON object outside: the aggregates are computed once however many keys read them.
   */
  groups(read: JsonGroups): string | null {
    const model = this.#model(read.model);
    if (!model || read.by.length === 0) return null;
    const alias = this.#alias();
    const scope = this.#scope(read.model, model, alias);
    if (scope === null) return null;
    const computed = new Map<string, string>();
    const out = (expression: string) => {
      let name = computed.get(expression);
      if (!name) {
        name = `v${computed.size}`;
        computed.set(expression, name);
      }
      return `s.${name}`;
    };
    const keys: string[] = [];
    for (const name of read.by) {
      const column = this.#column(model, name);
      if (!column) return null;
      keys.push(`${alias}.${column}`);
    }
    // the keys go out first, in order: the outer aggregate sorts on them
    const sorted = keys.map(out);
    const group = jsonObject(
      read.entries.map((entry) => [
        entry.key,
        'constant' in entry
          ? nameLiteral(entry.constant)
          : 'count' in entry
            ? out('count(*)')
            : jsonObject(
                entry.values.map((value) => [
                  value.key,
                  this.#groupValue(value, read.by, model, alias, out),
                ]),
              ),
      ]),
    );
    if (group === null) return null;
    const where = scope.length > 0 ? ` WHERE ${scope.join(' AND ')}` : '';
    const ascending = (columns: string[]) =>
      columns.map((column) => `${column} ${sortOf('asc')}`).join(', ');
    const select = [...computed].map(([expression, name]) => `${expression} AS ${name}`);
    const inner = `SELECT ${select.join(', ')} FROM ${this.#table(read.model, model)} ${alias}${where} GROUP BY ${keys.join(', ')} ORDER BY ${ascending(keys)} LIMIT ${Math.floor(read.take)}`;
    return `SELECT (SELECT coalesce(json_agg(${group} ORDER BY ${ascending(sorted)}), '[]'::json) FROM (${inner}) s)::text AS rows`;
  }

  /** One value of a group's `key`, `sum`, `min` or `max` object, or null where it is not written. */
  #groupValue(
    value: GroupValue,
    by: readonly string[],
    model: DatamodelModel,
    alias: string,
    out: (expression: string) => string,
  ): string | null {
    if ('constant' in value) return value.constant === null ? 'NULL' : nameLiteral(value.constant);
    const field = model.fields.find((candidate) => candidate.name === value.field);
    const column = field && this.#column(model, field.name);
    if (!field || !column) return null;
    if (value.of === 'key') {
      return by.includes(field.name) ? jsonValue(field, out(`${alias}.${column}`)) : null;
    }
    // an Int's sum is a bigint, its extremes an int: JSON numbers, as the executor's
    const isInt = field.type === 'Int' && jsonValue(field, column) !== null;
    return isInt ? out(`${value.of}(${alias}.${column})`) : null;
  }

  /** `SELECT coalesce(json_agg(…), '[]')` over the rows, in order, at most `take`. */
  #rows(
    from: string,
    model: DatamodelModel,
    alias: string,
    object: string,
    conditions: string[],
    orderBy: readonly JsonOrder[],
    take: number,
  ): string | null {
    const columns: string[] = [];
    for (const { field } of orderBy) {
      const column = this.#column(model, field);
      if (!column) return null;
      columns.push(`${alias}.${column}`);
    }
    // the sort keys go out with each row so the aggregate keeps the order the LIMIT was taken in
    const keys = columns.map((column, index) => `, ${column} AS o${index}`).join('');
    const order = (name: (index: number) => string) =>
      orderBy.length === 0
        ? ''
        : ` ORDER BY ${orderBy.map((key, index) => `${name(index)} ${sortOf(key.direction)}`).join(', ')}`;
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    const inner = `SELECT ${object} AS j${keys} FROM ${from} ${alias}${where}${order((index) => columns[index]!)} LIMIT ${Math.floor(take)}`;
    return `SELECT coalesce(json_agg(s.j${order((index) => `s.o${index}`)}), '[]'::json) FROM (${inner}) s`;
  }

  #object(selection: JsonSelection, model: DatamodelModel, alias: string): string | null {
    return jsonObject(
      selection.entries.map((entry) => [entry.key, this.#entry(entry, model, alias)]),
    );
  }

  #entry(entry: JsonEntry, model: DatamodelModel, alias: string): string | null {
    if ('column' in entry) {
      const field = model.fields.find((candidate) => candidate.name === entry.column);
      const column = field && this.#column(model, field.name);
      return field && column ? jsonValue(field, `${alias}.${column}`) : null;
    }
    if ('constant' in entry) return nameLiteral(entry.constant);
    const relation = 'toOne' in entry ? entry.toOne : entry.list;
    const targetName = relation.selection.model;
    const target = this.#model(targetName);
    if (!target || relation.keys.length === 0) return null;
    const targetAlias = this.#alias();
    const object = this.#object(relation.selection, target, targetAlias);
    const scope = this.#scope(targetName, target, targetAlias);
    if (object === null || scope === null) return null;
    const conditions: string[] = [];
    for (const { localField, targetField } of relation.keys) {
      const local = this.#column(model, localField);
      const remote = this.#column(target, targetField);
      if (!local || !remote) return null;
      conditions.push(`${targetAlias}.${remote} = ${alias}.${local}`);
    }
    conditions.push(...scope);
    if ('toOne' in entry) {
      return `(SELECT ${object} FROM ${this.#table(targetName, target)} ${targetAlias} WHERE ${conditions.join(' AND ')} LIMIT 1)`;
    }
    const rows = this.#rows(
      this.#table(targetName, target),
      target,
      targetAlias,
      object,
      conditions,
      entry.list.orderBy,
      entry.list.take,
    );
    return rows === null ? null : `(${rows})`;
  }

  /** The model's row scope as SQL conditions on `alias`, or null when it is of another shape. */
  #scope(name: string, model: DatamodelModel, alias: string): string[] | null {
    this.reads.add(name);
    const where = activeRowScope(name);
    if (Object.keys(where).length === 0) return [];
    const conditions = exactConditions(model, where);
    if (!conditions) return null;
    const out: string[] = [];
    for (const { column, value } of conditions) {
      const name = this.#column(model, column);
      if (!name) return null;
      out.push(
        value === null ? `${alias}.${name} IS NULL` : `${alias}.${name} = ${this.#value(value)}`,
      );
    }
    return out;
  }

  #value(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  #alias(): string {
    return `t${this.#aliases++}`;
  }

  #model(name: string): DatamodelModel | null {
    const model = this.datamodel.datamodel.models[name];
    // a datamodel without dbName keys may hide an @map: its column names cannot be trusted
    if (!model || !('dbName' in model) || model.fields.some((field) => !('dbName' in field)))
      return null;
    return model;
  }

  #column(model: DatamodelModel, name: string): string | null {
    const field = model.fields.find((candidate) => candidate.name === name);
    if (!field || field.kind === 'object') return null;
    return quote(field.dbName ?? field.name);
  }

  /** The table, named as the connection's search_path finds it unless `@@schema` says. */
  #table(name: string, model: DatamodelModel): string {
    const table = quote(model.dbName ?? name);
    return model.schema ? `${quote(model.schema)}.${table}` : table;
  }
}

/**
 * A column as the JSON value GraphQL returns for it (the executor's serialisation of what Prisma
 * reads), or null for a type whose JSON would differ: numbers and text as they are, BigInt as its
 * digits, a DateTime of millisecond precision as `toISOString()` writes it. Float, Decimal, Json,
 * Bytes, lists and other natives keep the executor.
 */
export function jsonValue(field: DatamodelField, column: string): string | null {
  if (field.isList) return null;
  if (field.kind === 'enum') return column;
  if (field.kind !== 'scalar') return null;
  const native = field.nativeType?.[0];
  const precision = Number(field.nativeType?.[1]?.[0] ?? 3);
  switch (field.type) {
    case 'String':
    case 'Boolean':
      return column;
    case 'Int':
      // an oid is a number to Prisma but text to json_build_object
      return native === undefined || native === 'Integer' || native === 'SmallInt' ? column : null;
    case 'BigInt':
      return `${column}::text`;
    case 'DateTime':
      if (native === undefined || native === 'Date' || (native === 'Timestamp' && precision <= 3))
        return `to_char(${column}, ${ISO_8601})`;
      if (native === 'Timestamptz' && precision <= 3)
        return `to_char(${column} AT TIME ZONE 'UTC', ${ISO_8601})`;
      return null;
    default:
      return null;
  }
}

const sortOf = (direction: 'asc' | 'desc') =>
  direction === 'asc' ? 'ASC NULLS LAST' : 'DESC NULLS FIRST';

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
