import type { OrmaiTables } from '../db/ormai-tables.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import type { ApprovalGate } from './approval-gate.js';

/**
 * The Prisma client as the schema uses it: model delegates looked up by name. Typed loosely on
 * purpose, since the schema is built from whatever datamodel the app has.
 */
export type PrismaClientLike = object;

export interface ModelDelegate {
  findFirst(args: object): Promise<Record<string, unknown> | null>;
  findMany(args: object): Promise<Record<string, unknown>[]>;
  count(args: object): Promise<number>;
}

/** What every resolver receives. One per request, from the server or the MCP bridge alike. */
export interface OrmaiContext {
  principal: Principal | null;
  prisma: PrismaClientLike;
  traceId: string;
  /** Where ormai's own tables are (the approval queue); default: schema `ormai`. */
  ormaiTables?: OrmaiTables;
  /** Reads the audit log (the gateway's SQL sink), for `auditRecords`. */
  auditRecords?: AuditReader;
  /** Records a write inside its own transaction (the gateway's audit log). */
  recordWrite?: (tx: TransactionSql, facts: WriteAuditFacts) => Promise<void>;
  /** Decides writes the policy gates (default: the persistent queue). */
  approvalGate?: ApprovalGate;
  /** The policy of any principal: an approved write is re-checked against its requester's. */
  policyFor?: (principal: Principal) => CompiledPolicy;
}

/** Raw SQL inside a Prisma interactive transaction. */
export interface TransactionSql {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface WriteAuditFacts {
  operation: string;
  model: string;
  principal: Principal;
  inputs: unknown;
  reason: string | null;
  before: unknown;
  after: unknown;
  affectedRows: number;
  approvalId: string | null;
  /** Added to the record's policy decisions: an approval decision, or who approved this write. */
  decisions?: Record<string, unknown>;
}

export type AuditReader = (options: {
  tenantId: string;
  where?: Record<string, string | undefined>;
  first: number;
  beforeId?: number;
}) => Promise<{ records: object[]; hasMore: boolean }>;

export function delegateOf(prisma: PrismaClientLike, model: string): ModelDelegate {
  const name = model.charAt(0).toLowerCase() + model.slice(1);
  return (prisma as Record<string, ModelDelegate>)[name]!;
}
