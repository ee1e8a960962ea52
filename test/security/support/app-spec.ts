// What an example app gives the security suite: its OrmaiApp, where its Prisma schema is, which
// principals to draw, rows that point across tenants, and facts of its policy written from its
// README. Everything else (models, fields, relations, scopes, redactions) is derived by app-model.ts.
import type { OrmaiApp } from '../../../src/app.js';
import type { Principal, TenantId } from './app-model.js';
import type { Truth } from './truth.js';

/** Raw SQL on the app's database (the test app's `sql`). */
export type SqlFn = <Row = Record<string, unknown>>(
  text: string,
  params?: unknown[],
) => Promise<Row[]>;

/** How a role must read one field: checked against the compiled policy before any fuzzing. */
export type AnchorAccess = 'allow' | 'deny' | 'mask' | 'hash';

export interface PolicyAnchors {
  /** Per role, the models it must not read at all. */
  hidden: Record<string, string[]>;
  /** Per role, `Model.field` → how it is read. With `complete`, unlisted fields must be plain. */
  fields: Record<string, Record<string, AnchorAccess>>;
  /** Per role, `Model` → its ownership field (rows where it equals the principal's sub). */
  owners: Record<string, Record<string, string>>;
  /** Every readable field not listed is plain, every readable model not hidden is listed as is. */
  complete: boolean;
}

export interface SecurityAppSpec {
  app: OrmaiApp;
  /** The app's schema.prisma: table and column names (`@@map`/`@map`) for the raw SQL. */
  schemaPath: string;
  /** Subs a principal of `role` in `tenant` carries (an owner role: users owning some rows). */
  subs(truth: Truth, tenant: TenantId, role: string): string[];
  /**
   * Adds rows whose foreign keys point into another tenant (a seed has none): the scope must hide
   * what they point at, whatever the join.
   */
  addCrossTenantRows?(sql: SqlFn): Promise<void>;
  anchors: PolicyAnchors;
  /** App-specific shapes of secrets to scan every answer for, on top of the generic scan. */
  leakPatterns?(json: string, truth: Truth, principal: Principal): string[];
  /** Texts `leakPatterns` must flag, to prove it looks. */
  leakProbes?: string[];
}
