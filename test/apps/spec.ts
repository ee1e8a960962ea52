// What an example app gives the guarantee suites (isolation, isolation property, writes): its
// tenants, the raw SQL that says what each tenant may see, what its roles read, and what writes to
// try. The suites are written once over this shape; each app fills it in its own module.
import type fc from 'fast-check';
import type { OrmaiApp } from '../../src/app.js';

export type TenantId = number | string;

export interface TestPrincipal {
  sub: string;
  tenantId: TenantId;
  roles: string[];
}

/** Raw SQL on the test app's database. */
export type Sql = <Row = Record<string, unknown>>(
  text: string,
  params?: unknown[],
) => Promise<Row[]>;

/** A root list and the rows SQL says a tenant sees in it. */
export interface RootSpec {
  /** The list field (`orders`); its single-row field (`order`) takes the key fields as arguments. */
  field: string;
  single: string;
  /** The fields that identify a row, in the list's default order (`['orgId', 'id']`). */
  key: string[];
  /** Selects the key fields (aliased to their GraphQL names) of tenant `$1`'s visible rows, in order. */
  sql: string;
  /** Selects the key fields and `tenant` of soft-deleted rows, when the model has soft delete. */
  softDeletedSql?: string;
}

/** A to-many relation of a root list, and its rows per parent by SQL. */
export interface NestedSpec {
  root: string;
  parentKey: string[];
  relation: string;
  childKey: string[];
  /**
   * Selects `parent` (the parent's key fields joined by `/`) and the child's key fields of every
   * child tenant `$1` may see, in the relation's default order.
   */
  sql: string;
}

/** A count through a relation filter that SQL can state (every/some/none/is). */
export interface CountSpec {
  name: string;
  /** A query with one connection aliased `result`. */
  query: string;
  /** Selects `n` for tenant `$1`. */
  sql: string;
}

/** A GraphQL probe, run as a tenant, whose answer is checked. */
export interface Probe {
  name: string;
  principal: TestPrincipal;
  query: string;
  check(data: any): void;
}

/** Rows whose foreign keys point into another tenant, and what each tenant must (not) see of them. */
export interface CrossTenantSpec {
  setup(sql: Sql): Promise<{ probes: Probe[]; cleanup(): Promise<void> }>;
}

export interface PropertyRequest {
  tenantId: TenantId;
  role: string;
  /** Which of the role's subs in the tenant. */
  subIndex: number;
  where: unknown;
  orderBy: unknown;
  first: number;
  nestedFirst: number;
  /** Ask for a field the role may not read instead (FIELD_NOT_ALLOWED, no data). */
  denied: boolean;
}

/** The isolation property: random principals, filters and nesting against the SQL truth. */
export interface PropertySpec<Truth = any> {
  roles: readonly string[];
  /** The root list, and its where/orderBy input type names. */
  field: string;
  whereType: string;
  orderByType: string;
  where: fc.Arbitrary<unknown>;
  orderBy: fc.Arbitrary<unknown>;
  load(sql: Sql): Promise<Truth>;
  /** Subs a principal of `role` in `tenant` may carry (at least one). */
  subs(truth: Truth, tenant: TenantId, role: string): string[];
  /** The node selection for a role; nested lists take `$nestedFirst`. */
  selection(role: string): string;
  /** Node selections with a field the role may not read (empty when it reads everything). */
  denied: Record<string, string[]>;
  /** Fails when the node holds a row, field or raw value the principal may not see. */
  check(
    node: any,
    principal: TestPrincipal & { role: string },
    truth: Truth,
    nestedFirst: number,
  ): void;
}

/** A hashed field: the role reads the keyed digest of exactly the SQL value. */
export interface HashedSpec {
  principal: TestPrincipal;
  /** A connection aliased `result` selecting `id` and `field`. */
  query: string;
  field: string;
  /** Selects `id` and the raw `field` of the rows the query returns, ordered by id. */
  sql: string;
  params: unknown[];
}

/** One single-row update and how to read it back. */
export interface UpdateSpec {
  principal: TestPrincipal;
  /** Picks the row: its key fields and the field's current value as `before`. */
  pickSql: string;
  mutation(row: Record<string, unknown>, reason: string): string;
  /** The mutation's root field name (`updateOrder`) and the field changed. */
  root: string;
  field: string;
  value: unknown;
  /** Reads `value` back for the row. */
  readSql: string;
  readParams(row: Record<string, unknown>): unknown[];
}

export interface WritesSpec {
  /** Mutation fields per role when writes are on (none without the toggle). */
  mutations: Record<string, string[]>;
  /** Every app table (schema-qualified), checksummed to prove a refused write changed nothing. */
  tables: string[];
  update: UpdateSpec;
  /** Malformed writes and the code each must fail with. */
  invalid: { principal: TestPrincipal; cases: [string, string][] };
  /** Writes outside the caller's scope, or not granted, each refused with its code (`A|B`: either). */
  outOfScope(sql: Sql): Promise<[TestPrincipal, string, string][]>;
  /** A delete the policy gates: soft once an approver approves. */
  softDelete: {
    requester: TestPrincipal;
    approver: TestPrincipal;
    model: string;
    pickSql: string;
    mutation(row: Record<string, unknown>, reason: string): string;
    /** The single-row query that must return null afterwards. */
    read(row: Record<string, unknown>): string;
    /** Selects `deleted` (boolean) for the row. */
    deletedSql: string;
    params(row: Record<string, unknown>): unknown[];
  };
  /** db.update through MCP with a reason: the key as MCP takes it, and the data. */
  mcpUpdate: {
    principal: TestPrincipal;
    model: string;
    pickSql: string;
    id(row: Record<string, unknown>): unknown;
    data: Record<string, unknown>;
  };
}

export interface AppSpec {
  app: OrmaiApp;
  tenants: TenantId[];
  roots: RootSpec[];
  nested: NestedSpec[];
  counts: CountSpec[];
  crossTenant: CrossTenantSpec;
  property: PropertySpec;
  hashed: HashedSpec;
  writes: WritesSpec;
}

/** A row's key as one string: `orgId/id`. */
export function rowKey(row: Record<string, unknown>, key: readonly string[]): string {
  return key.map((field) => String(row[field])).join('/');
}

/** The arguments of a single-row field for a row: `orgId: "…", id: 7`. */
export function keyArgs(row: Record<string, unknown>, key: readonly string[]): string {
  return key
    .map((field) => {
      const value = row[field];
      return `${field}: ${typeof value === 'bigint' ? `"${value}"` : JSON.stringify(value)}`;
    })
    .join(', ');
}
