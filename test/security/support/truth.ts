// Ground truth for the security suite: every row of the example database read with raw SQL, which
// rows a principal may see (tenant, soft delete, ownership), and SQL for filters and orders written
// independently of the server's Prisma translation.
import type { TestApp } from '../../helpers/runtime.js';
import {
  MODEL_NAMES,
  MODELS,
  type ModelName,
  ownerField,
  type Principal,
  relation as relationOf,
  type ScalarType,
} from './spec.js';

export type Row = Record<string, unknown>;

const quote = (name: string) => `"${name}"`;

/**
 * Rows whose foreign keys point into another tenant (the seed has none): an order of tenant 1 for
 * a customer of tenant 2, an order of tenant 2 sold by a rep of tenant 3, an item of tenant 3 in an
 * order of tenant 1 for a product of tenant 2, an item of tenant 1 for a product of tenant 3.
 */
export async function addCrossTenantRows(app: TestApp): Promise<void> {
  const first = async (text: string, params: unknown[] = []) => {
    const [row] = await app.sql<{ id: number }>(text, params);
    if (!row) throw new Error(`no row for ${text}`);
    return Number(row.id);
  };
  const customerOf = (tenant: number) =>
    first('SELECT id FROM "Customer" WHERE "tenantId" = $1 AND "deletedAt" IS NULL ORDER BY id', [
      tenant,
    ]);
  const repOf = (tenant: number) =>
    first(`SELECT id FROM "User" WHERE "tenantId" = $1 AND role = 'sales' ORDER BY id`, [tenant]);
  const productOf = (tenant: number) =>
    first('SELECT id FROM "Product" WHERE "tenantId" = $1 ORDER BY id', [tenant]);
  const orderOf = (tenant: number) =>
    first('SELECT id FROM "Order" WHERE "tenantId" = $1 AND "deletedAt" IS NULL ORDER BY id', [
      tenant,
    ]);

  const insertOrder = (tenant: number, customer: number, rep: number | null) =>
    first(
      `INSERT INTO "Order" ("tenantId", "customerId", "salesRepId", status, "totalCents", notes)
       VALUES ($1, $2, $3, 'paid', 4242, 'cross-tenant') RETURNING id`,
      [tenant, customer, rep],
    );
  const order1 = await insertOrder(1, await customerOf(2), await repOf(1));
  await insertOrder(2, await customerOf(2), await repOf(3));
  const item = (tenant: number, order: number, product: number) =>
    app.sql(
      `INSERT INTO "OrderItem" ("tenantId", "orderId", "productId", quantity, "unitPriceCents")
       VALUES ($1, $2, $3, 3, 777)`,
      [tenant, order, product],
    );
  await item(3, order1, await productOf(2));
  await item(1, await orderOf(1), await productOf(3));
  await item(1, order1, await productOf(1));
}

export class Truth {
  readonly rows = new Map<ModelName, Map<number, Row>>();
  /** Sales users per tenant (a sales principal's sub is one of them). */
  readonly salesReps = new Map<number, number[]>();
  readonly users = new Map<number, number[]>();

  private constructor(readonly app: TestApp) {}

  static async load(app: TestApp): Promise<Truth> {
    const truth = new Truth(app);
    for (const model of MODEL_NAMES) {
      const columns = Object.entries(MODELS[model].fields).map(([name, spec]) =>
        spec.type === 'DateTime'
          ? `to_char(${quote(name)}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${quote(name)}`
          : quote(name),
      );
      const byId = new Map<number, Row>();
      for (const row of await app.sql<Row>(
        `SELECT ${columns.join(', ')} FROM ${quote(model)} ORDER BY id`,
      )) {
        byId.set(Number(row.id), row);
      }
      truth.rows.set(model, byId);
    }
    for (const user of truth.rows.get('User')!.values()) {
      const tenant = Number(user.tenantId);
      truth.users.set(tenant, [...(truth.users.get(tenant) ?? []), Number(user.id)]);
      if (user.role === 'sales')
        truth.salesReps.set(tenant, [...(truth.salesReps.get(tenant) ?? []), Number(user.id)]);
    }
    return truth;
  }

  row(model: ModelName, id: number): Row | undefined {
    return this.rows.get(model)!.get(id);
  }

  /** Whether the principal may see this row: its tenant, not soft-deleted, owned where the role owns. */
  visible(model: ModelName, row: Row | undefined, principal: Principal): boolean {
    if (!row) return false;
    const spec = MODELS[model];
    if (Number(row[spec.tenantField]) !== principal.tenantId) return false;
    if (spec.softDelete && row.deletedAt !== null) return false;
    const owner = ownerField(principal.role, model);
    if (owner && String(row[owner]) !== principal.sub) return false;
    return true;
  }

  /** Distinct non-null values of a column, a sample spread over the table. */
  values(model: ModelName, field: string, max = 40): unknown[] {
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

/** Builds one SQL statement: numbered parameters and fresh table aliases. */
export class SqlBuilder {
  readonly params: unknown[] = [];
  #aliases = 0;

  alias(): string {
    this.#aliases += 1;
    return `t${this.#aliases}`;
  }

  param(value: unknown, type: ScalarType | 'Int[]' | 'String[]' | 'DateTime[]' | 'Boolean[]') {
    const cast = {
      Int: 'int',
      String: 'text',
      DateTime: 'timestamp(3)',
      Boolean: 'boolean',
    }[type.replace('[]', '') as ScalarType];
    const array = type.endsWith('[]');
    const normalized = (v: unknown) =>
      type.startsWith('DateTime') ? new Date(String(v)).toISOString() : v;
    this.params.push(array ? (value as unknown[]).map(normalized) : normalized(value));
    return `$${this.params.length}::${cast}${array ? '[]' : ''}`;
  }
}

/** The principal's row scope on a table alias: tenant, soft delete, ownership. */
export function scopeSql(
  model: ModelName,
  alias: string,
  principal: Principal,
  b: SqlBuilder,
): string {
  const spec = MODELS[model];
  const parts = [`${alias}.${quote(spec.tenantField)} = ${b.param(principal.tenantId, 'Int')}`];
  if (spec.softDelete) parts.push(`${alias}."deletedAt" IS NULL`);
  const owner = ownerField(principal.role, model);
  // visible or not, never unknown: a row without an owner is not the principal's
  if (owner)
    parts.push(
      `COALESCE(${alias}.${quote(owner)} = ${b.param(Number(principal.sub), 'Int')}, FALSE)`,
    );
  return parts.join(' AND ');
}

type Where = Record<string, unknown>;

/**
 * A GraphQL where input (as the suite generates it) as a SQL predicate on `alias`, with the
 * semantics the contract gives it: fields ANDed; `AND: []` and `NOT: []` hold, `OR: []` does not;
 * `NOT: [a, b]` is neither a nor b; relation filters see only rows the principal may see
 * (`some`/`every`/`none` ask whether such rows exist, `is` reads the joined row with SQL's null
 * logic); a null value is no condition except `equals: null` (is null) and `not: null` (is not
 * null); `contains`/`startsWith`/`endsWith` match the text literally; comparisons with a null
 * column are unknown, as in SQL (`not: 5` and `NOT` leave null rows out).
 */
export function whereSql(
  model: ModelName,
  where: Where | null | undefined,
  alias: string,
  principal: Principal,
  b: SqlBuilder,
): string {
  if (!where) return 'TRUE';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === null || value === undefined) continue;
    if (key === 'AND' || key === 'OR' || key === 'NOT') {
      const items = (value as Where[]).map((item) => whereSql(model, item, alias, principal, b));
      if (key === 'AND') parts.push(items.length ? `(${items.join(' AND ')})` : 'TRUE');
      else if (key === 'OR') parts.push(items.length ? `(${items.join(' OR ')})` : 'FALSE');
      else
        parts.push(items.length ? `(${items.map((item) => `NOT ${item}`).join(' AND ')})` : 'TRUE');
      continue;
    }
    const rel = relationOf(model, key);
    if (rel) {
      for (const [op, inner] of Object.entries(value as Record<string, Where | null>)) {
        if (inner === null || inner === undefined) continue;
        const child = b.alias();
        const join = `${child}.${quote(rel.targetField)} = ${alias}.${quote(rel.localField)}`;
        const scope = scopeSql(rel.target, child, principal, b);
        const predicate = whereSql(rel.target, inner, child, principal, b);
        const from = `FROM ${quote(rel.target)} ${child} WHERE ${join} AND ${scope}`;
        if (op === 'is') {
          // a to-one filter reads the joined row: no row is false, a row answers with SQL's null logic
          parts.push(
            `CASE WHEN EXISTS (SELECT 1 FROM ${quote(rel.target)} ${child} WHERE ${join}) THEN (SELECT ${scope} AND ${predicate} FROM ${quote(rel.target)} ${child} WHERE ${join}) ELSE FALSE END`,
          );
        } else if (op === 'some') parts.push(`EXISTS (SELECT 1 ${from} AND ${predicate})`);
        else if (op === 'none') parts.push(`NOT EXISTS (SELECT 1 ${from} AND ${predicate})`);
        else if (op === 'every') parts.push(`NOT EXISTS (SELECT 1 ${from} AND NOT ${predicate})`);
        else throw new Error(`unknown relation operator ${op}`);
      }
      continue;
    }
    const field = MODELS[model].fields[key];
    if (!field) throw new Error(`${model}.${key} is not a field`);
    parts.push(scalarSql(`${alias}.${quote(key)}`, field.type, value as Where, b));
  }
  return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
}

function scalarSql(column: string, type: ScalarType, filter: Where, b: SqlBuilder): string {
  const parts: string[] = [];
  const list = `${type}[]` as 'Int[]';
  for (const [op, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (value === null) {
      if (op === 'equals') parts.push(`${column} IS NULL`);
      if (op === 'not') parts.push(`${column} IS NOT NULL`);
      continue;
    }
    switch (op) {
      case 'equals':
        parts.push(`${column} = ${b.param(value, type)}`);
        break;
      case 'not':
        parts.push(`${column} <> ${b.param(value, type)}`);
        break;
      case 'in':
        parts.push(`${column} = ANY(${b.param(value, list)})`);
        break;
      case 'notIn':
        parts.push(`${column} <> ALL(${b.param(value, list)})`);
        break;
      case 'lt':
        parts.push(`${column} < ${b.param(value, type)}`);
        break;
      case 'lte':
        parts.push(`${column} <= ${b.param(value, type)}`);
        break;
      case 'gt':
        parts.push(`${column} > ${b.param(value, type)}`);
        break;
      case 'gte':
        parts.push(`${column} >= ${b.param(value, type)}`);
        break;
      case 'contains':
        parts.push(`strpos(${column}, ${b.param(value, 'String')}) > 0`);
        break;
      case 'startsWith': {
        const p = b.param(value, 'String');
        parts.push(`left(${column}, char_length(${p})) = ${p}`);
        break;
      }
      case 'endsWith': {
        const p = b.param(value, 'String');
        parts.push(`right(${column}, char_length(${p})) = ${p}`);
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

export type OrderBy = Record<string, 'ASC' | 'DESC'>[];

/** ORDER BY as the contract defines it: the given keys, then id ascending; nulls last ascending. */
export function orderSql(model: ModelName, orderBy: OrderBy | null | undefined, alias: string) {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const item of orderBy ?? []) {
    const [field, direction] = Object.entries(item)[0]!;
    if (seen.has(field)) continue;
    seen.add(field);
    const nullable = MODELS[model].fields[field]!.nullable;
    keys.push(
      `${alias}.${quote(field)} ${direction}${nullable ? (direction === 'ASC' ? ' NULLS LAST' : ' NULLS FIRST') : ''}`,
    );
  }
  if (!seen.has('id')) keys.push(`${alias}.id ASC`);
  return keys.join(', ');
}

/** Ids of the rows a list returns for the principal, in order (every page). */
export async function listIds(
  truth: Truth,
  model: ModelName,
  principal: Principal,
  where: Where | null | undefined,
  orderBy: OrderBy | null | undefined,
): Promise<number[]> {
  const b = new SqlBuilder();
  const alias = b.alias();
  const text = `SELECT ${alias}.id FROM ${quote(model)} ${alias}
    WHERE ${scopeSql(model, alias, principal, b)} AND ${whereSql(model, where, alias, principal, b)}
    ORDER BY ${orderSql(model, orderBy, alias)}`;
  const rows = await truth.sql<{ id: number }>(text, b.params);
  return rows.map((row) => Number(row.id));
}

/** The children a nested list returns under each parent, in order, at most `take` each. */
export async function childIds(
  truth: Truth,
  model: ModelName,
  relationName: string,
  parents: number[],
  principal: Principal,
  where: Where | null | undefined,
  orderBy: OrderBy | null | undefined,
  take: number,
): Promise<Map<number, number[]>> {
  const rel = relationOf(model, relationName)!;
  const byParent = new Map<number, number[]>(parents.map((id) => [id, []]));
  if (parents.length === 0) return byParent;
  // the parent's key for the join: the parents' own ids, or their foreign keys
  const parentKey = new Map<number, number[]>();
  for (const id of parents) {
    const key = Number(truth.row(model, id)![rel.localField]);
    parentKey.set(key, [...(parentKey.get(key) ?? []), id]);
  }
  const b = new SqlBuilder();
  const alias = b.alias();
  const text = `SELECT ${alias}.id, ${alias}.${quote(rel.targetField)} AS parent FROM ${quote(rel.target)} ${alias}
    WHERE ${alias}.${quote(rel.targetField)} = ANY(${b.param([...parentKey.keys()], 'Int[]')})
      AND ${scopeSql(rel.target, alias, principal, b)}
      AND ${whereSql(rel.target, where, alias, principal, b)}
    ORDER BY ${orderSql(rel.target, orderBy, alias)}`;
  for (const row of await truth.sql<{ id: number; parent: number }>(text, b.params)) {
    for (const parent of parentKey.get(Number(row.parent)) ?? []) {
      const list = byParent.get(parent)!;
      if (list.length < take) list.push(Number(row.id));
    }
  }
  return byParent;
}

/** count, and sum/avg/min/max of numeric fields, over the rows a list would return. */
export async function aggregateTruth(
  truth: Truth,
  model: ModelName,
  principal: Principal,
  where: Where | null | undefined,
  numeric: string[],
): Promise<Row> {
  const b = new SqlBuilder();
  const alias = b.alias();
  const measures = numeric.flatMap((field) => [
    `sum(${alias}.${quote(field)})::float8 AS ${quote(`sum_${field}`)}`,
    `avg(${alias}.${quote(field)})::float8 AS ${quote(`avg_${field}`)}`,
    `min(${alias}.${quote(field)}) AS ${quote(`min_${field}`)}`,
    `max(${alias}.${quote(field)}) AS ${quote(`max_${field}`)}`,
  ]);
  const text = `SELECT ${['count(*)::int AS count', ...measures].join(', ')} FROM ${quote(model)} ${alias}
    WHERE ${scopeSql(model, alias, principal, b)} AND ${whereSql(model, where, alias, principal, b)}`;
  const [row] = await truth.sql<Row>(text, b.params);
  return row!;
}

/** Groups of the rows a list would return: key values, count, and sum of one field. */
export async function groupTruth(
  truth: Truth,
  model: ModelName,
  principal: Principal,
  where: Where | null | undefined,
  by: string[],
  sumField: string | null,
): Promise<Row[]> {
  const b = new SqlBuilder();
  const alias = b.alias();
  const keys = by.map((field) =>
    MODELS[model].fields[field]!.type === 'DateTime'
      ? `to_char(${alias}.${quote(field)}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${quote(field)}`
      : `${alias}.${quote(field)}`,
  );
  const text = `SELECT ${[
    ...keys,
    'count(*)::int AS count',
    ...(sumField ? [`sum(${alias}.${quote(sumField)})::float8 AS sum`] : []),
  ].join(', ')} FROM ${quote(model)} ${alias}
    WHERE ${scopeSql(model, alias, principal, b)} AND ${whereSql(model, where, alias, principal, b)}
    GROUP BY ${by.map((field) => `${alias}.${quote(field)}`).join(', ')}`;
  return truth.sql<Row>(text, b.params);
}

/** For a view over Customer: the count and the sum of totalCents of the orders the principal sees. */
export async function customerOrderTotals(
  truth: Truth,
  customers: number[],
  principal: Principal,
): Promise<Map<number, { count: number; sum: number }>> {
  const totals = new Map(customers.map((id) => [id, { count: 0, sum: 0 }]));
  if (customers.length === 0) return totals;
  const b = new SqlBuilder();
  const text = `SELECT t1."customerId" AS id, count(*)::int AS n, sum(t1."totalCents")::float8 AS s
    FROM "Order" t1 WHERE t1."customerId" = ANY(${b.param(customers, 'Int[]')})
      AND ${scopeSql('Order', 't1', principal, b)} GROUP BY t1."customerId"`;
  for (const row of await truth.sql<{ id: number; n: number; s: number }>(text, b.params)) {
    totals.set(Number(row.id), { count: Number(row.n), sum: Number(row.s) });
  }
  return totals;
}
