// The database's own answer to "is this a row of the principal's tenant?": raw SQL on the app's
// tables (names and column types from the catalog), the tenant scope written from the compiled
// policy's tenant field and scope-through chain, independently of ormai's Prisma translation.
import { quoteIdent, type SqlDriver } from '../db/database.js';
import type { CompiledModel, TenantScope } from '../policy/compile-policy.js';
import type { Datamodel } from '../policy/datamodel.js';

type Kind = 'int' | 'numeric' | 'float' | 'bool' | 'uuid' | 'date' | 'text' | 'enum';

interface Column {
  name: string;
  kind: Kind;
  /** What a text parameter is cast to before it is compared with the column. */
  cast: string;
}

export interface Table {
  name: string;
  /** Comparable columns by field name; a field absent here is never compared (Json, Bytes, lists). */
  columns: Map<string, Column>;
  /** Every scalar field's column and its type as the catalog names it (`format_type`). */
  types: Map<string, { column: string; type: string; hasDefault: boolean }>;
}

/** How a catalog type compares with a value given as text; null: it is not compared. */
function columnKind(type: string, typtype: string): Pick<Column, 'kind' | 'cast'> | null {
  if (typtype === 'e') return { kind: 'enum', cast: 'text' };
  if (type === 'integer' || type === 'smallint' || type === 'bigint')
    return { kind: 'int', cast: type };
  if (type.startsWith('numeric')) return { kind: 'numeric', cast: 'numeric' };
  if (type === 'real' || type === 'double precision') return { kind: 'float', cast: type };
  if (type === 'boolean') return { kind: 'bool', cast: 'boolean' };
  if (type === 'uuid') return { kind: 'uuid', cast: 'uuid' };
  if (type === 'date') return { kind: 'date', cast: 'date' };
  if (type.startsWith('timestamp'))
    return { kind: 'date', cast: type.endsWith('with time zone') ? 'timestamptz' : 'timestamp' };
  if (type === 'text' || type.startsWith('character varying'))
    return { kind: 'text', cast: 'text' };
  return null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * A response value as the text the column is compared with; undefined when it cannot be one of
 * the column's values (the comparison would fail, or prove nothing).
 */
export function comparableText(value: unknown, column: Column): string | null | undefined {
  if (value === null) return null;
  if (value instanceof Date) value = value.toISOString();
  if (typeof value === 'bigint') value = value.toString();
  if (typeof value === 'boolean') return column.kind === 'bool' ? String(value) : undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    if (column.kind === 'int') return Number.isInteger(value) ? String(value) : undefined;
    return column.kind === 'numeric' || column.kind === 'float' ? String(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  switch (column.kind) {
    case 'int':
      return /^-?\d+$/.test(value) ? value : undefined;
    case 'numeric':
    case 'float':
      return NUMBER.test(value) ? value : undefined;
    case 'uuid':
      return UUID.test(value) ? value : undefined;
    case 'date':
      return Number.isNaN(Date.parse(value)) ? undefined : value;
    case 'bool':
      return undefined;
    default:
      return value;
  }
}

/** Numbered parameters of one statement. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Raw SQL over one database, for one app's datamodel: table lookups cached. */
export class GroundTruth {
  readonly #tables = new Map<string, Promise<Table>>();

  constructor(
    private readonly sql: SqlDriver,
    private readonly datamodel: Datamodel,
    /** The schema of tables without `@@schema`. */
    private readonly schema: string,
  ) {}

  table(model: string): Promise<Table> {
    let table = this.#tables.get(model);
    if (!table) {
      table = this.#loadTable(model);
      this.#tables.set(model, table);
    }
    return table;
  }

  async #loadTable(model: string): Promise<Table> {
    const dm = this.datamodel.datamodel.models[model];
    if (!dm) throw new Error(`no model ${model} in the datamodel`);
    const name = `${quoteIdent(dm.schema ?? this.schema)}.${quoteIdent(dm.dbName ?? model)}`;
    const rows = await this.sql.query<{
      column: string;
      type: string;
      typtype: string;
      hasDefault: boolean;
    }>(
      `SELECT a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS "type",
              t.typtype::text AS "typtype", a.atthasdef AS "hasDefault"
         FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [name],
    );
    if (rows.length === 0) throw new Error(`no table ${name} for the model ${model}`);
    const catalog = new Map(rows.map((row) => [row.column, row]));
    const columns = new Map<string, Column>();
    const types = new Map<string, { column: string; type: string; hasDefault: boolean }>();
    for (const field of dm.fields) {
      if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
      const column = field.dbName ?? field.name;
      const entry = catalog.get(column);
      if (!entry) continue;
      types.set(field.name, { column, type: entry.type, hasDefault: entry.hasDefault });
      const kind = !field.isList && columnKind(entry.type, entry.typtype);
      if (kind) columns.set(field.name, { name: column, ...kind });
    }
    return { name, columns, types };
  }

  /** `alias.column` as compared with a text parameter cast to the column's type. */
  #compare(alias: string, column: Column, value: string): string {
    const expr = `${alias}.${quoteIdent(column.name)}`;
    return column.kind === 'enum'
      ? `${expr}::text = ${value}`
      : `${expr} = ${value}::${column.cast}`;
  }

  /**
   * The rows of a model on `alias` that belong to a tenant: its tenant field, or its parent's
   * through the scope-through chain. Null for a model with neither (global or unscoped).
   */
  async #tenantSql(
    scope: TenantScope,
    alias: string,
    tenantId: string | number | null,
    params: Params,
    depth = 0,
  ): Promise<string | null> {
    const table = await this.table(scope.name);
    if (scope.tenantField) {
      const column = table.columns.get(scope.tenantField.name);
      if (!column) throw new Error(`${scope.name}.${scope.tenantField.name} cannot be compared`);
      if (tenantId === null) return 'FALSE';
      return this.#compare(alias, column, params.add(String(tenantId), 'text'));
    }
    if (!scope.scopeThrough) return null;
    const through = scope.scopeThrough;
    const parent = await this.table(through.parent.name);
    const parentAlias = `p${depth}`;
    const join = through.keys
      .map((pair) => {
        const local = table.columns.get(pair.localField);
        const target = parent.columns.get(pair.targetField);
        if (!local || !target)
          throw new Error(`${scope.name}.${through.relation}: no join columns`);
        return `${parentAlias}.${quoteIdent(target.name)} = ${alias}.${quoteIdent(local.name)}`;
      })
      .join(' AND ');
    const inner = await this.#tenantSql(through.parent, parentAlias, tenantId, params, depth + 1);
    return `EXISTS (SELECT 1 FROM ${parent.name} ${parentAlias} WHERE ${join}${inner ? ` AND ${inner}` : ''})`;
  }

  /** Whether the model's rows belong to tenants at all (a global or unscoped model's do not). */
  isTenantScoped(scope: CompiledModel): boolean {
    return !scope.global && (scope.tenantField !== null || scope.scopeThrough !== null);
  }

  /**
   * For each object (its comparable fields as text): whether a row of the tenant holds all its
   * values (`mine`), and else whether any row does (`anywhere`).
   */
  async matchRows(
    scope: CompiledModel,
    tenantId: string | number | null,
    objects: Record<string, string | null>[],
  ): Promise<{ mine: boolean; anywhere: boolean }[]> {
    if (objects.length === 0) return [];
    const table = await this.table(scope.name);
    const params = new Params();
    const items = params.add(JSON.stringify(objects), 'jsonb');
    const fields = [...new Set(objects.flatMap((object) => Object.keys(object)))];
    const match = (item: string) =>
      fields
        .map((field) => {
          const column = table.columns.get(field)!;
          const expr = `t.${quoteIdent(column.name)}${column.kind === 'enum' ? '::text' : ''}`;
          const cast = column.kind === 'enum' ? '' : `::${column.cast}`;
          const name = literal(field);
          return `(NOT (${item} ? ${name}) OR ${expr} IS NOT DISTINCT FROM (${item}->>${name})${cast})`;
        })
        .join(' AND ');
    const tenant = await this.#tenantSql(scope, 't', tenantId, params);
    const rows = await this.sql.query<{ ord: number; mine: boolean; anywhere: boolean }>(
      `SELECT x.ord, x.mine,
              CASE WHEN x.mine THEN TRUE
                   ELSE EXISTS (SELECT 1 FROM ${table.name} t WHERE ${match('x.v')}) END AS anywhere
         FROM (SELECT i.ord::int AS ord, i.v,
                      EXISTS (SELECT 1 FROM ${table.name} t
                               WHERE ${match('i.v')} AND ${tenant ?? 'TRUE'}) AS mine
                 FROM jsonb_array_elements(${items}) WITH ORDINALITY AS i(v, ord)) x
        ORDER BY x.ord`,
      params.values,
    );
    return rows.map((row) => ({ mine: row.mine, anywhere: row.anywhere }));
  }

  /**
   * For each distinct value of one field: whether a row of the tenant holds it (`mine`), and else
   * whether any row does (`anywhere`).
   */
  async matchValues(
    scope: CompiledModel,
    tenantId: string | number | null,
    field: string,
    values: string[],
  ): Promise<Map<string, { mine: boolean; anywhere: boolean }>> {
    const result = new Map<string, { mine: boolean; anywhere: boolean }>();
    if (values.length === 0) return result;
    const table = await this.table(scope.name);
    const column = table.columns.get(field)!;
    const params = new Params();
    const list = params.add(values, 'text[]');
    const compare = this.#compare('t', column, 'u.v');
    const tenant = await this.#tenantSql(scope, 't', tenantId, params);
    const rows = await this.sql.query<{ v: string; mine: boolean; anywhere: boolean }>(
      `SELECT u.v, u.mine,
              CASE WHEN u.mine THEN TRUE ELSE EXISTS (SELECT 1 FROM ${table.name} t WHERE ${compare}) END AS anywhere
         FROM (SELECT u.v, EXISTS (SELECT 1 FROM ${table.name} t WHERE ${compare} AND ${tenant ?? 'TRUE'}) AS mine
                 FROM unnest(${list}) AS u(v)) u`,
      params.values,
    );
    for (const row of rows) result.set(row.v, { mine: row.mine, anywhere: row.anywhere });
    return result;
  }

  /** The values (as given) that some row of any tenant holds as the field's raw value. */
  async rawValuesAmong(model: string, field: string, values: string[]): Promise<Set<string>> {
    if (values.length === 0) return new Set();
    const table = await this.table(model);
    const column = table.columns.get(field);
    if (!column) return new Set();
    const params = new Params();
    const list = params.add(values, 'text[]');
    const rows = await this.sql.query<{ v: string }>(
      `SELECT u.v FROM unnest(${list}) AS u(v)
        WHERE EXISTS (SELECT 1 FROM ${table.name} t WHERE ${this.#compare('t', column, 'u.v')})`,
      params.values,
    );
    return new Set(rows.map((row) => row.v));
  }

  /** The comparable column of a field, or undefined. */
  async column(model: string, field: string): Promise<Column | undefined> {
    return (await this.table(model)).columns.get(field);
  }
}
