// Ground truth for the security suite: every row of the app's database read with raw SQL, which
// rows a principal may see (tenant or the parent's tenant, soft delete, the role's row filter), and
// SQL for filters, orders, nested lists and aggregates, written from the contract's semantics and
// the catalog's table and column names, independently of ormai's Prisma translation.
import type { TestApp } from '../../helpers/runtime.js';
import {
  type AppModel,
  ExactDecimal,
  type FieldInfo,
  type ModelInfo,
  type Principal,
  quote,
  type RelationInfo,
  type TenantId,
} from './app-model.js';

export type Row = Record<string, unknown>;
export type Where = Record<string, unknown>;
export type OrderBy = Record<string, 'ASC' | 'DESC'>[];

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** A column as the ground truth reads it: dates as ISO strings, big numbers and enums as text. */
export function readExpr(alias: string, field: FieldInfo): string {
  const column = `${alias}.${quote(field.column)}`;
  if (field.type === 'DateTime') {
    const utc = field.sqlType === 'timestamptz' ? `${column} AT TIME ZONE 'UTC'` : column;
    return `to_char(${utc}, ${ISO})`;
  }
  if (field.type === 'BigInt' || field.type === 'Decimal' || field.isEnum)
    return `${column}::text${field.list ? '[]' : ''}`;
  return column;
}

/** A column in a comparison: an enum compares as its label. */
function columnExpr(alias: string, field: FieldInfo): string {
  const column = `${alias}.${quote(field.column)}`;
  return field.isEnum ? `${column}::text` : column;
}

const CASTS: Record<string, string> = {
  int2: 'int4',
  int4: 'int4',
  int8: 'int8',
  float4: 'float8',
  float8: 'float8',
  numeric: 'numeric',
  text: 'text',
  varchar: 'text',
  bpchar: 'text',
  uuid: 'uuid',
  bool: 'boolean',
  timestamp: 'timestamp(3)',
  timestamptz: 'timestamptz',
  date: 'date',
};

const castOf = (field: FieldInfo) => (field.isEnum ? 'text' : (CASTS[field.sqlType] ?? 'text'));

export class Truth {
  readonly rows = new Map<string, Map<string, Row>>();
  readonly tenants: TenantId[] = [];
  readonly #visible = new Map<string, Map<string, Set<string>>>();
  readonly #indexes = new Map<string, Map<string, string[]>>();

  private constructor(
    readonly model: AppModel,
    readonly app: TestApp,
  ) {}

  static async load(model: AppModel, app: TestApp): Promise<Truth> {
    const truth = new Truth(model, app);
    for (const info of model.models.values()) {
      const columns = [...info.fields.values()].map(
        (field) => `${readExpr('t', field)} AS ${quote(field.name)}`,
      );
      const byKey = new Map<string, Row>();
      for (const row of await app.sql<Row>(
        `SELECT ${columns.join(', ')} FROM ${info.table} t ORDER BY ${info.key
          .map((field) => `t.${quote(info.fields.get(field)!.column)}`)
          .join(', ')}`,
      )) {
        for (const field of info.fields.values()) {
          if (field.type === 'Bytes' && row[field.name] != null)
            row[field.name] = Buffer.from(row[field.name] as Uint8Array).toString('base64');
        }
        byKey.set(truth.keyOf(info.name, row), row);
      }
      truth.rows.set(info.name, byKey);
    }
    const root = model.tenantRoot();
    if (root) {
      for (const row of truth.rows.get(root.name)!.values())
        truth.tenants.push(row[root.key[0]!] as TenantId);
    }
    return truth;
  }

  /** A row's key: its primary key's values as text, in key order. */
  keyOf(model: string, values: Row): string {
    return JSON.stringify(this.model.model(model).key.map((field) => String(values[field])));
  }

  /** The key fields' values of a row, as GraphQL and MCP take them. */
  keyValues(model: string, key: string): Row {
    const row = this.row(model, key)!;
    return Object.fromEntries(this.model.model(model).key.map((field) => [field, row[field]]));
  }

  /**
   * Keys a principal may name: every row's, but when the key holds the tenant field only its own
   * tenant's (naming another tenant in a key is a scope violation, a fault of its own).
   */
  keysNamingTenant(model: string, tenant: TenantId): string[] {
    const info = this.model.model(model);
    const keys = [...this.rows.get(model)!.keys()];
    if (!info.tenantField || !info.key.includes(info.tenantField)) return keys;
    return keys.filter((key) => this.row(model, key)![info.tenantField!] === tenant);
  }

  row(model: string, key: string): Row | undefined {
    return this.rows.get(model)!.get(key);
  }

  /** Keys of the rows whose `fields` hold `values` (a foreign key's target). */
  findBy(model: string, fields: string[], values: unknown[]): string[] {
    const name = `${model}:${fields.join(',')}`;
    let index = this.#indexes.get(name);
    if (!index) {
      index = new Map();
      for (const [key, row] of this.rows.get(model)!) {
        const tuple = JSON.stringify(fields.map((field) => String(row[field])));
        index.set(tuple, [...(index.get(tuple) ?? []), key]);
      }
      this.#indexes.set(name, index);
    }
    return index.get(JSON.stringify(values.map(String))) ?? [];
  }

  /** The target of a to-one relation from this row: its key, or null when the key is null. */
  toOne(model: string, relation: RelationInfo, key: string): string | null {
    const row = this.row(model, key)!;
    const values = relation.keys!.map((pair) => row[pair.localField]);
    if (values.some((value) => value === null || value === undefined)) return null;
    const [target] = this.findBy(
      relation.target,
      relation.keys!.map((pair) => pair.targetField),
      values,
    );
    return target ?? null;
  }

  /** Loads which rows of every model the principal may see (call before `visible`). */
  async prepare(principal: Principal): Promise<void> {
    const id = principalKey(principal);
    if (this.#visible.has(id)) return;
    const sets = new Map<string, Set<string>>();
    for (const info of this.model.models.values()) {
      const b = new SqlBuilder();
      const rows = await this.sql<Row>(
        `SELECT ${keySelect(info, 't')} FROM ${info.table} t WHERE ${scopeSql(this.model, info.name, 't', principal, b)}`,
        b.params,
      );
      sets.set(info.name, new Set(rows.map(keyFromSelect)));
    }
    this.#visible.set(id, sets);
  }

  /** Whether the principal may see this row (after `prepare`). */
  visible(model: string, key: string | null | undefined, principal: Principal): boolean {
    if (key === null || key === undefined) return false;
    const sets = this.#visible.get(principalKey(principal));
    if (!sets) throw new Error('Truth.prepare(principal) first');
    return sets.get(model)!.has(key);
  }

  /** Distinct non-null values of a column, a sample spread over the table. */
  values(model: string, field: string, max = 40): unknown[] {
    const seen = new Set<string>();
    const values: unknown[] = [];
    const rows = [...this.rows.get(model)!.values()];
    const step = Math.max(1, Math.floor(rows.length / (max * 3)));
    for (let i = 0; i < rows.length && values.length < max; i += step) {
      const value = rows[i]![field];
      if (value === null || value === undefined || seen.has(String(value))) continue;
      seen.add(String(value));
      values.push(value);
    }
    return values;
  }

  sql<T = Row>(text: string, params: unknown[] = []): Promise<T[]> {
    return this.app.sql<T>(text, params);
  }
}

export const principalKey = (p: Principal) => `${p.tenantId}:${p.role}:${p.sub}`;

/** `k0, k1, …`: a model's key columns as text, for `keyFromSelect`. */
function keySelect(info: ModelInfo, alias: string): string {
  return info.key
    .map((field, i) => `${alias}.${quote(info.fields.get(field)!.column)}::text AS k${i}`)
    .join(', ');
}

function keyFromSelect(row: Row): string {
  const values: string[] = [];
  for (let i = 0; `k${i}` in row; i++) values.push(String(row[`k${i}`]));
  return JSON.stringify(values);
}

/** Builds one SQL statement: numbered parameters and fresh table aliases. */
export class SqlBuilder {
  readonly params: unknown[] = [];
  #aliases = 0;

  alias(): string {
    this.#aliases += 1;
    return `t${this.#aliases}`;
  }

  /** A parameter typed as the field's column (an array of them with `array`). */
  param(value: unknown, field: FieldInfo, array = false): string {
    const normalized = (v: unknown) =>
      field.type === 'DateTime'
        ? new Date(String(v)).toISOString()
        : field.type === 'BigInt' || field.type === 'Decimal'
          ? String(v)
          : v;
    this.params.push(array ? (value as unknown[]).map(normalized) : normalized(value));
    return `$${this.params.length}::${castOf(field)}${array ? '[]' : ''}`;
  }

  text(value: string): string {
    this.params.push(value);
    return `$${this.params.length}::text`;
  }
}

/**
 * The rows of `model` on `alias` the principal may see: its tenant (through the parent for a
 * model scoped through one), not soft-deleted, and the role's row filter.
 */
export function scopeSql(
  app: AppModel,
  model: string,
  alias: string,
  principal: Principal,
  b: SqlBuilder,
): string {
  const parts = [tenantScopeSql(app, model, alias, principal, b)];
  const filter = app.rowFilter(principal.role, model);
  if (filter) parts.push(whereSql(app, model, filter, alias, principal, b, 'template'));
  return parts.join(' AND ');
}

/** The part of the scope every role shares: tenant and soft delete, up the scope-through chain. */
function tenantScopeSql(
  app: AppModel,
  model: string,
  alias: string,
  principal: Principal,
  b: SqlBuilder,
): string {
  const info = app.model(model);
  const parts: string[] = [];
  if (info.tenantField) {
    const field = info.fields.get(info.tenantField)!;
    parts.push(`${columnExpr(alias, field)} = ${b.param(principal.tenantId, field)}`);
  }
  if (info.softDeleteField)
    parts.push(`${alias}.${quote(info.fields.get(info.softDeleteField)!.column)} IS NULL`);
  if (info.scopeThrough) {
    const relation = info.relations.get(info.scopeThrough)!;
    const parent = b.alias();
    parts.push(
      `EXISTS (SELECT 1 FROM ${app.model(relation.target).table} ${parent} WHERE ${joinSql(app, relation, alias, parent)} AND ${tenantScopeSql(app, relation.target, parent, principal, b)})`,
    );
  }
  return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
}

/** The join of a relation with keys: each pair of columns equal. */
function joinSql(app: AppModel, relation: RelationInfo, from: string, to: string): string {
  const source = app.model(relation.from);
  const target = app.model(relation.target);
  return relation
    .keys!.map(
      (pair) =>
        `${to}.${quote(target.fields.get(pair.targetField)!.column)} = ${from}.${quote(source.fields.get(pair.localField)!.column)}`,
    )
    .join(' AND ');
}

/** `FROM target child WHERE <child belongs to the row on alias>` for any relation. */
function relatedFrom(app: AppModel, relation: RelationInfo, alias: string, child: string): string {
  const target = app.model(relation.target);
  if (relation.keys)
    return `FROM ${target.table} ${child} WHERE ${joinSql(app, relation, alias, child)}`;
  const join = relation.joinTable!;
  const source = app.model(relation.from);
  const column = (info: ModelInfo) => quote(info.fields.get(info.key[0]!)!.column);
  return `FROM ${target.table} ${child} JOIN ${join.table} ${child}j ON ${child}j.${quote(join.target)} = ${child}.${column(target)} WHERE ${child}j.${quote(join.local)} = ${alias}.${column(source)}`;
}

/**
 * A where input as a SQL predicate on `alias`. `graphql`: as the contract gives a generated where:
 * fields ANDed; `AND: []` and `NOT: []` hold, `OR: []` does not; `NOT: [a, b]` is neither a nor b;
 * relation filters see only rows the principal may see (`some`/`every`/`none` ask whether such rows
 * exist, `is` reads the joined row with SQL's null logic); a null value is no condition except
 * `equals: null` (is null) and `not: null` (is not null); `contains`/`startsWith`/`endsWith` match
 * the text literally; comparisons with a null column are unknown, as in SQL. `template`: a
 * policy's row filter in Prisma's shape (`{ field: value }` is equality, `null` is is-null,
 * `$principal.sub` and `$principal.tenantId` are the principal's).
 */
export function whereSql(
  app: AppModel,
  model: string,
  where: Where | null | undefined,
  alias: string,
  principal: Principal,
  b: SqlBuilder,
  mode: 'graphql' | 'template' = 'graphql',
): string {
  if (!where) return 'TRUE';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined || (value === null && mode === 'graphql')) continue;
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      const list = (Array.isArray(value) ? value : [value]) as Where[];
      const items = list.map((item) => whereSql(app, model, item, alias, principal, b, mode));
      if (key === 'AND') parts.push(items.length ? `(${items.join(' AND ')})` : 'TRUE');
      else if (key === 'OR') parts.push(items.length ? `(${items.join(' OR ')})` : 'FALSE');
      else
        parts.push(items.length ? `(${items.map((item) => `NOT ${item}`).join(' AND ')})` : 'TRUE');
      continue;
    }
    const relation = app.relation(model, key);
    if (relation) {
      for (const [op, inner] of Object.entries(value as Record<string, Where | null>)) {
        if (inner === null || inner === undefined) continue;
        const child = b.alias();
        const from = relatedFrom(app, relation, alias, child);
        const scope = scopeSql(app, relation.target, child, principal, b);
        const predicate = whereSql(app, relation.target, inner, child, principal, b, mode);
        if (op === 'is' || op === 'isNot') {
          // a to-one filter reads the joined row: no row is false, a row answers with SQL's null logic
          const read = `CASE WHEN EXISTS (SELECT 1 ${from}) THEN (SELECT ${scope} AND ${predicate} ${from}) ELSE FALSE END`;
          parts.push(op === 'is' ? read : `NOT (${read})`);
        } else if (op === 'some')
          parts.push(`EXISTS (SELECT 1 ${from} AND ${scope} AND ${predicate})`);
        else if (op === 'none')
          parts.push(`NOT EXISTS (SELECT 1 ${from} AND ${scope} AND ${predicate})`);
        else if (op === 'every')
          parts.push(`NOT EXISTS (SELECT 1 ${from} AND ${scope} AND NOT ${predicate})`);
        else throw new Error(`unknown relation operator ${op}`);
      }
      continue;
    }
    const field = app.field(model, key);
    const filter =
      mode === 'template' && (value === null || typeof value !== 'object' || Array.isArray(value))
        ? { equals: value }
        : (value as Where);
    // principal variables are the policy's; in a caller's where they are just text
    const filled = mode === 'template' ? substitute(filter, principal) : filter;
    parts.push(scalarSql(alias, field, filled, b, mode));
  }
  return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
}

/** `$principal.sub` and `$principal.tenantId` in a row filter, filled in. */
function substitute(filter: Where, principal: Principal): Where {
  const fill = (value: unknown): unknown =>
    value === '$principal.sub'
      ? principal.sub
      : value === '$principal.tenantId'
        ? principal.tenantId
        : Array.isArray(value)
          ? value.map(fill)
          : value;
  return Object.fromEntries(Object.entries(filter).map(([op, value]) => [op, fill(value)]));
}

function scalarSql(
  alias: string,
  field: FieldInfo,
  filter: Where,
  b: SqlBuilder,
  mode: 'graphql' | 'template',
): string {
  const column = columnExpr(alias, field);
  const text = field.sqlType === 'text' || field.sqlType === 'varchar' ? column : `${column}::text`;
  const parts: string[] = [];
  for (const [op, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (value === null) {
      if (op === 'equals') parts.push(`${column} IS NULL`);
      if (op === 'not') parts.push(`${column} IS NOT NULL`);
      continue;
    }
    if (op === 'not' && mode === 'template' && typeof value === 'object' && !Array.isArray(value)) {
      parts.push(`NOT ${scalarSql(alias, field, value as Where, b, mode)}`);
      continue;
    }
    switch (op) {
      case 'equals':
        parts.push(`${column} = ${b.param(value, field)}`);
        break;
      case 'not':
        parts.push(`${column} <> ${b.param(value, field)}`);
        break;
      case 'in':
        parts.push(`${column} = ANY(${b.param(value, field, true)})`);
        break;
      case 'notIn':
        parts.push(`${column} <> ALL(${b.param(value, field, true)})`);
        break;
      case 'lt':
        parts.push(`${column} < ${b.param(value, field)}`);
        break;
      case 'lte':
        parts.push(`${column} <= ${b.param(value, field)}`);
        break;
      case 'gt':
        parts.push(`${column} > ${b.param(value, field)}`);
        break;
      case 'gte':
        parts.push(`${column} >= ${b.param(value, field)}`);
        break;
      case 'contains':
        parts.push(`strpos(${text}, ${b.text(String(value))}) > 0`);
        break;
      case 'startsWith': {
        const p = b.text(String(value));
        parts.push(`left(${text}, char_length(${p})) = ${p}`);
        break;
      }
      case 'endsWith': {
        const p = b.text(String(value));
        parts.push(`right(${text}, char_length(${p})) = ${p}`);
        break;
      }
      case 'isNull':
        parts.push(value ? `${column} IS NULL` : `${column} IS NOT NULL`);
        break;
      default:
        throw new Error(`unknown operator ${op}`);
    }
  }
  return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
}

/** The order a list's sort keys give: each key once, nulls last ascending. */
export function sortKeys(app: AppModel, model: string, orderBy: OrderBy | null | undefined) {
  const keys: [string, 'ASC' | 'DESC'][] = [];
  for (const item of orderBy ?? []) {
    const [field, direction] = Object.entries(item)[0]!;
    if (!keys.some(([seen]) => seen === field)) keys.push([field, direction]);
  }
  // then every primary key field ascending, so the order is total
  for (const field of app.model(model).key)
    if (!keys.some(([seen]) => seen === field)) keys.push([field, 'ASC']);
  return keys;
}

/** ORDER BY as the contract defines it: the given keys, then the primary key ascending. */
export function orderSql(
  app: AppModel,
  model: string,
  orderBy: OrderBy | null | undefined,
  alias: string,
) {
  return sortKeys(app, model, orderBy)
    .map(([name, direction]) => {
      const field = app.field(model, name);
      const nulls = field.nullable ? (direction === 'ASC' ? ' NULLS LAST' : ' NULLS FIRST') : '';
      return `${alias}.${quote(field.column)} ${direction}${nulls}`;
    })
    .join(', ');
}

/** Keys of the rows a list returns for the principal, in order (every page). */
export async function listKeys(
  truth: Truth,
  model: string,
  principal: Principal,
  where: Where | null | undefined,
  orderBy: OrderBy | null | undefined,
): Promise<string[]> {
  const app = truth.model;
  const info = app.model(model);
  const b = new SqlBuilder();
  const alias = b.alias();
  const text = `SELECT ${keySelect(info, alias)} FROM ${info.table} ${alias}
    WHERE ${scopeSql(app, model, alias, principal, b)} AND ${whereSql(app, model, where, alias, principal, b)}
    ORDER BY ${orderSql(app, model, orderBy, alias)}`;
  return (await truth.sql<Row>(text, b.params)).map(keyFromSelect);
}

/** The children a nested list returns under each parent, in order, at most `take` each. */
export async function childKeys(
  truth: Truth,
  model: string,
  relationName: string,
  parents: string[],
  principal: Principal,
  where: Where | null | undefined,
  orderBy: OrderBy | null | undefined,
  take: number,
): Promise<Map<string, string[]>> {
  const app = truth.model;
  const relation = app.relation(model, relationName)!;
  const target = app.model(relation.target);
  const byParent = new Map<string, string[]>(parents.map((key) => [key, []]));
  if (parents.length === 0) return byParent;
  const b = new SqlBuilder();
  const child = b.alias();
  // each parent as a one-row table, so the join is the relation's own
  const parentAlias = b.alias();
  const source = app.model(model);
  const parentKeys = source.key.map((field) => source.fields.get(field)!);
  const unnest = parentKeys
    .map((field) =>
      b.param(
        parents.map((key) => truth.row(model, key)![field.name]),
        field,
        true,
      ),
    )
    .join(', ');
  const text = `SELECT ${keySelect(target, child)}, ${parentKeys
    .map((field, i) => `${parentAlias}.${quote(field.column)}::text AS p${i}`)
    .join(', ')}
    FROM (SELECT * FROM ${source.table} WHERE (${parentKeys
      .map((field) => quote(field.column))
      .join(', ')}) IN (SELECT * FROM unnest(${unnest}))) ${parentAlias}
    CROSS JOIN LATERAL (SELECT ${child}.* ${relatedFrom(app, relation, parentAlias, child)}) ${child}
    WHERE ${scopeSql(app, relation.target, child, principal, b)}
      AND ${whereSql(app, relation.target, where, child, principal, b)}
    ORDER BY ${orderSql(app, relation.target, orderBy, child)}`;
  for (const row of await truth.sql<Row>(text, b.params)) {
    const values: string[] = [];
    for (let i = 0; `p${i}` in row; i++) values.push(String(row[`p${i}`]));
    const list = byParent.get(JSON.stringify(values));
    if (list && list.length < take) list.push(keyFromSelect(row));
  }
  return byParent;
}

/** Marks a float compared with a relative tolerance (a number, or a numeric string). */
export class Approx {
  constructor(readonly value: number) {}
}

/** An aggregate's value as the answer must carry it: exact strings for BigInt and Decimal. */
export function measureValue(field: FieldInfo, op: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (op === 'avg' || field.type === 'Float') return new Approx(Number(value));
  if (field.type === 'BigInt' || field.type === 'Decimal') return new ExactDecimal(String(value));
  return Number(value);
}

/** The SQL of one aggregate over a column: exact text for BigInt and Decimal. */
export function measureSql(field: FieldInfo, op: string, alias: string): string {
  const column = `${alias}.${quote(field.column)}`;
  if (op === 'count') return 'count(*)::int';
  if (op === 'avg') return `avg(${column})::float8`;
  const exact = field.type === 'BigInt' || field.type === 'Decimal';
  if (op === 'sum') return exact ? `sum(${column})::text` : `sum(${column})::float8`;
  return exact ? `${op}(${column})::text` : `${op}(${column})`;
}

/** count, and sum/avg/min/max of numeric fields, over the rows a list would return. */
export async function aggregateTruth(
  truth: Truth,
  model: string,
  principal: Principal,
  where: Where | null | undefined,
  numeric: string[],
): Promise<Row> {
  const app = truth.model;
  const info = app.model(model);
  const b = new SqlBuilder();
  const alias = b.alias();
  const measures = numeric.flatMap((name) =>
    ['sum', 'avg', 'min', 'max'].map(
      (op) => `${measureSql(info.fields.get(name)!, op, alias)} AS ${quote(`${op}_${name}`)}`,
    ),
  );
  const text = `SELECT ${['count(*)::int AS count', ...measures].join(', ')} FROM ${info.table} ${alias}
    WHERE ${scopeSql(app, model, alias, principal, b)} AND ${whereSql(app, model, where, alias, principal, b)}`;
  const [row] = await truth.sql<Row>(text, b.params);
  const result: Row = { count: row!.count };
  for (const name of numeric) {
    for (const op of ['sum', 'avg', 'min', 'max'])
      result[`${op}_${name}`] = measureValue(info.fields.get(name)!, op, row![`${op}_${name}`]);
  }
  return result;
}

/**
 * For a view's computed values: per row of `model`, the count of the related rows the principal
 * sees, or the sum of one of their fields (0 when none).
 */
export async function relatedTotals(
  truth: Truth,
  model: string,
  relationName: string,
  keys: string[],
  principal: Principal,
  sumField: string | null,
): Promise<Map<string, number>> {
  const children = await childKeys(
    truth,
    model,
    relationName,
    keys,
    principal,
    null,
    null,
    Number.MAX_SAFE_INTEGER,
  );
  const target = truth.model.relation(model, relationName)!.target;
  return new Map(
    keys.map((key) => [
      key,
      sumField
        ? children
            .get(key)!
            .reduce((sum, child) => sum + Number(truth.row(target, child)![sumField] ?? 0), 0)
        : children.get(key)!.length,
    ]),
  );
}
