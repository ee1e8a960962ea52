import { randomUUID } from 'node:crypto';
import { ormaiTables } from '../db/ormai-tables.js';
import { OrmaiError, unwrap } from '../errors.js';
import { toJsonValue } from '../json-value.js';
import type { CompiledModel, CompiledPolicy, CompiledWrite } from '../policy/compile-policy.js';
import { uuidValue } from '../policy/field-types.js';
import type { Principal } from '../policy/principal.js';
import { tenantValue, visibleParentWhere } from '../policy/row-scope.js';
import type { WriteKind } from '../policy/types.js';
import { delegateOf, type OrmaiContext, type TransactionSql } from './context.js';
import {
  checkKeyTenant,
  keyAsGiven,
  keyOfRow,
  keysWhere,
  keyText,
  type RowKey,
  readKey,
  uniqueWhere,
} from './row-keys.js';

/** The approval queue of the context's ormai schema. */
export function approvalTable(context: Pick<OrmaiContext, 'ormaiTables'>): string {
  return (context.ormaiTables ?? ormaiTables()).approvalRequest;
}

/** One write as asked: what GraphQL's mutations and MCP's write tools both compile to. */
export interface WriteRequest {
  kind: WriteKind;
  model: string;
  /** The row's key: its value for a one-field key, an object of every key field for a compound one. */
  id?: unknown;
  /** Keys, each as `id` is (bulk). */
  ids?: unknown[];
  data?: Record<string, unknown>;
  reason?: string | null;
  hard?: boolean;
}

export interface WriteOutcome {
  row?: Record<string, unknown> | null;
  found: boolean;
  softDeleted?: boolean;
  updatedCount?: number;
  failedIds?: unknown[];
}

type Row = Record<string, unknown>;
type Tx = Record<string, any> & {
  $queryRawUnsafe(sql: string, ...params: unknown[]): Promise<Row[]>;
};

const writeDisabled = (model: string, kind: WriteKind) =>
  new OrmaiError(
    'WRITE_DISABLED',
    `you may not ${kind === 'bulk' ? 'bulk-update' : kind} ${model}`,
    {
      hints: [
        'writes are off unless the policy enables this write for one of your roles; describeSchema lists what you may do',
      ],
      details: { model, operation: kind },
    },
  );

/** The rule for a write, or WRITE_DISABLED. */
export function writeRule(policy: CompiledPolicy, request: WriteRequest): CompiledWrite {
  const rule = policy.writes.get(request.model)?.[request.kind];
  if (!rule) throw writeDisabled(request.model, request.kind);
  return rule;
}

/**
 * Checks a write against its rule before anything runs: the reason, the fields it sets, the tenant
 * it names, the ids it touches and how it deletes. Throws the error the caller can act on.
 */
export function checkWrite(
  model: CompiledModel,
  rule: CompiledWrite,
  request: WriteRequest,
  principal: Principal | null,
) {
  if (rule.requireReason && !request.reason?.trim()) {
    throw new OrmaiError(
      'VALIDATION_ERROR',
      `a reason is required to ${request.kind} ${model.name}`,
      {
        retryable: true,
        hints: ['pass reason: a short sentence saying why'],
        details: { field: 'reason' },
      },
    );
  }
  for (const field of Object.keys(request.data ?? {})) {
    if (model.tenantField?.name === field) {
      const own = unwrap(tenantValue(model.tenantField, principal));
      if (String(request.data![field]) !== String(own)) {
        throw new OrmaiError(
          'TENANT_SCOPE_VIOLATION',
          `${model.name}.${field} ${String(request.data![field])} is not your tenant`,
          {
            retryable: true,
            hints: [`leave ${field} out: rows are written to your tenant`],
            details: { field, model: model.name },
          },
        );
      }
      continue;
    }
    if (!rule.fields.includes(field)) {
      throw new OrmaiError('FIELD_NOT_ALLOWED', `${model.name}.${field} may not be written`, {
        retryable: true,
        hints: [
          `fields you may ${request.kind === 'create' ? 'set' : 'change'}: ${rule.fields.join(', ') || '(none)'}`,
        ],
        details: { field, model: model.name },
      });
    }
    const value = request.data![field];
    // the database refuses other text for a uuid column: the caller's mistake, said as such
    if (model.fields.get(field)?.uuid && value !== null && uuidValue(value) === undefined) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        `${model.name}.${field}: ${JSON.stringify(value)} is not a uuid`,
        {
          retryable: true,
          hints: [`${field} holds uuids, like 123e4567-e89b-12d3-a456-426614174000`],
          details: { field, model: model.name },
        },
      );
    }
  }
  if (request.kind === 'update' || request.kind === 'delete') {
    if (request.id === undefined || request.id === null) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        `${request.kind} needs the id of one ${model.name}`,
        {
          details: { field: 'id' },
        },
      );
    }
    checkKeyTenant(model, readKey(model, request.id), principal);
  }
  if (request.kind === 'bulk') {
    const ids = request.ids ?? [];
    if (ids.length === 0) {
      throw new OrmaiError('VALIDATION_ERROR', 'ids must name at least one row', {
        retryable: true,
        details: { field: 'ids' },
      });
    }
    const keys = ids.map((id, i) => readKey(model, id, `ids[${i}]`));
    for (const key of keys) checkKeyTenant(model, key, principal);
    if (new Set(keys.map((key) => keyText(model, key))).size > rule.maxAffectedRows) {
      throw new OrmaiError(
        'MAX_AFFECTED_ROWS_EXCEEDED',
        `${ids.length} ids is over the limit of ${rule.maxAffectedRows}`,
        {
          retryable: true,
          hints: [`split the update into calls of at most ${rule.maxAffectedRows} ids`],
          details: { limit: rule.maxAffectedRows, requested: ids.length },
        },
      );
    }
  }
  if (request.kind === 'delete') {
    if (request.hard && !rule.allowHardDelete) {
      throw new OrmaiError('VALIDATION_ERROR', 'hard delete is not allowed', {
        retryable: true,
        hints: ['omit hard: the row is soft-deleted and disappears from reads'],
        details: { field: 'hard' },
      });
    }
    if (!model.softDeleteField && !rule.allowHardDelete) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        `${model.name} has no soft-delete field, and hard delete is not allowed`,
        {
          details: { field: 'hard' },
        },
      );
    }
  }
}

/** Whether this write waits for an approver. */
export function needsApproval(rule: CompiledWrite, request: WriteRequest): boolean {
  if (typeof rule.requireApproval === 'boolean') return rule.requireApproval;
  return (request.ids?.length ?? 1) >= rule.requireApproval.minIds;
}

/** Queues a write for approval and returns the WRITE_APPROVAL_REQUIRED error to throw. */
export async function requestApproval(
  context: OrmaiContext,
  policy: CompiledPolicy,
  request: WriteRequest,
): Promise<OrmaiError> {
  const id = randomUUID();
  const principal = context.principal!;
  await (context.prisma as Tx).$queryRawUnsafe(
    `INSERT INTO ${approvalTable(context)} (id, operation, model, request_data, principal, tenant, reason, expires_at)
     VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, now() + ($8 || ' seconds')::interval) RETURNING id`,
    id,
    request.kind,
    request.model,
    JSON.stringify(toJsonValue(request)),
    JSON.stringify({
      sub: principal.sub,
      tenantId: principal.tenantId,
      roles: principal.roles,
      claims: principal.claims,
    }),
    principal.tenantId === null ? null : String(principal.tenantId),
    request.reason ?? null,
    String(policy.approvalTtlSeconds),
  );
  return new OrmaiError(
    'WRITE_APPROVAL_REQUIRED',
    `this ${request.kind} of ${request.model} waits for an approver`,
    {
      hints: [
        `poll approvalRequest(id: "${id}") or db.approval_status with approval_id ${id}; it runs once when approved`,
      ],
      details: { approval_id: id },
    },
  );
}

/** Raw SQL through the transaction's client. */
export function transactionSql(tx: Tx): TransactionSql {
  return {
    query: <R>(sql: string, params: unknown[] = []) =>
      tx.$queryRawUnsafe(sql, ...params) as Promise<R[]>,
  };
}

/**
 * Runs a checked write in the transaction `tx`: reads `before` within the caller's scope, writes,
 * reads `after`, and records the audit entry (reason, before, after) in the same transaction, so a
 * failure anywhere leaves nothing behind.
 */
export async function performWrite(options: {
  tx: Tx;
  context: OrmaiContext;
  principal: Principal;
  model: CompiledModel;
  request: WriteRequest;
  operation: string;
  approvalId?: string | null;
  /** Who let a gated write run: the approver's principal, or the gate that approved it. */
  approvedBy?: Record<string, unknown>;
}): Promise<WriteOutcome> {
  const { tx, principal, model, request } = options;
  const delegate = delegateOf(tx, model.name) as unknown as Record<
    string,
    (args: object) => Promise<any>
  >;
  const order = model.primaryKey.map((field) => ({ [field.name]: 'asc' }));
  let before: unknown = null;
  let after: unknown = null;
  let affected = 0;
  let outcome: WriteOutcome;

  if (request.kind === 'create') {
    await checkParentVisible(tx, model, request.data ?? {}, principal);
    const data = {
      ...request.data,
      ...(model.tenantField
        ? { [model.tenantField.name]: unwrap(tenantValue(model.tenantField, principal)) }
        : {}),
    };
    const row = await delegate.create!({ data });
    after = row;
    affected = 1;
    outcome = { row, found: true };
  } else if (request.kind === 'bulk') {
    const wanted = new Map<string, RowKey>();
    for (const given of request.ids!) {
      const key = readKey(model, given);
      wanted.set(keyText(model, key), key);
    }
    const rows: Row[] = await delegate.findMany!({
      where: keysWhere(model, [...wanted.values()]),
      orderBy: order,
    });
    const found = rows.map((row) => keyOfRow(model, row));
    const foundText = new Set(found.map((key) => keyText(model, key)));
    if (movesParent(model, request.data)) {
      for (const row of rows)
        await checkParentVisible(tx, model, { ...row, ...request.data }, principal);
    }
    before = rows;
    if (found.length > 0)
      await delegate.updateMany!({ where: keysWhere(model, found), data: request.data ?? {} });
    after = await delegate.findMany!({ where: keysWhere(model, found), orderBy: order });
    affected = found.length;
    outcome = {
      found: found.length > 0,
      updatedCount: found.length,
      failedIds: [...wanted]
        .filter(([text]) => !foundText.has(text))
        .map(([, key]) => keyAsGiven(model, key)),
    };
  } else {
    const key = readKey(model, request.id);
    const row: Row | null = await delegate.findFirst!({ where: key });
    if (!row) {
      const named = keyAsGiven(model, key);
      throw new OrmaiError(
        'NOT_FOUND',
        `no ${model.name} ${typeof named === 'object' ? JSON.stringify(named) : String(named)} that you can write`,
        {
          hints: ['check the id; rows of other tenants, or out of your scope, cannot be written'],
          details: { model: model.name, id: named },
        },
      );
    }
    before = row;
    affected = 1;
    if (request.kind === 'update' && movesParent(model, request.data)) {
      await checkParentVisible(tx, model, { ...row, ...request.data }, principal);
    }
    if (request.kind === 'update') {
      after = await delegate.update!({
        where: uniqueWhere(model, key),
        data: request.data ?? {},
      });
      outcome = { row: after as Row, found: true };
    } else if (model.softDeleteField && !request.hard) {
      after = await delegate.update!({
        where: uniqueWhere(model, key),
        data: { [model.softDeleteField]: new Date() },
      });
      outcome = { found: true, softDeleted: true };
    } else {
      await delegate.delete!({ where: uniqueWhere(model, key) });
      outcome = { found: true, softDeleted: false };
    }
  }

  await options.context.recordWrite?.(transactionSql(tx), {
    operation: options.operation,
    model: model.name,
    principal,
    inputs: json({ id: request.id, ids: request.ids, data: request.data, hard: request.hard }),
    reason: request.reason ?? null,
    before: json(before),
    after: json(after),
    affectedRows: affected,
    approvalId: options.approvalId ?? null,
    ...(options.approvedBy ? { decisions: { approvedBy: options.approvedBy } } : {}),
  });
  return outcome;
}

/** Whether a write sets the foreign key of the relation a model is scoped through. */
const movesParent = (model: CompiledModel, data: Record<string, unknown> | undefined) =>
  !!model.scopeThrough &&
  model.scopeThrough.keys.some((key) => data?.[key.localField] !== undefined);

/**
 * A model scoped through its parent is written only under a parent the caller can see (in their
 * tenant, not soft-deleted): a create names one, an update that moves the row names another. A
 * missing parent and another tenant's answer alike, so a write cannot probe another tenant's ids.
 */
async function checkParentVisible(tx: Tx, model: CompiledModel, values: Row, principal: Principal) {
  const through = model.scopeThrough;
  if (!through) return;
  const fields = through.keys.map((key) => key.localField);
  const where = unwrap(visibleParentWhere(through, values, principal));
  if (!where) {
    throw new OrmaiError(
      'VALIDATION_ERROR',
      `${model.name} needs ${fields.join(' and ')}: each one belongs to a ${through.parent.name}`,
      { retryable: true, hints: [`pass ${fields.join(', ')}`], details: { field: fields[0] } },
    );
  }
  const parent = await delegateOf(tx, through.parent.name).findFirst({
    where,
    select: { [through.keys[0]!.targetField]: true },
  });
  if (!parent) {
    const named = fields.map((field) => `${field} ${String(values[field])}`).join(', ');
    throw new OrmaiError(
      'NOT_FOUND',
      `${named}: no ${through.parent.name} that you can see, so no ${model.name} can be written under it`,
      {
        retryable: true,
        hints: [
          `name a ${through.parent.name} of your tenant that is not deleted; rows of other tenants cannot be referenced`,
        ],
        details: { model: through.parent.name, field: fields[0] },
      },
    );
  }
}

/**
 * Rows as JSON values (dates as ISO strings, BigInts as digit strings), as the audit record stores
 * them; a BigInt key read back from JSON gets its type again in `readKey`.
 */
function json(value: unknown): unknown {
  return toJsonValue(value) ?? null;
}
