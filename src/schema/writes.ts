import { runInScope } from '../data-access/index.js';
import { OrmaiError, unwrap } from '../errors.js';
import { toJsonValue } from '../json-value.js';
import type { Principal } from '../policy/principal.js';
import { tenantValue } from '../policy/row-scope.js';
import type { WriteKind } from '../policy/types.js';
import { queueApprovals } from './approval-gate.js';
import type { OrmaiContext } from './context.js';
import { modelNames, type NamingOptions } from './naming.js';
import { GRAPHQL_SCALAR, type SchemaParts, scalarOf } from './parts.js';
import { keyArgType } from './row-keys.js';
import {
  approvalTable,
  checkWrite,
  needsApproval,
  performWrite,
  requestApproval,
  transactionSql,
  type WriteRequest,
  writeRule,
} from './write-executor.js';

type Tx = Record<string, any> & {
  $queryRawUnsafe(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
};
type Prisma = Tx & { $transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> };

/**
 * Mutations, only where the policy enables writes for the roles: `createX(data, reason)`,
 * `updateX(id, data, reason)`, `deleteX(id, reason, hard)`, `bulkUpdateXs(ids, data, reason)`; and
 * the approval queue (`approvalRequest`, `approvalRequests`, `approveRequest`, `rejectRequest`).
 * A row is named by its key: `id` stands for the key field (`updateTicket(orgId, id, …)` for a
 * compound key, whose `ids` are `XKeyInput` objects and whose `failedIds` are `XKey` objects).
 */
export function addWriteFields(parts: SchemaParts, naming?: NamingOptions): void {
  const { builder, policy, datamodel } = parts;
  if (!policy.writesEnabled || (policy.writes.size === 0 && !policy.canApprove)) return;
  builder.mutationType({});

  const run = async (context: OrmaiContext, request: WriteRequest, operation: string) => {
    const model = policy.models.get(request.model)!;
    const rule = writeRule(policy, request);
    checkWrite(model, rule, request, context.principal);
    let approval: { approvalId: string; approvedBy: Record<string, unknown> } | null = null;
    if (needsApproval(rule, request)) {
      const gate = context.approvalGate ?? queueApprovals;
      const decision = await gate.decide({ request, principal: context.principal! });
      if (decision === 'queue') throw await requestApproval(context, policy, request);
      if (decision !== 'approve') {
        throw new OrmaiError('WRITE_DISABLED', `not approved: ${decision.reject}`, {
          hints: ['this write needs approval and the approval gate refused it'],
          details: { model: request.model, operation: request.kind, gate: gate.name },
        });
      }
      approval = { approvalId: `gate:${gate.name}`, approvedBy: { gate: gate.name } };
    }
    return (context.prisma as Prisma).$transaction((tx) =>
      performWrite({
        tx,
        context,
        principal: context.principal!,
        model,
        request,
        operation,
        ...approval,
      }),
    );
  };

  const deleteResult = builder.objectRef(parts.typeName('DeleteResult')).implement({
    fields: (t: any) => ({
      success: t.boolean({ resolve: (r: any) => r.found }),
      found: t.boolean({ resolve: (r: any) => r.found }),
      softDeleted: t.boolean({ resolve: (r: any) => r.softDeleted === true }),
    }),
  });
  const bulkCounts = (t: any) => ({
    updatedCount: t.int({ resolve: (r: any) => r.updatedCount ?? 0 }),
    success: t.boolean({ resolve: (r: any) => (r.failedIds ?? []).length === 0 }),
  });
  const bulkResult = builder.objectRef(parts.typeName('BulkUpdateResult')).implement({
    fields: (t: any) => ({
      ...bulkCounts(t),
      failedIds: t.field({
        type: ['String'],
        resolve: (r: any) => (r.failedIds ?? []).map(String),
      }),
    }),
  });

  for (const [modelName, kinds] of policy.writes) {
    const model = policy.models.get(modelName)!;
    const names = modelNames(modelName, naming);
    const Model = modelName;
    // a row is named by its key, each field an argument named after it (`id: 5`, or `orgId: …,
    // id: …` for a compound key); a model with no key has no row to update or delete
    const key = model.primaryKey;
    const keyArgs = (t: any) =>
      Object.fromEntries(
        key.map((field) => [field.name, t.arg({ type: keyArgType(field), required: true })]),
      );
    const keyOf = (args: Record<string, unknown>) =>
      key.length === 1
        ? args[key[0]!.name]
        : Object.fromEntries(key.map((field) => [field.name, args[field.name]]));
    const keyFields = (t: any) =>
      Object.fromEntries(
        key.map((field) => [field.name, t.field({ type: keyArgType(field), required: true })]),
      );
    // bulk ids: values for a one-field key, `{ orgId, id }` objects for a compound one
    const idsItem =
      key.length === 1
        ? keyArgType(key[0]!)
        : builder.inputType(`${Model}KeyInput`, { fields: keyFields });
    const bulkResultOf = () =>
      key.length === 1
        ? bulkResult
        : builder.objectRef(`${Model}BulkUpdateResult`).implement({
            fields: (t: any) => ({
              ...bulkCounts(t),
              failedIds: t.field({
                type: [
                  builder.objectRef(`${Model}Key`).implement({
                    fields: (k: any) =>
                      Object.fromEntries(
                        key.map((field) => [
                          field.name,
                          k.field({
                            type: keyArgType(field),
                            resolve: (row: Record<string, unknown>) => row[field.name],
                          }),
                        ]),
                      ),
                  }),
                ],
                resolve: (r: any) => r.failedIds ?? [],
              }),
            }),
          });
    const input = (kind: 'create' | 'update') => {
      const fields = new Set([
        ...(kinds[kind]?.fields ?? []),
        ...(kind === 'update' ? (kinds.bulk?.fields ?? []) : []),
      ]);
      const datamodelFields = datamodel.datamodel.models[modelName]!.fields;
      if (fields.size === 0) return null;
      // the tenant field is accepted only to be checked: naming another tenant is
      // TENANT_SCOPE_VIOLATION, as in reads; rows are always written to the caller's tenant
      const tenant = model.tenantField?.name;
      return builder.inputType(`${Model}${kind === 'create' ? 'Create' : 'Update'}Input`, {
        fields: (t: any) =>
          Object.fromEntries([
            ...[...fields].map((name) => {
              const field = datamodelFields.find((f) => f.name === name)!;
              const type = scalarOf(field);
              const required = kind === 'create' && field.isRequired && !field.hasDefaultValue;
              return [name, t.field({ type: field.isList ? [type] : type, required })];
            }),
            ...(tenant && !fields.has(tenant)
              ? [
                  [
                    tenant,
                    t.field({
                      type: GRAPHQL_SCALAR[model.tenantField!.type] ?? 'String',
                      required: false,
                      description: 'optional; must be your own tenant: rows are written to it',
                    }),
                  ],
                ]
              : []),
          ]),
      });
    };
    const createInput = kinds.create ? input('create') : null;
    const updateInput = kinds.update || kinds.bulk ? input('update') : null;
    const reason = (t: any, kind: WriteKind) =>
      t.arg.string({
        required: false,
        description: kinds[kind]?.requireReason ? 'why (required)' : 'why',
      });
    const object = parts.objects.get(modelName);

    if (kinds.create && createInput) {
      builder.mutationField(`create${Model}`, (t: any) =>
        t.field({
          type: object,
          args: { data: t.arg({ type: createInput, required: true }), reason: reason(t, 'create') },
          resolve: async (_root: unknown, args: any, context: OrmaiContext) =>
            (
              await run(
                context,
                { kind: 'create', model: modelName, data: args.data, reason: args.reason },
                `mutation create${Model}`,
              )
            ).row,
        }),
      );
    }
    if (kinds.update && updateInput && key.length > 0) {
      builder.mutationField(`update${Model}`, (t: any) =>
        t.field({
          type: object,
          args: {
            ...keyArgs(t),
            data: t.arg({ type: updateInput, required: true }),
            reason: reason(t, 'update'),
          },
          resolve: async (_root: unknown, args: any, context: OrmaiContext) =>
            (
              await run(
                context,
                {
                  kind: 'update',
                  model: modelName,
                  id: keyOf(args),
                  data: args.data,
                  reason: args.reason,
                },
                `mutation update${Model}`,
              )
            ).row,
        }),
      );
    }
    if (kinds.delete && key.length > 0) {
      builder.mutationField(`delete${Model}`, (t: any) =>
        t.field({
          type: deleteResult,
          args: {
            ...keyArgs(t),
            reason: reason(t, 'delete'),
            hard: t.arg.boolean({ required: false, defaultValue: false }),
          },
          resolve: (_root: unknown, args: any, context: OrmaiContext) =>
            run(
              context,
              {
                kind: 'delete',
                model: modelName,
                id: keyOf(args),
                reason: args.reason,
                hard: args.hard === true,
              },
              `mutation delete${Model}`,
            ),
        }),
      );
    }
    if (kinds.bulk && updateInput && key.length > 0) {
      const plural = names.list.charAt(0).toUpperCase() + names.list.slice(1);
      builder.mutationField(`bulkUpdate${plural}`, (t: any) =>
        t.field({
          type: bulkResultOf(),
          args: {
            ids: t.arg({ type: [idsItem], required: true }),
            data: t.arg({ type: updateInput, required: true }),
            reason: reason(t, 'bulk'),
          },
          resolve: (_root: unknown, args: any, context: OrmaiContext) =>
            run(
              context,
              {
                kind: 'bulk',
                model: modelName,
                ids: args.ids,
                data: args.data,
                reason: args.reason,
              },
              `mutation bulkUpdate${plural}`,
            ),
        }),
      );
    }
  }

  addApprovalFields(parts);
}

interface ApprovalRow {
  id: string;
  operation: string;
  model: string;
  request_data: WriteRequest | string;
  principal: Principal | string;
  tenant: string | null;
  reason: string | null;
  status: string;
  created_at: Date | string;
  decided_at: Date | string | null;
  decided_by: string | null;
  result: unknown;
  expires_at: Date | string;
}

const parseJson = <T>(value: T | string): T =>
  typeof value === 'string' ? (JSON.parse(value) as T) : value;

/** A principal as an audit record's decisions name it. */
const principalFacts = (principal: Principal) => ({
  sub: principal.sub,
  tenantId: principal.tenantId,
  roles: [...principal.roles],
});

/** Whether the approver made the request: the same sub in the same tenant. */
const madeBy = (requester: Principal, approver: Principal) =>
  String(requester.sub) === String(approver.sub) &&
  String(requester.tenantId ?? '') === String(approver.tenantId ?? '');

/** The queue as a principal sees it: approvers see their tenant's, a requester their own. */
function addApprovalFields(parts: SchemaParts) {
  const { builder, policy, datamodel } = parts;
  const status = (row: ApprovalRow) =>
    row.status === 'pending' && new Date(row.expires_at).getTime() < Date.now()
      ? 'expired'
      : row.status;
  const approval = builder.objectRef(parts.typeName('ApprovalRequest')).implement({
    fields: (t: any) => ({
      id: t.id({ resolve: (r: ApprovalRow) => r.id }),
      status: t.string({ resolve: status }),
      operation: t.string({ resolve: (r: ApprovalRow) => r.operation }),
      model: t.string({ resolve: (r: ApprovalRow) => r.model }),
      reason: t.string({ nullable: true, resolve: (r: ApprovalRow) => r.reason }),
      request: t.field({ type: 'JSON', resolve: (r: ApprovalRow) => parseJson(r.request_data) }),
      requestedBy: t.string({ resolve: (r: ApprovalRow) => parseJson(r.principal).sub }),
      createdAt: t.field({ type: 'DateTime', resolve: (r: ApprovalRow) => r.created_at }),
      expiresAt: t.field({ type: 'DateTime', resolve: (r: ApprovalRow) => r.expires_at }),
      decidedAt: t.field({
        type: 'DateTime',
        nullable: true,
        resolve: (r: ApprovalRow) => r.decided_at,
      }),
      decidedBy: t.string({ nullable: true, resolve: (r: ApprovalRow) => r.decided_by }),
      result: t.field({
        type: 'JSON',
        nullable: true,
        resolve: (r: ApprovalRow) => (r.result === null ? null : parseJson(r.result)),
      }),
    }),
  });

  const tenantOf = (context: OrmaiContext) =>
    String(
      unwrap(
        tenantValue(
          {
            name: 'tenant',
            type: 'String',
            kind: 'scalar',
            nullable: true,
            list: false,
            redaction: null,
          },
          context.principal,
        ),
      ),
    );
  const load = async (context: OrmaiContext, db: Tx, id: string, tenant: string, lock = false) => {
    const [row] = (await db.$queryRawUnsafe(
      `SELECT * FROM ${approvalTable(context)} WHERE id = $1 AND tenant = $2${lock ? ' FOR UPDATE' : ''}`,
      id,
      tenant,
    )) as unknown as ApprovalRow[];
    return row ?? null;
  };
  const notFound = (id: string) =>
    new OrmaiError('NOT_FOUND', `no approval request ${id} in your tenant`, {
      details: { approval_id: id },
    });

  builder.queryField('approvalRequest', (t: any) =>
    t.field({
      type: approval,
      nullable: true,
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root: unknown, args: { id: string }, context: OrmaiContext) => {
        const row = await load(context, context.prisma as Tx, String(args.id), tenantOf(context));
        if (!row) return null;
        // the requester polls their own; approvers see every request of the tenant
        return policy.canApprove || parseJson(row.principal).sub === context.principal?.sub
          ? row
          : null;
      },
    }),
  );
  if (!policy.canApprove) return;

  builder.queryField('approvalRequests', (t: any) =>
    t.field({
      type: [approval],
      args: { status: t.arg.string({ required: false }), first: t.arg.int({ required: false }) },
      resolve: async (
        _root: unknown,
        args: { status?: string | null; first?: number | null },
        context: OrmaiContext,
      ) => {
        const rows = (await (context.prisma as Tx).$queryRawUnsafe(
          `SELECT * FROM ${approvalTable(context)} WHERE tenant = $1 ORDER BY created_at DESC, id LIMIT $2`,
          tenantOf(context),
          parts.takeOf(args.first ?? 100),
        )) as unknown as ApprovalRow[];
        return args.status ? rows.filter((row) => status(row) === args.status) : rows;
      },
    }),
  );

  const decide = async (
    context: OrmaiContext,
    id: string,
    decision: 'approve' | 'reject',
    reason?: string | null,
  ) => {
    const prisma = context.prisma as Prisma;
    const tenant = tenantOf(context);
    const approver = context.principal!;
    const decider = approver.sub;
    // the row lock makes concurrent approvers take turns: the second finds it decided
    const outcome = await prisma.$transaction(async (tx) => {
      const row = await load(context, tx, id, tenant, true);
      if (!row) throw notFound(id);
      if (status(row) === 'expired' && row.status === 'pending') {
        await tx.$queryRawUnsafe(
          `UPDATE ${approvalTable(context)} SET status = 'expired', decided_at = now() WHERE id = $1 RETURNING id`,
          id,
        );
        return { row: { ...row, status: 'expired' }, error: 'expired' as const };
      }
      if (row.status !== 'pending') return { row, error: row.status };
      const requester = parseJson(row.principal);
      const own = madeBy(requester, approver);
      if (own && !policy.allowSelfApproval) {
        throw new OrmaiError(
          'APPROVAL_SELF_DENIED',
          `you made approval request ${id}: another approver must ${decision} it`,
          {
            hints: ['ask another approver of your tenant to decide it'],
            details: { approval_id: id },
          },
        );
      }
      // The decision's own record, in the transaction that makes it (and runs the write). It is
      // appended last, after the write: an append holds the audit chain, which every gateway
      // process on the database shares, until this transaction commits, so it must not wait on the
      // rows the write locks meanwhile (nor deadlock with a write that holds them and waits its turn).
      const recordDecision = () =>
        context.recordWrite?.(transactionSql(tx), {
          operation: `${decision} ormai_approval_request`,
          model: row.model,
          principal: approver,
          inputs: decision === 'reject' ? { id, reason: reason ?? null } : { id },
          reason: reason ?? null,
          before: { status: 'pending' },
          after: { status: decision === 'approve' ? 'approved' : 'rejected' },
          affectedRows: 1,
          approvalId: id,
          decisions: {
            decision,
            request: {
              operation: row.operation,
              model: row.model,
              requestedBy: principalFacts(requester),
            },
            ...(own ? { selfApproval: true } : {}),
          },
        });
      if (decision === 'reject') {
        await recordDecision();
        const [rejected] = (await tx.$queryRawUnsafe(
          `UPDATE ${approvalTable(context)} SET status = 'rejected', decided_at = now(), decided_by = $2, result = $3::jsonb WHERE id = $1 RETURNING *`,
          id,
          decider,
          JSON.stringify({ reason: reason ?? null }),
        )) as unknown as ApprovalRow[];
        return { row: rejected!, error: null };
      }
      // runs as the requester, under the policy their roles have now
      const request = parseJson(row.request_data);
      const requesterPolicy = context.policyFor ? context.policyFor(requester) : policy;
      const model = requesterPolicy.models.get(request.model);
      if (!model)
        throw new OrmaiError('WRITE_DISABLED', `the requester can no longer read ${request.model}`);
      const rule = writeRule(requesterPolicy, request);
      checkWrite(model, rule, request, requester);
      const requesterScope = { policy: requesterPolicy, principal: requester, datamodel };
      const result = await runInScope(requesterScope, () =>
        performWrite({
          tx,
          context,
          principal: requester,
          model,
          request,
          operation: `approved ${request.kind} ${request.model}`,
          approvalId: id,
          approvedBy: principalFacts(approver),
        }),
      );
      await recordDecision();
      const [approved] = (await tx.$queryRawUnsafe(
        `UPDATE ${approvalTable(context)} SET status = 'approved', decided_at = now(), decided_by = $2, result = $3::jsonb WHERE id = $1 RETURNING *`,
        id,
        decider,
        JSON.stringify(toJsonValue(result)),
      )) as unknown as ApprovalRow[];
      return { row: approved!, error: null };
    });
    if (outcome.error) {
      throw new OrmaiError(
        'VALIDATION_ERROR',
        `approval request ${id} is ${outcome.error}, not pending`,
        {
          hints: ['only a pending request can be approved or rejected'],
          details: { approval_id: id, status: outcome.error },
        },
      );
    }
    return outcome.row;
  };

  builder.mutationField('approveRequest', (t: any) =>
    t.field({
      type: approval,
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root: unknown, args: { id: string }, context: OrmaiContext) =>
        decide(context, String(args.id), 'approve'),
    }),
  );
  builder.mutationField('rejectRequest', (t: any) =>
    t.field({
      type: approval,
      args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: false }) },
      resolve: (
        _root: unknown,
        args: { id: string; reason?: string | null },
        context: OrmaiContext,
      ) => decide(context, String(args.id), 'reject', args.reason),
    }),
  );
}
