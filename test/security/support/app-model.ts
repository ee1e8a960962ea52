// An example app as the security suite sees it, derived rather than written out per app: models,
// fields and relations from Prisma's datamodel (with their table and column names), what each role
// reads from the compiled policy, and each column's PostgreSQL type from the database catalog.
// The ground truth (truth.ts) turns this into raw SQL of its own; nothing here queries through ormai.

import {
  type CompiledPolicy,
  compilePolicy,
  type PolicyEngine,
  type WhereTemplate,
} from '../../../src/policy/compile-policy.js';
import type { Datamodel, DatamodelField } from '../../../src/policy/datamodel.js';
import { hashValue, maskValue } from '../../../src/policy/redaction.js';
import type { Budgets } from '../../../src/policy/types.js';
import { readPrismaSchema } from '../../../src/prisma/read-schema.js';
import { modelNames } from '../../../src/schema/naming.js';
import type { SecurityAppSpec, SqlFn } from './app-spec.js';

export type TenantId = number | string;

export interface Principal {
  tenantId: TenantId;
  role: string;
  sub: string;
}

export const NUMERIC_TYPES = new Set(['Int', 'Float', 'Decimal', 'BigInt']);

export interface FieldInfo {
  name: string;
  column: string;
  /** Prisma's scalar type, or the enum's name. */
  type: string;
  isEnum: boolean;
  nullable: boolean;
  list: boolean;
  /** The column's PostgreSQL type (`int4`, `uuid`, `text`, the enum's type, …). */
  sqlType: string;
  /** An enum's values in declaration order. */
  enumValues: string[];
}

export interface RelationKey {
  localField: string;
  targetField: string;
}

export interface RelationInfo {
  name: string;
  from: string;
  target: string;
  list: boolean;
  /** Join pairs (several for a compound foreign key); null for an implicit many-to-many. */
  keys: RelationKey[] | null;
  /** An implicit many-to-many's join table: its column for this side and the target's. */
  joinTable: { table: string; local: string; target: string } | null;
}

export interface ModelInfo {
  name: string;
  /** The table, schema-qualified and quoted. */
  table: string;
  fields: Map<string, FieldInfo>;
  /** The primary key's fields, in key order (one, or several for @@id). */
  key: string[];
  tenantField: string | null;
  softDeleteField: string | null;
  /** The relation to the parent whose tenant scope this model takes. */
  scopeThrough: string | null;
  /** GraphQL root names. */
  single: string;
  list: string;
  relations: Map<string, RelationInfo>;
}

export type Access =
  | { kind: 'allow' }
  | { kind: 'deny' }
  | { kind: 'mask'; pattern?: string }
  | { kind: 'hash' };

export const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A value the answer must carry as a decimal string equal to this one (`12.50` = `12.5`). */
export class ExactDecimal {
  constructor(readonly value: string) {}
}

export class AppModel {
  readonly models = new Map<string, ModelInfo>();
  readonly roles: string[];
  readonly #compiled = new Map<string, CompiledPolicy>();

  private constructor(
    readonly spec: SecurityAppSpec,
    readonly datamodel: Datamodel,
    readonly engine: PolicyEngine,
  ) {
    this.roles = engine.declaredRoles;
  }

  get name(): string {
    return this.spec.app.name;
  }

  static async load(spec: SecurityAppSpec, sql: SqlFn): Promise<AppModel> {
    const datamodel = readPrismaSchema(spec.schemaPath);
    const compiled = compilePolicy(spec.app.policy, datamodel);
    if (!compiled.ok) throw new Error(`${spec.app.name}: ${compiled.message}`);
    const model = new AppModel(spec, datamodel, compiled.value);
    const anyRole = compiled.value.forRoles(compiled.value.declaredRoles);
    for (const [name, dm] of Object.entries(datamodel.datamodel.models)) {
      const scope = anyRole.models.get(name) ?? null;
      const table = await resolveTable(sql, dm.dbName ?? name, dm.schema ?? null);
      const columns = await columnTypes(sql, table);
      const fields = new Map<string, FieldInfo>();
      for (const field of dm.fields) {
        if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
        const column = field.dbName ?? field.name;
        const sqlType = columns.get(column);
        if (!sqlType) throw new Error(`${name}.${field.name}: no column ${column} in ${table}`);
        fields.set(field.name, {
          name: field.name,
          column,
          type: field.type,
          isEnum: field.kind === 'enum',
          nullable: !field.isRequired,
          list: field.isList,
          sqlType,
          enumValues: field.kind === 'enum' ? await enumValues(sql, table, column) : [],
        });
      }
      const names = modelNames(name);
      model.models.set(name, {
        name,
        table,
        fields,
        key: dm.primaryKey?.fields.length
          ? [...dm.primaryKey.fields]
          : dm.fields.filter((f) => f.isId).map((f) => f.name),
        tenantField: scope?.tenantField?.name ?? null,
        softDeleteField: scope?.softDeleteField ?? null,
        scopeThrough: scope?.scopeThrough?.relation ?? null,
        single: names.single,
        list: names.list,
        relations: new Map(),
      });
    }
    for (const [name, dm] of Object.entries(datamodel.datamodel.models)) {
      for (const field of dm.fields) {
        if (field.kind !== 'object') continue;
        model.models.get(name)!.relations.set(field.name, await model.#relation(sql, name, field));
      }
    }
    return model;
  }

  async #relation(sql: SqlFn, from: string, field: DatamodelField): Promise<RelationInfo> {
    const models = this.datamodel.datamodel.models;
    const base = { name: field.name, from, target: field.type, list: field.isList };
    const keyOf = (name: string) => this.models.get(name)!.key;
    if (field.relationFromFields?.length) {
      const to = field.relationToFields?.length ? field.relationToFields : keyOf(field.type);
      return {
        ...base,
        keys: field.relationFromFields.map((local, i) => ({
          localField: local,
          targetField: to[i]!,
        })),
        joinTable: null,
      };
    }
    const back = models[field.type]!.fields.find(
      (candidate) =>
        candidate.kind === 'object' &&
        candidate.relationName === field.relationName &&
        candidate !== field &&
        candidate.type === from,
    );
    if (back?.relationFromFields?.length) {
      const to = back.relationToFields?.length ? back.relationToFields : keyOf(from);
      return {
        ...base,
        keys: back.relationFromFields.map((foreign, i) => ({
          localField: to[i]!,
          targetField: foreign,
        })),
        joinTable: null,
      };
    }
    // implicit many-to-many: Prisma's `_<relation>` table, column A for the model first by name
    const schema = models[from]!.schema ?? models[field.type]!.schema ?? null;
    const table = await resolveTable(sql, `_${field.relationName}`, schema);
    const fromIsA = from.localeCompare(field.type) <= 0;
    return {
      ...base,
      keys: null,
      joinTable: { table, local: fromIsA ? 'A' : 'B', target: fromIsA ? 'B' : 'A' },
    };
  }

  model(name: string): ModelInfo {
    const found = this.models.get(name);
    if (!found) throw new Error(`${this.name}: no model ${name}`);
    return found;
  }

  field(model: string, field: string): FieldInfo {
    const found = this.model(model).fields.get(field);
    if (!found) throw new Error(`${model}.${field} is not a field`);
    return found;
  }

  relation(model: string, name: string): RelationInfo | undefined {
    return this.models.get(model)?.relations.get(name);
  }

  compiled(role: string): CompiledPolicy {
    let found = this.#compiled.get(role);
    if (!found) {
      found = this.engine.forRoles([role]);
      this.#compiled.set(role, found);
    }
    return found;
  }

  budgets(role: string): Budgets {
    return this.compiled(role).budgets;
  }

  canRead(role: string, model: string): boolean {
    return this.compiled(role).models.has(model);
  }

  readableModels(role: string): string[] {
    return [...this.models.keys()].filter((model) => this.canRead(role, model));
  }

  access(role: string, model: string, field: string): Access {
    const compiled = this.compiled(role).models.get(model)?.fields.get(field);
    if (!compiled) return { kind: 'deny' };
    const redaction = compiled.redaction;
    if (!redaction) return { kind: 'allow' };
    if (redaction.kind === 'hash') return { kind: 'hash' };
    return redaction.pattern ? { kind: 'mask', pattern: redaction.pattern } : { kind: 'mask' };
  }

  /** Fields the role can select (plain, masked or hashed). */
  selectableFields(role: string, model: string): string[] {
    return [...this.model(model).fields.keys()].filter(
      (field) => this.access(role, model, field).kind !== 'deny',
    );
  }

  /** Fields the role can filter, sort and group on: single plain values, no Json or Bytes. */
  filterableFields(role: string, model: string): string[] {
    return [...this.model(model).fields.values()]
      .filter(
        (field) =>
          !field.list &&
          field.type !== 'Json' &&
          field.type !== 'Bytes' &&
          this.access(role, model, field.name).kind === 'allow',
      )
      .map((field) => field.name);
  }

  /** Fields the role can aggregate: filterable numbers. */
  numericFields(role: string, model: string): string[] {
    return this.filterableFields(role, model).filter((field) =>
      NUMERIC_TYPES.has(this.field(model, field).type),
    );
  }

  /** Fields of the datamodel the role cannot filter or sort on (denied, redacted, Json, Bytes, lists). */
  unfilterableFields(role: string, model: string): string[] {
    const filterable = new Set(this.filterableFields(role, model));
    return [...this.model(model).fields.keys()].filter((field) => !filterable.has(field));
  }

  /** Fields whose raw value must never reach this role (denied, masked or hashed). */
  protectedFields(role: string, model: string): string[] {
    return [...this.model(model).fields.keys()].filter(
      (field) => this.access(role, model, field).kind !== 'allow',
    );
  }

  relationsOf(role: string, model: string): RelationInfo[] {
    const compiled = this.compiled(role).models.get(model);
    if (!compiled) return [];
    return [...compiled.relations.keys()].map((name) => this.relation(model, name)!);
  }

  /** The role's row filter on a model (ownership and rowFilter, ORed across its views); null: none. */
  rowFilter(role: string, model: string): WhereTemplate | null {
    const filters = this.compiled(role).models.get(model)?.rowFilters ?? null;
    if (!filters) return null;
    return filters.length === 1 ? filters[0]! : { OR: filters };
  }

  /** The model scoped by its own key (Tenant, Organization): `tenant(id: other)` names another tenant. */
  tenantRoot(): ModelInfo | undefined {
    return [...this.models.values()].find(
      (model) => model.key.length === 1 && model.tenantField === model.key[0],
    );
  }

  /** The value a role must receive for a raw column value (as truth.ts reads it). */
  expectedValue(role: string, model: string, field: string, raw: unknown): unknown {
    const rule = this.access(role, model, field);
    if (raw === null || raw === undefined) return null;
    const info = this.field(model, field);
    const redact = (value: unknown) =>
      rule.kind === 'mask'
        ? maskValue(value, rule.pattern)
        : rule.kind === 'hash'
          ? hashValue(value, this.compiled(role).hashKey)
          : value;
    if (info.list) return (raw as unknown[]).map((item) => this.#plain(info, redact(item), rule));
    return this.#plain(info, redact(raw), rule);
  }

  #plain(info: FieldInfo, value: unknown, rule: Access): unknown {
    if (rule.kind !== 'allow' || value === null) return value;
    if (info.type === 'Decimal') return new ExactDecimal(String(value));
    return value;
  }
}

/** The table's qualified name: found through the search path, else in its `@@schema`. */
async function resolveTable(sql: SqlFn, table: string, schema: string | null): Promise<string> {
  const candidates = [quote(table), ...(schema ? [`${quote(schema)}.${quote(table)}`] : [])];
  for (const candidate of candidates) {
    const [row] = await sql<{ schema: string | null }>(
      `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1)`,
      [candidate],
    );
    if (row?.schema) return `${quote(row.schema)}.${quote(table)}`;
  }
  throw new Error(`no table ${schema ? `${schema}.` : ''}${table} in the database`);
}

async function columnTypes(sql: SqlFn, table: string): Promise<Map<string, string>> {
  const rows = await sql<{ column: string; type: string }>(
    `SELECT a.attname AS column, t.typname AS type FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  return new Map(rows.map((row) => [row.column, row.type]));
}

async function enumValues(sql: SqlFn, table: string, column: string): Promise<string[]> {
  const rows = await sql<{ label: string }>(
    `SELECT e.enumlabel AS label FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_enum e ON e.enumtypid = CASE WHEN t.typelem <> 0 THEN t.typelem ELSE t.oid END
      WHERE a.attrelid = $1::regclass AND a.attname = $2 ORDER BY e.enumsortorder`,
    [table, column],
  );
  return rows.map((row) => row.label);
}
