// A multi-tenant fixture made from the datamodel alone: N tenants, rows of every model in each (its
// tenant field set, its foreign keys pointing into the same tenant), some soft-deleted, and a few
// rows whose foreign keys point into another tenant (what the scope must hide whatever the join).
// Written with raw SQL on the app's tables; `remove()` deletes exactly what it wrote.
import { createHash } from 'node:crypto';
import { quoteIdent } from '../db/database.js';
import type { CompiledModel } from '../policy/compile-policy.js';
import { type DatamodelField, enumValuesOf } from '../policy/datamodel.js';
import type { Runtime } from '../runtime.js';
import type { Table } from './ground-truth.js';
import { type LeakPrincipal, truthOf } from './leaks.js';

export type TenantId = string | number;

export interface TenantFixtureOptions {
  /** How many tenants (default 3). */
  tenants?: number;
  /** Rows per model and tenant: one number, or per model name (default 8; the tenant's own row: 1). */
  rows?: number | Record<string, number>;
  /** Seeds the values, so two fixtures of one seed hold the same data (default 1). */
  seed?: number;
  /** Add one row per foreign key and tenant that points into the next tenant (default true). */
  crossTenantRows?: boolean;
  /** Every n-th row of a model with a soft-delete field is soft-deleted (default 5; 0: none). */
  softDeleteEvery?: number;
}

/** One row the fixture wrote. */
export interface SeededRow {
  tenant: TenantId;
  /** Every column's value as written (text), by field name, key included. */
  values: Record<string, unknown>;
  /** Its foreign keys point into another tenant. */
  crossTenant: boolean;
}

export interface TenantFixture {
  /** The tenant ids, as the principal's `tenantId` carries them. */
  tenants: TenantId[];
  /** The rows written, by model, in the order written. */
  rows: Map<string, SeededRow[]>;
  /**
   * A principal of a tenant with these roles. Without `sub`: a value of the first ownership field
   * the roles' policy names, taken from a row of that tenant (so an owner sees rows), else `'1'`.
   */
  principal(tenant: TenantId, roles: readonly string[], sub?: string): LeakPrincipal;
  /** A principal per tenant and role (each with one role). */
  principals(roles?: readonly string[]): LeakPrincipal[];
  /** Deletes every row the fixture wrote. */
  remove(): Promise<void>;
}

/** What the fixture reads of ormai: its runtime (datamodel, policy, database). */
export type FixtureSource = { runtime: Runtime };

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuidOf = (text: string) => {
  const hex = createHash('sha256').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

/**
 * Seeds N tenants into the database ormai runs on (a test database or schema: the rows are real).
 * Models are filled in foreign-key order; the model that holds the tenants (its key is the tenant
 * field, or the tenant field points at it) gets one row per tenant, whose key becomes the tenant id.
 */
export async function seedTenants(
  ormai: FixtureSource,
  options: TenantFixtureOptions = {},
): Promise<TenantFixture> {
  const { runtime } = ormai;
  const datamodel = runtime.app.datamodel;
  const models = datamodel.datamodel.models;
  const engine = runtime.policy;
  const scopes = engine.forRoles(engine.declaredRoles).models;
  const truth = truthOf(runtime);
  const enums = enumValuesOf(datamodel);
  const next = random(options.seed ?? 1);
  const tenantCount = options.tenants ?? 3;
  const softDeleteEvery = options.softDeleteEvery ?? 5;
  const rowsOf = (model: string) =>
    typeof options.rows === 'number' ? options.rows : (options.rows?.[model] ?? 8);

  const relationsOf = (model: string) =>
    models[model]!.fields.filter(
      (field) => field.kind === 'object' && (field.relationFromFields?.length ?? 0) > 0,
    );
  const tenantFieldOf = (model: string) => scopes.get(model)?.tenantField?.name ?? null;
  const root = tenantRoot(models, scopes);
  const order = foreignKeyOrder(Object.keys(models), relationsOf);

  const rows = new Map<string, SeededRow[]>(order.map((model) => [model, []]));
  const written: { table: Table; key: Record<string, unknown> }[] = [];
  const tenants: TenantId[] = [];
  const counters = new Map<string, number>();
  const usedKeys = new Map<string, Set<string>>();
  const count = (name: string) => {
    const value = (counters.get(name) ?? 0) + 1;
    counters.set(name, value);
    return value;
  };

  /** The rows of `model` in a tenant (for a global model: all). */
  const rowsIn = (model: string, tenant: TenantId) => {
    const all = rows.get(model) ?? [];
    const scoped = model !== root && (tenantFieldOf(model) || scopes.get(model)?.scopeThrough);
    return scoped ? all.filter((row) => row.tenant === tenant) : all;
  };

  const insert = async (
    model: string,
    tenant: TenantId,
    index: number,
    crossTo: { relation: DatamodelField; tenant: TenantId } | null,
  ): Promise<SeededRow | null> => {
    const table = await truth.table(model);
    const dm = models[model]!;
    const tenantField = tenantFieldOf(model);
    const foreign = new Set<string>();
    /** Foreign keys into rows already written (of the tenant, or the other for `crossTo`). */
    const pickForeignKeys = (): Record<string, unknown> | null => {
      const picked: Record<string, unknown> = {};
      for (const relation of relationsOf(model)) {
        const from = relation.relationFromFields!;
        const to = relation.relationToFields?.length
          ? relation.relationToFields
          : keyOf(models[relation.type]!);
        const target = crossTo?.relation === relation ? crossTo.tenant : tenant;
        const candidates = rowsIn(relation.type, target).filter((row) => !row.crossTenant);
        from.forEach((name) => {
          foreign.add(name);
        });
        if (candidates.length === 0) {
          if (relation.isRequired) return null;
          continue;
        }
        const pick = candidates[Math.floor(next() * candidates.length)]!;
        from.forEach((name, i) => {
          picked[name] = pick.values[to[i]!];
        });
      }
      return picked;
    };
    // a key or unique index made of foreign keys only (a join table's) takes another pick
    const uniques = [keyOf(dm), ...dm.uniqueIndexes.map((index) => [...index.fields])];
    let values: Record<string, unknown> | null = null;
    for (let attempt = 0; attempt < 20 && !values; attempt++) {
      const picked = pickForeignKeys();
      if (!picked) return null;
      if (tenantField && model !== root) picked[tenantField] = tenant;
      const tuples = uniques
        .filter((fields) => fields.length > 0 && fields.every((name) => name in picked))
        .map(
          (fields) => `${fields.join(',')}=${JSON.stringify(fields.map((f) => String(picked[f])))}`,
        );
      const seen = usedKeys.get(model) ?? new Set<string>();
      usedKeys.set(model, seen);
      if (tuples.some((tuple) => seen.has(tuple))) continue;
      for (const tuple of tuples) seen.add(tuple);
      values = picked;
    }
    if (!values) return null;
    for (const field of dm.fields) {
      if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
      const column = table.types.get(field.name);
      if (!column) continue;
      if (field.name === tenantField && model !== root) {
        values[field.name] = tenant;
        continue;
      }
      if (foreign.has(field.name)) continue;
      if (field.isId && column.hasDefault) continue;
      if (field.name === scopes.get(model)?.softDeleteField) {
        const deleted = softDeleteEvery > 0 && index % softDeleteEvery === softDeleteEvery - 1;
        values[field.name] = deleted ? new Date(Date.UTC(2025, 0, 1 + index)).toISOString() : null;
        continue;
      }
      values[field.name] = valueFor(model, field, column.type, tenant, index, {
        next,
        count,
        enums,
      });
    }
    const names = Object.keys(values);
    const params = names.map((name) => toParam(values[name]));
    const text = `INSERT INTO ${table.name} (${names
      .map((name) => quoteIdent(table.types.get(name)!.column))
      .join(', ')}) VALUES (${names
      .map((name, i) => `$${i + 1}::text::${table.types.get(name)!.type}`)
      .join(', ')}) RETURNING ${[...table.types]
      .map(([name, column]) => `${quoteIdent(column.column)}::text AS ${quoteIdent(name)}`)
      .join(', ')}`;
    let row: Record<string, unknown> | undefined;
    try {
      [row] = await runtime.db.sql.query<Record<string, unknown>>(text, params);
    } catch (error) {
      throw new Error(
        `seedTenants: a row of ${model} could not be written (${(error as Error).message}); give it fewer rows with the rows option, or seed it yourself`,
      );
    }
    const stored = { ...row } as Record<string, unknown>;
    // a number key or tenant stays a number, as principals and GraphQL carry it
    for (const field of dm.fields) {
      if (stored[field.name] != null && ['Int', 'Float'].includes(field.type))
        stored[field.name] = Number(stored[field.name]);
    }
    const key = Object.fromEntries(keyOf(dm).map((name) => [name, stored[name]]));
    written.push({ table, key });
    const seeded = { tenant, values: stored, crossTenant: crossTo !== null };
    rows.get(model)!.push(seeded);
    return seeded;
  };

  // the tenants first: one row each of the model that holds them, else ids made up by type
  if (root) {
    for (let i = 0; i < tenantCount; i++) {
      const row = await insert(root, i + 1, i, null);
      const key = keyOf(models[root]!)[0]!;
      const id = row!.values[key] as TenantId;
      row!.tenant = id;
      tenants.push(id);
    }
  } else {
    for (let i = 0; i < tenantCount; i++)
      tenants.push(madeUpTenant(models, scopes, i, options.seed ?? 1));
  }
  for (const model of order) {
    if (model === root) continue;
    const global = scopes.get(model)?.global || !scopes.has(model);
    const perTenant = global ? [tenants[0]!] : tenants;
    for (const tenant of perTenant) {
      for (let i = 0; i < rowsOf(model); i++) await insert(model, tenant, i, null);
    }
  }
  if (options.crossTenantRows ?? true) {
    for (const model of order) {
      if (model === root || !tenantFieldOf(model)) continue;
      const tenantField = tenantFieldOf(model)!;
      for (const relation of relationsOf(model)) {
        // a foreign key holding the tenant field cannot point elsewhere
        if (relation.relationFromFields!.includes(tenantField) || relation.type === root) continue;
        if (!tenantFieldOf(relation.type) && !scopes.get(relation.type)?.scopeThrough) continue;
        for (const [i, tenant] of tenants.entries()) {
          const other = tenants[(i + 1) % tenants.length]!;
          if (other !== tenant)
            await insert(model, tenant, rowsOf(model), { relation, tenant: other });
        }
      }
    }
  }

  const ownership = (roles: readonly string[]) => {
    const policy = engine.policy;
    for (const role of roles) {
      for (const [model, rules] of Object.entries(policy.roles?.[role]?.models ?? {})) {
        if (rules.ownershipField) return { model, field: rules.ownershipField };
      }
    }
    for (const [model, rules] of Object.entries(policy.models ?? {})) {
      if (rules.ownershipField) return { model, field: rules.ownershipField };
    }
    return null;
  };
  const principal = (tenant: TenantId, roles: readonly string[], sub?: string) => {
    let chosen = sub;
    if (chosen === undefined) {
      const owner = ownership(roles);
      const row = owner
        ? rowsIn(owner.model, tenant).find(
            (candidate) => candidate.values[owner.field] != null && !candidate.crossTenant,
          )
        : undefined;
      chosen = row && owner ? String(row.values[owner.field]) : '1';
    }
    return { sub: chosen, tenantId: tenant, roles: [...roles] };
  };
  return {
    tenants,
    rows,
    principal,
    principals: (roles = engine.declaredRoles) =>
      tenants.flatMap((tenant) => roles.map((role) => principal(tenant, [role]))),
    async remove() {
      for (const { table, key } of [...written].reverse()) {
        const names = Object.keys(key);
        await runtime.db.sql.query(
          `DELETE FROM ${table.name} WHERE ${names
            .map(
              (name, i) =>
                `${quoteIdent(table.types.get(name)!.column)} = $${i + 1}::text::${table.types.get(name)!.type}`,
            )
            .join(' AND ')}`,
          names.map((name) => toParam(key[name])),
        );
      }
      written.length = 0;
    },
  };
}

const keyOf = (dm: {
  primaryKey: { fields: readonly string[] } | null;
  fields: readonly DatamodelField[];
}) =>
  dm.primaryKey?.fields.length
    ? [...dm.primaryKey.fields]
    : dm.fields.filter((field) => field.isId).map((field) => field.name);

const toParam = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

/** The model holding the tenants: its key is its tenant field, or a tenant field points at it. */
function tenantRoot(
  models: Record<
    string,
    { fields: readonly DatamodelField[]; primaryKey: { fields: readonly string[] } | null }
  >,
  scopes: Map<string, CompiledModel>,
): string | null {
  for (const [name, scope] of scopes) {
    const key = keyOf(models[name]!);
    if (key.length === 1 && scope.tenantField?.name === key[0]) return name;
  }
  for (const [name, scope] of scopes) {
    const tenantField = scope.tenantField?.name;
    if (!tenantField) continue;
    const relation = models[name]!.fields.find(
      (field) =>
        field.kind === 'object' &&
        field.relationFromFields?.length === 1 &&
        field.relationFromFields[0] === tenantField,
    );
    if (relation) return relation.type;
  }
  return null;
}

/** Models ordered so each comes after the models its foreign keys point at (cycles: as declared). */
function foreignKeyOrder(
  models: string[],
  relationsOf: (model: string) => DatamodelField[],
): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (model: string) => {
    if (order.includes(model) || visiting.has(model)) return;
    visiting.add(model);
    for (const relation of relationsOf(model)) if (relation.type !== model) visit(relation.type);
    visiting.delete(model);
    order.push(model);
  };
  for (const model of models) visit(model);
  return order;
}

function madeUpTenant(
  models: Record<string, { fields: readonly DatamodelField[] }>,
  scopes: Map<string, CompiledModel>,
  index: number,
  seed: number,
): TenantId {
  for (const [name, scope] of scopes) {
    const field =
      scope.tenantField && models[name]!.fields.find((f) => f.name === scope.tenantField!.name);
    if (!field) continue;
    if (field.type === 'Int' || field.type === 'BigInt') return 1_000_000 + seed * 100 + index;
    return field.nativeType?.[0] === 'Uuid'
      ? uuidOf(`tenant-${seed}-${index}`)
      : `tenant-${seed}-${index + 1}`;
  }
  return index + 1;
}

interface Generators {
  next: () => number;
  count: (name: string) => number;
  enums: Map<string, readonly string[]>;
}

/** A value for one column: distinct per tenant and row where the type allows (unique indexes). */
function valueFor(
  model: string,
  field: DatamodelField,
  type: string,
  tenant: TenantId,
  index: number,
  { next, count, enums }: Generators,
): unknown {
  const n = count(`${model}.${field.name}`);
  const tag = `t${String(tenant).slice(0, 8)}-${index + 1}-${n}`;
  if (field.isList) return '{}';
  if (field.kind === 'enum') {
    const values = enums.get(field.type) ?? [];
    return values.length ? values[Math.floor(next() * values.length)]! : null;
  }
  switch (field.type) {
    case 'Int':
      return field.isId || field.isUnique ? 1_000_000 + n : 1 + Math.floor(next() * 10_000);
    case 'BigInt':
      return String(field.isId || field.isUnique ? 1_000_000 + n : Math.floor(next() * 1e9));
    case 'Float':
      return Math.round(next() * 1e6) / 100;
    case 'Decimal':
      return (Math.round(next() * 1e6) / 100).toFixed(2);
    case 'Boolean':
      return next() < 0.5;
    case 'DateTime':
      return new Date(Date.UTC(2024, 0, 1) + Math.floor(next() * 365 * 86_400_000)).toISOString();
    case 'Json':
      return { fixture: tag };
    case 'Bytes':
      return `\\x${Buffer.from(tag).toString('hex')}`;
    default: {
      if (type === 'uuid') return uuidOf(`${model}.${field.name}.${tag}`);
      const name = field.name.toLowerCase();
      if (name.includes('email')) return `${field.name.toLowerCase()}.${tag}@fixture.test`;
      if (name.includes('phone')) return `+1555${String(1_000_000 + n).slice(-7)}`;
      return `${model} ${field.name} ${tag}`;
    }
  }
}
